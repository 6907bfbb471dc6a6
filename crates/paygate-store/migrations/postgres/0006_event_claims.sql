-- Which claim holds an event: an attempt settles the event only if its
-- claim is still the current one (a resend or an expired lease may have
-- handed the event to another worker meanwhile).
ALTER TABLE events ADD COLUMN claim_token TEXT;
