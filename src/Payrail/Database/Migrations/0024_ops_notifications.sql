-- Reconciliation alerts reach the on-call engineer (issue 13): the notifications consumer writes one message per
-- reconciliation.alert to the audience 'ops'. An alert about a PSP line no Payrail payment stands for (event schema 2)
-- has no payment, so payment_id may be null, for ops messages only: a buyer's or merchant's message is always about one.
ALTER TABLE notifications DROP CONSTRAINT notifications_audience_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_audience_check CHECK (audience IN ('buyer', 'merchant', 'ops'));
ALTER TABLE notifications ALTER COLUMN payment_id DROP NOT NULL;
ALTER TABLE notifications ADD CONSTRAINT notifications_payment_or_ops CHECK (payment_id IS NOT NULL OR audience = 'ops');
