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
-- Unlike PostgreSQL's (see its 0018), SQLite's rollups go on counting
-- every status, `pending` included: measured on the write path, the
-- upserts of the current hour's and day's rows cost creates about 5%, and
-- a partial index of the unsettled payments by merchant (PostgreSQL's way)
-- cost 28%, its inserts scattered over every merchant's key range.
--
-- Every rollup is also rebuilt WITHOUT ROWID: a rollup is read by range
-- of its key, and a rowid table kept the figures apart from the key (one
-- lookup per row read, two B-trees per upsert).
--
-- The triggers now hand each change (a row counted in with sign 1, or out
-- with -1) to one INSTEAD OF trigger on the view `stats_changes`, which
-- updates every level, so the levels are written in one place.

DROP TRIGGER payins_stats_insert;
DROP TRIGGER payins_stats_update;
DROP TRIGGER payouts_stats_insert;
DROP TRIGGER payouts_stats_update;

CREATE TABLE stats_hourly_new (
    merchant_id TEXT    NOT NULL,
    mode        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    hour        INTEGER NOT NULL,
    currency    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    amount_high INTEGER NOT NULL,
    amount_low  INTEGER NOT NULL,
    fee_high    INTEGER NOT NULL,
    fee_low     INTEGER NOT NULL,
    timed       INTEGER NOT NULL,
    shard       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, hour, currency, status, shard)
) WITHOUT ROWID;
INSERT INTO stats_hourly_new SELECT merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low,
    fee_high, fee_low, timed, shard FROM stats_hourly;
DROP TABLE stats_hourly;
ALTER TABLE stats_hourly_new RENAME TO stats_hourly;

CREATE TABLE stats_daily (
    merchant_id TEXT    NOT NULL,
    mode        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    currency    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    amount_high INTEGER NOT NULL,
    amount_low  INTEGER NOT NULL,
    fee_high    INTEGER NOT NULL,
    fee_low     INTEGER NOT NULL,
    timed       INTEGER NOT NULL,
    shard       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, day, currency, status, shard)
) WITHOUT ROWID;
INSERT INTO stats_daily (merchant_id, mode, kind, day, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
SELECT merchant_id, mode, kind, hour - hour % 86400000000, currency, status, SUM(n), SUM(amount_high), SUM(amount_low),
       SUM(fee_high), SUM(fee_low), SUM(timed)
FROM stats_hourly GROUP BY merchant_id, mode, kind, hour - hour % 86400000000, currency, status;

CREATE TABLE stats_durations_new (
    merchant_id TEXT    NOT NULL,
    mode        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    currency    TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    shard       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, day, currency, bucket, shard)
) WITHOUT ROWID;
INSERT INTO stats_durations_new SELECT merchant_id, mode, kind, day, currency, bucket, n, shard FROM stats_durations;
DROP TABLE stats_durations;
ALTER TABLE stats_durations_new RENAME TO stats_durations;

CREATE TABLE stats_durations_32d (
    merchant_id TEXT    NOT NULL,
    mode        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    block       INTEGER NOT NULL,
    currency    TEXT    NOT NULL,
    bucket      INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    shard       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, mode, kind, block, currency, bucket, shard)
) WITHOUT ROWID;
INSERT INTO stats_durations_32d (merchant_id, mode, kind, block, currency, bucket, n)
SELECT merchant_id, mode, kind, day - day % 2764800000000, currency, bucket, SUM(n)
FROM stats_durations GROUP BY merchant_id, mode, kind, day - day % 2764800000000, currency, bucket;

-- Never holds a row: inserting into it applies one change to every level.
CREATE VIEW stats_changes AS
SELECT '' AS merchant_id, '' AS mode, '' AS kind, 0 AS created_at, '' AS currency, '' AS status,
       0 AS amount, 0 AS fee, NULL AS completed_at, 0 AS sign
WHERE 0;

