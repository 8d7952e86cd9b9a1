-- Per staged day, how many of its payments were rejected for an unknown invoice or patient
-- (written with the day's other counts, in the transaction that stages it). An invoice or
-- patient added later may be the one they reference, so such a day's sums are not taken from
-- staging.payments after a sync added either (accounting.days_still_current). Kept here, not
-- read from reporting.quarantine, whose rows retention deletes on a period of their own.
-- NULL (staged before this file): treated as waiting. Idempotent like 002-011.
ALTER TABLE staging.payment_day_counts ADD COLUMN IF NOT EXISTS waiting_for_id BIGINT;
