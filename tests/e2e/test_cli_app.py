"""Which commands need the app (--app or OFFLOAD_APP) and which need only the store,
what a wrong --app says, and which store ``offload tokens create`` writes to."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

import offload
from offload.errors import AuthenticationFailed
from offload.records import JobStatus
from offload.service import TokenService
from tests.support.procs import E2E_APP, PYTHON, Procs


def _cli_without_url(procs: Procs, *args: str) -> subprocess.CompletedProcess[str]:
    """``offload ARGS…`` with no OFFLOAD_URL in its environment."""
    env = procs.environ()
    del env["OFFLOAD_URL"]
    argv = [PYTHON, "-m", "offload", *args]
    return subprocess.run(argv, cwd=procs.workdir, env=env, capture_output=True, text=True, timeout=60, check=False)


def _refused_for_want_of_app(out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 2, out.stdout + out.stderr
    assert "--app" in out.stderr and "OFFLOAD_APP" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("argv", [("worker", "--burst"), ("worker", "--burst", "--processes", "2")])
def test_a_worker_without_app_refuses_to_start(procs: Procs, app: offload.App, argv: tuple[str, ...]) -> None:
    job = app.enqueue("noop", 1)
    out = procs.cli(*argv, timeout=30)
    _refused_for_want_of_app(out)
    assert job.status() == JobStatus.QUEUED

    ran = procs.cli("worker", "--burst", env={"OFFLOAD_APP": E2E_APP}, timeout=30)  # the variable does as well
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert job.status() == JobStatus.COMPLETED


def test_commands_that_need_tasks_refuse_without_app_and_store_nothing(procs: Procs, app: offload.App) -> None:
    schedule = app.schedules.add("noop", args=[1], interval=3600)
    for argv in (
        ("enqueue", "noop", "--args", "[1]"),
        ("schedules", "add", "noop", "--interval", "60"),
        ("schedules", "run-now", schedule.id),
    ):
        out = procs.cli(*argv)
        _refused_for_want_of_app(out)
        assert out.stdout == "", argv
    assert app.list_jobs() == []
    assert [s.id for s in app.schedules.list()] == [schedule.id]

    # With the app they do their work.
    out = procs.cli("schedules", "add", "noop", "--app", E2E_APP, "--interval", "60", "--id", "every-minute")
    assert out.returncode == 0, out.stderr
    assert app.schedules.get("every-minute").task == "noop"
    out = procs.cli("schedules", "run-now", schedule.id, "--app", E2E_APP)
    assert out.returncode == 0, out.stderr
    out = procs.cli("enqueue", "noop", "--app", E2E_APP, "--args", "[2]")
    assert out.returncode == 0, out.stderr
    assert sorted(j.args for j in app.list_jobs()) == [[1], [2]]


def test_commands_that_need_only_the_store_work_with_its_url(procs: Procs, app: offload.App) -> None:
    """OFFLOAD_URL (set by Procs) or --url is enough."""
    job = app.enqueue("noop", 1)
    schedule = app.schedules.add("noop", args=[1], interval=3600)
    for argv in (
        ("migrate",),
        ("jobs", "list"),
        ("jobs", "show", job.id),
        ("stats",),
        ("schedules", "list"),
        ("schedules", "pause", schedule.id),
        ("tokens", "list"),
        ("jobs", "cancel", job.id),
    ):
        out = procs.cli(*argv)
        assert out.returncode == 0, (argv, out.stderr)
    out = _cli_without_url(procs, "jobs", "list", "--json", "--url", procs.url)
    assert out.returncode == 0, out.stderr
    assert job.id in out.stdout
    assert job.status() == JobStatus.CANCELLED
    assert app.schedules.get(schedule.id).paused


def _write_module(workdir: Path, name: str, source: str) -> None:
    (workdir / f"{name}.py").write_text(textwrap.dedent(source))


def test_tokens_create_writes_to_the_store_of_the_app_it_is_given(procs: Procs, tmp_path: Path) -> None:
    app_db = tmp_path / "app-store.db"
    _write_module(
        tmp_path,
        "tokenapp",
        f"""
        import offload
        jobs = offload.App("sqlite:///{app_db}")
        """,
    )
    out = _cli_without_url(procs, "tokens", "create", "--app", "tokenapp:jobs", "--user", "alice")
    assert out.returncode == 0, out.stderr
    *info, secret = out.stdout.strip().splitlines()
    assert f"in sqlite:///{app_db};" in info[-1]
    assert out.stderr == ""
    store = offload.App(f"sqlite:///{app_db}")
    assert TokenService(store).authenticate(secret).user == "alice"
    assert not (tmp_path / "offload.db").exists()

    # Nothing names a store: the default one, said so on stderr; stdout still ends with the secret.
    out = _cli_without_url(procs, "tokens", "create", "--user", "bob")
    assert out.returncode == 0, out.stderr
    default_db = tmp_path / "offload.db"
    assert f"in sqlite:///{default_db};" in out.stdout
    assert f"default store, sqlite:///{default_db}" in out.stderr and "--app" in out.stderr
    with pytest.raises(AuthenticationFailed):
        TokenService(store).authenticate(out.stdout.strip().splitlines()[-1])
    store.close()


def test_a_postgres_url_is_named_without_its_password() -> None:
    from offload.cli.loading import store_label

    assert store_label("postgresql://jobs:s3cret@db.example:5433/app") == "postgresql://jobs:***@db.example:5433/app"
    assert store_label("postgresql://db.example/app") == "postgresql://db.example/app"


def test_a_wrong_attribute_names_it_and_lists_the_apps_the_module_has(procs: Procs, tmp_path: Path) -> None:
    _write_module(
        tmp_path,
        "twoapps",
        """
        import offload
        jobs = offload.App()
        mail = offload.App()

        @jobs.task()
        def scrape(shop): ...
        """,
    )
    out = procs.cli("enqueue", "scrape", "--app", "twoapps:job")
    assert out.returncode == 2
    assert "module 'twoapps' has no attribute 'job'" in out.stderr, out.stderr
    assert "its offload.App objects: jobs, mail" in out.stderr
    assert "NoneType" not in out.stderr and "Traceback" not in out.stderr

    out = procs.cli("worker", "--app", "twoapps:scrape", "--burst")
    assert out.returncode == 2
    assert "twoapps:scrape is a Task, not an offload.App" in out.stderr, out.stderr
    assert "its offload.App objects: jobs, mail" in out.stderr

    _write_module(tmp_path, "noapps", "import offload\nVALUE = 1\n")
    out = procs.cli("jobs", "list", "--app", "noapps:jobs")
    assert out.returncode == 2
    assert "module 'noapps' has no attribute 'jobs'" in out.stderr, out.stderr
    assert "'noapps' defines no offload.App" in out.stderr

    out = procs.cli("worker", "--app", "twoapps:mail", "--burst")
    assert out.returncode == 2
    assert "'twoapps:mail' has no tasks" in out.stderr, out.stderr


def test_tokens_check_reads_the_secret_from_stdin_and_fails_for_an_unknown_one(procs: Procs) -> None:
    created = procs.cli("tokens", "create", "--user", "carol", "--admin")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    env = procs.environ()
    argv = [PYTHON, "-m", "offload", "tokens", "check", "--app", E2E_APP]

    def check(stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=procs.workdir, env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
        )

    known = check(secret + "\n")
    assert known.returncode == 0, known.stderr
    assert "user 'carol' (admin)" in known.stdout and secret not in known.stdout
    unknown = check("not-a-token\n")
    assert unknown.returncode == 1
    assert "not a valid token" in unknown.stderr and "not-a-token" not in unknown.stderr
