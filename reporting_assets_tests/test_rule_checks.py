"""The schema check's result from a RuleTally, without a Dagster run: which rules broke, on how many rows."""

import dagster as dg
import pandas as pd
import pytest

from reporting_assets import schemas
from reporting_assets.defs.rule_checks import SCHEMA_CHECK, fail_on_broken_rules, schema_check_result


def actors(kinds: list[str], seen: list[tuple[str, str]]) -> pd.DataFrame:
    """dim_user rows: one api actor per kind, first and last seen as given."""
    frame = pd.DataFrame(
        {
            "user_id": [f"api:user{i}" for i in range(len(kinds))],
            "kind": kinds,
            "api_role": ["viewer" if kind == "api" else None for kind in kinds],
            "api_disabled": pd.array([False if kind == "api" else None for kind in kinds], dtype="boolean"),
            "first_seen": pd.to_datetime([first for first, _ in seen]),
            "last_seen": pd.to_datetime([last for _, last in seen]),
        }
    )
    return frame


def rule_rows(result: dg.AssetCheckResult) -> dict[str, int]:
    """{rule: failing rows} from the result's markdown table."""
    lines = result.metadata["rules"].value.splitlines()[2:]
    return {cells[0]: int(cells[2]) for cells in ([c.strip() for c in line.strip("|").split(" | ")] for line in lines)}


def test_two_broken_rules_are_named_with_their_failing_rows():
    tally = schemas.RuleTally(schemas.DimUser)
    # row 1: a kind that is none of the four; rows 2 and 3: seen last before first (a frame check, reported per column)
    tally.add(
        actors(
            ["api", "robot", "api", "api"],
            [("2026-01-01", "2026-01-02"), ("2026-01-01", "2026-01-02"), ("2026-01-03", "2026-01-02"), ("2026-01-05", "2026-01-04")],
        )
    )
    result = schema_check_result(tally, "dim_user")
    assert result.check_name == SCHEMA_CHECK and result.passed is False
    assert result.metadata["rows_checked"].value == 4
    assert result.metadata["failing_rows"].value == 3
    assert sorted(result.metadata["broken_rules"].value) == ["first_seen_not_after_last_seen", "kind_isin"]
    rows = rule_rows(result)
    assert set(rows) == {rule.name for rule in schemas.rules_of(schemas.DimUser)}
    assert {rule: n for rule, n in rows.items() if n} == {"kind_isin": 1, "first_seen_not_after_last_seen": 2}
    assert result.description == tally.summary() and "kind_isin" in result.description


def test_a_clean_frame_passes_with_no_failing_rows():
    tally = schemas.RuleTally(schemas.DimUser)
    tally.add(actors(["api", "api"], [("2026-01-01", "2026-01-02"), ("2026-01-01", "2026-01-01")]))
    result = schema_check_result(tally, "dim_user")
    assert result.check_name == SCHEMA_CHECK and result.passed is True and result.description is None
    assert result.metadata["failing_rows"].value == 0 and result.metadata["rows_checked"].value == 2
    assert result.metadata["broken_rules"].value == []
    assert set(rule_rows(result).values()) == {0}
    assert list(fail_on_broken_rules(tally, "dim_user")) == []


def test_a_broken_rule_yields_the_failing_result_then_fails_the_step():
    tally = schemas.RuleTally(schemas.DimUser)
    tally.add(actors(["robot"], [("2026-01-01", "2026-01-02")]))
    results = fail_on_broken_rules(tally, "dim_user")
    assert next(results).passed is False
    with pytest.raises(dg.Failure, match="DimUser output breaks its schema, so dim_user keeps its previous rows: kind_isin"):
        next(results)


@pytest.mark.parametrize("kind", ["datetime64[ns]", "datetime64[s]", "object"])
def test_not_in_future_rules_flag_exactly_the_days_after_today(kind):
    days = pd.Series(pd.to_datetime(["2026-06-29", "2026-06-30", "2026-07-01", None, "2030-01-01"]))
    frame = pd.DataFrame({"date_key": days.astype(kind) if kind != "object" else days.dt.date.astype(object)})
    with schemas.as_of(pd.Timestamp("2026-06-30").date()):
        verdicts = schemas.RevenueMetrics._date_not_future(frame["date_key"])
    # the last day is today; the day after and a later year are in the future; a missing day is not
    assert verdicts.tolist() == [True, True, False, False, False]
