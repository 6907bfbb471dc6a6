-- The hourly series without the status column (issue 17). A year's hourly
-- series read `stats_hourly` (a row per hour, currency and status: 80k
-- rows for a busy merchant) and grouped it into 26k hour-and-currency
-- points with six CASE sums each: 47-106 ms of PostgreSQL's time, most of
-- a 100 ms target. `stats_series_hourly` keeps exactly what a series point
-- needs, per hour and currency: the settled payments' count and, of the
-- successful ones, the count, the turnover and the fees (split in parts
-- like every rollup sum). `stats_apply` writes it beside the other levels,
-- in the same statement; like them it sums settled payments only.
CREATE TABLE stats_series_hourly (
    merchant_id   TEXT   NOT NULL,
    mode          TEXT   NOT NULL,
    kind          TEXT   NOT NULL,
    hour          BIGINT NOT NULL,
    currency      TEXT   NOT NULL,
    n             BIGINT NOT NULL,
    success_n     BIGINT NOT NULL,
    turnover_high BIGINT NOT NULL,
    turnover_low  BIGINT NOT NULL,
    fees_high     BIGINT NOT NULL,
    fees_low      BIGINT NOT NULL,
    shard         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, hour, currency, shard)
) WITH (fillfactor = 50);
INSERT INTO stats_series_hourly (merchant_id, mode, kind, hour, currency, n, success_n, turnover_high, turnover_low,
                                 fees_high, fees_low)
SELECT merchant_id, mode, kind, hour, currency, SUM(n), SUM(CASE WHEN status = 'success' THEN n ELSE 0 END),
       SUM(CASE WHEN status = 'success' THEN amount_high ELSE 0 END), SUM(CASE WHEN status = 'success' THEN amount_low ELSE 0 END),
       SUM(CASE WHEN status = 'success' THEN fee_high ELSE 0 END), SUM(CASE WHEN status = 'success' THEN fee_low ELSE 0 END)
FROM stats_hourly GROUP BY merchant_id, mode, kind, hour, currency;

-- As in 0018, with the series level added (`series`).
CREATE OR REPLACE FUNCTION stats_apply(k TEXT, changes stats_change[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    sh BIGINT := pg_backend_pid() % 8;
BEGIN
    WITH figures AS (
        SELECT merchant_id, mode, created_at, currency, status, sign, sign * (amount / 1000000000) AS amount_high,
               sign * (amount % 1000000000) AS amount_low, sign * (fee / 1000000000) AS fee_high,
               sign * (fee % 1000000000) AS fee_low, CASE WHEN completed_at IS NULL THEN 0 ELSE sign END AS timed,
               sign * amount AS amount, sign * fee AS fee
        FROM unnest(changes)
    ), timed AS (
        SELECT merchant_id, mode, created_at, currency, sign,
               (SELECT b.bucket FROM stats_buckets b WHERE b.low <= completed_at - created_at ORDER BY b.low DESC LIMIT 1) AS bucket
        FROM unnest(changes) WHERE status = 'success' AND completed_at IS NOT NULL
    ), hourly AS (
        INSERT INTO stats_hourly AS s (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed, shard)
        SELECT merchant_id, mode, k, created_at - created_at % 3600000000 AS hour, currency, status, SUM(sign), SUM(amount_high),
               SUM(amount_low), SUM(fee_high), SUM(fee_low), SUM(timed), sh
        FROM figures GROUP BY merchant_id, mode, hour, currency, status
        HAVING SUM(sign) <> 0 OR SUM(amount) <> 0 OR SUM(fee) <> 0 OR SUM(timed) <> 0
        ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = s.n + EXCLUDED.n,
            amount_high = s.amount_high + EXCLUDED.amount_high, amount_low = s.amount_low + EXCLUDED.amount_low,
            fee_high = s.fee_high + EXCLUDED.fee_high, fee_low = s.fee_low + EXCLUDED.fee_low, timed = s.timed + EXCLUDED.timed
    ), series AS (
        INSERT INTO stats_series_hourly AS s (merchant_id, mode, kind, hour, currency, n, success_n, turnover_high, turnover_low,
                                             fees_high, fees_low, shard)
        SELECT merchant_id, mode, k, created_at - created_at % 3600000000 AS hour, currency, SUM(sign),
               SUM(CASE WHEN status = 'success' THEN sign ELSE 0 END), SUM(CASE WHEN status = 'success' THEN amount_high ELSE 0 END),
               SUM(CASE WHEN status = 'success' THEN amount_low ELSE 0 END), SUM(CASE WHEN status = 'success' THEN fee_high ELSE 0 END),
               SUM(CASE WHEN status = 'success' THEN fee_low ELSE 0 END), sh
        FROM figures GROUP BY merchant_id, mode, hour, currency
        HAVING SUM(sign) <> 0 OR SUM(CASE WHEN status = 'success' THEN sign ELSE 0 END) <> 0
            OR SUM(CASE WHEN status = 'success' THEN amount ELSE 0 END) <> 0 OR SUM(CASE WHEN status = 'success' THEN fee ELSE 0 END) <> 0
        ON CONFLICT (merchant_id, mode, kind, hour, currency, shard) DO UPDATE SET n = s.n + EXCLUDED.n,
            success_n = s.success_n + EXCLUDED.success_n, turnover_high = s.turnover_high + EXCLUDED.turnover_high,
            turnover_low = s.turnover_low + EXCLUDED.turnover_low, fees_high = s.fees_high + EXCLUDED.fees_high,
            fees_low = s.fees_low + EXCLUDED.fees_low
    ), daily AS (
        INSERT INTO stats_daily AS s (merchant_id, mode, kind, day, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed, shard)
        SELECT merchant_id, mode, k, created_at - created_at % 86400000000 AS day, currency, status, SUM(sign), SUM(amount_high),
               SUM(amount_low), SUM(fee_high), SUM(fee_low), SUM(timed), sh
        FROM figures GROUP BY merchant_id, mode, day, currency, status
        HAVING SUM(sign) <> 0 OR SUM(amount) <> 0 OR SUM(fee) <> 0 OR SUM(timed) <> 0
        ON CONFLICT (merchant_id, mode, kind, day, currency, status, shard) DO UPDATE SET n = s.n + EXCLUDED.n,
            amount_high = s.amount_high + EXCLUDED.amount_high, amount_low = s.amount_low + EXCLUDED.amount_low,
            fee_high = s.fee_high + EXCLUDED.fee_high, fee_low = s.fee_low + EXCLUDED.fee_low, timed = s.timed + EXCLUDED.timed
    ), durations AS (
        INSERT INTO stats_durations AS d (merchant_id, mode, kind, day, currency, bucket, n, shard)
        SELECT merchant_id, mode, k, created_at - created_at % 86400000000 AS day, currency, bucket, SUM(sign), sh
        FROM timed GROUP BY merchant_id, mode, day, currency, bucket HAVING SUM(sign) <> 0
        ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = d.n + EXCLUDED.n
    )
    INSERT INTO stats_durations_32d AS d (merchant_id, mode, kind, block, currency, bucket, n, shard)
    SELECT merchant_id, mode, k, created_at - created_at % 2764800000000 AS block, currency, bucket, SUM(sign), sh
    FROM timed GROUP BY merchant_id, mode, block, currency, bucket HAVING SUM(sign) <> 0
    ON CONFLICT (merchant_id, mode, kind, block, currency, bucket, shard) DO UPDATE SET n = d.n + EXCLUDED.n;
END $$;
