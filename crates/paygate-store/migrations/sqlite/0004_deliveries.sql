-- Every webhook delivery attempt, as merchants see them in
-- /api/v1/webhook/deliveries. The event itself (with its retry state) is
-- in `events`, written in the same transaction as the change it announces.
CREATE TABLE deliveries (
    id               TEXT    PRIMARY KEY,
    event_id         TEXT    NOT NULL,
    merchant_id      TEXT    NOT NULL,
    event_type       TEXT    NOT NULL,
    object_id        TEXT    NOT NULL,
    url              TEXT,
    attempt          INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    http_status      INTEGER,
    latency_ms       INTEGER,
    error            TEXT,
    response_excerpt TEXT,
    created_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_merchant ON deliveries (merchant_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);
