"""The README's first command, verbatim, from a clean clone on the embedded default (no REPORTING_* set)."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def readme_command(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```bash\n(.+?)\n```", text, re.S)
    assert match, f"README has no {marker} block"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command():
    assert readme_command("test-command") in (REPO / ".ci" / "run").read_text()


@pytest.mark.slow
def test_quickstart_command_from_a_clean_clone():
    # its own folder, not pytest's tmp_path: another pytest session's retention could remove that mid-run
    workdir = Path(tempfile.mkdtemp(prefix="reporting-clean-clone-"))
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTING_", "DAGSTER_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    try:
        result = subprocess.run(
            ["bash", "-c", readme_command("quickstart-command")], cwd=clone, env=env, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        out = result.stdout
        rows = dict(re.findall(r"^\s+(\w+)\s+([\d,]+)$", out, re.M))
        assert int(rows["patient_payment_history"].replace(",", "")) > 10_000
        assert int(rows["revenue_metrics"].replace(",", "")) >= 100
        assert int(rows["outstanding_payments"].replace(",", "")) > 0
        assert int(rows["quarantine"].replace(",", "")) > 0  # the sample is messy on purpose
        assert "Revenue of the last 7 days" in out and "reporting-admin dev" in out
        assert (clone / ".reporting" / "pgdata" / "PG_VERSION").exists()

        # then every command of the README's "From a shell" block, verbatim
        shell = subprocess.run(
            ["bash", "-ec", readme_command("shell-commands")], cwd=clone, env=env, capture_output=True, text=True, timeout=600
        )
        assert shell.returncode == 0, shell.stdout[-3000:] + shell.stderr[-3000:]
        assert shell.stderr.count("RUN_SUCCESS") == 2 and "Traceback" not in shell.stderr

        # then the README's API walk-through, verbatim, stopping the server it started
        api = subprocess.run(
            ["bash", "-ec", readme_command("api-commands") + "\nkill %1; wait"], cwd=clone, env=env, capture_output=True, text=True, timeout=900
        )
        assert api.returncode == 0, api.stdout[-3000:] + api.stderr[-3000:]
        out = api.stdout  # three JSON answers (curl adds no newline)
        assert '"granularity":"week"' in out and '"total_revenue":"' in out
        assert "Your role (finance) is not permitted to read patient_payment_history." in out
        assert '"user_id":"api:alice","action":"access_denied"' in out and '"action":"view_report","resource_type":"revenue_metrics"' in out
        assert '"user_agent":"curl/' in out
        assert (clone / "reporting_assets" / "api" / "static" / "index.html").exists()  # serve built the dashboard
    finally:
        subprocess.run([str(clone / ".venv" / "bin" / "reporting-admin"), "stop-db"], cwd=clone, env=env, capture_output=True, timeout=120)
        shutil.rmtree(workdir, ignore_errors=True)


def test_stop_db_stops_a_server_other_processes_started(tmp_path):
    """pgserver stops a server only for its last registered user; a killed process stays registered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPORTING_")}
    env["REPORTING_HOME"] = str(tmp_path / "home")
    cli = [os.sys.executable, "-m", "reporting_assets.admin.cli"]
    assert subprocess.run([*cli, "db-url"], env=env, capture_output=True, text=True, timeout=120).returncode == 0
    # a process killed without running its exit handlers (e.g. `reporting-admin dev` stopped by SIGTERM)
    killed = (
        "import os; from pathlib import Path; from reporting_assets.warehouse.embedded import embedded_database_url; "
        f"embedded_database_url(Path({str(tmp_path / 'home' / 'pgdata')!r})); os._exit(0)"
    )
    assert subprocess.run([os.sys.executable, "-c", killed], env=env, capture_output=True, text=True, timeout=120).returncode == 0
    pid_file = tmp_path / "home" / "pgdata" / "postmaster.pid"
    assert pid_file.exists()
    stopped = subprocess.run([*cli, "stop-db"], env=env, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0 and "Stopped" in stopped.stdout
    assert not pid_file.exists()
