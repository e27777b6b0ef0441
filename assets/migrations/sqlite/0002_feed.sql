-- The identity of this database: every feed cursor carries it, so a cursor issued by another
-- database (or by this one before a restore, which renews it) is refused instead of read
-- against the wrong sequence. Existing databases get theirs here.
CREATE TABLE database_identity (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    database_id TEXT NOT NULL
);
INSERT INTO database_identity (id, database_id) VALUES (1, lower(hex(randomblob(16))));

-- Every time a case leaves a department (return, reassignment, reopen), at the feed sequence of
-- that change: the department's feed sends a tombstone for it after any cursor below `seq`.
-- Departures before this migration need no row: cursors issued before it lack the database's
-- identity, so every console takes a fresh snapshot.
CREATE TABLE departures (
    id            INTEGER PRIMARY KEY,
    case_id       INTEGER NOT NULL REFERENCES cases(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    seq           INTEGER NOT NULL
);
CREATE INDEX departures_department ON departures (department_id, seq);

-- Replaced by `departures`: it named only the last department to lose a case, and kept sending
-- that department the case's later changes.
DROP INDEX cases_left_department;
ALTER TABLE cases DROP COLUMN left_department_id;
