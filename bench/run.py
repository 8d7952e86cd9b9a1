"""The benchmark driver: ``.venv/bin/python -m bench.run [--sizes 100000,1000000] [--with-10m] [--repeat N] [--smoke]``.

For each size: generate (or reuse) the source, then measure, each in its own subprocess and
fresh database: (a) the full backfill in-process, (c) a one-day refresh, (d) a sensor tick,
(b) the full backfill through the CLI, (f) the naive pandas baseline and (g) the COPY floor.
Prints a table and writes docs/benchmarks.md (see that file for what each figure means).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import BENCH_HOME, REPO_ROOT, Case, Server, fingerprint, worker_env
from .report import SizeResult, format_markdown, format_text, now_utc, write_docs

DOCS = REPO_ROOT / "docs" / "benchmarks.md"
SMOKE_PAYMENTS = 2_000
TEN_MILLION = 10_000_000


class MeasurementFailed(RuntimeError):
    pass


# ------------------------------------------------------------------ arguments
def _count(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    factor = 1
    if text.endswith("k"):
        factor, text = 1_000, text[:-1]
    elif text.endswith("m"):
        factor, text = 1_000_000, text[:-1]
    return int(float(text) * factor)


def parse_sizes(text: str, repeat: int | None) -> list[tuple[int, int]]:
    """'100000,1000000:1' -> [(100000, repeat), (1000000, 1)]; 10M defaults to 1 run."""
    sizes = []
    for token in filter(None, (t.strip() for t in text.split(","))):
        size, _, runs = token.partition(":")
        payments = _count(size)
        default = repeat if repeat is not None else (1 if payments >= TEN_MILLION else 3)
        sizes.append((payments, int(runs) if runs else default))
    return sizes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="payment counts, comma-separated; SIZE:N sets that size's runs (default 100000,1000000)")
    parser.add_argument("--with-10m", action="store_true", help="also measure 10,000,000 payments (1 run unless --repeat is given)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per measurement, median reported (default 3; 1 for 10M)")
    parser.add_argument("--smoke", action="store_true", help=f"CI: {SMOKE_PAYMENTS:,} payments, 1 run, no CLI, no 10M, docs untouched")
    parser.add_argument("--write-docs", action=argparse.BooleanOptionalAction, default=None, help="write docs/benchmarks.md (default: on, off with --smoke)")
    parser.add_argument("--database-url", default=None, help="server to create the benchmark databases on (default: $REPORTING_BENCH_DATABASE_URL, else the embedded server in .reporting/)")
    parser.add_argument("--skip-cli", action="store_true", help="skip the CLI measurement")
    parser.add_argument(
        "--all-up-to", type=int, default=2_000_000,
        help="largest size at which the naive baseline and the CLI runs are measured too (default 2,000,000: "
        "the baseline holds the whole source in pandas, 1.7 GB at 1M)",
    )
    parser.add_argument("--profile", action="store_true", help="also profile one full backfill per size with pyinstrument (pip install pyinstrument)")
    parser.add_argument("--seed", type=int, default=7, help="sample generator seed (default 7)")
    parser.add_argument("--code-label", default=None, help="how docs name the code measured (default: the checkout's git commit)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.size_list = [(SMOKE_PAYMENTS, 1)]
        args.skip_cli = True
    else:
        args.size_list = parse_sizes(args.sizes, args.repeat)
        if args.with_10m and TEN_MILLION not in [s for s, _ in args.size_list]:
            args.size_list.append((TEN_MILLION, args.repeat or 1))
    if args.write_docs is None:
        args.write_docs = not args.smoke
    return args


# ------------------------------------------------------------------ environment
def resolve_server(url: str | None) -> Server:
    from reporting_assets.settings import normalize_database_url
    from reporting_assets.warehouse.database import resolve_database_url

    url = url or os.environ.get("REPORTING_BENCH_DATABASE_URL", "").strip() or None
    if url:
        return Server(normalize_database_url(url, "REPORTING_BENCH_DATABASE_URL"), embedded=False)
    return Server(resolve_database_url(None, REPO_ROOT / ".reporting"), embedded=True)


def machine_details(server: Server) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    try:
        import psutil

        ram = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except Exception:
        ram = "unknown"
    parsed = make_url(server.url)
    where = f"embedded (pgserver, {REPO_ROOT.name}/.reporting/pgdata)" if server.embedded else f"service at {parsed.host or 'local socket'}:{parsed.port or 5432}"
    versions = ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in ("dagster", "pandas", "pandera", "SQLAlchemy", "psycopg2-binary", "numpy")
    )
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
        commit = f"git {commit}{' (with uncommitted changes)' if dirty else ''}" if commit else "not a git checkout"
    except OSError:
        commit = "unknown"
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    return {
        "date": now_utc(),
        "CPU": cpu,
        "cores": str(os.cpu_count()),
        "RAM": ram,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "PostgreSQL": f"{server.version()} ({where})",
        "packages": versions,
        "install": install_kind(),
        "code": commit,
        "load average at start (1/5/15 min)": load,
    }


def install_kind() -> str:
    """Which install the measurements run in: pandera imports hypothesis, when present, on a process's first validation."""
    if importlib.util.find_spec("hypothesis") is None:
        return "the platform's dependencies only (`pip install -e .`, as the quickstart installs)"
    return "with the development extras (`pip install -e '.[dev]'`): pandera imports hypothesis on each process's first validation"


