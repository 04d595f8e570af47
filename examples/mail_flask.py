"""Four users fetch their mail in parallel; each sees only their own jobs (Flask).

    python examples/mail_flask.py --port 5000            # web app + 4 in-process worker slots
    python examples/mail_flask.py --port 5000 --workers 0 &
    offload worker --app examples.mail_flask:jobs         # or workers of their own

Log in at /login?user=anna (a stand-in for the app's real login), then
``POST /offload/jobs {"task": "fetch_mail", "args": ["anna@example.com"]}``.
The dashboard is at /admin/jobs: anna sees her own jobs there, the user ``admin``
(/login?user=admin) sees everyone's. The store is OFFLOAD_URL (default sqlite:///offload.db).
"""

from __future__ import annotations

import argparse
import os
import time

from flask import Flask, redirect, request, session

import offload
from offload import JobContext
from offload.integrations.flask import dashboard_blueprint, offload_blueprint

jobs = offload.App()
SPEED = float(os.environ.get("EXAMPLE_SPEED", "1.0"))


@jobs.task(queue="mail", retries=2)
def fetch_mail(job: JobContext, account: str, messages: int = 15) -> dict[str, object]:
    """One mailbox sync (sleeps stand in for IMAP)."""
    job.add_message(f"Connecting to {account}")
    for n in range(1, messages + 1):
        time.sleep(0.2 * SPEED)
        job.set_progress(n, messages)
    job.add_message(f"Fetched {messages} messages")
    return {"account": account, "fetched": messages}


web = Flask(__name__)
web.secret_key = os.environ.get("EXAMPLE_SECRET", "dev-only-secret")
web.register_blueprint(offload_blueprint(jobs, current_user=lambda: session.get("user")), url_prefix="/offload")
web.register_blueprint(
    dashboard_blueprint(
        jobs,
        current_user=lambda: session.get("user"),
        is_admin=lambda: session.get("user") == "admin",
        login_url="/",
    ),
    url_prefix="/admin/jobs",
)


@web.get("/login")
def login() -> object:
    session["user"] = request.args["user"]
    target = request.args.get("next", "/")
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")


@web.get("/")
def index() -> str:
    user = session.get("user")
    if not user:
        return '<p><a href="/login?user=anna">log in as anna</a></p>'
    return f"""<!doctype html><title>Mail</title>
<p>Logged in as {user}. <button id=go>Fetch mail</button> <a href="/admin/jobs">Dashboard</a></p><ul id=jobs></ul>
<script>
async function refresh() {{
  const r = await fetch('/offload/jobs?task=fetch_mail');
  const body = await r.json();
  document.getElementById('jobs').innerHTML = body.jobs.map(
    j => `<li>${{j.status}} ${{Math.round(j.progress)}}% ${{j.message || ''}}</li>`).join('');
}}
document.getElementById('go').onclick = async () => {{
  await fetch('/offload/jobs', {{method: 'POST', headers: {{'Content-Type': 'application/json'}},
    body: JSON.stringify({{task: 'fetch_mail', args: ['{user}@example.com']}})}});
  refresh();
}};
setInterval(refresh, 1000); refresh();
</script>"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="in-process worker slots (0: none)")
    args = parser.parse_args()
    worker = jobs.run_workers(concurrency=args.workers, queues=["mail"]) if args.workers else None
    try:
        web.run(host="127.0.0.1", port=args.port, threaded=True)
    finally:
        if worker is not None:
            worker.stop(grace=5)


if __name__ == "__main__":
    main()
