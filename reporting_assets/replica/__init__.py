"""The billing replica: the source tables copied incrementally into PostgreSQL's ``raw`` schema.

``sync`` brings the copy up to date from the SQLite file (rows changed since the last copy by
the ``(updated_at, id)`` keyset, deletions by per-id-range counts); ``reads`` gives staging the
rows of a window of days and the invoices and patients they reference, from indexed tables.
Patient ids are replaced by pseudonyms as rows are copied (``codec``).
"""
