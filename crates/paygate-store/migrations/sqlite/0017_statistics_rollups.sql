-- Statistics rollups (API.md 3.5): per merchant, mode, kind, currency,
-- status and UTC hour of creation, the count and the sums of amounts and
-- fees (each as two parts, `x / 10^9` and `x % 10^9`, which cannot
-- overflow however many rows are summed), and how many have a completion
-- time; and per UTC day a histogram of the completion times of successful
-- payments in 4%-wide buckets, for the median (per day rather than per
-- hour: a year is then a few hundred thousand histogram rows at most,
-- not millions). Database triggers keep them
-- in the same transaction, and the same statement, as every insert and
-- every change of status, amount, fee or completion time, whichever code
-- path made it. `paygate statistics check` compares them with the rows,
-- `paygate statistics rebuild` recomputes them.
CREATE TABLE stats_hourly (
    merchant_id TEXT   NOT NULL,
    mode        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    hour        INTEGER NOT NULL,
    currency    TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    n           INTEGER NOT NULL,
    amount_high INTEGER NOT NULL,
    amount_low  INTEGER NOT NULL,
    fee_high    INTEGER NOT NULL,
    fee_low     INTEGER NOT NULL,
    timed       INTEGER NOT NULL,
    -- Concurrent writers (PostgreSQL's writer tasks) add to rows of their
    -- own shard, so they never wait on each other's row locks; readers sum
    -- over the shards.
    shard       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, hour, currency, status, shard)
);

CREATE TABLE stats_durations (
    merchant_id TEXT   NOT NULL,
    mode        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    day         INTEGER NOT NULL,
    currency    TEXT   NOT NULL,
    bucket      INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    shard       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, day, currency, bucket, shard)
);

-- Bucket k >= 1 holds completion times from `low` (microseconds) up to the
-- next bucket's `low`, which is 4% higher (integer arithmetic, the same in
-- `paygate_core::statistics::duration_buckets`); bucket 0 holds everything
-- under a second.
CREATE TABLE stats_buckets (
    bucket INTEGER PRIMARY KEY,
    low    INTEGER NOT NULL UNIQUE
);
INSERT INTO stats_buckets (bucket, low) VALUES (0, -9223372036854775808);
WITH RECURSIVE b(k, low) AS (
    SELECT 1, CAST(1000000 AS INTEGER)
    UNION ALL SELECT k + 1, low + low / 25 FROM b WHERE low < 40000000000000
)
INSERT INTO stats_buckets (bucket, low) SELECT k, low FROM b;
INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
SELECT merchant_id, mode, 'payin', created_at - created_at % 3600000000, currency, status, COUNT(*),
       SUM(amount / 1000000000), SUM(amount % 1000000000), SUM(fee / 1000000000), SUM(fee % 1000000000), COUNT(completed_at)
FROM payins GROUP BY merchant_id, mode, created_at - created_at % 3600000000, currency, status;
INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
SELECT merchant_id, mode, 'payin', created_at - created_at % 86400000000, currency,
       (SELECT bucket FROM stats_buckets WHERE low <= completed_at - created_at ORDER BY low DESC LIMIT 1) AS b, COUNT(*)
FROM payins WHERE status = 'success' AND completed_at IS NOT NULL
GROUP BY merchant_id, mode, created_at - created_at % 86400000000, currency, b;
INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
SELECT merchant_id, mode, 'payout', created_at - created_at % 3600000000, currency, status, COUNT(*),
       SUM(amount / 1000000000), SUM(amount % 1000000000), SUM(fee / 1000000000), SUM(fee % 1000000000), COUNT(completed_at)
FROM payouts GROUP BY merchant_id, mode, created_at - created_at % 3600000000, currency, status;
INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
SELECT merchant_id, mode, 'payout', created_at - created_at % 86400000000, currency,
       (SELECT bucket FROM stats_buckets WHERE low <= completed_at - created_at ORDER BY low DESC LIMIT 1) AS b, COUNT(*)
FROM payouts WHERE status = 'success' AND completed_at IS NOT NULL
GROUP BY merchant_id, mode, created_at - created_at % 86400000000, currency, b;

