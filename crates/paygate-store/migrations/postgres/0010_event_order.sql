-- Webhooks of one object are delivered in the order they happened: each
-- event carries its object's `sequence` (1, 2, …; also in the body), and
-- the delivery worker claims an event only when no earlier event of the
-- same object is still pending or waiting. Existing events are numbered in
-- id order, which is the order they were written in.
ALTER TABLE events ADD COLUMN sequence BIGINT NOT NULL DEFAULT 0;
UPDATE events SET sequence = (
    SELECT COUNT(*) FROM events AS earlier WHERE earlier.object_id = events.object_id AND earlier.id <= events.id
);
DROP INDEX events_object;
CREATE UNIQUE INDEX events_object_sequence ON events (object_id, sequence);
-- Events produced while the merchant had no webhook URL wait (status
-- 'waiting', no attempt made) until one is set; this finds them then.
CREATE INDEX events_waiting ON events (merchant_id) WHERE status = 'waiting';
