-- A version per payin and payout, raised by every UPDATE of the row (see
-- the PostgreSQL migration of the same name). Any new UPDATE of these
-- tables must raise it too.
ALTER TABLE payins ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE payouts ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
