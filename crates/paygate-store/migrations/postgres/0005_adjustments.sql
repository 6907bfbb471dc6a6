-- Operator adjustments that carry an idempotency key: a retried request
-- finds its first posting instead of moving money twice.
CREATE TABLE adjustments (
    merchant_id     TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    tx_id           TEXT    NOT NULL,
    mode            TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    amount          BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (merchant_id, idempotency_key)
);
