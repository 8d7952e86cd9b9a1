-- How patient_payment_history's writes changed each patient since dim_patient last took them
-- in (docs/data-model.md, "reporting.dim_patient"): the everyday refresh adds these changes to
-- the patients' dimension rows instead of aggregating each patient's whole history again.
-- Written by reporting_assets/warehouse/patient_changes.py in the transaction that replaces
-- the history rows, read and emptied by dim_patient under the same lock. One row per write,
-- patient, day and status: rows added (negative: removed) and the amount they add.
-- payment_date NULL: the patient's row is rebuilt from their whole history.
-- Replaces staging.patients_changed (006), which held only the patients: those still listed
-- there are taken over as rows to rebuild. Idempotent like 002-008.
CREATE TABLE IF NOT EXISTS staging.patient_history_changes (
    patient_id VARCHAR(50) NOT NULL,
    payment_date DATE,
    payment_status VARCHAR(20),
    row_change BIGINT NOT NULL,
    amount_change DECIMAL(16,2) NOT NULL
);
REVOKE ALL ON staging.patient_history_changes FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON staging.patient_history_changes TO reporting_writer;

DO $$
BEGIN
    IF to_regclass('staging.patients_changed') IS NOT NULL THEN
        INSERT INTO staging.patient_history_changes (patient_id, payment_date, payment_status, row_change, amount_change)
        SELECT patient_id, NULL, NULL, 0, 0 FROM staging.patients_changed;
        DROP TABLE staging.patients_changed;
    END IF;
END
$$;
