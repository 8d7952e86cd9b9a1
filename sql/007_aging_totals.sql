-- A/R aging kept as running totals (docs/data-model.md, "A/R aging"): reporting.ar_aging used to
-- aggregate every outstanding invoice on each read (1.27M of them in a 10M-payment warehouse);
-- it now reads reporting.outstanding_aging, which triggers on outstanding_payments keep equal to
-- that aggregate in the transaction of every change: the rows a statement inserts, updates or
-- deletes (its transition tables) are added to or taken from their bucket's count and amount.
-- The bucket of a days_overdue figure is defined once, by reporting.aging_bucket.
-- Idempotent like 002-006.

CREATE OR REPLACE FUNCTION reporting.aging_bucket(days_overdue INTEGER) RETURNS VARCHAR(10)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN days_overdue <= 30 THEN '0-30'
                WHEN days_overdue <= 60 THEN '31-60'
                WHEN days_overdue <= 90 THEN '61-90'
                WHEN days_overdue <= 120 THEN '91-120'
                ELSE '120+' END
$$;

CREATE OR REPLACE FUNCTION reporting.aging_bucket_order(bucket VARCHAR) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_position(ARRAY['0-30', '31-60', '61-90', '91-120', '120+']::VARCHAR[], bucket)
$$;

CREATE TABLE IF NOT EXISTS reporting.outstanding_aging (
    bucket VARCHAR(10) NOT NULL,
    payment_status VARCHAR(20) NOT NULL,
    invoice_count BIGINT NOT NULL,
    amount_due NUMERIC(16,2) NOT NULL,
    PRIMARY KEY (bucket, payment_status)
);

-- Adds one statement's changes (+1 per new row, -1 per old row) to the totals; groups left
-- without invoices are removed, so the table holds exactly the non-empty groups.
CREATE OR REPLACE FUNCTION reporting.outstanding_aging_apply() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
DECLARE
    changes TEXT := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT days_overdue, payment_status, 1 AS sign, amount_due FROM new_rows'
        WHEN 'DELETE' THEN 'SELECT days_overdue, payment_status, -1 AS sign, amount_due FROM old_rows'
        ELSE 'SELECT days_overdue, payment_status, 1 AS sign, amount_due FROM new_rows
              UNION ALL SELECT days_overdue, payment_status, -1, amount_due FROM old_rows' END;
BEGIN
    EXECUTE format($sql$
        INSERT INTO reporting.outstanding_aging AS t (bucket, payment_status, invoice_count, amount_due)
        SELECT reporting.aging_bucket(days_overdue), payment_status, sum(sign), sum(sign * amount_due)
        FROM (%s) AS changed GROUP BY 1, 2
        ON CONFLICT (bucket, payment_status) DO UPDATE
            SET invoice_count = t.invoice_count + EXCLUDED.invoice_count, amount_due = t.amount_due + EXCLUDED.amount_due
    $sql$, changes);
    DELETE FROM reporting.outstanding_aging WHERE invoice_count = 0;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION reporting.outstanding_aging_clear() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reporting.outstanding_aging;
    RETURN NULL;
END
$$;

-- a trigger with transition tables serves one event, hence one per event
DROP TRIGGER IF EXISTS outstanding_aging_insert ON reporting.outstanding_payments;
CREATE TRIGGER outstanding_aging_insert AFTER INSERT ON reporting.outstanding_payments
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reporting.outstanding_aging_apply();
DROP TRIGGER IF EXISTS outstanding_aging_update ON reporting.outstanding_payments;
CREATE TRIGGER outstanding_aging_update AFTER UPDATE ON reporting.outstanding_payments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reporting.outstanding_aging_apply();
DROP TRIGGER IF EXISTS outstanding_aging_delete ON reporting.outstanding_payments;
CREATE TRIGGER outstanding_aging_delete AFTER DELETE ON reporting.outstanding_payments
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reporting.outstanding_aging_apply();
DROP TRIGGER IF EXISTS outstanding_aging_truncate ON reporting.outstanding_payments;
CREATE TRIGGER outstanding_aging_truncate AFTER TRUNCATE ON reporting.outstanding_payments
    FOR EACH STATEMENT EXECUTE FUNCTION reporting.outstanding_aging_clear();

-- the totals of a warehouse filled before this file
LOCK TABLE reporting.outstanding_payments IN SHARE MODE;
DELETE FROM reporting.outstanding_aging;
INSERT INTO reporting.outstanding_aging (bucket, payment_status, invoice_count, amount_due)
SELECT reporting.aging_bucket(days_overdue), payment_status, count(*), sum(amount_due)
FROM reporting.outstanding_payments GROUP BY 1, 2;

-- same columns and types as sql/003_api.sql's definition, read from the totals
CREATE OR REPLACE VIEW reporting.ar_aging AS
SELECT
    bucket::text AS bucket,
    reporting.aging_bucket_order(bucket) AS bucket_order,
    payment_status,
    invoice_count::integer AS invoice_count,
    amount_due::numeric(14,2) AS amount_due
FROM reporting.outstanding_aging;

-- the ETL writes the totals through the triggers; readers go through ar_aging (grants of 003)
REVOKE ALL ON reporting.outstanding_aging FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON reporting.outstanding_aging TO reporting_writer;
REVOKE ALL ON FUNCTION reporting.outstanding_aging_apply(), reporting.outstanding_aging_clear() FROM PUBLIC;
