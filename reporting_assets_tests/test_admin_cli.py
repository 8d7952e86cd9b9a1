"""reporting-admin as a user meets it: passwords that mean something, the local state it creates, stopping `dev`."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg2
import pytest

from reporting_assets_tests.conftest import fake_patient, query, write_source

CLI = [sys.executable, "-m", "reporting_assets.admin.cli"]
PASSWORD = "correct-horse-battery-staple"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTING_", "DAGSTER_"))}
    env.update(extra)
    return env


def run(args, env, cwd=None, timeout=180):
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_embedded_server_checks_the_passwords_of_platform_logins(tmp_path):
    env = clean_env(REPORTING_HOME=str(tmp_path / "home"), REPORTING_NEW_USER_PASSWORD=PASSWORD)
    try:
        created = run(["create-user", "analyst", "--role", "bi"], env)
        assert created.returncode == 0, created.stderr
        hint = created.stdout.strip().splitlines()[-1]
        assert hint.startswith("Connect as it (psql asks for the password): psql ")
        login_url = hint.split('psql "', 1)[1].rstrip('"')
        assert login_url.startswith("postgresql://analyst@") and PASSWORD not in created.stdout
        with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
            psycopg2.connect(login_url, password="not-the-password")
        conn = psycopg2.connect(login_url, password=PASSWORD)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_user, current_setting('search_path')")
                assert cur.fetchone() == ("analyst", "reporting")
        finally:
            conn.close()
    finally:
        run(["stop-db"], env)


def test_a_command_creating_local_state_says_where_once(tmp_path):
    env = clean_env()
    first = run(["db-url"], env, cwd=tmp_path)
    try:
        assert first.returncode == 0, first.stderr
        assert first.stderr.count(f"creating local state in {tmp_path / '.reporting'}") == 1
        second = run(["db-url"], env, cwd=tmp_path)
        assert second.returncode == 0 and "creating local state" not in second.stderr
        assert second.stdout == first.stdout
    finally:
        run(["stop-db"], env, cwd=tmp_path)


def test_env_points_dagster_commands_at_the_local_instance(tmp_path, database_url):
    env = clean_env(REPORTING_HOME=str(tmp_path / "home"), REPORTING_DATABASE_URL=database_url)
    printed = run(["env"], env)
    assert printed.returncode == 0, printed.stderr
    exported = dict(line.removeprefix("export ").split("=", 1) for line in printed.stdout.strip().splitlines())
    assert set(exported) == {"DAGSTER_HOME", "REPORTING_DAGSTER_STORAGE_URL"}
    assert (Path(exported["DAGSTER_HOME"].strip("'")) / "dagster.yaml").exists()


def test_dagster_without_the_storage_url_says_what_to_set_in_one_sentence(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((Path(__file__).resolve().parents[1] / "dagster.yaml").read_text())
    dagster = str(Path(sys.executable).with_name("dagster"))
    result = subprocess.run(
        [dagster, "asset", "materialize", "-m", "reporting_assets.definitions", "--select", "staged_invoices"],
        env=clean_env(DAGSTER_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "REPORTING_DAGSTER_STORAGE_URL is not set: run `eval \"$(.venv/bin/reporting-admin env)\"` first" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_dev_started_in_the_background_stops_cleanly_on_a_signal(tmp_path, database_url, stop_signal):
    source = write_source(tmp_path / "clinic.db", [fake_patient(1)])
    port = free_port()
    env = clean_env(
        REPORTING_HOME=str(tmp_path / "home"),
        REPORTING_DATABASE_URL=database_url,
        REPORTING_SOURCE_DB=str(source),
        REPORTING_PSEUDONYM_KEY="test-pseudonym-key-0123456789abcdef",
    )

    def as_a_background_job():  # a shell's `cmd &` starts it with SIGINT ignored
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    log = open(tmp_path / "dev.log", "w")
    dev = subprocess.Popen([*CLI, "dev", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=as_a_background_job)
    try:
        deadline = time.monotonic() + 180
        while not serving(port):
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the webserver did not come up"
            time.sleep(1)
        dev.send_signal(stop_signal)
        assert dev.wait(timeout=60) == 0
        assert not serving(port)
        leftovers = subprocess.run(["pgrep", "-f", f"-p {port}"], capture_output=True, text=True)
        assert leftovers.stdout.strip() == "", "dagster dev left processes behind"
    finally:
        if dev.poll() is None:
            dev.kill()
        log.close()


def test_backfill_of_a_range_backwards_is_one_sentence(tmp_path):
    env = {**os.environ, "REPORTING_HOME": str(tmp_path), "REPORTING_PSEUDONYM_KEY": "k" * 32, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run([str(Path(sys.executable).with_name("reporting-admin")), "backfill", "2026-03-31", "2026-01-01"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip() == "reporting-admin: The backfill ends (2026-01-01) before it starts (2026-03-31); give the first day, then the last."


def _repository_instance_home(tmp_path: Path, monkeypatch, storage_url: str) -> Path:
    """A DAGSTER_HOME with the repository's dagster.yaml, its storage in ``storage_url``."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((Path(__file__).resolve().parents[1] / "dagster.yaml").read_text())
    monkeypatch.setenv("REPORTING_DAGSTER_STORAGE_URL", storage_url)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "")  # recorded, so the value the storage sets is undone afterwards
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE")
    return home


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # backfill_policy, as the package's own assets use it
def test_the_instance_stores_a_range_runs_materializations_in_one_batch(empty_database_url, tmp_path, monkeypatch):
    import dagster as dg

    home = _repository_instance_home(tmp_path, monkeypatch, empty_database_url)
    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def daily(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})

    stored: list[tuple[str, int]] = []  # (how, materializations) per write to the event log
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        single, batch = storage.store_event, storage.store_event_batch

        def materializations(events) -> int:
            return sum(1 for e in events if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION)

        monkeypatch.setattr(storage, "store_event", lambda event: (stored.append(("single", materializations([event]))), single(event))[1])
        monkeypatch.setattr(storage, "store_event_batch", lambda events: (stored.append(("batch", materializations(events))), batch(events))[1])
        job = dg.Definitions(assets=[daily], executor=dg.in_process_executor).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=instance, tags={"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-01-05"}
        )
        assert result.success
        assert [entry for entry in stored if entry[1]] == [("batch", 5)]
        assert sorted(instance.get_materialized_partitions(dg.AssetKey("daily"))) == days.get_partition_keys()


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # backfill_policy, as the package's own assets use it
def test_the_instance_stores_a_range_runs_planned_materializations_in_one_batch(empty_database_url, tmp_path, monkeypatch):
    """And a run that fails leaves each of its days marked as failed, as the event-by-event writes did;
    the asset check's planned event in the same batch is stored as dagster-postgres stores it."""
    import dagster as dg

    from reporting_assets.admin.instance import PlannedEventsInOneBatch

    home = _repository_instance_home(tmp_path, monkeypatch, empty_database_url)
    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def first(context: dg.AssetExecutionContext) -> None:
        return None

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run(), deps=[first])
    def second(context: dg.AssetExecutionContext) -> None:
        raise RuntimeError("this step fails")

    @dg.asset_check(asset=first)
    def first_checked() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    planned = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    inserts: list[int] = []  # planned events per INSERT into the event log
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PlannedEventsInOneBatch)
        single, batch = storage.store_event, storage._store_planned
        monkeypatch.setattr(storage, "store_event", lambda event: (inserts.append(int(event.dagster_event_type == planned)), single(event))[1])
        monkeypatch.setattr(storage, "_store_planned", lambda events: (inserts.append(len(events)), batch(events))[1])
        job = dg.Definitions(assets=[first, second], asset_checks=[first_checked], executor=dg.in_process_executor).resolve_implicit_global_asset_job_def()
        result = job.execute_in_process(
            instance=instance, raise_on_error=False,
            tags={"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-01-05"},
        )
        assert not result.success
        assert [n for n in inserts if n] == [10]  # 5 days of 2 assets, in one INSERT
        check_key = dg.AssetCheckKey(dg.AssetKey("first"), "first_checked")
        assert len(instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED).records) == 1
        executions = storage.get_asset_check_execution_history(check_key, limit=10)
        # one planned execution per day (the check's planned event carries the days), and the check's result
        assert sorted((e.run_id, e.status.value, e.partition) for e in executions) == sorted(
            [(result.run_id, "PLANNED", day) for day in days.get_partition_keys()] + [(result.run_id, "SUCCEEDED", None)]
        )
        planned_rows = [e for e in executions if e.status.value == "PLANNED"]
        # each day's row carries the planned event itself (what the UI shows of a planned check), and its storage id
        assert {(e.event.dagster_event_type, e.event.dagster_event.event_specific_data.check_name, e.event.run_id) for e in planned_rows} == {
            (dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED, "first_checked", result.run_id)
        }
        planned_check = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED).records[0]
        assert {e.event.timestamp for e in planned_rows} == {planned_check.event_log_entry.timestamp}
        records = instance.get_records_for_run(result.run_id, of_type=planned).records
        assert sorted((r.event_log_entry.dagster_event.asset_key.path[0], r.partition_key) for r in records) == sorted(
            (asset, day) for asset in ("first", "second") for day in days.get_partition_keys()
        )
        assert sorted(instance.get_materialized_partitions(dg.AssetKey("first"))) == days.get_partition_keys()
        failed = storage.get_latest_asset_partition_materialization_attempts_without_materializations(dg.AssetKey("second"))
        assert sorted(failed) == days.get_partition_keys() and {run for run, _ in failed.values()} == {result.run_id}
        for key in (dg.AssetKey("first"), dg.AssetKey("second")):
            assert instance.get_latest_planned_materialization_info(key).run_id == result.run_id
        # the asset's row as its last planned event leaves it (the failed asset has no other event)
        assert instance.get_asset_records([dg.AssetKey("second")])[0].asset_entry.last_run_id == result.run_id
    stamped_last = query(
        empty_database_url,
        "SELECT k.last_materialization_timestamp = max(e.timestamp) FROM asset_keys k JOIN event_logs e ON e.asset_key = k.asset_key "
        "WHERE k.asset_key = %s AND e.dagster_event_type = %s GROUP BY k.last_materialization_timestamp",
        (dg.AssetKey("second").to_string(), planned.value),
    )
    assert stamped_last == [(True,)]


