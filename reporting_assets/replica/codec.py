"""How source rows are stored in the replica: exactly as SQLite typed them, patient ids as pseudonyms.

SQLite does not enforce column types, and staging's rules depend on the type a value has (an
amount stored as REAL 10.005 and as TEXT '10.005' are read differently), so each row is kept
as a JSON array of its values: integers, floats (shortest round-trip form), text (control
characters escaped, so a NUL survives PostgreSQL's text type) and NULL come back identical;
BLOBs are tagged. Patient references become pseudonyms before they are stored: an integer id
its ``pt_`` pseudonym, anything else (text, a float) ``NOT_A_PATIENT_ID``, which resolves to no
patient as the id would have.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from ..bulk import bulk

NOT_A_PATIENT_ID = "not-an-id"
_BLOB = "$blob"
_INT64 = 2**63


def _encode_blob(value: object) -> dict:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BLOB: bytes(value).hex()}
    raise TypeError(f"a source value of type {type(value).__name__} cannot be stored")


def _decode_blob(obj: dict) -> object:
    return bytes.fromhex(obj[_BLOB]) if _BLOB in obj else obj


_ENCODER = json.JSONEncoder(default=_encode_blob, separators=(",", ":"))
_DECODER = json.JSONDecoder(object_hook=_decode_blob)


# The same format written by SQLite itself (json_array over these per-column expressions), so a
# whole table is encoded in C: a REAL with 17 significant digits (which reads back as the same
# double; only -0.0 becomes 0.0), infinities as 9e999, a BLOB as {"$blob": hex}; integers, text
# and NULL as json_array writes them.
SQLITE_JSON_VALUE = (
    "CASE typeof({column}) WHEN 'real' THEN CASE WHEN {column} > 1.7976931348623157e308 THEN json('9e999') "
    "WHEN {column} < -1.7976931348623157e308 THEN json('-9e999') ELSE json(printf('%!.17g', {column})) END "
    "WHEN 'blob' THEN json_object('$blob', lower(hex({column}))) ELSE {column} END"
)


def encode(values: Sequence[object]) -> str:
    return _ENCODER.encode(list(values))


@bulk
def decode_many(texts: Sequence[str]) -> list[list]:
    """The rows of many stored texts, in one parse."""
    if not texts:
        return []
    return _DECODER.decode("[" + ",".join(texts) + "]")


def patient_ref(value: object, pseudonymize: Callable[[int], str]) -> str | None:
    """What a source patient reference is stored as: None stays None (the invoice's patient applies)."""
    if value is None:
        return None
    if type(value) is int and -_INT64 < value < _INT64:
        return pseudonymize(value)
    return NOT_A_PATIENT_ID
