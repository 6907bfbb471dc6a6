-- PayIns, PayOuts, the manual provider's requisites pool and the outbox of
-- webhook events. Amounts are minor units; JSON documents are TEXT.
CREATE TABLE payins (
    id                TEXT    PRIMARY KEY,
    merchant_id       TEXT    NOT NULL REFERENCES merchants(id),
    merchant_order_id TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    amount            INTEGER NOT NULL CHECK (amount > 0),
    original_amount   INTEGER NOT NULL CHECK (original_amount > 0),
    fee               INTEGER NOT NULL CHECK (fee >= 0),
    fee_percent_e4    INTEGER NOT NULL,
    fee_fixed         INTEGER NOT NULL,
    currency          TEXT    NOT NULL,
    method            TEXT    NOT NULL,
    mode              TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    requisite_id      TEXT,
    requisites        TEXT    NOT NULL,
    customer_id       TEXT    NOT NULL,
    customer_ip       TEXT,
    customer_email    TEXT,
    callback_url      TEXT,
    return_url        TEXT,
    ttl_seconds       INTEGER NOT NULL,
    metadata          TEXT,
    request_digest    TEXT    NOT NULL,
    has_open_dispute  INTEGER NOT NULL DEFAULT 0,
    failure_reason    TEXT,
    expires_at        INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    completed_at      INTEGER,
    UNIQUE (merchant_id, merchant_order_id)
);
CREATE INDEX payins_merchant_id ON payins (merchant_id, id);
CREATE INDEX payins_pending_expiry ON payins (expires_at) WHERE status = 'pending';
-- Two pending payins on the same requisites must differ in amount, or the
-- incoming money could not be matched: the database enforces it.
CREATE UNIQUE INDEX payins_pending_requisite ON payins (requisite_id, amount) WHERE status = 'pending' AND requisite_id IS NOT NULL;

CREATE TABLE payouts (
    id                 TEXT    PRIMARY KEY,
    merchant_id        TEXT    NOT NULL REFERENCES merchants(id),
    merchant_order_id  TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    amount             INTEGER NOT NULL CHECK (amount > 0),
    fee                INTEGER NOT NULL CHECK (fee >= 0),
    currency           TEXT    NOT NULL,
    method             TEXT    NOT NULL,
    mode               TEXT    NOT NULL,
    provider           TEXT    NOT NULL,
    destination_masked TEXT    NOT NULL,
    destination_sealed TEXT    NOT NULL,
    customer_id        TEXT,
    callback_url       TEXT,
    metadata           TEXT,
    request_digest     TEXT    NOT NULL,
    failure_reason     TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    completed_at       INTEGER,
    UNIQUE (merchant_id, merchant_order_id)
);
CREATE INDEX payouts_merchant_id ON payouts (merchant_id, id);

CREATE TABLE requisites (
    id         TEXT    PRIMARY KEY,
    method     TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    details    TEXT    NOT NULL,
    label      TEXT,
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    min_amount INTEGER,
    max_amount INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The outbox: written in the same transaction as the status change.
CREATE TABLE events (
    id              TEXT    PRIMARY KEY,
    merchant_id     TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    object_id       TEXT    NOT NULL,
    callback_url    TEXT,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX events_due ON events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX events_merchant ON events (merchant_id, id);
CREATE INDEX events_object ON events (object_id);
