-- Webhooks from the PSP (Webhooks/PspWebhookReceiver.cs). PSPs deliver at least once, late and out of order, so each
-- event is recorded once, by the PSP's event id, in the same transaction as its effect on the payment: a second
-- delivery finds the id taken and changes nothing. Every authentic delivery is kept (payload, when, what it came to),
-- so an operator can see what the PSP said and why Payrail did or did not act on it.
--   outcome  applied   the event moved its payment (one or more transitions, in that transaction)
--            stale     the payment already was at or past what the event says (late, repeated state, or a final
--                      state that never moves): recorded, nothing changed
--            orphan    no Payrail payment matches the event's PaymentIntent
--            ignored   an event type Payrail does not act on, or one that disagrees with its payment (amount, currency)
--            rejected  signed with a valid secret, but not an event (not JSON, no id or type); event_id is then null
--   A duplicate delivery is answered 200 and counted, never stored: its id is already here.
CREATE TABLE psp_webhook_events (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    psp          text        NOT NULL,
    event_id     text        CHECK (length(event_id) BETWEEN 1 AND 255),
    event_type   text        CHECK (length(event_type) BETWEEN 1 AND 255),
    payload      text        NOT NULL,
    received_at  timestamptz NOT NULL,
    payment_id   uuid,
    outcome      text        NOT NULL CHECK (outcome IN ('applied', 'stale', 'orphan', 'ignored', 'rejected')),
    processed_at timestamptz NOT NULL,
    CONSTRAINT psp_webhook_events_id_unless_rejected CHECK (outcome = 'rejected' OR (event_id IS NOT NULL AND event_type IS NOT NULL))
);
-- The dedupe: one row per PSP event. Rejected rows have no event id (NULLs do not collide).
CREATE UNIQUE INDEX psp_webhook_events_event ON psp_webhook_events (psp, event_id);
CREATE INDEX psp_webhook_events_payment ON psp_webhook_events (payment_id) WHERE payment_id IS NOT NULL;

-- A batch that records an event id already recorded aborts whole (its payment change included):
--   PR013 the PSP event was already received: the delivery is a duplicate and must change nothing
CREATE FUNCTION psp_webhook_event_require_new(inserted bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF inserted <> 1 THEN
        RAISE EXCEPTION 'PSP webhook event already received' USING ERRCODE = 'PR013';
    END IF;
END;
$$;

-- 3-D Secure: where the buyer must go to authenticate, while the payment waits processing (null otherwise). Shown by
-- the API as next_action until the PSP decides.
ALTER TABLE payments ADD COLUMN next_action_url text CHECK (length(next_action_url) <= 2048);
