//! What a handover brief says about a case, in the reader's language: the console's brief and
//! `jieyou report shift` both read it from here.

use chrono::{DateTime, FixedOffset};

use super::i18n::I18n;
use crate::wire::BriefCase;

/// The case's status as the reader's language names it; an unknown status as sent.
pub fn status(i18n: &I18n, c: &BriefCase) -> String {
    i18n.t_or(&format!("status.{}", c.status), &c.status)
        .to_string()
}

/// The rung reached, the follow-up promised or the extension asked, if the brief says one.
/// A brief written before these were structured has only its English `detail`.
pub fn detail(
    i18n: &I18n,
    c: &BriefCase,
    time: impl Fn(&DateTime<FixedOffset>) -> String,
) -> Option<String> {
    if let Some(rung) = &c.rung {
        let rung = i18n.t_or(&format!("escalation.{rung}"), rung);
        return Some(match &c.rung_clock {
            Some(clock) => i18n.f(
                "brief_detail.rung",
                &[
                    ("rung", rung),
                    ("clock", i18n.t_or(&format!("clock.{clock}"), clock)),
                ],
            ),
            None => rung.to_string(),
        });
    }
    if let Some(due) = &c.follow_up_due {
        return Some(i18n.f("brief_detail.follow_up", &[("at", &time(due))]));
    }
    if let Some(x) = &c.extension {
        return Some(i18n.f(
            "brief_detail.extension",
            &[
                ("who", &x.requested_by),
                ("until", &time(&x.until)),
                ("reason", &x.reason),
            ],
        ));
    }
    c.detail.clone()
}
