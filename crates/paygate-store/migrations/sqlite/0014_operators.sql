-- The operator dashboard (API.md section 11): named operator accounts with
-- roles, server-side sessions, and an append-only audit log of every
-- state-changing operator action (dashboard and admin API alike).
CREATE TABLE operators (
    id            TEXT    PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    -- argon2id PHC string; the password itself is never stored.
    password_hash TEXT    NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at    INTEGER NOT NULL
);

-- A session is known by the SHA-256 of its cookie value, so a copy of this
-- table signs no one in. `operator_id` is NULL for a sign-in with the admin
-- token. Idle and absolute expiry are checked on every request.
CREATE TABLE operator_sessions (
    id_hash      TEXT    PRIMARY KEY,
    operator_id  TEXT,
    actor        TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id      TEXT    PRIMARY KEY,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    role    TEXT    NOT NULL,
    -- 'dashboard', 'admin-api' or 'cli'
    via     TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    target  TEXT,
    outcome TEXT    NOT NULL,
    ip      TEXT
);