# ------------------------------------------------------------------ sources
def ensure_source(case: Case) -> float | None:
    """Generate the case's clean source unless cached; seconds spent generating (None when cached)."""
    if case.source.exists():
        return None
    print(f"generating {case.source} ({case.payments:,} payments) ...", flush=True)
    params = {
        "path": str(case.source), "patients": case.patients, "payments": case.payments,
        "days": case.days, "seed": case.seed, "end": case.end.isoformat(),
    }
    # in a subprocess too: the driver stays small, and workers forked from it start small
    return run_worker("generate", params, worker_env(case), f"{case.key}_generate")["seconds"]


# ------------------------------------------------------------------ workers
def run_worker(kind: str, params: dict, env: dict, log_name: str) -> dict:
    logs = BENCH_HOME / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{log_name}.log"
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        params_path, result_path = Path(tmp) / "params.json", Path(tmp) / "result.json"
        params_path.write_text(json.dumps(params))
        with open(log_path, "w") as log:
            done = subprocess.run(
                [sys.executable, "-m", "bench.worker", kind, str(params_path), str(result_path)],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        if done.returncode != 0 or not result_path.exists():
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-25:])
            raise MeasurementFailed(f"{kind} worker exited with status {done.returncode}; log {log_path}:\n{tail}")
        return json.loads(result_path.read_text())


def _compare(label: str, reference: dict, other: dict, checks: list[str]) -> None:
    tables = [t for t in other if t in reference]
    differ = [t for t in tables if reference[t] != other[t]]
    if differ:
        detail = "; ".join(f"{t}: pipeline {reference[t]} vs {other[t]}" for t in differ)
        checks.append(f"{label}: OUTPUT DIFFERS from the pipeline's ({detail})")
        print(f"WARNING: {checks[-1]}", flush=True)
    else:
        checks.append(f"{label}: same rows as the pipeline in {', '.join(tables)}")


