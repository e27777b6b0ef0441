//! Feed cursors: `<database id>.<sequence>`, and while a snapshot is being paged
//! `<database id>.<head>.<last case id>`. A cursor names the database that issued it, so one
//! from another database, or from this one before a restore, is refused instead of being read
//! against a sequence it does not belong to.

/// Why a cursor cannot be continued: the client must take a new snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorRefusal {
    #[error("the cursor {0:?} was not issued by this server (or is from an older version)")]
    Unreadable(String),
    #[error(
        "the cursor was issued by another database, or by this one before it was restored or replaced"
    )]
    OtherDatabase,
    #[error(
        "the cursor is at change {seq}, ahead of this database's latest change {head}: the database was restored or replaced"
    )]
    Ahead { seq: i64, head: i64 },
}

/// Where a cursor stands in the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Every change up to this sequence has been sent.
    Feed(i64),
    /// A snapshot taken at feed sequence `head` has been sent up to case id `after`; the next
    /// page holds the following cases, as they are now.
    Snapshot { head: i64, after: i64 },
}

impl Position {
    /// The feed sequence the cursor is at (for a snapshot, the one it was taken at).
    pub fn seq(self) -> i64 {
        match self {
            Position::Feed(seq) | Position::Snapshot { head: seq, .. } => seq,
        }
    }
}

pub fn encode(database_id: &str, seq: i64) -> String {
    format!("{database_id}.{seq}")
}

pub fn encode_snapshot(database_id: &str, head: i64, after: i64) -> String {
    format!("{database_id}.{head}.{after}")
}

/// The position a cursor of `database_id` stands for.
pub fn decode(database_id: &str, cursor: &str) -> Result<Position, CursorRefusal> {
    let unreadable = || CursorRefusal::Unreadable(cursor.chars().take(80).collect());
    let number = |s: &str| s.parse::<i64>().ok().filter(|n| *n >= 0);
    let (database, rest) = cursor.split_once('.').ok_or_else(unreadable)?;
    let position = match rest.split_once('.') {
        None => Position::Feed(number(rest).ok_or_else(unreadable)?),
        Some((head, after)) => Position::Snapshot {
            head: number(head).ok_or_else(unreadable)?,
            after: number(after).ok_or_else(unreadable)?,
        },
    };
    if database != database_id {
        return Err(CursorRefusal::OtherDatabase);
    }
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_in_its_own_database() {
        let c = encode("ab12", 42);
        assert_eq!(decode("ab12", &c), Ok(Position::Feed(42)));
        assert_eq!(decode("cd34", &c), Err(CursorRefusal::OtherDatabase));
        for bad in [
            "42",
            "",
            "ab12.",
            "ab12.-1",
            "ab12.x",
            "ab12.4.",
            "ab12.4.x",
            "ab12.4.5.6",
        ] {
            assert!(
                matches!(decode("ab12", bad), Err(CursorRefusal::Unreadable(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_snapshot_cursor_carries_its_head_and_last_case() {
        let c = encode_snapshot("ab12", 42, 7);
        assert_eq!(
            decode("ab12", &c),
            Ok(Position::Snapshot { head: 42, after: 7 })
        );
        assert_eq!(decode("cd34", &c), Err(CursorRefusal::OtherDatabase));
        assert_eq!(Position::Snapshot { head: 42, after: 7 }.seq(), 42);
    }
}
