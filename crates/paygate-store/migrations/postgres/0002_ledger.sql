-- Double-entry ledger. An account is (owner, mode, currency, bucket): test
-- and live money are separate ledgers. Merchant
-- accounts may never go negative, which the CHECK enforces as a last line of
-- defence behind the application's own checks.
--
-- A transaction is the set of entries sharing a tx_id (each entry carries
-- the transaction's merchant, currency, reason and reference), so there is
-- no separate transactions table to write on the hot path. Entries have no
-- foreign keys for the same reason: only the writer inserts them, and
-- `paygate ledger check` proves every entry belongs to an account and every
-- transaction sums to zero.
CREATE TABLE accounts (
    id          TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    mode        TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    is_merchant BIGINT  NOT NULL CHECK (is_merchant IN (0, 1)),
    currency    TEXT    NOT NULL,
    bucket      TEXT    NOT NULL,
    balance     BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL,
    UNIQUE (owner, mode, currency, bucket),
    CHECK (is_merchant = 0 OR balance >= 0)
);

CREATE TABLE ledger_entries (
    id            TEXT    PRIMARY KEY,
    tx_id         TEXT    NOT NULL,
    account_id    TEXT    NOT NULL,
    merchant_id   TEXT    NOT NULL,
    mode          TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    bucket        TEXT    NOT NULL,
    amount        BIGINT  NOT NULL,
    balance_after BIGINT  NOT NULL,
    reason        TEXT    NOT NULL,
    ref_type      TEXT,
    ref_id        TEXT,
    created_at    BIGINT  NOT NULL
);
CREATE INDEX ledger_entries_merchant ON ledger_entries (merchant_id, id);
CREATE INDEX ledger_entries_account ON ledger_entries (account_id);
CREATE INDEX ledger_entries_tx ON ledger_entries (tx_id);
