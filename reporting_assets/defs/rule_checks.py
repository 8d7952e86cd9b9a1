"""A reporting table's pandera model as ONE blocking asset check, ``pandera_schema``, reporting every rule.

The asset validates exactly the rows it is about to write (pudl's pattern, in the same
transaction, lazily: every rule over every row). The check's metadata lists every rule of the
model with its failing rows; when a rule breaks, the check fails naming the broken rules, the
step fails and the transaction rolls back, so the table keeps its previous rows. One check per
table, not one per rule: Dagster stores a planned-check row per check and partition at run
creation, and two events per check on every run.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pandera.pandas as pa

from ..schemas import RuleTally, rules_of

SCHEMA_CHECK = "pandera_schema"


def schema_check_spec(model: type[pa.DataFrameModel], asset: str) -> dg.AssetCheckSpec:
    """The blocking check of ``asset``; its description names ``model`` and every rule it covers, for the UI."""
    rules = ", ".join(rule.name for rule in rules_of(model))
    return dg.AssetCheckSpec(
        SCHEMA_CHECK,
        asset=asset,
        description=f"The rows written validate against {model.__name__} (pandera, every rule over every row): {rules}.",
        blocking=True,
    )


def rules_table(tally: RuleTally) -> dg.MetadataValue:
    """Markdown: one row per rule of the model, what it requires and its failing rows (0 when it holds)."""
    rows = ["| rule | requires | failing rows |", "|---|---|---|"]
    for rule in tally.rules:
        requires = rule.description.replace("|", "\\|")  # a pipe in the text would end the cell
        rows.append(f"| {rule.name} | {requires} | {tally.failing[rule.name]} |")
    return dg.MetadataValue.md("\n".join(rows) + "\n")


def schema_check_result(tally: RuleTally, asset: str) -> dg.AssetCheckResult:
    """The check's result: passed when every rule holds; every rule's failing rows in the metadata either way."""
    broken = [rule.name for rule in tally.rules if tally.failing[rule.name]]
    return dg.AssetCheckResult(
        check_name=SCHEMA_CHECK,
        asset_key=asset,
        passed=tally.passed,
        description=None if tally.passed else tally.summary(),
        metadata={
            "rows_checked": tally.rows,
            # the sum over rules of each rule's failing rows: a row breaking two rules counts twice
            "failing_rows": sum(tally.failing.values()),
            "broken_rules": dg.MetadataValue.json(broken),
            "rules": rules_table(tally),
        },
    )


def fail_on_broken_rules(tally: RuleTally, asset: str) -> Iterator[dg.AssetCheckResult]:
    """Nothing when every rule holds; else the check's failing result, then a Failure naming the broken rules."""
    if tally.passed:
        return
    yield schema_check_result(tally, asset)
    raise dg.Failure(
        description=f"{tally.model.__name__} output breaks its schema, so {asset} keeps its previous rows: {tally.summary()}",
        metadata={"failing_rows": dg.MetadataValue.json(dict(tally.failing))},
    )
