"""Where a profiled backfill spends its time: ``python -m bench.profile_summary SESSION.pyisession``.

Reads a pyinstrument session saved by ``bench.run --profile`` and prints (1) the time inside
each asset's body, in Dagster creating the run and in Dagster's machinery around the bodies,
(2) the functions with the most inclusive time (recursion counted once) and (3) the most self
time, each as % of the total.
"""

from __future__ import annotations

import collections
import sys

ASSET_FUNCTIONS = (
    "staged_payments", "staged_invoices", "patient_payment_history", "revenue_metrics", "outstanding_payments",
    "dim_date", "dim_patient", "dim_user", "referential_check",
)
# Dagster's own work that is worth its own line: storing the run's planned materializations and checks
RUN_CREATION = "create_run_for_job"


def _walk(frame, ancestors: frozenset, inclusive: dict, self_time: dict, assets: dict):
    if frame.is_synthetic:  # pyinstrument's "[self]"/"[await]" leaves: already in the parent's self time
        return
    key = (frame.function, frame.file_path_short or frame.file_path or "", frame.line_no)
    label = f"{frame.function}  {frame.file_path_short}:{frame.line_no}"
    if key not in ancestors:
        inclusive[label] += frame.time
    self_time[label] += frame.total_self_time
    if frame.function == RUN_CREATION and "dagster" in (frame.file_path or ""):
        assets["Dagster: creating the run (planned events stored)"] += frame.time
        return _walk_children(frame, ancestors | {key}, inclusive, self_time, collections.Counter())
    if frame.function in ASSET_FUNCTIONS and "reporting_assets" in (frame.file_path or ""):
        assets[frame.function] += frame.time
        return _walk_children(frame, ancestors | {key}, inclusive, self_time, collections.Counter())
    _walk_children(frame, ancestors | {key}, inclusive, self_time, assets)


def _walk_children(frame, ancestors, inclusive, self_time, assets):
    for child in frame.children:
        _walk(child, ancestors, inclusive, self_time, assets)


def summarize(session, top: int = 30) -> str:
    root = session.root_frame()
    total = root.time
    inclusive: dict[str, float] = collections.Counter()
    self_time: dict[str, float] = collections.Counter()
    assets: dict[str, float] = collections.Counter()
    _walk(root, frozenset(), inclusive, self_time, assets)
    pct = lambda t: f"{100 * t / total:5.1f}%"  # noqa: E731
    lines = [f"total {total:.2f} s (wall, profiled)", "", "asset bodies vs Dagster machinery:"]
    for name, seconds in sorted(assets.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {pct(seconds)}  {seconds:7.2f} s  {name}")
    outside = total - sum(assets.values())
    lines.append(f"  {pct(outside)}  {outside:7.2f} s  Dagster around the asset bodies (step and event machinery, logging)")
    lines += ["", f"top {top} by inclusive time:"]
    for label, seconds in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {pct(seconds)}  {seconds:7.2f} s  {label}")
    lines += ["", f"top {top} by self time:"]
    for label, seconds in sorted(self_time.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {pct(seconds)}  {seconds:7.2f} s  {label}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    from pyinstrument.session import Session

    print(summarize(Session.load(argv[0]), top=int(argv[1]) if len(argv) > 1 else 30))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