def measure_size(case: Case, repeat: int, server: Server, args: argparse.Namespace) -> tuple[SizeResult, bool]:
    """Every measurement for one size; returns the result and whether all of them succeeded.

    The runs are interleaved in rounds (backfill, baseline, floor, refresh, sensor; then the
    next round), so on a shared machine each round's figures see the same background load and
    the ratios are not skewed by load that changed between one measurement's runs and another's.
    """
    from .floor import export_final_rows

    result = SizeResult(case=case, repeat=repeat)
    result.generated_seconds = ensure_source(case)
    env = worker_env(case)
    base = {
        "source": str(case.source),
        "first": case.first.isoformat(),
        "last": case.end.isoformat(),
        "as_of": case.end.isoformat(),
        "home": str(BENCH_HOME / "home"),
        "cwd": str(REPO_ROOT),
    }
    ok = True
    tag = case.key
    stopped: set[str] = set()  # measurements that failed or are n/a: no further rounds

    def record(key: str, kind: str, params: dict, i: int) -> dict | None:
        nonlocal ok
        m = result.rows[key]
        runs = 1 if key.startswith("cli") else repeat
        result.load.append(os.getloadavg()[0])
        print(f"[{case.payments:,}] {key} run {i + 1}/{runs} ...", end=" ", flush=True)
        try:
            out = run_worker(kind, params, env, f"{tag}_{key}_{i + 1}")
        except MeasurementFailed as exc:
            ok = False
            stopped.add(key)
            m.na = "FAILED"
            m.note = str(exc).splitlines()[0]
            print(f"FAILED\n{exc}", flush=True)
            return None
        if out.get("seconds") is None:
            print("n/a", flush=True)
            return out
        m.seconds.append(out["seconds"])
        m.rss_mb.append(out.get("children_rss_mb") or out["rss_mb"])
        m.parts.append(out.get("parts", {}))
        print(f"{out['seconds']:.3f} s, peak RSS {m.rss_mb[-1]:,.0f} MB", flush=True)
        return out

    def on_fresh(label: str, measure) -> None:
        name, url = server.create(label)
        try:
            measure(url)
        finally:
            server.drop(name)

    def on_copy(template: str, label: str, measure) -> None:
        name, url = server.create(label, template=template)
        try:
            measure(url)
        finally:
            server.drop(name)

    filled: tuple[str, str] | None = None
    try:
        # (a) the first full backfill; its database is the reference (rows, floor input, refresh/sensor state)
        name, url = server.create("backfill")
        if record("backfill", "pipeline", {**base, "url": url}, 0) is None:
            server.drop(name)
        else:
            filled = (name, url)
        reference: dict = {}
        files: dict = {}
        if filled is None:
            for key in ("refresh", "sensor", "cli", "cli_pg", "floor"):
                result.rows[key].na = "skipped (backfill failed)"
                stopped.add(key)
        else:
            reference = fingerprint(filled[1])
            result.output_rows = {t: v[0] for t, v in reference.items()}
            files = export_final_rows(filled[1], case.folder)

        if filled and args.profile:
            profile = BENCH_HOME / f"profile_{tag}.txt"

            def profiled(url: str) -> None:
                try:
                    run_worker("pipeline", {**base, "url": url, "profile": str(profile)}, env, f"{tag}_profile")
                    print(f"profile of one full backfill: {profile} (and .html, .pyisession)")
                    print("\n".join(profile.read_text().splitlines()[:12]), flush=True)
                except MeasurementFailed as exc:
                    print(f"profiling failed: {exc}")

            on_fresh("profile", profiled)

        for i in range(repeat):
            # (a) further backfill runs
            if i > 0 and "backfill" not in stopped:
                on_fresh("backfill", lambda url: record("backfill", "pipeline", {**base, "url": url}, i))

            # (f) naive baseline
            if case.payments > args.all_up_to and "baseline" not in stopped:
                result.rows["baseline"].na = f"not run above {args.all_up_to:,} payments (--all-up-to)"
                stopped.add("baseline")
            if "baseline" not in stopped:
                def baseline(url: str) -> None:
                    if record("baseline", "baseline", {**base, "url": url}, i) is not None and i == 0 and reference:
                        _compare("naive baseline", reference, fingerprint(url), result.checks)

                on_fresh("baseline", baseline)

            # (g) floor
            if "floor" not in stopped:
                def floor(url: str) -> None:
                    params = {**base, "url": url, "history": str(files["history"]), "outstanding": str(files["outstanding"])}
                    if record("floor", "floor", params, i) is not None and i == 0:
                        _compare("floor", reference, fingerprint(url), result.checks)

                on_fresh("floor", floor)

            # (c) one-day refresh of the last day, on a copy of the filled database
            if "refresh" not in stopped:
                def refresh(url: str) -> None:
                    params = {**base, "url": url, "first": base["last"], "outstanding": False}
                    if record("refresh", "pipeline", params, i) is not None and i == 0:
                        _compare("one-day refresh", reference, fingerprint(url), result.checks)

                on_copy(filled[0], "refresh", refresh)

            # (d) sensor tick (hook: n/a until reporting_assets defines source_change_sensor)
            if "sensor" not in stopped:
                def sensor(url: str) -> None:
                    out = record("sensor", "sensor", {**base, "url": url}, i)
                    if out is not None and not out.get("available"):
                        result.rows["sensor"].na = "n/a (no sensor yet)"
                        stopped.add("sensor")
                    elif out is not None:
                        result.rows["sensor"].note = f"run requests {out.get('run_requests')}"

                on_copy(filled[0], "sensor", sensor)

        # (b) CLI, once per instance storage: SQLite in a temporary DAGSTER_HOME, and the repository's
        # dagster.yaml (run and event storage in PostgreSQL, as deployed)
        for key, instance, note in (
            ("cli", "sqlite", "SQLite storage in a temporary DAGSTER_HOME"),
            ("cli_pg", "postgres", "the repository's dagster.yaml: storage in PostgreSQL"),
        ):
            if args.skip_cli:
                result.rows[key].na = "skipped (--smoke)" if args.smoke else "skipped (--skip-cli)"
                continue
            if case.payments > args.all_up_to:
                result.rows[key].na = f"not run above {args.all_up_to:,} payments (--all-up-to)"
                continue
            if key in stopped:
                continue

            def cli(url: str, key=key, instance=instance, note=note) -> None:
                if record(key, "cli", {**base, "url": url, "instance": instance}, 0) is not None:
                    result.rows[key].note = note
                    tables = ("patient_payment_history", "revenue_metrics")
                    _compare(f"CLI backfill ({instance} instance)", reference, fingerprint(url, tables), result.checks)

            on_fresh(key, cli)
    finally:
        if filled:
            server.drop(filled[0])
    return result, ok


