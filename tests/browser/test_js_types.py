"""The client's TypeScript declarations (offload.d.mts for the ES module, offload.d.ts
for the classic script's global) check under ``tsc --strict`` as docs/http.md uses
them, and they are precise: each wrong use below carries ``@ts-expect-error``, which is
itself an error when the line is not one.

tsc comes from the npm registry: ``npm install --prefix`` puts it, once, into a cache
folder ($OFFLOAD_TEST_CACHE, else ~/.cache/offload-tests); later runs need no network.
Without node and npm the test is skipped, saying so. An install that fails (no
registry) fails the test: it is not skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from offload.service.client import STATIC

TYPESCRIPT = "5.9.3"

MODULE_USE = """
import { watch, submit, get, cancel, retry, OffloadError } from "offload";
import type { Job, JobEvent, WatchOptions } from "offload";
import offload from "offload";

interface Steps { steps: number }
const token = "off_...";

const { job_id } = await submit("steps", [3], { pause: 0.1 }, { token, queue: "default", idempotencyKey: "k-1" });
const options: WatchOptions<Steps> = {
  token,
  pollInterval: 500,
  onEnd: (job) => console.log(job.result?.steps.toFixed(0)),
  onError: (status, error) => console.log(status + 1, error.code, error.retryAfter),
  onEvent: (event: JobEvent<Steps>) => {
    if (event.type === "progress") console.log(event.data.progress.toFixed(1), event.seq);
    if (event.type === "state") console.log(event.data.result?.steps);
    // @ts-expect-error a message event has no `progress`
    if (event.type === "message") console.log(event.data.progress);
  },
};
const w = watch<Steps>(job_id, (job: Job<Steps>) => {
  const percent: number = job.progress;
  const last: string | undefined = job.messages.at(-1)?.message;
  const started: string | null = job.started_at;
  console.log(percent, last, started, job.error?.message);
  // @ts-expect-error a status is one of seven names
  job.status === "done";
  // @ts-expect-error no such field
  console.log(job.percent);
}, options);
const final: Job<Steps> | null = await w.done;
w.close();
console.log(final?.status, (await get<Steps>(job_id, { apiBase: "/offload" })).result?.steps);
try {
  await retry(job_id, { credentials: "same-origin", headers: { "X-CSRF-Token": "..." } });
  await cancel(job_id);
} catch (error) {
  if (error instanceof OffloadError) console.log(error.status, error.code, error.retryAfter);
}
offload.watch(job_id, () => {}, { poll: true }).close();
// @ts-expect-error pollInterval is in milliseconds, a number
watch(job_id, () => {}, { pollInterval: "1s" });
// @ts-expect-error credentials is fetch's mode
submit("steps", [], {}, { credentials: "always" });
// @ts-expect-error the job id comes first
watch(() => {}, job_id);
"""

CLASSIC_USE = """
/// <reference path="STATIC/offload.d.ts" />
const handle = offload.watch("18ee", (job: offload.Job<{ n: number }>) => job.progress.toFixed(0), {
  token: "off_...",
  onEnd: (job) => console.log(job.status, job.result?.n),
});
handle.done.then((job) => job?.completed_at);
handle.close();
const state: offload.JobStatus = "retrying";
// @ts-expect-error not a status
const wrong: offload.JobStatus = "paused";
console.log(state, wrong);
"""


def _cache() -> Path:
    root = os.environ.get("OFFLOAD_TEST_CACHE") or str(Path.home() / ".cache" / "offload-tests")
    return Path(root) / f"typescript-{TYPESCRIPT}"


def _tsc() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not installed: the TypeScript declarations were not checked")
    folder = _cache()
    tsc = folder / "node_modules" / "typescript" / "bin" / "tsc"
    if not tsc.exists():
        argv = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--no-save"]
        done = subprocess.run([*argv, f"typescript@{TYPESCRIPT}"], capture_output=True, text=True, timeout=300)
        why = f"could not install TypeScript {TYPESCRIPT} from the npm registry into {folder}"
        assert done.returncode == 0 and tsc.exists(), f"{why}:\n{done.stdout}\n{done.stderr}"
    return [node, str(tsc)]


def test_the_declarations_check_strictly_as_the_docs_use_them(tmp_path: Path) -> None:
    (tmp_path / "module_use.ts").write_text(MODULE_USE)
    (tmp_path / "classic_use.ts").write_text(CLASSIC_USE.replace("STATIC", STATIC.as_posix()))
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "es2022",
            "module": "esnext",
            "moduleResolution": "bundler",
            "lib": ["es2022", "dom"],
            "paths": {"offload": [str(STATIC / "offload.d.mts")]},
        },
        "files": ["module_use.ts", "classic_use.ts"],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        [*_tsc(), "-p", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
