//! A program under a pseudo-terminal the bench owns, its output parsed by a terminal model
//! (`vt100`) on a reader thread of its own: the screen as it stands after each complete frame,
//! and the instant the bytes that completed it were read from the pty. Writing a key is one
//! `write` to the pty; seeing its effect costs a pty read and a parse, so the harness adds tens
//! of microseconds to what it times, not the milliseconds of a terminal multiplexer's round
//! trip.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const ROWS: u16 = 45;
pub const COLS: u16 = 160;

/// Frames kept for a waiter that woke late: it still finds the first frame that showed what it
/// waits for, not a later one.
const KEPT_FRAMES: usize = 256;

/// The screen after one complete frame.
#[derive(Clone)]
pub struct Frame {
    /// Counts frames from 1; 0 is the blank screen before any output.
    pub seq: u64,
    /// When the pty read that completed this frame returned.
    pub at: Instant,
    pub text: Arc<str>,
}

struct Seen {
    frames: VecDeque<Frame>,
    /// The program's side of the pty is closed: it exited.
    closed: bool,
}

struct Shared {
    seen: Mutex<Seen>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A program in a `ROWS`×`COLS` pseudo-terminal, killed when dropped.
pub struct Term {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    shared: Arc<Shared>,
    pub launched: Instant,
    // The pty stays open for as long as the program runs.
    _master: Box<dyn MasterPty + Send>,
}

impl Term {
    /// Starts `cmd` as the session leader of a new pty, the pty its controlling terminal.
    pub fn spawn(cmd: CommandBuilder) -> anyhow::Result<Term> {
        let pair = native_pty_system().openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })?;
        let launched = Instant::now();
        let child = pair.slave.spawn_command(cmd)?;
        // Only the child holds the terminal's side now, so reads end when it exits.
        drop(pair.slave);
        let reader = pair.master.try_clone_reader()?;
        let writer = pair.master.take_writer()?;
        let shared = Arc::new(Shared {
            seen: Mutex::new(Seen {
                frames: VecDeque::from([Frame {
                    seq: 0,
                    at: launched,
                    text: Arc::from(""),
                }]),
                closed: false,
            }),
            changed: Condvar::new(),
        });
        let feed = shared.clone();
        std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || read_frames(reader, &feed))?;
        Ok(Term {
            child,
            writer,
            shared,
            launched,
            _master: pair.master,
        })
    }

    pub fn pid(&self) -> anyhow::Result<u32> {
        self.child.process_id().context("the program's process id")
    }

    /// Writes `bytes` as typed: the instant just before the write.
    pub fn send(&mut self, bytes: &[u8]) -> anyhow::Result<Instant> {
        let sent = Instant::now();
        self.writer.write_all(bytes)?;
        self.writer.flush()?;
        Ok(sent)
    }

    /// The newest complete frame.
    pub fn latest(&self) -> Frame {
        let seen = self.shared.lock();
        seen.frames
            .back()
            .cloned()
            .expect("the blank frame is kept")
    }

    pub fn closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// The first frame after frame `after` that `done` accepts, within `timeout`; `None` when
    /// none did by then or the program exited.
    pub fn wait_for(
        &self,
        after: u64,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        let mut next = after + 1;
        let mut seen = self.shared.lock();
        loop {
            for frame in &seen.frames {
                if frame.seq < next {
                    continue;
                }
                if done(&frame.text) {
                    return Some(frame.clone());
                }
                next = frame.seq + 1;
            }
            if seen.closed {
                return None;
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            seen = self
                .shared
                .changed
                .wait_timeout(seen, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Synchronized output (mode 2026): a program brackets each frame with these, and a terminal
/// shows none of it until the frame ends. Between frames every read is a frame of its own.
const SYNC: &[u8] = b"\x1b[?2026";

fn read_frames(mut reader: Box<dyn Read + Send>, shared: &Shared) {
    let rows = NonZeroU16::new(ROWS).expect("rows");
    let cols = NonZeroU16::new(COLS).expect("cols");
    let mut parser = vt100::Parser::new(rows, cols, 0);
    let mut splitter = Splitter::default();
    let mut buf = vec![0_u8; 64 * 1024];
    let mut seq = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let at = Instant::now();
        let mut texts = Vec::new();
        splitter.feed(&buf[..n], |bytes, ends_frame| {
            parser.process(bytes);
            if ends_frame {
                texts.push(Arc::<str>::from(parser.screen().contents()));
            }
        });
        if texts.is_empty() {
            continue;
        }
        let mut seen = shared.lock();
        for text in texts {
            seq += 1;
            seen.frames.push_back(Frame { seq, at, text });
            if seen.frames.len() > KEPT_FRAMES {
                seen.frames.pop_front();
            }
        }
        drop(seen);
        shared.changed.notify_all();
    }
    shared.lock().closed = true;
    shared.changed.notify_all();
}

/// Cuts the output at the ends of synchronized frames, so that no half-drawn frame is taken
/// for the screen. A marker cut by a read's end is held until the next read.
#[derive(Default)]
struct Splitter {
    carry: Vec<u8>,
    in_sync: bool,
}

impl Splitter {
    /// Hands `emit` the bytes in order, each piece with whether the screen is a complete frame
    /// after it.
    fn feed(&mut self, chunk: &[u8], mut emit: impl FnMut(&[u8], bool)) {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chunk);
        let mut pos = 0;
        for at in memchr::memmem::find_iter(&data, SYNC) {
            let Some(&mode) = data.get(at + SYNC.len()) else {
                break;
            };
            let end = at + SYNC.len() + 1;
            match mode {
                b'h' => {
                    // What came before, outside a frame, shows as it is.
                    if !self.in_sync && at > pos {
                        emit(&data[pos..at], true);
                        pos = at;
                    }
                    self.in_sync = true;
                }
                b'l' => self.in_sync = false,
                _ => continue,
            }
            emit(&data[pos..end], !self.in_sync);
            pos = end;
        }
        let tail = &data[pos..];
        let held = tail
            .iter()
            .rposition(|&b| b == 0x1b)
            .filter(|&esc| SYNC.starts_with(&tail[esc..]))
            .unwrap_or(tail.len());
        let (now, later) = tail.split_at(held);
        if !now.is_empty() {
            emit(now, !self.in_sync);
        }
        self.carry = later.to_vec();
    }
}
