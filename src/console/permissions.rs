//! What the console offers: the server's own table (`domain::permitted`) read against the case
//! as the feed last showed it, so a key the signed-in role may not use on the selected case
//! never opens a form the server would refuse.

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Utc};

use super::command::Command;
use crate::domain::{self, ActionKind, CaseState, Refusal};
use crate::wire::{Case, ClockKind, Me, Role, Status};

/// Why a command is not offered.
/// Ordered by what to tell first when a key means several commands: the case's state
/// before the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotOffered {
    /// Not on this case as it is now.
    State,
    /// The role may not do this at all.
    Role,
}

/// The actions a command stands for; the first one that applies to the case is taken (a
/// claim on a case you hold is a release; `t` on a triaged case re-tiers; `a` on an untriaged
/// case triages first).
pub fn kinds(command: Command) -> &'static [ActionKind] {
    use ActionKind as K;
    match command {
        Command::Triage => &[K::Triage, K::Retier],
        Command::Claim => &[K::Claim, K::Release],
        Command::Assign => &[K::Dispatch],
        Command::Answer => &[K::AnswerOnline],
        Command::Note => &[K::Note],
        Command::Urge => &[K::Urge],
        Command::Extension => &[K::DecideExtension],
        Command::FollowUp => &[K::FollowUp],
        Command::SignFor => &[K::SignFor],
        Command::Progress => &[K::Progress],
        Command::Resolve => &[K::Resolve],
        Command::Return => &[K::Return],
        Command::RequestExtension => &[K::RequestExtension],
        Command::MergeGroup => &[K::Merge],
        _ => &[],
    }
}

/// The one action `command` means on `case` for `me`.
pub fn kind_on(command: Command, case: &Case, me: &Me) -> Option<ActionKind> {
    use ActionKind as K;
    Some(match command {
        Command::Triage if case.tier.is_some() => K::Retier,
        Command::Triage => K::Triage,
        Command::Claim if case.claimed_by.as_deref() == Some(me.name.as_str()) => K::Release,
        Command::Claim => K::Claim,
        // Dispatching an untriaged case asks for the tier first.
        Command::Assign if case.status == Status::New => K::Triage,
        c => *kinds(c).first()?,
    })
}

/// May `me` take `kind` on `case` now, by the server's table and its visibility rule?
pub fn check(me: &Me, case: &Case, kind: ActionKind) -> Result<(), Refusal> {
    if !domain::role_may(me.role, kind) {
        return Err(Refusal::Forbidden(String::new()));
    }
    if me.role == Role::Department
        && (me.department_id.is_none() || case.department_id != me.department_id)
    {
        return Err(Refusal::Forbidden(String::new()));
    }
    domain::permitted(me.role, &me.name, kind, &CaseState::of_case(case))
}

/// Whether `command` is offered to `me` on `case` (or, with no case selected, to the role at
/// all). Commands that are not case actions are always offered, except a new case.
pub fn offered(command: Command, me: &Me, case: Option<&Case>) -> Result<(), NotOffered> {
    if command == Command::NewCase {
        return if domain::may_create(me.role) {
            Ok(())
        } else {
            Err(NotOffered::Role)
        };
    }
    if matches!(
        command,
        Command::Library | Command::Shift | Command::Handovers | Command::Duty
    ) {
        return if role_uses(command, me.role) {
            Ok(())
        } else {
            Err(NotOffered::Role)
        };
    }
    let all = kinds(command);
    if all.is_empty() {
        return Ok(());
    }
    if !all.iter().any(|k| domain::role_may(me.role, *k)) {
        return Err(NotOffered::Role);
    }
    let Some(case) = case else {
        return Ok(());
    };
    let Some(kind) = kind_on(command, case, me) else {
        return Ok(());
    };
    match check(me, case, kind) {
        Ok(()) => Ok(()),
        Err(Refusal::Forbidden(_)) => Err(NotOffered::Role),
        Err(_) => Err(NotOffered::State),
    }
}

