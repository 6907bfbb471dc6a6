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
    hour        BIGINT NOT NULL,
    currency    TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    n           BIGINT NOT NULL,
    amount_high BIGINT NOT NULL,
    amount_low  BIGINT NOT NULL,
    fee_high    BIGINT NOT NULL,
    fee_low     BIGINT NOT NULL,
    timed       BIGINT NOT NULL,
    -- Concurrent writers (PostgreSQL's writer tasks) add to rows of their
    -- own shard, so they never wait on each other's row locks; readers sum
    -- over the shards.
    shard       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, hour, currency, status, shard)
) WITH (fillfactor = 50); -- room on each page for the next versions of its rows (HOT updates, no index writes)

CREATE TABLE stats_durations (
    merchant_id TEXT   NOT NULL,
    mode        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    day         BIGINT NOT NULL,
    currency    TEXT   NOT NULL,
    bucket      BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    shard       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, day, currency, bucket, shard)
) WITH (fillfactor = 50);

-- Bucket k >= 1 holds completion times from `low` (microseconds) up to the
-- next bucket's `low`, which is 4% higher (integer arithmetic, the same in
-- `paygate_core::statistics::duration_buckets`); bucket 0 holds everything
-- under a second.
CREATE TABLE stats_buckets (
    bucket BIGINT PRIMARY KEY,
    low    BIGINT NOT NULL UNIQUE
);
INSERT INTO stats_buckets (bucket, low) VALUES (0, -9223372036854775808);
WITH RECURSIVE b(k, low) AS (
    SELECT 1, CAST(1000000 AS BIGINT)
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


-- Statement-level: one aggregated upsert per statement (the writer inserts
-- and updates payments in multi-row batches), not one function call per
-- row. An update counts every changed row out (old) and back in (new);
-- rows whose figures did not change cancel out and write nothing.
CREATE FUNCTION payins_stats_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_hourly AS s (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed, shard)
    SELECT merchant_id, mode, 'payin', hour, currency, status, SUM(sign), SUM(sign * (amount / 1000000000)), SUM(sign * (amount % 1000000000)),
           SUM(sign * (fee / 1000000000)), SUM(sign * (fee % 1000000000)), SUM(CASE WHEN completed_at IS NULL THEN 0 ELSE sign END), pg_backend_pid() % 8
    FROM (
        SELECT merchant_id, mode, created_at - created_at % 3600000000 AS hour, currency, status, amount, fee, completed_at, 1 AS sign
        FROM new_rows
    ) AS changed
    GROUP BY merchant_id, mode, hour, currency, status
    HAVING SUM(sign) <> 0 OR SUM(sign * amount) <> 0 OR SUM(sign * fee) <> 0
        OR SUM(CASE WHEN completed_at IS NULL THEN 0 ELSE sign END) <> 0
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = s.n + EXCLUDED.n,
        amount_high = s.amount_high + EXCLUDED.amount_high, amount_low = s.amount_low + EXCLUDED.amount_low,
        fee_high = s.fee_high + EXCLUDED.fee_high, fee_low = s.fee_low + EXCLUDED.fee_low, timed = s.timed + EXCLUDED.timed;
    INSERT INTO stats_durations AS d (merchant_id, mode, kind, day, currency, bucket, n, shard)
    SELECT merchant_id, mode, 'payin', day, currency,
           (SELECT b.bucket FROM stats_buckets b WHERE b.low <= took ORDER BY b.low DESC LIMIT 1) AS bucket, SUM(sign), pg_backend_pid() % 8
    FROM (
        SELECT merchant_id, mode, created_at - created_at % 86400000000 AS day, currency, completed_at - created_at AS took, 1 AS sign
        FROM new_rows WHERE status = 'success' AND completed_at IS NOT NULL
    ) AS timed
    GROUP BY merchant_id, mode, day, currency, bucket
    HAVING SUM(sign) <> 0
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = d.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE FUNCTION payins_stats_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_hourly AS s (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed, shard)
    SELECT merchant_id, mode, 'payin', hour, currency, status, SUM(sign), SUM(sign * (amount / 1000000000)), SUM(sign * (amount % 1000000000)),
           SUM(sign * (fee / 1000000000)), SUM(sign * (fee % 1000000000)), SUM(CASE WHEN completed_at IS NULL THEN 0 ELSE sign END), pg_backend_pid() % 8
    FROM (
        SELECT merchant_id, mode, created_at - created_at % 3600000000 AS hour, currency, status, amount, fee, completed_at, 1 AS sign
        FROM new_rows
        UNION ALL
        SELECT merchant_id, mode, created_at - created_at % 3600000000, currency, status, amount, fee, completed_at, -1
        FROM old_rows
    ) AS changed
    GROUP BY merchant_id, mode, hour, currency, status
    HAVING SUM(sign) <> 0 OR SUM(sign * amount) <> 0 OR SUM(sign * fee) <> 0
        OR SUM(CASE WHEN completed_at IS NULL THEN 0 ELSE sign END) <> 0
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = s.n + EXCLUDED.n,
        amount_high = s.amount_high + EXCLUDED.amount_high, amount_low = s.amount_low + EXCLUDED.amount_low,
        fee_high = s.fee_high + EXCLUDED.fee_high, fee_low = s.fee_low + EXCLUDED.fee_low, timed = s.timed + EXCLUDED.timed;
    INSERT INTO stats_durations AS d (merchant_id, mode, kind, day, currency, bucket, n, shard)
    SELECT merchant_id, mode, 'payin', day, currency,
           (SELECT b.bucket FROM stats_buckets b WHERE b.low <= took ORDER BY b.low DESC LIMIT 1) AS bucket, SUM(sign), pg_backend_pid() % 8
    FROM (
        SELECT merchant_id, mode, created_at - created_at % 86400000000 AS day, currency, completed_at - created_at AS took, 1 AS sign
        FROM new_rows WHERE status = 'success' AND completed_at IS NOT NULL
        UNION ALL
        SELECT merchant_id, mode, created_at - created_at % 86400000000, currency, completed_at - created_at, -1
        FROM old_rows WHERE status = 'success' AND completed_at IS NOT NULL
    ) AS timed
    GROUP BY merchant_id, mode, day, currency, bucket
    HAVING SUM(sign) <> 0
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = d.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER payins_stats_insert AFTER INSERT ON payins
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payins_stats_inserted();
CREATE TRIGGER payins_stats_update AFTER UPDATE ON payins
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payins_stats_updated();

-- Statement-level: one aggregated upsert per statement (the writer inserts
-- and updates payments in multi-row batches), not one function call per
-- row. An update counts every changed row out (old) and back in (new);
-- rows whose figures did not change cancel out and write nothing.
CREATE FUNCTION payouts_stats_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_hourly AS s (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed, shard)
    SELECT merchant_id, mode, 'payout', hour, currency, status, SUM(sign), SUM(sign * (amount / 1000000000)), SUM(sign * (amount % 1000000000)),
           SUM(sign * (fee / 1000000000)), SUM(sign * (fee % 1000000000)), SUM(CASE WHEN completed_at IS NULL THEN 0 ELSE sign END), pg_backend_pid() % 8
    FROM (
        SELECT merchant_id, mode, created_at - created_at % 3600000000 AS hour, currency, status, amount, fee, completed_at, 1 AS sign
        FROM new_rows
    ) AS changed
    GROUP BY merchant_id, mode, hour, currency, status
    HAVING SUM(sign) <> 0 OR SUM(sign * amount) <> 0 OR SUM(sign * fee) <> 0
        OR SUM(CASE WHEN completed_at IS NULL THEN 0 ELSE sign END) <> 0
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = s.n + EXCLUDED.n,
        amount_high = s.amount_high + EXCLUDED.amount_high, amount_low = s.amount_low + EXCLUDED.amount_low,
        fee_high = s.fee_high + EXCLUDED.fee_high, fee_low = s.fee_low + EXCLUDED.fee_low, timed = s.timed + EXCLUDED.timed;
    INSERT INTO stats_durations AS d (merchant_id, mode, kind, day, currency, bucket, n, shard)
    SELECT merchant_id, mode, 'payout', day, currency,
           (SELECT b.bucket FROM stats_buckets b WHERE b.low <= took ORDER BY b.low DESC LIMIT 1) AS bucket, SUM(sign), pg_backend_pid() % 8
    FROM (
        SELECT merchant_id, mode, created_at - created_at % 86400000000 AS day, currency, completed_at - created_at AS took, 1 AS sign
        FROM new_rows WHERE status = 'success' AND completed_at IS NOT NULL
    ) AS timed
    GROUP BY merchant_id, mode, day, currency, bucket
    HAVING SUM(sign) <> 0
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = d.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE FUNCTION payouts_stats_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stats_hourly AS s (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed, shard)
    SELECT merchant_id, mode, 'payout', hour, currency, status, SUM(sign), SUM(sign * (amount / 1000000000)), SUM(sign * (amount % 1000000000)),
           SUM(sign * (fee / 1000000000)), SUM(sign * (fee % 1000000000)), SUM(CASE WHEN completed_at IS NULL THEN 0 ELSE sign END), pg_backend_pid() % 8
    FROM (
        SELECT merchant_id, mode, created_at - created_at % 3600000000 AS hour, currency, status, amount, fee, completed_at, 1 AS sign
        FROM new_rows
        UNION ALL
        SELECT merchant_id, mode, created_at - created_at % 3600000000, currency, status, amount, fee, completed_at, -1
        FROM old_rows
    ) AS changed
    GROUP BY merchant_id, mode, hour, currency, status
    HAVING SUM(sign) <> 0 OR SUM(sign * amount) <> 0 OR SUM(sign * fee) <> 0
        OR SUM(CASE WHEN completed_at IS NULL THEN 0 ELSE sign END) <> 0
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = s.n + EXCLUDED.n,
        amount_high = s.amount_high + EXCLUDED.amount_high, amount_low = s.amount_low + EXCLUDED.amount_low,
        fee_high = s.fee_high + EXCLUDED.fee_high, fee_low = s.fee_low + EXCLUDED.fee_low, timed = s.timed + EXCLUDED.timed;
    INSERT INTO stats_durations AS d (merchant_id, mode, kind, day, currency, bucket, n, shard)
    SELECT merchant_id, mode, 'payout', day, currency,
           (SELECT b.bucket FROM stats_buckets b WHERE b.low <= took ORDER BY b.low DESC LIMIT 1) AS bucket, SUM(sign), pg_backend_pid() % 8
    FROM (
        SELECT merchant_id, mode, created_at - created_at % 86400000000 AS day, currency, completed_at - created_at AS took, 1 AS sign
        FROM new_rows WHERE status = 'success' AND completed_at IS NOT NULL
        UNION ALL
        SELECT merchant_id, mode, created_at - created_at % 86400000000, currency, completed_at - created_at, -1
        FROM old_rows WHERE status = 'success' AND completed_at IS NOT NULL
    ) AS timed
    GROUP BY merchant_id, mode, day, currency, bucket
    HAVING SUM(sign) <> 0
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = d.n + EXCLUDED.n;
    RETURN NULL;
END $$;

CREATE TRIGGER payouts_stats_insert AFTER INSERT ON payouts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payouts_stats_inserted();
CREATE TRIGGER payouts_stats_update AFTER UPDATE ON payouts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION payouts_stats_updated();
