-- A PSP 500 on create+confirm is an unknown outcome that the same PSP idempotency key can never resolve: Stripe saves
-- the 500 under the key and replays it for 24 h, though the charge may have happened. Payrail then searches the PSP by
-- the payment id in metadata and, only when nothing is found once the search's freshness window has passed, creates
-- the PaymentIntent under a new key derived from the payment id (Payments/PspOutcomeResolution.cs). These columns
-- record which key is current and when it last answered 5xx, before any call that uses them, so a crash or a second
-- process never sends a third key while the second may still be charging.
--   psp_attempt          1 = the PSP key is the payment id; n > 1 = '<payment id>:n'. Raised only by a version-checked
--                        UPDATE, and only upwards.
--   psp_server_error_at  when the create under the current key was last answered 5xx by the PSP (null: it was not);
--                        the search freshness window counts from it.
ALTER TABLE payments
    ADD COLUMN psp_attempt         int         NOT NULL DEFAULT 1 CHECK (psp_attempt BETWEEN 1 AND 10),
    ADD COLUMN psp_server_error_at timestamptz;
