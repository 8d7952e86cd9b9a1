"""The PostgreSQL side: connections, the embedded server, schema migrations and the one write path."""
