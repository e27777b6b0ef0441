//! Alarms as bytes for the terminal: the bell (BEL) and a desktop notification by OSC 9 or
//! OSC 777. `App::update` decides *that* an alarm rings (an `Effect::Alarm`); the loop writes
//! these bytes, never the drawing code.

use super::config::NotifyKind;

/// One alarm as `update` asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub bell: bool,
    pub notify: NotifyKind,
    pub title: String,
    pub body: String,
}

/// Control characters (and `;`, the OSC 777 separator) would end the sequence early.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() || c == ';' { ' ' } else { c })
        .collect()
}

impl Alarm {
    /// What the loop writes to the terminal for this alarm.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        match self.notify {
            NotifyKind::Osc9 => {
                out.push_str(&format!(
                    "\x1b]9;{}: {}\x07",
                    clean(&self.title),
                    clean(&self.body)
                ));
            }
            NotifyKind::Osc777 => {
                out.push_str(&format!(
                    "\x1b]777;notify;{};{}\x07",
                    clean(&self.title),
                    clean(&self.body)
                ));
            }
            NotifyKind::Off => {}
        }
        if self.bell {
            out.push('\x07');
        }
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm(notify: NotifyKind, bell: bool) -> Alarm {
        Alarm {
            bell,
            notify,
            title: "Jieyou".into(),
            body: "KH-0042 ■ red; 透析\n病人".into(),
        }
    }

    #[test]
    fn writes_osc9_osc777_and_the_bell() {
        assert_eq!(
            String::from_utf8(alarm(NotifyKind::Osc9, true).bytes()).unwrap(),
            "\x1b]9;Jieyou: KH-0042 ■ red  透析 病人\x07\x07"
        );
        assert_eq!(
            String::from_utf8(alarm(NotifyKind::Osc777, false).bytes()).unwrap(),
            "\x1b]777;notify;Jieyou;KH-0042 ■ red  透析 病人\x07"
        );
        assert_eq!(alarm(NotifyKind::Off, true).bytes(), b"\x07");
        assert!(alarm(NotifyKind::Off, false).bytes().is_empty());
    }
}
