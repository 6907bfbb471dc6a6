-- A version per payin and payout, raised by every UPDATE of the row. A
-- status poll reads the versions of the payments it asks about and answers
-- from the bodies it rendered for those versions, reading and rendering the
-- full row only when its version is new (paygate_server::reads::rendered).
-- The writer raises it itself; the trigger raises it for any UPDATE that
-- does not (a node still on an older build during a rolling upgrade, an
-- operator's hand-written SQL), so no kept body outlives its row. Its WHEN
-- is evaluated without calling the function, so the writer's own updates
-- pay nothing for it.
ALTER TABLE payins ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payouts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION raise_payment_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER payins_version BEFORE UPDATE ON payins
    FOR EACH ROW WHEN (NEW.version = OLD.version) EXECUTE FUNCTION raise_payment_version();
CREATE TRIGGER payouts_version BEFORE UPDATE ON payouts
    FOR EACH ROW WHEN (NEW.version = OLD.version) EXECUTE FUNCTION raise_payment_version();
