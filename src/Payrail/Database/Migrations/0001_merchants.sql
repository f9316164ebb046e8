-- Merchants: the tenants whose buyers pay them. The id is chosen by the operator ('m_demo').
CREATE TABLE merchants (
    id         text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Shared guard for append-only tables: history that can be rewritten is not history.
CREATE FUNCTION refuse_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'PR005', HINT = 'record a new row instead (a reversing transfer, a new transition)';
END;
$$;
