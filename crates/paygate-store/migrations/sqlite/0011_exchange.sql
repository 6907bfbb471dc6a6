-- Exchange partners and their orders (API.md sections 8 and 9).
--
-- A partner is a merchant with exchange credentials: an API key, a request
-- secret (with the previous one kept for a grace period after a rotation)
-- and a callback secret, all sealed like SecretTokens.
CREATE TABLE partners (
    merchant_id            TEXT    PRIMARY KEY REFERENCES merchants(id),
    api_key                TEXT    NOT NULL UNIQUE,
    secret_sealed          TEXT    NOT NULL,
    prev_secret_sealed     TEXT,
    prev_secret_expires_at INTEGER,
    callback_secret_sealed TEXT    NOT NULL,
    signature_padding      TEXT    NOT NULL CHECK (signature_padding IN ('padded', 'unpadded')),
    callback_url           TEXT,
    enabled                INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    -- {"payin_percent": "1.5", "margin_percent": "0.5", "payout_fixed": {"BTC": "0.0001"}}
    exchange_fees          TEXT    NOT NULL DEFAULT '{}',
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);

-- Operator settings of the exchange kept as validated JSON documents
-- (`methods`: the payin and payout methods of API.md 9.2).
CREATE TABLE exchange_settings (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Prices per pair BASE-QUOTE, as exact decimal strings.
CREATE TABLE rates (
    name          TEXT    PRIMARY KEY,
    base          TEXT    NOT NULL,
    quote         TEXT    NOT NULL,
    bid           TEXT    NOT NULL,
    ask           TEXT    NOT NULL,
    floating_rate TEXT    NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- One exchange order. Amounts are minor units of their currency; the price
-- and the fee percentages are locked in the order when it is created, so a
-- payin of another amount is recomputed at the same terms. A purchase_url
-- order has no payin currency or amount until the customer picks one.
CREATE TABLE exchange_orders (
    id                     TEXT    PRIMARY KEY,
    merchant_id            TEXT    NOT NULL REFERENCES merchants(id),
    partner_order_id       TEXT    NOT NULL,
    request_digest         TEXT    NOT NULL,
    mode                   TEXT    NOT NULL CHECK (mode IN ('test', 'live')),
    kind                   TEXT    NOT NULL CHECK (kind IN ('order', 'purchase')),
    status                 TEXT    NOT NULL,
    status_log             TEXT    NOT NULL,
    payin_currency         TEXT,
    payin_group            TEXT,
    payin_amount           INTEGER CHECK (payin_amount > 0),
    payin_fee              INTEGER NOT NULL DEFAULT 0 CHECK (payin_fee >= 0),
    margin_fee             INTEGER NOT NULL DEFAULT 0 CHECK (margin_fee >= 0),
    payout_currency        TEXT    NOT NULL,
    payout_group           TEXT    NOT NULL,
    payout_amount          INTEGER CHECK (payout_amount > 0),
    expected_payout_amount INTEGER,
    payout_fee             INTEGER NOT NULL DEFAULT 0 CHECK (payout_fee >= 0),
    rate_side              TEXT,
    rate_value             TEXT,
    payin_percent          TEXT    NOT NULL,
    margin_percent         TEXT    NOT NULL,
    dst_address            TEXT,
    dst_tag                INTEGER,
    memo                   TEXT,
    client_email           TEXT,
    callback_url           TEXT,
    website                TEXT,
    plugin_name            TEXT,
    requisite_id           TEXT,
    crypto_address         TEXT,
    crypto_network         TEXT,
    crypto_delay           INTEGER,
    payin_txid             TEXT,
    payout_txid            TEXT,
    card_number            TEXT,
    error_message          TEXT,
    pay_token              TEXT    NOT NULL UNIQUE,
    expires_at             INTEGER NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    finished_at            INTEGER,
    UNIQUE (merchant_id, partner_order_id)
);
CREATE INDEX exchange_orders_merchant ON exchange_orders (merchant_id, id);
CREATE INDEX exchange_orders_waiting ON exchange_orders (expires_at)
    WHERE status IN ('payin_pending', 'confirmation_pending');
-- A crypto address serves one waiting order at a time.
CREATE UNIQUE INDEX exchange_orders_address_taken ON exchange_orders (requisite_id)
    WHERE requisite_id IS NOT NULL AND status IN ('payin_pending', 'confirmation_pending');
