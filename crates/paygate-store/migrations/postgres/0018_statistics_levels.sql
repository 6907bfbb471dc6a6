-- Coarser statistics rollups beside the hourly ones (issue 17): a year of
-- a busy merchant was 80k hourly rows and 90k daily histogram rows, too
-- many to read on every dashboard load. Now:
--   stats_daily         the hourly figures per UTC day (a year: 365 rows
--                       per currency and status);
--   stats_durations_32d the completion-time histogram per 32-day block
--                       (aligned to the epoch), beside the daily one.
-- A period is read from the coarsest level that fits whole, then finer
-- levels for its partial ends, then the payments for partial hours.
--
-- The rollups now sum settled payments only. A payment is created
-- `pending` and settles within its lifetime; counting it in and out of
-- `pending` cost two upserts per level on the write path for figures
-- that are read more cheaply from the few unsettled rows themselves,
-- through a partial index of them (`payins_unsettled`,
-- `payouts_unsettled`). Creating a payment writes no rollup row at all.
--
-- The triggers now hand a statement's changes of settled payments (each
-- changed row counted out with sign -1 and back in with +1) to one
-- function, `stats_apply`, which writes every level in one statement;
-- both payment tables use the same two trigger functions (the kind comes
-- from the table's name).

DROP TRIGGER payins_stats_insert ON payins;
DROP TRIGGER payins_stats_update ON payins;
DROP TRIGGER payouts_stats_insert ON payouts;
DROP TRIGGER payouts_stats_update ON payouts;
DROP FUNCTION payins_stats_inserted();
DROP FUNCTION payins_stats_updated();
DROP FUNCTION payouts_stats_inserted();
DROP FUNCTION payouts_stats_updated();

DELETE FROM stats_hourly WHERE status IN ('pending', 'processing');
CREATE INDEX IF NOT EXISTS payins_unsettled ON payins (merchant_id, mode, created_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS payouts_unsettled ON payouts (merchant_id, mode, created_at) WHERE status IN ('pending', 'processing');

CREATE TABLE stats_daily (
    merchant_id TEXT   NOT NULL,
    mode        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    day         BIGINT NOT NULL,
    currency    TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    n           BIGINT NOT NULL,
    amount_high BIGINT NOT NULL,
    amount_low  BIGINT NOT NULL,
    fee_high    BIGINT NOT NULL,
    fee_low     BIGINT NOT NULL,
    timed       BIGINT NOT NULL,
    shard       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, day, currency, status, shard)
) WITH (fillfactor = 50);
INSERT INTO stats_daily (merchant_id, mode, kind, day, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
SELECT merchant_id, mode, kind, hour - hour % 86400000000, currency, status, SUM(n), SUM(amount_high), SUM(amount_low),
       SUM(fee_high), SUM(fee_low), SUM(timed)
FROM stats_hourly GROUP BY merchant_id, mode, kind, hour - hour % 86400000000, currency, status;

CREATE TABLE stats_durations_32d (
    merchant_id TEXT   NOT NULL,
    mode        TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    block       BIGINT NOT NULL,
    currency    TEXT   NOT NULL,
    bucket      BIGINT NOT NULL,
    n           BIGINT NOT NULL,
    shard       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, block, currency, bucket, shard)
) WITH (fillfactor = 50);
INSERT INTO stats_durations_32d (merchant_id, mode, kind, block, currency, bucket, n)
SELECT merchant_id, mode, kind, day - day % 2764800000000, currency, bucket, SUM(n)
FROM stats_durations GROUP BY merchant_id, mode, kind, day - day % 2764800000000, currency, bucket;

CREATE TYPE stats_change AS (
    merchant_id  TEXT,
    mode         TEXT,
    created_at   BIGINT,
    currency     TEXT,
    status       TEXT,
    amount       BIGINT,
    fee          BIGINT,
    completed_at BIGINT,
    sign         BIGINT
);

-- One aggregated upsert per level for a whole statement's changes (the
-- writer inserts and updates payments in multi-row batches); rows whose
-- figures did not change cancel out and write nothing. `sh` is the
-- writer's shard (see 0017).
CREATE FUNCTION stats_apply(k TEXT, changes stats_change[]) RETURNS void LANGUAGE plpgsql AS $$
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

-- Statements that touch no settled payment (every create) write nothing.
CREATE FUNCTION stats_rows_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes stats_change[] := ARRAY(
        SELECT ROW(merchant_id, mode, created_at, currency, status, amount, fee, completed_at, 1)::stats_change
        FROM new_rows WHERE status NOT IN ('pending', 'processing'));
BEGIN
    IF cardinality(changes) > 0 THEN
        PERFORM stats_apply(CASE TG_TABLE_NAME WHEN 'payins' THEN 'payin' ELSE 'payout' END, changes);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION stats_rows_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changes stats_change[] := ARRAY(
        SELECT ROW(merchant_id, mode, created_at, currency, status, amount, fee, completed_at, 1)::stats_change
        FROM new_rows WHERE status NOT IN ('pending', 'processing')
        UNION ALL
        SELECT ROW(merchant_id, mode, created_at, currency, status, amount, fee, completed_at, -1)::stats_change
        FROM old_rows WHERE status NOT IN ('pending', 'processing'));
BEGIN
    IF cardinality(changes) > 0 THEN
        PERFORM stats_apply(CASE TG_TABLE_NAME WHEN 'payins' THEN 'payin' ELSE 'payout' END, changes);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER payins_stats_insert AFTER INSERT ON payins
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_rows_inserted();
CREATE TRIGGER payins_stats_update AFTER UPDATE ON payins
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_rows_updated();
CREATE TRIGGER payouts_stats_insert AFTER INSERT ON payouts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_rows_inserted();
CREATE TRIGGER payouts_stats_update AFTER UPDATE ON payouts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stats_rows_updated();