CREATE TRIGGER stats_changes_apply INSTEAD OF INSERT ON stats_changes BEGIN
    INSERT INTO stats_hourly (merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
    VALUES (NEW.merchant_id, NEW.mode, NEW.kind, NEW.created_at - NEW.created_at % 3600000000, NEW.currency, NEW.status,
            NEW.sign, NEW.sign * (NEW.amount / 1000000000), NEW.sign * (NEW.amount % 1000000000),
            NEW.sign * (NEW.fee / 1000000000), NEW.sign * (NEW.fee % 1000000000),
            CASE WHEN NEW.completed_at IS NULL THEN 0 ELSE NEW.sign END)
    ON CONFLICT (merchant_id, mode, kind, hour, currency, status, shard) DO UPDATE SET n = n + excluded.n,
        amount_high = amount_high + excluded.amount_high, amount_low = amount_low + excluded.amount_low,
        fee_high = fee_high + excluded.fee_high, fee_low = fee_low + excluded.fee_low, timed = timed + excluded.timed;
    INSERT INTO stats_daily (merchant_id, mode, kind, day, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed)
    VALUES (NEW.merchant_id, NEW.mode, NEW.kind, NEW.created_at - NEW.created_at % 86400000000, NEW.currency, NEW.status,
            NEW.sign, NEW.sign * (NEW.amount / 1000000000), NEW.sign * (NEW.amount % 1000000000),
            NEW.sign * (NEW.fee / 1000000000), NEW.sign * (NEW.fee % 1000000000),
            CASE WHEN NEW.completed_at IS NULL THEN 0 ELSE NEW.sign END)
    ON CONFLICT (merchant_id, mode, kind, day, currency, status, shard) DO UPDATE SET n = n + excluded.n,
        amount_high = amount_high + excluded.amount_high, amount_low = amount_low + excluded.amount_low,
        fee_high = fee_high + excluded.fee_high, fee_low = fee_low + excluded.fee_low, timed = timed + excluded.timed;
    INSERT INTO stats_durations (merchant_id, mode, kind, day, currency, bucket, n)
    SELECT NEW.merchant_id, NEW.mode, NEW.kind, NEW.created_at - NEW.created_at % 86400000000, NEW.currency,
           (SELECT bucket FROM stats_buckets WHERE low <= NEW.completed_at - NEW.created_at ORDER BY low DESC LIMIT 1), NEW.sign
    WHERE NEW.status = 'success' AND NEW.completed_at IS NOT NULL
    ON CONFLICT (merchant_id, mode, kind, day, currency, bucket, shard) DO UPDATE SET n = n + excluded.n;
    INSERT INTO stats_durations_32d (merchant_id, mode, kind, block, currency, bucket, n)
    SELECT NEW.merchant_id, NEW.mode, NEW.kind, NEW.created_at - NEW.created_at % 2764800000000, NEW.currency,
           (SELECT bucket FROM stats_buckets WHERE low <= NEW.completed_at - NEW.created_at ORDER BY low DESC LIMIT 1), NEW.sign
    WHERE NEW.status = 'success' AND NEW.completed_at IS NOT NULL
    ON CONFLICT (merchant_id, mode, kind, block, currency, bucket, shard) DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER payins_stats_insert AFTER INSERT ON payins BEGIN
    INSERT INTO stats_changes VALUES (NEW.merchant_id, NEW.mode, 'payin', NEW.created_at, NEW.currency, NEW.status,
                                      NEW.amount, NEW.fee, NEW.completed_at, 1);
END;

CREATE TRIGGER payins_stats_update AFTER UPDATE OF status, amount, fee, completed_at ON payins
WHEN OLD.status <> NEW.status OR OLD.amount <> NEW.amount OR OLD.fee <> NEW.fee OR OLD.completed_at IS NOT NEW.completed_at
BEGIN
    INSERT INTO stats_changes VALUES (OLD.merchant_id, OLD.mode, 'payin', OLD.created_at, OLD.currency, OLD.status,
                                      OLD.amount, OLD.fee, OLD.completed_at, -1);
    INSERT INTO stats_changes VALUES (NEW.merchant_id, NEW.mode, 'payin', NEW.created_at, NEW.currency, NEW.status,
                                      NEW.amount, NEW.fee, NEW.completed_at, 1);
END;

CREATE TRIGGER payouts_stats_insert AFTER INSERT ON payouts BEGIN
    INSERT INTO stats_changes VALUES (NEW.merchant_id, NEW.mode, 'payout', NEW.created_at, NEW.currency, NEW.status,
                                      NEW.amount, NEW.fee, NEW.completed_at, 1);
END;

CREATE TRIGGER payouts_stats_update AFTER UPDATE OF status, amount, fee, completed_at ON payouts
WHEN OLD.status <> NEW.status OR OLD.amount <> NEW.amount OR OLD.fee <> NEW.fee OR OLD.completed_at IS NOT NEW.completed_at
BEGIN
    INSERT INTO stats_changes VALUES (OLD.merchant_id, OLD.mode, 'payout', OLD.created_at, OLD.currency, OLD.status,
                                      OLD.amount, OLD.fee, OLD.completed_at, -1);
    INSERT INTO stats_changes VALUES (NEW.merchant_id, NEW.mode, 'payout', NEW.created_at, NEW.currency, NEW.status,
                                      NEW.amount, NEW.fee, NEW.completed_at, 1);
END;
