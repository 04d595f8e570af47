"""An admin page starts a scraper and shows its live progress bar through offload.js;
the page reloads itself when the job completed (Flask).

    python examples/scraper_admin.py --port 5001

Open http://127.0.0.1:5001/admin (the example treats every visitor as the admin).
"""

from __future__ import annotations

import argparse
import os
import time

from flask import Flask

import offload
from offload import JobContext
from offload.integrations.flask import offload_blueprint

jobs = offload.App()
SPEED = float(os.environ.get("EXAMPLE_SPEED", "1.0"))


@jobs.task(queue="scrapers", retries=1, timeout=600)
def scrape_shop(job: JobContext, shop: str = "payback", pages: int = 5) -> dict[str, object]:
    job.add_message(f"Starting {shop} scraper")
    job.set_progress(0, pages)
    added = 0
    for page in range(1, pages + 1):
        job.check_cancelled()
        time.sleep(0.5 * SPEED)
        added += 3
        job.set_progress(page, pages)
        job.add_message(f"Page {page}/{pages}: 3 offers")
    return {"shop": shop, "added": added}


web = Flask(__name__)
web.register_blueprint(
    offload_blueprint(jobs, current_user=lambda: "admin", is_admin=lambda: True), url_prefix="/offload"
)

PAGE = """<!doctype html><title>Admin</title>
<script src="/offload/offload.js"></script>
<button id=run>Run Payback scraper</button>
<div id=box hidden><span id=status></span>
  <progress id=bar max=100 value=0></progress> <span id=pct></span><ul id=log></ul></div>
<script>
document.getElementById('run').onclick = async () => {
  const r = await fetch('/offload/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({task: 'scrape_shop', args: ['payback']})});
  const {job_id} = await r.json();
  document.getElementById('box').hidden = false;
  offload.watch(job_id, (job) => {
    document.getElementById('status').textContent = job.status.toUpperCase();
    document.getElementById('bar').value = job.progress;
    document.getElementById('pct').textContent = Math.round(job.progress) + '%';
    document.getElementById('log').innerHTML = '';
    for (const m of job.messages || []) {
      const li = document.createElement('li'); li.textContent = m.message;   // never innerHTML: no XSS
      document.getElementById('log').appendChild(li);
    }
  }, {apiBase: '/offload', onEnd: (job) => {
    if (job.status === 'completed') setTimeout(() => location.reload(), 2000);
  }});
};
</script>"""


@web.get("/admin")
def admin() -> str:
    return PAGE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    worker = jobs.run_workers(concurrency=args.workers, queues=["scrapers"]) if args.workers else None
    try:
        web.run(host="127.0.0.1", port=args.port, threaded=True)
    finally:
        if worker is not None:
            worker.stop(grace=5)


if __name__ == "__main__":
    main()