def import_only_rss(case: Case) -> float | None:
    # the definitions are built as for a run (settings, resources), but nothing connects to this URL
    params = {"url": "postgresql://bench@127.0.0.1:5432/import_only", "source": str(case.source), "home": str(BENCH_HOME / "home"), "as_of": case.end.isoformat()}
    try:
        return run_worker("import_only", params, worker_env(case), "import_only")["rss_mb"]
    except MeasurementFailed:
        return None


# ------------------------------------------------------------------ main
def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that drop the databases


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background (nohup ... &)
    args = parse_args(argv)
    command = "python -m bench.run " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    server = resolve_server(args.database_url)
    machine = machine_details(server)
    if args.code_label:
        machine["code"] = args.code_label
    print(f"benchmark on PostgreSQL {machine['PostgreSQL']}; sizes {', '.join(f'{s:,} x{r}' for s, r in args.size_list)}", flush=True)

    results: list[SizeResult] = []
    all_ok = True
    try:
        for payments, repeat in args.size_list:
            case = Case(payments=payments, seed=args.seed)
            result, ok = measure_size(case, repeat, server, args)
            results.append(result)
            all_ok = all_ok and ok
        rss = import_only_rss(Case(payments=args.size_list[0][0], seed=args.seed))
    finally:
        server.drop_all()
    if rss is not None:
        machine["import only (RSS reference)"] = f"a process that only imports the pipeline peaks at {rss:,.0f} MB"

    print(format_text(results))
    markdown = format_markdown(results, dict(machine), command)
    if args.write_docs:
        write_docs(DOCS, markdown)
        print(f"\nwrote {DOCS}")
    else:
        preview = BENCH_HOME / ("benchmarks-smoke.md" if args.smoke else "benchmarks-preview.md")
        preview.parent.mkdir(parents=True, exist_ok=True)
        preview.write_text(markdown)
        print(f"\ndocs/benchmarks.md left untouched; results section written to {preview}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
