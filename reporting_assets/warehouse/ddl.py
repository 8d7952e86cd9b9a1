"""Each table's columns and SQL types, read from the DDL in ``sql/``: the one place they are defined.

The Dagster UI's column schemas are built from this, so what it shows is what the table holds.
"""

from __future__ import annotations

import functools
import re

from .migrations import available_migrations

_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS ([a-z_]+\.[a-z_]+) \((.*?)\n\);", re.S)
_COLUMN = re.compile(r"^\s*([a-z_]+)\s+([A-Z]+(?:\([0-9, ]+\))?(?:\[\])?)(.*)$")
_NOT_COLUMNS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")


@functools.cache
def table_columns() -> dict[str, tuple[tuple[str, str, bool], ...]]:
    """{schema.table: ((column, SQL type, nullable), ...)} in declaration order, over every migration."""
    tables: dict[str, tuple[tuple[str, str, bool], ...]] = {}
    for migration in available_migrations():
        for name, body in _CREATE_TABLE.findall(migration.sql):
            columns = []
            for line in body.splitlines():
                line = line.split("--", 1)[0].rstrip().rstrip(",")
                match = _COLUMN.match(line)
                if not match or match.group(1).upper() in _NOT_COLUMNS or line.strip().startswith(_NOT_COLUMNS):
                    continue
                column, sql_type, rest = match.groups()
                nullable = "NOT NULL" not in rest and "PRIMARY KEY" not in rest
                columns.append((column, sql_type.lower(), nullable))
            tables[name] = tuple(columns)
    return tables


def columns_of(table: str) -> tuple[tuple[str, str, bool], ...]:
    try:
        return table_columns()[table]
    except KeyError:
        raise KeyError(f"{table} is not created by any file in sql/") from None
