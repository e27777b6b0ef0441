//! The loop's pacing, kept apart from the terminal and the clock so it can be tested: what
//! waits to be applied (keys before anything else, and only so much of the rest per frame),
//! and when a frame is drawn (only after something changed, and at most `FRAMES_PER_SECOND`
//! times a second for what arrives from the server; a key is drawn at once).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossterm::event::MouseEventKind;

use super::action::Action;

pub const FRAMES_PER_SECOND: u32 = 30;

/// The least time between two frames when the later one answers the user's input: a key is
/// shown at once, not at the next frame slot of a screen busy with changes, while a held key
/// repeating fast still cannot draw without bound.
pub const INPUT_FRAME_GAP: Duration = Duration::from_millis(4);

/// Answers from the feed and request tasks applied between two looks at the keyboard: a
/// burst of changes is spread over several frames instead of holding up a key.
pub const MAX_OTHER_PER_BATCH: usize = 16;

/// Whether an action can change what is on screen. Moving the mouse without a button changes
/// nothing: a terminal reports every cell it crosses.
pub fn marks_dirty(action: &Action) -> bool {
    !matches!(action, Action::Mouse(m) if m.kind == MouseEventKind::Moved)
}

fn is_input(action: &Action) -> bool {
    matches!(
        action,
        Action::Key(_) | Action::Mouse(_) | Action::Paste(_) | Action::Resize { .. }
    )
}

/// What has arrived and not been applied yet.
#[derive(Debug, Default)]
pub struct Inbox {
    input: VecDeque<Action>,
    other: VecDeque<Action>,
}

impl Inbox {
    pub fn push(&mut self, action: Action) {
        if is_input(&action) {
            self.input.push_back(action);
        } else {
            self.other.push_back(action);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.input.is_empty() && self.other.is_empty()
    }

    /// How many answers wait; the loop stops taking more from the tasks past a bound.
    pub fn waiting(&self) -> usize {
        self.other.len()
    }

    /// What to apply before the next look at the keyboard: every key waiting, in order, then
    /// at most `MAX_OTHER_PER_BATCH` of the rest, in order.
    pub fn batch(&mut self) -> Vec<Action> {
        let n = self.other.len().min(MAX_OTHER_PER_BATCH);
        let mut out: Vec<Action> = self.input.drain(..).collect();
        out.extend(self.other.drain(..n));
        out
    }
}

impl Extend<Action> for Inbox {
    fn extend<I: IntoIterator<Item = Action>>(&mut self, actions: I) {
        for a in actions {
            self.push(a);
        }
    }
}

/// When to draw: something changed since the last frame, and the last frame is at least a
/// frame's time ago (`INPUT_FRAME_GAP` if the user's input changed it).
#[derive(Debug, Clone)]
pub struct Pacer {
    dirty: bool,
    input: bool,
    last: Option<Instant>,
    every: Duration,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer {
            dirty: true,
            input: false,
            last: None,
            every: Duration::from_secs(1) / FRAMES_PER_SECOND,
        }
    }
}

impl Pacer {
    /// Notes an action applied.
    pub fn note(&mut self, action: &Action) {
        let dirty = marks_dirty(action);
        self.dirty |= dirty;
        self.input |= dirty && is_input(action);
    }

    fn gap(&self) -> Duration {
        if self.input {
            INPUT_FRAME_GAP
        } else {
            self.every
        }
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// When the next frame may be drawn, if one is wanted.
    pub fn due_at(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(self.last.map_or_else(Instant::now, |t| t + self.gap()))
    }

    /// Whether to draw at `now`.
    pub fn should_draw(&self, now: Instant) -> bool {
        self.dirty && self.last.is_none_or(|t| now >= t + self.gap())
    }

    pub fn drawn(&mut self, at: Instant) {
        self.dirty = false;
        self.input = false;
        self.last = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::fixtures::{self, now};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent};

    fn mouse(kind: MouseEventKind) -> Action {
        Action::Mouse(MouseEvent {
            kind,
            column: 3,
            row: 4,
            modifiers: KeyModifiers::NONE,
        })
    }

    fn key(c: char) -> Action {
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    #[test]
    fn mouse_motion_asks_for_no_frame_and_a_click_or_a_tick_does() {
        let start = Instant::now();
        let mut p = Pacer::default();
        p.drawn(start);
        p.note(&mouse(MouseEventKind::Moved));
        assert!(!p.is_dirty());
        assert!(!p.should_draw(start + Duration::from_secs(5)));
        assert_eq!(p.due_at(), None);
        p.note(&mouse(MouseEventKind::Down(
            crossterm::event::MouseButton::Left,
        )));
        assert!(p.is_dirty());
        p.drawn(start);
        p.note(&Action::Tick(now()));
        assert!(p.is_dirty());
    }

    #[test]
    fn frames_are_capped_however_much_changes() {
        let start = Instant::now();
        let mut p = Pacer::default();
        assert!(p.should_draw(start));
        p.drawn(start);
        p.note(&Action::Tick(now()));
        assert!(!p.should_draw(start + Duration::from_millis(10)));
        let at = start + Duration::from_secs(1) / FRAMES_PER_SECOND;
        assert_eq!(p.due_at(), Some(at));
        assert!(p.should_draw(at));
    }

    #[test]
    fn a_key_is_drawn_at_once_not_at_the_next_frame_slot() {
        let start = Instant::now();
        let mut p = Pacer::default();
        p.drawn(start);
        p.note(&Action::Tick(now()));
        p.note(&key('j'));
        assert_eq!(p.due_at(), Some(start + INPUT_FRAME_GAP));
        assert!(p.should_draw(start + INPUT_FRAME_GAP));
        p.drawn(start + INPUT_FRAME_GAP);
        // What arrives next from the server waits for its slot again.
        p.note(&Action::Tick(now()));
        assert!(!p.should_draw(start + INPUT_FRAME_GAP * 2));
        // Mouse motion is no input that draws.
        p.note(&mouse(MouseEventKind::Moved));
        assert!(!p.should_draw(start + INPUT_FRAME_GAP * 2));
    }

    #[test]
    fn a_burst_of_ten_thousand_feed_answers_does_not_starve_a_key() {
        let mut inbox = Inbox::default();
        for i in 0..10_000 {
            inbox.push(Action::FeedLoaded {
                changes: fixtures::changes(vec![], false, &format!("c{i}")),
                received_at: now(),
            });
        }
        inbox.push(key('j'));
        let first = inbox.batch();
        assert!(matches!(first[0], Action::Key(_)), "the key comes first");
        assert_eq!(first.len(), 1 + MAX_OTHER_PER_BATCH);
        // A key typed while the burst is being applied is taken at the next batch.
        inbox.push(key('k'));
        let second = inbox.batch();
        assert!(matches!(second[0], Action::Key(_)));
        assert_eq!(inbox.waiting(), 10_000 - 2 * MAX_OTHER_PER_BATCH);
    }
}
