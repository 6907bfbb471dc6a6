-- A merchant's own request rate limit (requests per second per node); NULL
-- means the node's `rate_limit_per_second` applies, 0 means no limit.
ALTER TABLE merchants ADD COLUMN rate_limit_per_second BIGINT CHECK (rate_limit_per_second >= 0);
