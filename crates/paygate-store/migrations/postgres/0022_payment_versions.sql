-- A version per payin and payout, raised by every UPDATE of the row (the
-- writer's status changes, an upstream taking a payout). A status poll
-- reads the versions of the payments it asks about and answers from the
-- bodies it rendered for those versions, reading and rendering the full
-- row only when its version is new (paygate_server::reads::rendered).
-- Any new UPDATE of these tables must raise it too.
ALTER TABLE payins ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE payouts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
