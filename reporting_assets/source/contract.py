"""The billing application's SQLite schema (docs/data-model.md, "Source"), the contract the platform reads.

The sample generator creates exactly these tables; the reader selects only the columns
named in ``*_COLUMNS`` below (never a patient's name, SSN, birth date or contact details).
"""

SOURCE_DDL = """
CREATE TABLE IF NOT EXISTS patients (
    id            INTEGER PRIMARY KEY,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    date_of_birth TEXT,
    ssn           TEXT,
    email         TEXT,
    phone         TEXT,
    address       TEXT,
    zip_code      TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    id             INTEGER PRIMARY KEY,
    invoice_number TEXT NOT NULL UNIQUE,
    patient_id     INTEGER REFERENCES patients(id),
    issue_date     TEXT NOT NULL,
    due_date       TEXT NOT NULL,
    total_amount   NUMERIC(10,2) NOT NULL,
    status         TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS payments (
    id           INTEGER PRIMARY KEY,
    invoice_id   INTEGER REFERENCES invoices(id),
    patient_id   INTEGER REFERENCES patients(id),
    payment_date TEXT NOT NULL,
    amount       NUMERIC(10,2) NOT NULL,
    status       TEXT NOT NULL,
    method       TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
"""

# Indexes a billing application should have for cheap incremental reads. The platform
# never creates them on the application's database; the sample generator does, and
# docs/operations.md says what happens without them.
RECOMMENDED_SOURCE_INDEXES = """
CREATE INDEX IF NOT EXISTS idx_payments_updated_at ON payments(updated_at);
CREATE INDEX IF NOT EXISTS idx_payments_payment_date ON payments(payment_date);
CREATE INDEX IF NOT EXISTS idx_invoices_updated_at ON invoices(updated_at);
"""

PII_COLUMNS = ("first_name", "last_name", "date_of_birth", "ssn", "email", "phone", "address", "zip_code")

# The columns staging reads (copied into the billing replica); updated_at is read too, for the keyset.
INVOICE_COLUMNS = ("id", "invoice_number", "patient_id", "issue_date", "due_date", "total_amount", "status")
PAYMENT_COLUMNS = ("id", "invoice_id", "patient_id", "payment_date", "amount", "status")

INVOICE_STATUSES = ("open", "paid", "void", "written_off")
PAYMENT_STATUSES = ("paid", "pending", "failed", "refunded")
PAYMENT_METHODS = ("card", "cash", "insurance", "ach")
