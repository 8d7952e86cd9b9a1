"""Reporting API throughput and latency against pgbench running the same SQL (loopback only).

    .venv/bin/python -m bench.api [--database-url URL] [--payments 100000] [--seconds 10] [--concurrency 16|1,16] [--workers 2]

One database on the server (REPORTING_BENCH_DATABASE_URL, else the local service) is filled
directly with SQL: a year of revenue_metrics, ``--payments`` history rows of a tenth as many
patients, and 0.127 outstanding invoices per payment (the sample warehouses' proportion; the
CSV export is measured only up to 20,000 of them). `reporting-admin serve` runs it; a bounded async httpx client keeps
`concurrency` requests in flight per scenario. pgbench then runs, per scenario, what the API's
transaction does in SQL (account check, audit INSERT, SET LOCAL ROLE, the read) at the same
concurrency: the gap between the two is the cost of HTTP, JSON/CSV and Python.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from .common import REPO_ROOT, Server

PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"
SECRET = "bench-api-secret-0123456789abcdef0123456789"
PASSWORD = "bench-password-123"
PATIENT = "pt_" + "0" * 28 + "002a"  # patient 42 of the generated data

OUTSTANDING_PER_PAYMENT = 0.127  # outstanding invoices per payment in the sample-generated warehouses (127,342 at 1M)


def fill_sql(payments: int) -> str:
    """A year of revenue_metrics, ``payments`` history rows of payments/10 patients, and the outstanding invoices of that size."""
    patients = max(payments // 10, 1)
    outstanding = max(int(payments * OUTSTANDING_PER_PAYMENT), 1)
    return f"""
INSERT INTO reporting.revenue_metrics (date_key, total_revenue, payment_count, average_payment)
SELECT d::date, (n * 37.25)::numeric(10,2), n, CASE WHEN n = 0 THEN 0 ELSE 37.25 END
FROM generate_series(date '2025-07-01', date '2026-06-30', interval '1 day') AS d,
     LATERAL (SELECT (extract(doy FROM d)::int % 40) AS n) AS c;
INSERT INTO reporting.patient_payment_history (patient_id, payment_date, amount, payment_status, invoice_id, source_payment_id)
SELECT 'pt_' || lpad(to_hex(i % {patients}), 32, '0'), date '2025-07-01' + (i % 365), ((i % 9000) + 100) / 100.0,
       (ARRAY['paid', 'paid', 'paid', 'pending', 'failed', 'refunded'])[1 + i % 6], 'INV-' || (i / 2), i
FROM generate_series(1, {payments}) AS i;
INSERT INTO reporting.outstanding_payments (patient_id, invoice_id, amount_due, days_overdue, payment_status)
SELECT 'pt_' || lpad(to_hex(i % {patients}), 32, '0'), 'INV-OUT-' || lpad(i::text, 8, '0'), ((i % 5000) + 1) / 10.0, i % 400,
       CASE WHEN i % 400 >= 365 THEN 'written_off' WHEN i % 400 >= 120 THEN 'collection' ELSE 'overdue' END
FROM generate_series(1, {outstanding}) AS i;
ANALYZE;
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str | None  # None: a reference measured with pgbench only
    resource_type: str
    read_sql: str  # what the endpoint reads, for pgbench


AGGREGATED_AGING = (
    "SELECT bucket, count(*), sum(amount_due) FROM (SELECT CASE WHEN days_overdue <= 30 THEN '0-30' WHEN days_overdue <= 60 THEN '31-60' "
    "WHEN days_overdue <= 90 THEN '61-90' WHEN days_overdue <= 120 THEN '91-120' ELSE '120+' END AS bucket, payment_status, amount_due "
    "FROM reporting.outstanding_payments) AS o"
)
EXPORT_UP_TO = 20_000  # outstanding invoices up to which the CSV export is measured

SCENARIOS = [
    Scenario(
        "revenue, one year by day",
        "/api/v1/revenue?start=2025-07-01&end=2026-06-30&granularity=day",
        "revenue_metrics",
        "SELECT p::date, coalesce(r.total_revenue, 0), coalesce(r.payment_count, 0), coalesce(r.average_payment, 0) "
        "FROM generate_series('2025-07-01'::date, '2026-06-30'::date, interval '1 day') AS p "
        "LEFT JOIN reporting.revenue_metrics r ON r.date_key = p::date ORDER BY p;",
    ),
    Scenario(
        "outstanding aging",
        "/api/v1/outstanding/aging",
        "ar_aging",
        "SELECT bucket, sum(invoice_count), sum(amount_due) FROM reporting.ar_aging GROUP BY bucket;\n"
        "SELECT payment_status, sum(invoice_count), sum(amount_due) FROM reporting.ar_aging GROUP BY payment_status;\n"
        "SELECT last_refreshed_at FROM reporting.table_freshness WHERE table_name = 'outstanding_payments';",
    ),
    Scenario(
        "reference: aging aggregated on read (ar_aging before sql/007)",
        None,
        "ar_aging",
        AGGREGATED_AGING + " GROUP BY 1;\n"
        + AGGREGATED_AGING.replace("SELECT bucket,", "SELECT payment_status,") + " GROUP BY 1;",
    ),
    Scenario(
        "one patient's payments",
        f"/api/v1/payments?patient_id={PATIENT}",
        "patient_payment_history",
        "SELECT patient_id, payment_date, amount, payment_status, invoice_id, id FROM reporting.patient_payment_history "
        f"WHERE patient_id = '{PATIENT}' ORDER BY payment_date DESC, id DESC LIMIT 101;",
    ),
    Scenario(
        "CSV export of every outstanding invoice",
        "/api/v1/outstanding.csv",
        "outstanding_payments",
        "SELECT invoice_id, patient_id, amount_due, days_overdue, last_payment_date, payment_status "
        "FROM reporting.outstanding_payments ORDER BY days_overdue DESC, invoice_id ASC;",
    ),
]


