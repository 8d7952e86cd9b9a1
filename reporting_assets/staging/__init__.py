"""De-identified staging: source rows parsed, pseudonymized and validated; rejects go to quarantine."""
