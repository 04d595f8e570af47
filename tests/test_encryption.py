"""``@app.task(encrypt=True)``: a job's args, kwargs and result are encrypted at rest,
plain to the worker and to the Python API, and never in the store, on both stores."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import offload
from offload.crypto import generate_key
from offload.errors import (
    ConfigurationError,
    DecryptionFailed,
    InvalidArguments,
    JobFailed,
    NotSerializable,
    PayloadTooLarge,
)
from offload.records import JobStatus
from tests.support import rawstore
from tests.support.procs import REPO_ROOT

KEY_0, KEY_1 = generate_key(), generate_key()
OLD = f"k0:{KEY_0}"
NEW_AND_OLD = f"k1:{KEY_1},{OLD}"


@pytest.fixture
def apps(store_url: str) -> Iterator[Callable[..., offload.App]]:
    """``apps(keys)``: an App on the test's store with those encryption keys and the
    tasks below; all closed at the end."""
    made: list[offload.App] = []

    def make(keys: str, **settings: Any) -> offload.App:
        app = offload.App(store_url, encryption_keys=keys, heartbeat_s=0.1, poll_s=0.1, **settings)
        register(app)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


def register(app: offload.App) -> None:
    @app.task(encrypt=True, retries=3)
    def fetch_mail(job: offload.JobContext, account: str, master_key: str, folder: str = "INBOX") -> dict[str, Any]:
        assert job.args == [account, master_key] and job.kwargs in ({}, {"folder": folder})  # plain to the task
        job.add_message("fetching mail")  # messages are stored in plain text: no argument in them
        return {"account": account, "session": f"session-of-{master_key}"}

    @app.task(encrypt=True)
    async def fetch_async(account: str, master_key: str) -> str:
        return f"async-session-of-{master_key}"

    @app.task(encrypt=True, retries=1)
    def flaky(job: offload.JobContext, master_key: str) -> str:
        if job.attempt == 1:
            raise RuntimeError("first attempt fails")
        return f"second-try-{master_key}"

    @app.task()
    def plain(value: str) -> str:
        return f"plain-{value}"


def drain(app: offload.App) -> None:
    """Run every waiting job with an in-process worker until none is left."""
    assert offload.Worker(app, queues=["default"], concurrency=2, burst=True).run() == 0


def secret(name: str) -> str:
    return f"{name}-{secrets.token_hex(8)}"


def test_a_round_trip_through_a_worker_leaves_no_secret_in_the_store(
    apps: Callable[..., offload.App], store_url: str
) -> None:
    app = apps(NEW_AND_OLD)
    master, other = secret("master"), secret("other")
    sync = app.enqueue("fetch_mail", "alice@example.org", master, folder="Archive")
    async_ = app.enqueue("fetch_async", "bob", other)
    control = app.enqueue("plain", secret("in-the-clear"))

    assert app.get_job(sync.id).record.args == ["alice@example.org", master]  # plain to the caller while queued
    drain(app)

    assert sync.wait(10) == {"account": "alice@example.org", "session": f"session-of-{master}"}
    assert async_.result == f"async-session-of-{other}"
    record = sync.refresh()
    assert (record.args, record.kwargs) == (["alice@example.org", master], {"folder": "Archive"})
    assert [m["message"] for m in record.messages] == ["fetching mail"]
    listed = {r.id: r for r in app.list_jobs()}
    assert listed[sync.id].args == ["alice@example.org", master]
    assert listed[async_.id].result == f"async-session-of-{other}"

    stored = rawstore.dump(store_url)
    for text in (master, other, f"session-of-{master}", "alice@example.org", "Archive", KEY_0, KEY_1):
        assert text.encode() not in stored, f"{text!r} is in the store"
    assert control.result.encode() in stored  # the dump does show what a plain task stores
    columns = rawstore.job_columns(store_url, sync.id)
    assert all(columns[c].startswith('"enc1:k1:') for c in ("args", "kwargs", "result")), columns


def test_a_retried_job_is_decrypted_again_on_its_next_attempt(apps: Callable[..., offload.App]) -> None:
    app = apps(OLD)
    master = secret("master")
    h = app.enqueue("flaky", master)
    worker = app.run_workers(concurrency=1)  # the retry waits for its backoff: a pool that stays up
    try:
        assert h.wait(20) == f"second-try-{master}"
    finally:
        worker.stop(grace=0.5, timeout=10)
    assert h.refresh().attempts == 2


def test_rotation_the_newest_key_encrypts_and_old_ones_still_decrypt(
    apps: Callable[..., offload.App], store_url: str
) -> None:
    before = apps(OLD)
    old_job = before.enqueue("fetch_mail", "alice", secret("old"))
    after = apps(NEW_AND_OLD)
    new_job = after.enqueue("fetch_mail", "bob", secret("new"))

    assert rawstore.job_columns(store_url, old_job.id)["args"].startswith('"enc1:k0:')
    assert rawstore.job_columns(store_url, new_job.id)["args"].startswith('"enc1:k1:')
    drain(after)
    for h in (old_job, new_job):
        assert after.get_job(h.id).record.status == JobStatus.COMPLETED
        assert rawstore.job_columns(store_url, h.id)["result"].startswith('"enc1:k1:')  # results: the newest key
    assert after.get_job(old_job.id).record.args[0] == "alice"

    # A process that only has the old key can't read what the new key sealed, and says which key it lacks.
    with pytest.raises(DecryptionFailed, match="key id 'k1' is not configured") as caught:
        before.get_job(new_job.id)
    assert caught.value.key_id == "k1" and caught.value.job_id == new_job.id
    assert KEY_0 not in str(caught.value) and KEY_1 not in str(caught.value)


def test_a_missing_key_fails_the_job_with_a_clear_error_and_the_worker_goes_on(
    apps: Callable[..., offload.App],
) -> None:
    stale = apps(OLD).enqueue("fetch_mail", "alice", secret("old"))  # retries=3: not used for this failure
    current = apps(f"k1:{KEY_1}")
    fine = current.enqueue("fetch_mail", "bob", secret("new"))
    drain(current)

    failed = current.backend.job_get(stale.id)
    assert failed is not None
    assert failed.status == JobStatus.FAILED and failed.attempts == 1
    assert failed.error == (
        f"job {stale.id}: cannot decrypt its args: key id 'k0' is not configured (configured: 'k1');"
        " see encryption_keys (OFFLOAD_ENCRYPTION_KEYS)"
    )
    assert failed.traceback is None
    assert current.get_job(fine.id).record.status == JobStatus.COMPLETED
    with pytest.raises(DecryptionFailed, match="key id 'k0'"):
        current.get_job(stale.id)
    with pytest.raises(DecryptionFailed, match="key id 'k0'"):
        current.list_jobs()
    # Once the key is configured again, the job can be read, retried by hand and run.
    again = apps(NEW_AND_OLD)
    again.get_job(stale.id).retry()
    drain(again)
    assert again.get_job(stale.id).result["account"] == "alice"


def test_a_different_key_under_the_same_id_does_not_decrypt(apps: Callable[..., offload.App]) -> None:
    h = apps(OLD).enqueue("fetch_mail", "alice", secret("master"))
    impostor = apps(f"k0:{KEY_1}")
    with pytest.raises(DecryptionFailed, match="does not verify with key 'k0'"):
        impostor.get_job(h.id)
    drain(impostor)
    record = impostor.backend.job_get(h.id)
    assert record is not None and record.status == JobStatus.FAILED
    assert record.error is not None and "does not verify with key 'k0'" in record.error
    with pytest.raises(JobFailed):
        h.wait(1)


def test_a_ciphertext_copied_onto_another_job_or_field_does_not_decrypt(
    apps: Callable[..., offload.App], store_url: str
) -> None:
    app = apps(OLD)
    victim = app.enqueue("fetch_mail", "alice", secret("master"))
    attacker = app.enqueue("fetch_mail", "mallory", "not-a-secret")
    stolen = rawstore.job_columns(store_url, victim.id)
    rawstore.set_job_column(store_url, attacker.id, "args", stolen["args"])
    with pytest.raises(DecryptionFailed, match=f"job {attacker.id}: cannot decrypt its args: it does not verify"):
        app.get_job(attacker.id)

    moved = app.enqueue("fetch_mail", "carol", secret("master"))
    rawstore.set_job_column(store_url, moved.id, "kwargs", rawstore.job_columns(store_url, moved.id)["args"])
    with pytest.raises(DecryptionFailed, match="cannot decrypt its kwargs"):
        app.get_job(moved.id)

    drain(app)
    assert app.get_job(victim.id).record.status == JobStatus.COMPLETED
    for h in (attacker, moved):
        record = app.backend.job_get(h.id)
        assert record is not None and record.status == JobStatus.FAILED, record
        assert record.error is not None and "does not verify" in record.error


def test_enqueue_checks_the_plain_arguments_before_encrypting_and_stores_nothing(
    apps: Callable[..., offload.App],
) -> None:
    app = apps(OLD, max_payload=200)
    with pytest.raises(InvalidArguments, match="missing a required argument: 'master_key'"):
        app.enqueue("fetch_mail", "alice")
    with pytest.raises(NotSerializable, match="arguments of 'fetch_mail'"):
        app.enqueue("fetch_mail", "alice", {1, 2})
    with pytest.raises(PayloadTooLarge):
        app.enqueue("fetch_mail", "alice", "x" * 200)
    with pytest.raises(InvalidArguments):
        app.get_task("fetch_mail").enqueue_many([("alice", "ok"), ("bob",)])
    assert app.list_jobs() == []
    # The limit is on the plain payload: the encrypted one may be larger, and is stored.
    h = app.enqueue("fetch_mail", "a", "x" * 170)
    assert len(h.record.args[1]) == 170


def test_enqueue_many_encrypts_each_job_with_its_own_id(apps: Callable[..., offload.App], store_url: str) -> None:
    app = apps(OLD)
    master = secret("master")
    handles = app.get_task("fetch_mail").enqueue_many([("alice", master), ("bob", master)])
    columns = [rawstore.job_columns(store_url, h.id)["args"] for h in handles]
    assert columns[0] != columns[1]  # a fresh nonce each time
    assert [app.get_job(h.id).record.args for h in handles] == [["alice", master], ["bob", master]]
    assert master.encode() not in rawstore.dump(store_url)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("BASE64KEY-without-an-id", "entry 1 of 1 is not KEY_ID:BASE64_KEY"),
        (f"k1:{KEY_1},k1:{KEY_0}", "key id 'k1' is listed twice"),
        (f"k1:{KEY_1[:-12]}", "the key of 'k1' is 24 bytes; AES-256 needs 32"),
        (f"k1:{KEY_1[:20]}!!{KEY_1[22:]}", "the key of 'k1' is not valid base64"),
        (f"bad id:{KEY_1}", "entry 1 of 1 is not KEY_ID:BASE64_KEY"),
    ],
)
def test_bad_keys_are_a_configuration_error_that_shows_no_key(sqlite_url: str, keys: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        offload.App(sqlite_url, encryption_keys=keys)
    for part in keys.replace(",", ":").split(":"):
        if len(part) > 12:  # the key material, whole or cut
            assert part[:12] not in str(caught.value)


def test_keys_that_are_not_a_string_are_refused_without_being_shown(sqlite_url: str) -> None:
    with pytest.raises(ConfigurationError, match="must be a string, got bytes") as caught:
        offload.App(sqlite_url, encryption_keys=f"k1:{KEY_1}".encode())
    assert KEY_1 not in str(caught.value)


def test_keys_come_from_the_environment_and_no_repr_shows_them(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OFFLOAD_ENCRYPTION_KEYS", NEW_AND_OLD)
    app = offload.App(sqlite_url)
    try:
        assert app.keyring.key_ids == ["k1", "k0"]
        shown = " ".join([repr(app), repr(app.settings), str(app.settings), repr(app.keyring)])
        assert KEY_0 not in shown and KEY_1 not in shown
        assert "'k1'" in repr(app.keyring)
    finally:
        app.close()


def test_urlsafe_keys_without_padding_are_accepted(sqlite_url: str) -> None:
    key = generate_key()
    urlsafe = key.replace("+", "-").replace("/", "_").rstrip("=")
    a = offload.App(sqlite_url, encryption_keys=f"a:{key}")
    b = offload.App(sqlite_url, encryption_keys=f"a:{urlsafe}")
    try:
        register(a)
        register(b)
        h = a.enqueue("fetch_mail", "alice", "m")
        assert b.get_job(h.id).record.args == ["alice", "m"]
    finally:
        a.close()
        b.close()


def test_encrypt_without_a_key_is_refused_when_the_task_is_declared(sqlite_url: str) -> None:
    app = offload.App(sqlite_url)
    try:
        with pytest.raises(ConfigurationError, match="task 'vault' has encrypt=True, but no encryption key"):

            @app.task(encrypt=True)
            def vault(master_key: str) -> None: ...

        assert "vault" not in app.tasks
        with pytest.raises(ConfigurationError, match="encrypt must be True or False"):
            app.task(encrypt="yes")
    finally:
        app.close()


def test_encrypt_without_the_cryptography_package_names_the_extra(tmp_path: Any) -> None:
    code = (
        "import sys; sys.modules['cryptography'] = None\n"  # what an environment without it looks like
        "import offload\n"
        f"app = offload.App('sqlite:///{tmp_path / 'jobs.db'}', encryption_keys='k0:{KEY_0}')\n"
        "@app.task()\n"
        "def plain(): ...\n"  # tasks without encrypt=True don't need it
        "def vault(master_key): ...\n"
        "try:\n"
        "    app.task(encrypt=True)(vault)\n"
        "except offload.errors.ConfigurationError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "encrypt=True needs the cryptography package: pip install 'offload[crypto]'"


def test_no_log_line_shows_a_key_or_a_secret(
    apps: Callable[..., offload.App], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    master = secret("master")
    stale = apps(OLD).enqueue("fetch_mail", "alice", master)
    current = apps(f"k1:{KEY_1}")
    current.enqueue("fetch_mail", "bob", master)
    drain(current)
    assert current.backend.job_get(stale.id).status == JobStatus.FAILED  # type: ignore[union-attr]
    assert caplog.records  # the worker did log
    for text in (KEY_0, KEY_1, master):
        assert text not in caplog.text
