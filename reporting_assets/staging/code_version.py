"""The version of the code that decides a day's staged payments and patient_payment_history rows.

A daily run leaves a day as it is when nothing it is made from changed since it was written
(warehouse.accounting.days_still_current, warehouse.history_days). Code is one of those inputs:
a release that changes a rule, the parsing or the projection must write every day again. The
version is a digest of the modules below and of the libraries that parse and format the rows,
so that no one has to remember to bump it; any edit to those files, even a comment, makes the
next run of each day write it again, which costs time, never correctness.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent

# the package's modules that turn a replica row into a staged row and a staged row into a history row
MODULES = (
    "schemas.py",
    "replica/codec.py",
    "replica/reads.py",
    "staging/lookups.py",
    "staging/parsing.py",
    "staging/payments.py",
    "warehouse/writer.py",
    "defs/staging/assets.py",
    "defs/reporting/patient_payment_history.py",
)
LIBRARIES = ("numpy", "pandas", "pandera", "pyarrow")


def fingerprint(package: Path = _PACKAGE, modules: tuple[str, ...] = MODULES, libraries: tuple[str, ...] = LIBRARIES) -> str:
    """A digest of these modules' text and these libraries' versions (16 hex digits)."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(module.encode() + b"\0" + (package / module).read_bytes() + b"\0")
    for library in libraries:
        digest.update(f"{library}=={importlib.metadata.version(library)}\0".encode())
    return digest.hexdigest()[:16]


CODE_VERSION = fingerprint()
