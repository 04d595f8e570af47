"""offload tasks; the store URL comes from OFFLOAD_URL."""

import os
import time

import offload

from marker import mark

app = offload.App(os.environ["OFFLOAD_URL"])


@app.task(queue="default", retries=0)
def noop(job):
    mark()


@app.task(queue="default", retries=0)
def progress(job):
    for i in range(100):
        job.set_progress(i + 1, 100)
    mark()


@app.task(queue="default", retries=0)
def sleep(job):
    time.sleep(0.1)
    mark()
