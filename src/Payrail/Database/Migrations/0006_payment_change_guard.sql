-- Transaction 2 of the payment flow is sent as one batch in one implicit transaction (committed by
-- the server at the end of the batch, without another round trip to the client while the ledger
-- trigger holds the hot account rows). Its first statement is the version-checked UPDATE; this
-- guard aborts the whole batch when that UPDATE changed no row, so nothing after it is written.
--   PR007 the payment's version moved (someone else changed it first): re-read and re-decide
CREATE FUNCTION payment_require_changed(changed bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF changed <> 1 THEN
        RAISE EXCEPTION 'payment version moved' USING ERRCODE = 'PR007';
    END IF;
END;
$$;
