"""The CLI with encrypt=True: ``offload keys generate`` makes a key the settings take;
a job enqueued and run by CLI processes is stored encrypted and shown plain by
``offload jobs show`` with the key, and refused clearly without it."""

from __future__ import annotations

import json

from offload.crypto import Keyring
from tests.support import rawstore
from tests.support.procs import Procs

TASKS = "tests.api.tasks_secret:app"


def test_keys_generate_prints_a_fresh_key_the_settings_accept(procs: Procs) -> None:
    first, second = procs.cli("keys", "generate", "--id", "k7"), procs.cli("keys", "generate")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    line = first.stdout.strip()
    assert line.startswith("k7:") and len(line.splitlines()) == 1
    assert Keyring.parse(f"{line},{second.stdout.strip()}").key_ids[0] == "k7"
    assert line.split(":", 1)[1] != second.stdout.strip().split(":", 1)[1]
    bad = procs.cli("keys", "generate", "--id", "no spaces")
    assert bad.returncode == 2 and "--id" in bad.stderr


def test_a_job_run_by_cli_processes_is_shown_plain_only_with_the_key(procs: Procs) -> None:
    keys = procs.cli("keys", "generate", "--id", "k7").stdout.strip()
    env = {"OFFLOAD_ENCRYPTION_KEYS": keys}
    master = "master-key-of-alice-31337"
    enqueued = procs.cli("enqueue", "vault", "--app", TASKS, "--args", json.dumps(["alice", master]), env=env)
    assert enqueued.returncode == 0, enqueued.stderr
    job_id = enqueued.stdout.strip()
    worker = procs.cli("worker", "--app", TASKS, "--burst", env=env)
    assert worker.returncode == 0, worker.stdout + worker.stderr

    shown = procs.cli("jobs", "show", job_id, env=env)
    assert shown.returncode == 0, shown.stderr
    job = json.loads(shown.stdout)
    assert (job["status"], job["args"], job["result"]["token"]) == (
        "completed",
        ["alice", master],
        f"token-for-{master}",
    )

    stored = rawstore.dump(procs.url)
    assert master.encode() not in stored and keys.split(":", 1)[1].encode() not in stored

    refused = procs.cli("jobs", "show", job_id)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"Error: job {job_id}: cannot decrypt its args: key id 'k7' is not configured (configured: none);"
        " see encryption_keys (OFFLOAD_ENCRYPTION_KEYS)"
    )
    assert master not in refused.stdout + refused.stderr
    assert keys.split(":", 1)[1] not in worker.stdout + worker.stderr
