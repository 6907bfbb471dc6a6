-- Statistics (API.md 3.5) read one merchant's payments of one mode created
-- in a period. Without an index that is a scan of every merchant's rows; with
-- this one it is a range scan of exactly the rows counted. It is the only
-- index statistics adds to each table: every index is paid for on every
-- create, and payin-create throughput matters more than report latency.
CREATE INDEX IF NOT EXISTS payins_merchant_created ON payins (merchant_id, mode, created_at);
CREATE INDEX IF NOT EXISTS payouts_merchant_created ON payouts (merchant_id, mode, created_at);
