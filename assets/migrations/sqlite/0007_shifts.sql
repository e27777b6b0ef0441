-- Shift work: who was on shift when, the handover brief each shift left, who of the next
-- shift read it, and whom a department has on duty. Times are integer milliseconds (UTC).
CREATE TABLE shifts (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    started_at BIGINT NOT NULL,
    -- NULL while the shift runs.
    ended_at   BIGINT
);
CREATE INDEX shifts_by_user ON shifts (user_id, started_at);
CREATE INDEX shifts_by_end ON shifts (ended_at);
-- At most one running shift per user.
CREATE UNIQUE INDEX shifts_one_running ON shifts (user_id) WHERE ended_at IS NULL;

-- Written once, when the shift ends.
CREATE TABLE handovers (
    id         INTEGER PRIMARY KEY,
    shift_id   INTEGER NOT NULL UNIQUE REFERENCES shifts (id),
    written_at BIGINT NOT NULL,
    note       TEXT NOT NULL,
    -- The brief as JSON (`HandoverBrief` without id, shift, note and acks).
    brief      TEXT NOT NULL
);
CREATE INDEX handovers_written ON handovers (written_at);

CREATE TABLE handover_acks (
    handover_id INTEGER NOT NULL REFERENCES handovers (id),
    user_id     INTEGER NOT NULL REFERENCES users (id),
    at          BIGINT NOT NULL,
    PRIMARY KEY (handover_id, user_id)
);

CREATE TABLE department_duty (
    department_id INTEGER NOT NULL REFERENCES departments (id),
    position      INTEGER NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL,
    -- NULL: until replaced.
    until         BIGINT,
    PRIMARY KEY (department_id, position)
);
