"""Reading many rows back from PostgreSQL as Arrow: COPY's CSV, spooled to a file and parsed by Arrow's reader.

A named cursor hands rows over as Python tuples, a Python object per value; COPY writes them
as text in the server and Arrow parses that text in C++ without the GIL, a block at a time, so
only a block's rows are ever held. Text stays in Arrow (``pd.ArrowDtype``), where the text
rules (schemas.text_rule) and pandera's own checks test it without a Python string per value.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping

import pandas as pd
import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pacsv

# about 25,000-45,000 rows of CSV per block, parsed on the calling thread: Arrow's threads with
# larger blocks held 460 MB at the peak against 336 MB (docs/benchmarks.md)
READ_BLOCK_BYTES = 4 << 20
ARROW_TEXT = {pa.string(): pd.ArrowDtype(pa.string())}


def csv_batches(
    conn: psycopg2.extensions.connection, query: str, column_types: Mapping[str, pa.DataType]
) -> Iterator[pa.RecordBatch]:
    """The rows of ``query`` (SQL text, in ``conn``'s transaction) as Arrow batches of about READ_BLOCK_BYTES of CSV each.

    COPY's CSV: NULL is an empty unquoted field, an empty string a quoted one; booleans are t and f.
    """
    convert = pacsv.ConvertOptions(
        column_types=dict(column_types),
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )
    with tempfile.TemporaryFile() as spool, conn.cursor() as cur:
        cur.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)", spool)
        spool.seek(0)
        yield from pacsv.open_csv(spool, read_options=pacsv.ReadOptions(block_size=READ_BLOCK_BYTES, use_threads=False), convert_options=convert)


def to_frame(batch: pa.RecordBatch) -> pd.DataFrame:
    """A batch as pandas, text as Arrow strings."""
    return batch.to_pandas(types_mapper=ARROW_TEXT.get)
