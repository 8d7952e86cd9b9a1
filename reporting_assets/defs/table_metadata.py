"""What the Dagster UI shows about a table: its real SQL columns and types, described by the rules' fields."""

from __future__ import annotations

import dagster as dg
import pandera.pandas as pa

from ..warehouse.ddl import columns_of

_LINEAGE = {
    "id": "Surrogate key",
    "created_at": "When the row was first written (UTC)",
    "updated_at": "When the row was last rewritten (UTC)",
    "dagster_run_id": "The Dagster run that wrote the row (lineage)",
}


def column_schema(table: str, model: type[pa.DataFrameModel] | None = None, **descriptions: str) -> dg.TableSchema:
    """``dagster/column_schema`` of ``table`` (schema.name) from sql/, described by ``model``'s fields."""
    fields = model.to_schema().columns if model is not None else {}

    def describe(column: str) -> str:
        for name in (column, f"{column}_cents"):  # money travels as integer cents, is stored as NUMERIC
            if name in fields and fields[name].description:
                return fields[name].description
        return descriptions.get(column) or _LINEAGE.get(column, "")

    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column,
                type=sql_type,
                description=describe(column),
                constraints=dg.TableColumnConstraints(nullable=nullable),
            )
            for column, sql_type, nullable in columns_of(table)
        ]
    )


def table_metadata(table: str, model: type[pa.DataFrameModel] | None = None, **descriptions: str) -> dict:
    return {"dagster/table_name": table, "dagster/column_schema": column_schema(table, model, **descriptions)}
