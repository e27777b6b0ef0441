-- The policy answer library: answers, every version of each, and every case answered with one.
CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    -- The current version (the highest in answer_versions).
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER,
    retired_by TEXT
);

-- A version is never changed: an edit adds the next one.
CREATE TABLE answer_versions (
    answer_id INTEGER NOT NULL REFERENCES answers (id),
    version INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT,
    -- A JSON array of strings.
    tags TEXT NOT NULL,
    valid_from INTEGER,
    valid_until INTEGER,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (answer_id, version)
);

-- Written with the case's `answer-online` event, in the same transaction.
CREATE TABLE answer_uses (
    id INTEGER PRIMARY KEY,
    answer_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    case_id INTEGER NOT NULL REFERENCES cases (id),
    event_id INTEGER NOT NULL REFERENCES events (id),
    used_at INTEGER NOT NULL,
    used_by TEXT NOT NULL,
    FOREIGN KEY (answer_id, version) REFERENCES answer_versions (answer_id, version)
);

CREATE INDEX answer_uses_by_answer ON answer_uses (answer_id, used_at);