def _storage_backends(url: str) -> list[int]:
    """The server processes of connections to ``url``'s database other than this query's own."""
    return [pid for (pid,) in query(url, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # backfill_policy, as the package's own assets use it
def test_the_instance_keeps_one_connection_per_storage_and_survives_a_server_restart(empty_database_url, tmp_path, monkeypatch):
    """A range run's many reads and writes of the instance open a connection per storage, not one each;
    instances a process never disposes of (a Celery worker makes one per step) share them; a connection
    the server dropped is replaced before use; disposing of an instance closes them."""
    import dagster as dg
    import sqlalchemy

    home = _repository_instance_home(tmp_path, monkeypatch, empty_database_url)
    days = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_date="2026-01-06")

    @dg.asset(partitions_def=days, backfill_policy=dg.BackfillPolicy.single_run())
    def daily(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})

    job = dg.Definitions(assets=[daily], executor=dg.in_process_executor).resolve_implicit_global_asset_job_def()
    tags = {"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-01-05"}
    opened: list[str] = []
    first = dg.DagsterInstance.from_config(str(home))  # never disposed of, as a Celery worker leaves its instances
    storages = {"runs": first.run_storage, "events": first.event_log_storage, "schedules": first.schedule_storage}
    for name, storage in storages.items():
        sqlalchemy.event.listen(storage._engine, "connect", lambda *_, name=name: opened.append(name))
    assert job.execute_in_process(instance=first, tags=tags).success
    first.all_instigator_state()  # a read of the schedule storage
    # one kept per storage; the event log opens up to two more while one is in use (closed after
    # use). dagster-postgres's own NullPool opened 39 for this run: one per statement
    assert opened.count("runs") == 1 and opened.count("schedules") == 1 and len(opened) <= 5, opened
    held = _storage_backends(empty_database_url)
    assert len(held) == 3

    with dg.DagsterInstance.from_config(str(home)) as second:
        assert second.event_log_storage._engine is first.event_log_storage._engine
        assert job.execute_in_process(instance=second, tags=tags).success
        held = _storage_backends(empty_database_url)
        assert len(held) == 3  # still one per storage: the two instances share them

        # the server drops them (a restart): the next run opens new ones instead of failing
        query(empty_database_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = ANY(%s)", (held,))
        before = len(opened)
        rerun = job.execute_in_process(instance=second, tags=tags)
        assert rerun.success
        assert second.get_run_by_id(rerun.run_id).status == dg.DagsterRunStatus.SUCCESS
        assert len(opened) > before
        assert sorted(second.get_materialized_partitions(dg.AssetKey("daily"))) == days.get_partition_keys()
    assert _storage_backends(empty_database_url) == []
