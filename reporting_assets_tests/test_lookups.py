"""What staging resolves references against (staging.lookups): the answers a dict of the same patients and invoices gives."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting_assets.replica import codec
from reporting_assets.staging.lookups import SourceLookups

pseudonyms = st.from_regex(r"pt_[0-9a-f]{32}", fullmatch=True)
# what a reference can be in the replica, and what else a hostile source could leave there
references = st.one_of(pseudonyms, st.none(), st.just(codec.NOT_A_PATIENT_ID), st.just(""), st.integers(), st.floats(), st.binary(max_size=4))
invoice_numbers = st.one_of(st.text(max_size=8), st.integers(), st.floats(allow_nan=False), st.none())


@settings(max_examples=150, deadline=None)
@given(
    patients=st.lists(pseudonyms, max_size=12, unique=True),
    refs=st.lists(references, max_size=60),
    repeats=st.integers(min_value=1, max_value=4),
)
def test_patient_references_resolve_as_a_dict_of_the_patients_would(patients, refs, repeats):
    lookups = SourceLookups(patients, [])
    refs = (refs + patients) * repeats  # patients' references repeat across their payments
    expected = {pseudonym: i for i, pseudonym in enumerate(sorted(patients))}

    positions = lookups.patient_positions(refs)

    assert positions.dtype == np.int64
    assert positions.tolist() == [expected.get(r, -1) if type(r) is str else -1 for r in refs]
    assert lookups.pseudonyms(positions).tolist() == [r if type(r) is str and r in expected else None for r in refs]


def test_an_unhashable_reference_is_not_a_patient():
    lookups = SourceLookups(["pt_" + "a" * 32], [])
    assert lookups.patient_positions([["pt_" + "a" * 32], "pt_" + "a" * 32, None]).tolist() == [-1, 0, -1]


@settings(max_examples=150, deadline=None)
@given(numbers=st.lists(invoice_numbers, min_size=1, max_size=20), picks=st.lists(st.integers(min_value=0, max_value=19), max_size=60))
def test_invoice_numbers_come_back_as_text_for_every_position(numbers, picks):
    lookups = SourceLookups([], [[(i, number, None) for i, number in enumerate(numbers)]])
    positions = np.array([p % len(numbers) for p in picks], dtype=np.int64)

    found = lookups.invoice_numbers_at(positions)

    assert found.tolist() == ["" if numbers[p] is None else str(numbers[p]) for p in positions]
    assert lookups.invoice_positions(list(range(len(numbers))) + [None, "1", len(numbers)]).tolist() == list(range(len(numbers))) + [-1, -1, -1]
