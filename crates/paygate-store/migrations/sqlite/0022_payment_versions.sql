-- A version per payin and payout, raised by every UPDATE of the row (see
-- the PostgreSQL migration of the same name). The writer raises it itself;
-- the triggers raise it for any UPDATE that does not (an older build, an
-- operator's hand-written SQL). They update only `version`, which fires
-- none of the statistics triggers (those watch status, amount, fee and
-- completed_at).
ALTER TABLE payins ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payouts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER payins_version AFTER UPDATE ON payins WHEN NEW.version = OLD.version
BEGIN
    UPDATE payins SET version = OLD.version + 1 WHERE id = NEW.id;
END;
CREATE TRIGGER payouts_version AFTER UPDATE ON payouts WHEN NEW.version = OLD.version
BEGIN
    UPDATE payouts SET version = OLD.version + 1 WHERE id = NEW.id;
END;
