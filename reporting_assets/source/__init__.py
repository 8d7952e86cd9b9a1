"""The billing application's SQLite database: its contract, a read-only reader and a sample generator."""
