"""The benchmark runs end to end at a tiny size (`python -m bench.run --smoke`); no timing is asserted."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# the row labels of bench/report.py ROWS, the table's contract
ROWS = (
    "full backfill, in-process",
    "full backfill, CLI",
    "one-day refresh",
    "sensor tick",
    "naive baseline (pandas)",
    "floor (COPY + SQL)",
)


@pytest.mark.slow
def test_bench_smoke_runs_and_prints_every_row():
    env = dict(os.environ)
    if os.environ.get("REPORTING_TEST_DATABASE_URL", "").strip():
        env["REPORTING_BENCH_DATABASE_URL"] = os.environ["REPORTING_TEST_DATABASE_URL"]
    docs = REPO_ROOT / "docs" / "benchmarks.md"
    before = docs.read_bytes() if docs.exists() else None

    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )

    assert done.returncode == 0, f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    for label in ROWS:
        assert label in done.stdout, f"row {label!r} missing from:\n{done.stdout}"
    assert "ratio pipeline/floor" in done.stdout and "ratio baseline/pipeline" in done.stdout
    assert "OUTPUT DIFFERS" not in done.stdout, done.stdout
    # smoke mode never rewrites the committed results
    assert (docs.read_bytes() if docs.exists() else None) == before


def test_a_new_results_file_starts_with_the_documented_header(tmp_path):
    """bench.run writes its header only where docs/benchmarks.md is missing: the two say the same."""
    from bench.report import RESULTS_START, write_docs

    documented = (REPO_ROOT / "docs" / "benchmarks.md").read_text().split(RESULTS_START)[0]
    written = tmp_path / "benchmarks.md"
    write_docs(written, f"{RESULTS_START}\n## Results\n")
    assert written.read_text().split(RESULTS_START)[0] == documented
