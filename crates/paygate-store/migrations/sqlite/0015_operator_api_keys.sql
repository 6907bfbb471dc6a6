-- A named operator's key for the admin API, so that roles hold there as in
-- the dashboard. Only the key's SHA-256 is kept; issuing a new key
-- replaces the old one.
ALTER TABLE operators ADD COLUMN api_key_hash TEXT;
CREATE UNIQUE INDEX operators_api_key_hash ON operators (api_key_hash);
