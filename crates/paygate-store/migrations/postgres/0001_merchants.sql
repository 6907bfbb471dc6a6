-- Merchants and their credentials. Flags are 0/1 integers and times are
-- microseconds since the epoch so both engines decode to the same types.
CREATE TABLE merchants (
    id                      TEXT    PRIMARY KEY,
    email                   TEXT    NOT NULL UNIQUE,
    name                    TEXT    NOT NULL,
    mode                    TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    enabled                 BIGINT  NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    public_token            TEXT    NOT NULL UNIQUE,
    secret_sealed           TEXT    NOT NULL,
    prev_secret_sealed      TEXT,
    prev_secret_expires_at  BIGINT,
    sign_body               BIGINT  NOT NULL DEFAULT 0 CHECK (sign_body IN (0, 1)),
    webhook_url             TEXT,
    ip_allowlist            TEXT    NOT NULL DEFAULT '[]',
    fees                    TEXT    NOT NULL DEFAULT '{}',
    limits                  TEXT    NOT NULL DEFAULT '{}',
    created_at              BIGINT  NOT NULL,
    updated_at              BIGINT  NOT NULL
);
