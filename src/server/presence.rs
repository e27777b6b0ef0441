//! Who has which case open, held in memory. Consoles repeat their presence every few seconds
//! while it holds; written to the database, hundreds of consoles would cost an fsync each
//! time for something that is worthless a minute later and may be lost in a restart (the
//! consoles send it again within a heartbeat). A presence nobody renews lapses on its own, by
//! [`PresenceHub::expire`], which the server runs once a second.
//!
//! Entries come in through [`PresenceHub::publish`] (a console's `PUT`) and are applied by
//! [`PresenceHub::apply`]. Instances on one PostgreSQL database share presence: what
//! `publish` accepted is announced to the others (`NOTIFY`, see `Store::announce_presence`)
//! and each applies what the others announce ([`PresenceHub::apply_announced`]); a lost
//! announcement is repeated by the console's next heartbeat.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::wire::{Activity, PRESENCE_TTL_SECS, Presence, Role};

/// One user's presence, in UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub user: String,
    pub role: Role,
    /// `None`: the user has no case open (the entry clears theirs).
    pub case: Option<i64>,
    pub activity: Activity,
    pub since: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Held {
    by_user: HashMap<String, Entry>,
    version: i64,
}

/// Everyone's presence, its version, and a wake-up for long polls.
#[derive(Debug)]
pub struct PresenceHub {
    held: Mutex<Held>,
    version: watch::Sender<i64>,
    /// This instance, so that it ignores its own announcements.
    instance: String,
}

impl Default for PresenceHub {
    fn default() -> Self {
        PresenceHub {
            held: Mutex::default(),
            version: watch::channel(0).0,
            instance: uuid::Uuid::new_v4().simple().to_string(),
        }
    }
}

/// An entry as one instance announces it to the others.
#[derive(Serialize, Deserialize)]
struct Announced {
    from: String,
    entry: Entry,
}

impl PresenceHub {
    /// A console's report at `now`: the entry to apply here (and, with several instances, to
    /// send to the others). A renewal of the same case and activity keeps its `since`.
    pub fn publish(
        &self,
        user: &str,
        role: Role,
        case: Option<i64>,
        activity: Activity,
        now: DateTime<Utc>,
    ) -> Entry {
        let since = {
            let held = self.lock();
            held.by_user
                .get(user)
                .filter(|e| e.case == case && e.activity == activity)
                .map_or(now, |e| e.since)
        };
        let entry = Entry {
            user: user.to_string(),
            role,
            case,
            activity,
            since,
            expires_at: now + Duration::seconds(PRESENCE_TTL_SECS),
        };
        self.apply(entry.clone());
        entry
    }

    /// Puts an entry in place of the user's. The version moves only when what others see
    /// changes (not for a mere renewal), so heartbeats wake no long poll.
    pub fn apply(&self, entry: Entry) {
        let mut held = self.lock();
        let visible_change = match held.by_user.get(&entry.user) {
            Some(old) => {
                old.case != entry.case || old.activity != entry.activity || old.role != entry.role
            }
            None => entry.case.is_some(),
        };
        if entry.case.is_some() {
            held.by_user.insert(entry.user.clone(), entry);
        } else {
            held.by_user.remove(&entry.user);
        }
        if visible_change {
            self.bump(&mut held);
        }
    }

    /// `entry` as announced to the other instances.
    pub fn announcement(&self, entry: &Entry) -> String {
        serde_json::to_string(&Announced {
            from: self.instance.clone(),
            entry: entry.clone(),
        })
        .unwrap_or_default()
    }

    /// Applies what another instance announced; its own and unreadable ones are ignored.
    pub fn apply_announced(&self, payload: &str) {
        match serde_json::from_str::<Announced>(payload) {
            Ok(a) if a.from != self.instance => self.apply(a.entry),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "unreadable presence from another instance"),
        }
    }

    /// Removes every entry lapsed at `now`; returns how many.
    pub fn expire(&self, now: DateTime<Utc>) -> usize {
        let mut held = self.lock();
        let before = held.by_user.len();
        held.by_user.retain(|_, e| e.expires_at > now);
        let lapsed = before - held.by_user.len();
        if lapsed > 0 {
            self.bump(&mut held);
        }
        lapsed
    }

    /// The version and every entry (on a case), by case then user.
    pub fn snapshot(&self) -> (i64, Vec<Entry>) {
        let held = self.lock();
        let mut entries: Vec<Entry> = held.by_user.values().cloned().collect();
        entries.sort_by(|a, b| a.case.cmp(&b.case).then_with(|| a.user.cmp(&b.user)));
        (held.version, entries)
    }

    /// Wakes when the version moves.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.version.subscribe()
    }

    fn bump(&self, held: &mut Held) {
        held.version += 1;
        self.version.send_replace(held.version);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Entry {
    pub fn to_wire(&self, tz: Tz) -> Option<Presence> {
        let at = |t: DateTime<Utc>| t.with_timezone(&tz).fixed_offset();
        Some(Presence {
            case: self.case?,
            user: self.user.clone(),
            role: self.role,
            activity: self.activity,
            since: at(self.since),
            expires_at: at(self.expires_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2022, 5, 8, 13, 0, 0).unwrap() + Duration::seconds(s)
    }

    #[test]
    fn a_renewal_keeps_since_and_moves_no_version() {
        let hub = PresenceHub::default();
        hub.publish("op-li", Role::Operator, Some(1), Activity::Viewing, t(0));
        let (v1, _) = hub.snapshot();
        let e = hub.publish("op-li", Role::Operator, Some(1), Activity::Viewing, t(10));
        assert_eq!(e.since, t(0));
        assert_eq!(hub.snapshot().0, v1);
        hub.publish("op-li", Role::Operator, Some(1), Activity::Answering, t(12));
        let (v2, entries) = hub.snapshot();
        assert!(v2 > v1);
        assert_eq!(entries[0].since, t(12));
    }

    #[test]
    fn entries_lapse_after_the_ttl() {
        let hub = PresenceHub::default();
        hub.publish("op-li", Role::Operator, Some(1), Activity::Viewing, t(0));
        assert_eq!(hub.expire(t(PRESENCE_TTL_SECS - 1)), 0);
        let (v, _) = hub.snapshot();
        assert_eq!(hub.expire(t(PRESENCE_TTL_SECS)), 1);
        let (v2, entries) = hub.snapshot();
        assert!(entries.is_empty());
        assert!(v2 > v);
    }
}