@dataclass
class Measurement:
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def drive(base: str, token: str, path: str, seconds: float, concurrency: int) -> Measurement:
    """`concurrency` clients, each sending its next request when the last one is answered."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=60) as client:
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await client.get(path)
                await response.aread()
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Measurement(len(latencies), elapsed, latencies, errors)


def pgbench(url: str, scenario: Scenario, seconds: float, concurrency: int, workdir: Path) -> Measurement:
    """The API's transaction as plain SQL, `concurrency` pgbench clients, per-transaction log for percentiles."""
    script = workdir / "script.sql"
    script.write_text(
        "BEGIN;\n"
        "SELECT role, disabled FROM reporting.api_user WHERE username = 'bench';\n"
        "INSERT INTO reporting.audit_log (user_id, action, resource_type, resource_id, ip_address, user_agent) "
        f"VALUES ('api:bench', 'view_report', '{scenario.resource_type}', 'pgbench', '127.0.0.1', 'pgbench');\n"
        "SET LOCAL ROLE reporting_api_admin;\n"
        f"{scenario.read_sql}\n"
        "COMMIT;\n"
    )
    for old in workdir.glob("pgbench_log*"):
        old.unlink()
    from reporting_assets.warehouse.database import libpq_dsn

    result = subprocess.run(
        [PGBENCH, "-n", "-c", str(concurrency), "-j", "2", "-T", str(int(seconds)), "-f", str(script), "-l", "--log-prefix", str(workdir / "pgbench_log"), libpq_dsn(url)],
        capture_output=True, text=True, check=True,
    )
    latencies = []
    for log in workdir.glob("pgbench_log*"):
        for line in log.read_text().splitlines():
            latencies.append(int(line.split()[2]) / 1000)
    duration = next((float(line.split(":")[1].split()[0]) for line in result.stdout.splitlines() if line.startswith("duration:")), seconds)
    return Measurement(len(latencies), duration, latencies)


def start_api(url: str, port: int, workers: int, home: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTING_")}
    env.update({"REPORTING_DATABASE_URL": url, "REPORTING_HOME": str(home), "REPORTING_API_SECRET": SECRET, "REPORTING_NEW_USER_PASSWORD": PASSWORD})
    admin = str(Path(sys.executable).with_name("reporting-admin"))
    subprocess.run([admin, "create-api-user", "bench", "--role", "admin"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([admin, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO_ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("bench.api: the API did not start within 60 s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.api", description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("REPORTING_BENCH_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--payments", type=int, default=100_000, help="history rows to fill (default 100,000; 10000000 for the 10M warehouse)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", default="16", help="requests in flight, or a comma-separated list measured in turn (e.g. 1,16)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    levels = [int(level) for level in args.concurrency.split(",")]

    from reporting_assets.settings import normalize_database_url
    from reporting_assets.warehouse.database import fetch_all

    outstanding = max(int(args.payments * OUTSTANDING_PER_PAYMENT), 1)
    scenarios = [s for s in SCENARIOS if s.resource_type != "outstanding_payments" or outstanding <= EXPORT_UP_TO]
    server = Server(normalize_database_url(args.database_url), embedded=False)
    rows = []
    try:
        _, url = server.create("api")
        began = time.perf_counter()
        fetch_all(url, fill_sql(args.payments))
        print(f"filled {args.payments:,} payments, {outstanding:,} outstanding invoices in {time.perf_counter() - began:.0f} s", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
            workdir = Path(tmp)
            api = start_api(url, args.port, args.workers, workdir / "home")
            try:
                base = f"http://127.0.0.1:{args.port}"
                token = httpx.post(f"{base}/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}).json()["access_token"]
                for concurrency in levels:
                    for scenario in scenarios:
                        through_api = None
                        if scenario.path is not None:
                            asyncio.run(drive(base, token, scenario.path, 2, concurrency))  # warm-up
                            through_api = asyncio.run(drive(base, token, scenario.path, args.seconds, concurrency))
                        plain_sql = pgbench(url, scenario, args.seconds, concurrency, workdir)
                        rows.append((concurrency, scenario, through_api, plain_sql))
                        print(f"{scenario.name} x{concurrency}: API {through_api.rate if through_api else 0:.0f}/s, pgbench {plain_sql.rate:.0f}/s", file=sys.stderr)
            finally:
                api.terminate()
                api.wait(timeout=30)
        version = server.version()
    finally:
        server.drop_all()

    print(f"PostgreSQL {version}, Python {platform.python_version()}, {os.cpu_count()} cores, {args.payments:,} payments and "
          f"{outstanding:,} outstanding invoices, {args.seconds:.0f} s per measurement, API with {args.workers} uvicorn workers.\n")
    print("| in flight | scenario | API req/s | API p50 ms | API p99 ms | API errors | pgbench tx/s | pgbench p50 ms | pgbench p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for concurrency, scenario, api_m, sql_m in rows:
        through_api = (f"{api_m.rate:.0f} | {api_m.percentile(50):.1f} | {api_m.percentile(99):.1f} | {api_m.errors}" if api_m else "- | - | - | -")
        print(f"| {concurrency} | {scenario.name} | {through_api} | {sql_m.rate:.0f} | {sql_m.percentile(50):.1f} | {sql_m.percentile(99):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
