-- Providers and routing (API.md section 7). A provider instance has a
-- type, non-secret settings in `config` (JSON) and its credentials sealed
-- with the master key in `secrets_sealed` (never returned). The built-ins
-- `sandbox` and `manual` always exist.
CREATE TABLE providers (
    id             TEXT    PRIMARY KEY,
    kind           TEXT    NOT NULL CHECK (kind IN ('sandbox', 'manual', 'switchere')),
    enabled        BIGINT NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    config         TEXT    NOT NULL DEFAULT '{}',
    secrets_sealed TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
INSERT INTO providers (id, kind, enabled, config, secrets_sealed, created_at, updated_at)
VALUES ('sandbox', 'sandbox', 1, '{}', NULL, 0, 0), ('manual', 'manual', 1, '{}', NULL, 0, 0);

-- Routing rules, replaced as a whole by PUT /admin/v1/routes. NULL matches
-- anything; the most specific matching set wins, then priority (lowest
-- first). `position` keeps the operator's order for reading back.
CREATE TABLE routes (
    position    BIGINT NOT NULL PRIMARY KEY,
    merchant_id TEXT,
    kind        TEXT    NOT NULL CHECK (kind IN ('payin', 'payout')),
    currency    TEXT,
    method      TEXT,
    provider_id TEXT    NOT NULL REFERENCES providers (id),
    priority    BIGINT NOT NULL
);

-- Every time a provider refused or could not be reached, for the operator.
CREATE TABLE provider_refusals (
    id                TEXT    PRIMARY KEY,
    at                BIGINT NOT NULL,
    provider_id       TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    merchant_id       TEXT    NOT NULL,
    merchant_order_id TEXT    NOT NULL,
    reason            TEXT    NOT NULL
);

-- The provider's own reference (the upstream order), the upstream's page
-- for the payer, and when to ask the upstream next if no callback came
-- (NULL: nothing to reconcile).
ALTER TABLE payins ADD COLUMN provider_ref TEXT;
ALTER TABLE payins ADD COLUMN provider_pay_url TEXT;
ALTER TABLE payins ADD COLUMN provider_check_at BIGINT;
ALTER TABLE payouts ADD COLUMN provider_ref TEXT;
ALTER TABLE payouts ADD COLUMN provider_check_at BIGINT;
CREATE INDEX payins_provider_check ON payins (provider_check_at) WHERE provider_check_at IS NOT NULL;
CREATE INDEX payouts_provider_check ON payouts (provider_check_at) WHERE provider_check_at IS NOT NULL;