CREATE TRIGGER payins_stats_insert AFTER INSERT ON payins BEGIN
    INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
    VALUES (NEW.merchant_id, NEW.mode, 'payin', NEW.created_at - NEW.created_at % 3600000000, NEW.currency, NEW.status, 1,
            (NEW.amount / 1000000000), (NEW.amount % 1000000000), (NEW.fee / 1000000000), (NEW.fee % 1000000000),
            CASE WHEN NEW.completed_at IS NULL THEN 0 ELSE 1 END)
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = n + excluded.n,
        amount_high = amount_high + excluded.amount_high, amount_low = amount_low + excluded.amount_low,
        fee_high = fee_high + excluded.fee_high, fee_low = fee_low + excluded.fee_low, timed = timed + excluded.timed;
    INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
    SELECT NEW.merchant_id, NEW.mode, 'payin', NEW.created_at - NEW.created_at % 86400000000, NEW.currency,
           (SELECT bucket FROM stats_buckets WHERE low <= NEW.completed_at - NEW.created_at ORDER BY low DESC LIMIT 1), 1
    WHERE NEW.status = 'success' AND NEW.completed_at IS NOT NULL
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER payins_stats_update AFTER UPDATE OF status, amount, fee, completed_at ON payins
WHEN OLD.status <> NEW.status OR OLD.amount <> NEW.amount OR OLD.fee <> NEW.fee OR OLD.completed_at IS NOT NEW.completed_at
BEGIN
    INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
    VALUES (OLD.merchant_id, OLD.mode, 'payin', OLD.created_at - OLD.created_at % 3600000000, OLD.currency, OLD.status, -1,
            -(OLD.amount / 1000000000), -(OLD.amount % 1000000000), -(OLD.fee / 1000000000), -(OLD.fee % 1000000000),
            CASE WHEN OLD.completed_at IS NULL THEN 0 ELSE -1 END)
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = n + excluded.n,
        amount_high = amount_high + excluded.amount_high, amount_low = amount_low + excluded.amount_low,
        fee_high = fee_high + excluded.fee_high, fee_low = fee_low + excluded.fee_low, timed = timed + excluded.timed;
    INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
    SELECT OLD.merchant_id, OLD.mode, 'payin', OLD.created_at - OLD.created_at % 86400000000, OLD.currency,
           (SELECT bucket FROM stats_buckets WHERE low <= OLD.completed_at - OLD.created_at ORDER BY low DESC LIMIT 1), -1
    WHERE OLD.status = 'success' AND OLD.completed_at IS NOT NULL
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
    VALUES (NEW.merchant_id, NEW.mode, 'payin', NEW.created_at - NEW.created_at % 3600000000, NEW.currency, NEW.status, 1,
            (NEW.amount / 1000000000), (NEW.amount % 1000000000), (NEW.fee / 1000000000), (NEW.fee % 1000000000),
            CASE WHEN NEW.completed_at IS NULL THEN 0 ELSE 1 END)
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = n + excluded.n,
        amount_high = amount_high + excluded.amount_high, amount_low = amount_low + excluded.amount_low,
        fee_high = fee_high + excluded.fee_high, fee_low = fee_low + excluded.fee_low, timed = timed + excluded.timed;
    INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
    SELECT NEW.merchant_id, NEW.mode, 'payin', NEW.created_at - NEW.created_at % 86400000000, NEW.currency,
           (SELECT bucket FROM stats_buckets WHERE low <= NEW.completed_at - NEW.created_at ORDER BY low DESC LIMIT 1), 1
    WHERE NEW.status = 'success' AND NEW.completed_at IS NOT NULL
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER payouts_stats_insert AFTER INSERT ON payouts BEGIN
    INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
    VALUES (NEW.merchant_id, NEW.mode, 'payout', NEW.created_at - NEW.created_at % 3600000000, NEW.currency, NEW.status, 1,
            (NEW.amount / 1000000000), (NEW.amount % 1000000000), (NEW.fee / 1000000000), (NEW.fee % 1000000000),
            CASE WHEN NEW.completed_at IS NULL THEN 0 ELSE 1 END)
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = n + excluded.n,
        amount_high = amount_high + excluded.amount_high, amount_low = amount_low + excluded.amount_low,
        fee_high = fee_high + excluded.fee_high, fee_low = fee_low + excluded.fee_low, timed = timed + excluded.timed;
    INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
    SELECT NEW.merchant_id, NEW.mode, 'payout', NEW.created_at - NEW.created_at % 86400000000, NEW.currency,
           (SELECT bucket FROM stats_buckets WHERE low <= NEW.completed_at - NEW.created_at ORDER BY low DESC LIMIT 1), 1
    WHERE NEW.status = 'success' AND NEW.completed_at IS NOT NULL
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER payouts_stats_update AFTER UPDATE OF status, amount, fee, completed_at ON payouts
WHEN OLD.status <> NEW.status OR OLD.amount <> NEW.amount OR OLD.fee <> NEW.fee OR OLD.completed_at IS NOT NEW.completed_at
BEGIN
    INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
    VALUES (OLD.merchant_id, OLD.mode, 'payout', OLD.created_at - OLD.created_at % 3600000000, OLD.currency, OLD.status, -1,
            -(OLD.amount / 1000000000), -(OLD.amount % 1000000000), -(OLD.fee / 1000000000), -(OLD.fee % 1000000000),
            CASE WHEN OLD.completed_at IS NULL THEN 0 ELSE -1 END)
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = n + excluded.n,
        amount_high = amount_high + excluded.amount_high, amount_low = amount_low + excluded.amount_low,
        fee_high = fee_high + excluded.fee_high, fee_low = fee_low + excluded.fee_low, timed = timed + excluded.timed;
    INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
    SELECT OLD.merchant_id, OLD.mode, 'payout', OLD.created_at - OLD.created_at % 86400000000, OLD.currency,
           (SELECT bucket FROM stats_buckets WHERE low <= OLD.completed_at - OLD.created_at ORDER BY low DESC LIMIT 1), -1
    WHERE OLD.status = 'success' AND OLD.completed_at IS NOT NULL
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
    VALUES (NEW.merchant_id, NEW.mode, 'payout', NEW.created_at - NEW.created_at % 3600000000, NEW.currency, NEW.status, 1,
            (NEW.amount / 1000000000), (NEW.amount % 1000000000), (NEW.fee / 1000000000), (NEW.fee % 1000000000),
            CASE WHEN NEW.completed_at IS NULL THEN 0 ELSE 1 END)
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = n + excluded.n,
        amount_high = amount_high + excluded.amount_high, amount_low = amount_low + excluded.amount_low,
        fee_high = fee_high + excluded.fee_high, fee_low = fee_low + excluded.fee_low, timed = timed + excluded.timed;
    INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
    SELECT NEW.merchant_id, NEW.mode, 'payout', NEW.created_at - NEW.created_at % 86400000000, NEW.currency,
           (SELECT bucket FROM stats_buckets WHERE low <= NEW.completed_at - NEW.created_at ORDER BY low DESC LIMIT 1), 1
    WHERE NEW.status = 'success' AND NEW.completed_at IS NOT NULL
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = n + excluded.n;
END;
