"""Stable patient pseudonyms (docs/data-model.md, "Parsing and de-identification"): ``pt_`` + first 32 hex of HMAC-SHA256(key, str(id))."""

from __future__ import annotations

import hmac


class Pseudonymizer:
    """Maps source patient ids to pseudonyms; the key never leaves this object (not even in repr)."""

    __slots__ = ("_key", "_cache")
    # bounded: a chunk repeats patients, a million-patient clinic must not keep them all in memory
    CACHE_ENTRIES = 200_000

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("The pseudonym key must be at least 16 bytes.")
        self._key = key
        self._cache: dict[int, str] = {}

    def __repr__(self) -> str:
        return "Pseudonymizer(key=<redacted>)"

    def __call__(self, patient_id: int) -> str:
        pseudonym = self._cache.get(patient_id)
        if pseudonym is None:
            if len(self._cache) >= self.CACHE_ENTRIES:
                self._cache.clear()
            digest = hmac.digest(self._key, str(patient_id).encode("utf-8"), "sha256").hex()  # one-shot, in C
            pseudonym = self._cache[patient_id] = "pt_" + digest[:32]
        return pseudonym
