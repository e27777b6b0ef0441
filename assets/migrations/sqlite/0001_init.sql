-- Times are INTEGER milliseconds since the Unix epoch, UTC.

CREATE TABLE departments (
    id     INTEGER PRIMARY KEY,
    name   TEXT NOT NULL UNIQUE,
    kind   TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    department_id INTEGER REFERENCES departments(id),
    token_hash    TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
);

-- One row: the change feed's sequence. Every write transaction bumps it last, just before
-- COMMIT; writers are serialized, so sequence order is commit order and a reader that has seen
-- sequence s has seen every change numbered below s.
CREATE TABLE feed_counter (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO feed_counter (id, seq) VALUES (1, 0);

CREATE TABLE cases (
    id                    INTEGER PRIMARY KEY,
    reference             TEXT NOT NULL UNIQUE,
    version               INTEGER NOT NULL,
    channel               TEXT NOT NULL,
    category              TEXT NOT NULL,
    title                 TEXT NOT NULL,
    description           TEXT NOT NULL,
    requester_name        TEXT NOT NULL,
    requester_phone       TEXT NOT NULL,
    town                  TEXT NOT NULL,
    address               TEXT NOT NULL,
    lat                   REAL,
    long                  REAL,
    tier                  TEXT,
    status                TEXT NOT NULL,
    department_id         INTEGER REFERENCES departments(id),
    -- The department that last lost the case (return, reassignment, reopen): its consoles
    -- still get the change that took the case away.
    left_department_id    INTEGER REFERENCES departments(id),
    claimed_by            TEXT,
    received_at           INTEGER NOT NULL,
    triaged_at            INTEGER,
    first_dispatched_at   INTEGER,
    dispatched_at         INTEGER,
    signed_at             INTEGER,
    resolved_at           INTEGER,
    followed_up_at        INTEGER,
    closed_at             INTEGER,
    updated_at            INTEGER NOT NULL,
    feedback_due_override INTEGER,
    return_count          INTEGER NOT NULL DEFAULT 0,
    extension_count       INTEGER NOT NULL DEFAULT 0,
    urge_count            INTEGER NOT NULL DEFAULT 0,
    ext_until             INTEGER,
    ext_reason            TEXT,
    ext_by                TEXT,
    ext_at                INTEGER,
    satisfaction          TEXT,
    merged_into           INTEGER REFERENCES cases(id),
    follow_up_required    INTEGER NOT NULL DEFAULT 0,
    awaiting_ruling       INTEGER NOT NULL DEFAULT 0,
    escalation_clock      TEXT,
    escalation_due_at     INTEGER,
    escalation_level      INTEGER NOT NULL DEFAULT 0,
    escalated_at          INTEGER,
    change_seq            INTEGER NOT NULL
);
CREATE INDEX cases_change_seq ON cases (change_seq);
CREATE INDEX cases_status ON cases (status, closed_at);
CREATE INDEX cases_department ON cases (department_id, change_seq);
CREATE INDEX cases_left_department ON cases (left_department_id, change_seq);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    actor_role  TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    payload     TEXT NOT NULL
);
CREATE INDEX events_case ON events (case_id, id);
CREATE INDEX events_at ON events (at);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are immutable'); END;

-- The first successful answer to each (user, Idempotency-Key), replayed on retries.
CREATE TABLE idempotency (
    user_name   TEXT NOT NULL,
    key         TEXT NOT NULL,
    request     TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_name, key)
);
