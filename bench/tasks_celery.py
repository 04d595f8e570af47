"""Celery tasks on a Redis broker; the result backend is used only for progress."""

import os
import time

from celery import Celery

from marker import mark

URL = os.environ["BENCH_REDIS_URL"]
app = Celery("tasks_celery", broker=URL, backend=URL)
app.conf.update(task_ignore_result=True, broker_connection_retry_on_startup=True)


@app.task
def noop():
    mark()


@app.task(bind=True, ignore_result=False)
def progress(self):
    for i in range(100):
        self.update_state(state="PROGRESS", meta={"current": i + 1, "total": 100})
    mark()


@app.task
def sleep():
    time.sleep(0.1)
    mark()
