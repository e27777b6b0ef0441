//! Feed cursors: `<database id>.<sequence>`. A cursor names the database that issued it, so one
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

pub fn encode(database_id: &str, seq: i64) -> String {
    format!("{database_id}.{seq}")
}

/// The sequence a cursor of `database_id` stands for.
pub fn decode(database_id: &str, cursor: &str) -> Result<i64, CursorRefusal> {
    let unreadable = || CursorRefusal::Unreadable(cursor.chars().take(80).collect());
    let (database, seq) = cursor.rsplit_once('.').ok_or_else(unreadable)?;
    let seq: i64 = seq
        .parse()
        .ok()
        .filter(|s| *s >= 0)
        .ok_or_else(unreadable)?;
    if database != database_id {
        return Err(CursorRefusal::OtherDatabase);
    }
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_in_its_own_database() {
        let c = encode("ab12", 42);
        assert_eq!(decode("ab12", &c), Ok(42));
        assert_eq!(decode("cd34", &c), Err(CursorRefusal::OtherDatabase));
        for bad in ["42", "", "ab12.", "ab12.-1", "ab12.x"] {
            assert!(
                matches!(decode("ab12", bad), Err(CursorRefusal::Unreadable(_))),
                "{bad:?}"
            );
        }
    }
}
