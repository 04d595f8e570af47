"""RQ tasks: the shared no-op body, progress through job.meta, and a 100 ms sleep."""

import time

from rq import get_current_job

from marker import mark


def noop():
    mark()


def progress():
    job = get_current_job()
    for i in range(100):
        job.meta["progress"] = (i + 1, 100)
        job.save_meta()
    mark()


def sleep():
    time.sleep(0.1)
    mark()
