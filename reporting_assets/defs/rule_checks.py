"""A reporting table's pandera rules as blocking asset checks: every rule visible in the UI with its failing rows.

The asset validates exactly the rows it is about to write (pudl's pattern, in the same
transaction): when a rule breaks, the checks record which and how many rows, the step fails
and the transaction rolls back, so the table keeps its previous rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pandera.pandas as pa

from ..schemas import RuleTally, rules_of


def rule_check_specs(model: type[pa.DataFrameModel], asset: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(rule.name, asset=asset, description=rule.description, blocking=True) for rule in rules_of(model)]


def rule_check_results(tally: RuleTally, asset: str) -> list[dg.AssetCheckResult]:
    return [
        dg.AssetCheckResult(
            check_name=rule.name,
            asset_key=asset,
            passed=tally.failing[rule.name] == 0,
            metadata={"failing_rows": tally.failing[rule.name], "rows_checked": tally.rows},
        )
        for rule in tally.rules
    ]


def fail_on_broken_rules(tally: RuleTally, asset: str) -> Iterator[dg.AssetCheckResult]:
    """Nothing when every rule holds; else every rule's result, then a Failure naming the broken ones."""
    if tally.passed:
        return
    yield from rule_check_results(tally, asset)
    raise dg.Failure(
        description=f"{tally.model.__name__} output breaks its schema, so {asset} keeps its previous rows: {tally.summary()}",
        metadata={"failing_rows": dg.MetadataValue.json(dict(tally.failing))},
    )