/// Whether the role uses the command at all (for `?`).
pub fn role_uses(command: Command, role: Role) -> bool {
    if command == Command::NewCase {
        return domain::may_create(role);
    }
    if command == Command::Library {
        return matches!(role, Role::Supervisor | Role::Admin);
    }
    if command == Command::Shift {
        return matches!(role, Role::Operator | Role::Supervisor);
    }
    if command == Command::Duty {
        return matches!(role, Role::Department | Role::Supervisor | Role::Admin);
    }
    if command == Command::Handovers {
        return matches!(role, Role::Operator | Role::Supervisor | Role::Admin);
    }
    let all = kinds(command);
    all.is_empty() || all.iter().any(|k| domain::role_may(role, *k))
}

/// The deadline a department works to on a case it holds: signing for it, then the feedback;
/// as unix seconds, for ordering its queue.
pub fn department_due(case: &Case) -> Option<i64> {
    let clock = match case.status {
        Status::Dispatched => ClockKind::SignFor,
        _ => ClockKind::Feedback,
    };
    case.deadlines
        .iter()
        .find(|d| d.clock == clock && d.met_at.is_none())
        .or_else(|| {
            case.deadlines
                .iter()
                .find(|d| d.clock == ClockKind::Feedback && d.met_at.is_none())
        })
        .map(|d| d.due_at.timestamp())
}

/// Why an extension time was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UntilError {
    /// Not `+2h`, `+30m`, `+1h30m` or `HH:MM`.
    Unreadable,
    /// Not later than the case's current feedback deadline.
    NotLater,
}

/// The new feedback deadline a department asks for: `+2h`, `+30m`, `+1h30m` from now, or a
/// wall-clock `HH:MM` in the desk's zone (tomorrow when that time has passed today). It must be
/// later than the current feedback deadline, as the server requires.
pub fn parse_until(
    input: &str,
    now: DateTime<Utc>,
    zone: FixedOffset,
    case: &Case,
) -> Result<DateTime<FixedOffset>, UntilError> {
    let s = input.trim();
    let until = if let Some(rel) = s.strip_prefix('+') {
        let minutes = relative_minutes(rel).ok_or(UntilError::Unreadable)?;
        (now + Duration::minutes(minutes)).with_timezone(&zone)
    } else {
        let t = NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| UntilError::Unreadable)?;
        let local = now.with_timezone(&zone);
        let mut at = zone
            .from_local_datetime(&local.date_naive().and_time(t))
            .single()
            .ok_or(UntilError::Unreadable)?;
        if at <= local {
            at += Duration::days(1);
        }
        at
    };
    let feedback = case
        .deadlines
        .iter()
        .find(|d| d.clock == ClockKind::Feedback)
        .map(|d| d.due_at.with_timezone(&Utc));
    if until.with_timezone(&Utc) <= now || feedback.is_some_and(|f| until.with_timezone(&Utc) <= f)
    {
        return Err(UntilError::NotLater);
    }
    Ok(until)
}

/// `2h`, `30m`, `1h30m` as minutes; at most a week.
fn relative_minutes(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let mut total = 0i64;
    let mut num = String::new();
    let mut any = false;
    for c in s.chars() {
        match c {
            '0'..='9' => num.push(c),
            'h' | 'm' | 'd' if !num.is_empty() => {
                let n: i64 = num.parse().ok()?;
                total += n * match c {
                    'd' => 24 * 60,
                    'h' => 60,
                    _ => 1,
                };
                num.clear();
                any = true;
            }
            _ => return None,
        }
    }
    (any && num.is_empty() && total > 0 && total <= 7 * 24 * 60).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_relative_times() {
        assert_eq!(relative_minutes("2h"), Some(120));
        assert_eq!(relative_minutes("30m"), Some(30));
        assert_eq!(relative_minutes("1h30m"), Some(90));
        assert_eq!(relative_minutes("2"), None);
        assert_eq!(relative_minutes("h"), None);
        assert_eq!(relative_minutes("0m"), None);
        assert_eq!(relative_minutes("2x"), None);
    }
}
