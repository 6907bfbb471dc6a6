-- Disputes (API.md 3.4). A dispute is about one payin; at most one is open
-- per payin, which the database enforces. frozen_amount is what was moved
-- from available to frozen when it opened (0 when nothing was at risk); it
-- returns when the dispute is resolved or cancelled.
CREATE TABLE disputes (
    id                   TEXT    PRIMARY KEY,
    merchant_id          TEXT    NOT NULL REFERENCES merchants(id),
    payin_id             TEXT    NOT NULL REFERENCES payins(id),
    mode                 TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    claimed_amount       BIGINT NOT NULL CHECK (claimed_amount > 0),
    resolved_amount      BIGINT CHECK (resolved_amount > 0),
    currency             TEXT    NOT NULL,
    comment              TEXT,
    frozen_amount        BIGINT NOT NULL DEFAULT 0 CHECK (frozen_amount >= 0),
    receipt_filename     TEXT    NOT NULL,
    receipt_content_type TEXT    NOT NULL,
    receipt_size         BIGINT NOT NULL,
    receipt_sha256       TEXT    NOT NULL,
    resolution_reason    TEXT,
    resolution_comment   TEXT,
    callback_url         TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    resolved_at          BIGINT
);
CREATE UNIQUE INDEX disputes_one_open ON disputes (payin_id) WHERE status = 'open';
CREATE INDEX disputes_merchant_id ON disputes (merchant_id, id);
CREATE INDEX disputes_payin ON disputes (payin_id);

-- Receipt bytes, kept apart from the row so listing disputes never reads
-- them; written in the same transaction as the dispute.
CREATE TABLE dispute_receipts (
    dispute_id TEXT  PRIMARY KEY REFERENCES disputes(id),
    data       BYTEA NOT NULL
);
