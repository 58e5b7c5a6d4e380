-- Migration 3: the waiting operations of the outbox in queue order, with when each is
-- due and when it was queued. The sync worker takes the next due ones from it, and the
-- queue summary counts them, without reading the rows (and their requests) of every
-- waiting operation; a finished operation leaves it.
CREATE INDEX outbox_pending ON outbox(id, next_attempt_ms, created_ms, state) WHERE state = 'PENDING';
