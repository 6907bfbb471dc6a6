-- The hosted page of a payin (`pay_url`, API.md section 11) is found by a
-- random token of its own, never by the payin's time-ordered id. Payins
-- made before this migration have none (their pay_url stays null).
ALTER TABLE payins ADD COLUMN pay_token TEXT;
CREATE UNIQUE INDEX payins_pay_token ON payins (pay_token) WHERE pay_token IS NOT NULL;
