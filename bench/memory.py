"""Per-asset time and peak RSS: ``python -m bench.memory --size 1000000 [--database-url URL]``.

Materializes each asset of the full backfill alone, in dependency order, each in its own
subprocess, on one fresh database, so the peak RSS of the whole backfill can be pinned on
the asset that causes it. Not part of the benchmark table; a diagnostic for the profile.
"""

from __future__ import annotations

import argparse
import sys

from .common import BENCH_HOME, REPO_ROOT, Case, worker_env
from .run import ensure_source, import_only_rss, resolve_server, run_worker

ORDER = (
    ("staged_payments", True),
    ("patient_payment_history", True),
    ("revenue_metrics", True),
    ("staged_invoices", False),
    ("outstanding_payments", False),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    case = Case(payments=args.size, seed=args.seed)
    ensure_source(case)
    server = resolve_server(args.database_url)
    env = worker_env(case)
    base = {
        "source": str(case.source), "first": case.first.isoformat(), "last": case.end.isoformat(),
        "as_of": case.end.isoformat(), "home": str(BENCH_HOME / "home"), "cwd": str(REPO_ROOT),
    }
    try:
        _, url = server.create("memory")
        print(f"{'asset':<26} {'seconds':>8} {'peak RSS MB':>12}")
        for asset, partitioned in ORDER:
            out = run_worker("asset", {**base, "url": url, "asset": asset, "partitioned": partitioned}, env, f"{case.key}_memory_{asset}")
            print(f"{asset:<26} {out['seconds']:>8.2f} {out['rss_mb']:>12,.0f}", flush=True)
        rss = import_only_rss(case)
        print(f"{'(imports only)':<26} {'':>8} {rss:>12,.0f}")
    finally:
        server.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
