//! Pasted text (bracketed paste): inserted whole into the text field that has the focus, in one
//! update. A paste is never read as keys, so a pasted line break cannot send a form and pasted
//! letters cannot run commands.

use super::*;
use crate::console::input;

impl App {
    pub(super) fn on_paste(&mut self, text: &str) -> Vec<Effect> {
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::NewCase(mut f) => {
                if f.sending || f.lookup.focused || f.focus == 0 {
                    self.mode = Mode::NewCase(f);
                    return vec![];
                }
                let n = f.focus;
                f.fields[n].paste(text, n == DESCRIPTION);
                f.errors.remove(&n);
                f.pick = 0;
                let effects = self.lookup_after_edit(&mut f);
                self.mode = Mode::NewCase(f);
                effects
            }
            Mode::Text(mut f) => {
                let on_list = f
                    .editor
                    .as_ref()
                    .is_some_and(|e| e.focus == EditorFocus::List);
                match &mut f.editor {
                    _ if f.sending => {}
                    Some(e) if on_list => {
                        e.query.paste(text, false);
                        e.selected = 0;
                    }
                    _ => f.text.paste(text, true),
                }
                self.mode = Mode::Text(f);
                vec![]
            }
            Mode::Picker(mut p) => {
                if !p.sending {
                    p.query.paste(text, false);
                    p.selected = 0;
                }
                self.mode = Mode::Picker(p);
                vec![]
            }
            Mode::Sup(mut f) => {
                input::insert(&mut f.note, &mut f.cursor, text, false);
                self.mode = Mode::Sup(f);
                vec![]
            }
            Mode::Filter => {
                self.mode = Mode::Filter;
                let mut end = self.filter.chars().count();
                input::insert(&mut self.filter, &mut end, text, false);
                self.refilter();
                self.relocate();
                self.after_move()
            }
            other => {
                self.mode = other;
                vec![]
            }
        }
    }
}
