"""What every benchmark task does: append the time it ran to a shared file.

Each record is a fixed 18 bytes (``%017.6f\\n``), written with one O_APPEND
``write``, so records from many processes never interleave and the harness
counts completions from the file size alone. The cost (one syscall) is the
same for every system under test, and nothing else is shared between them.
"""

import os
import time

RECORD = 18
_fd = None
_pid = None


def mark() -> None:
    global _fd, _pid
    if _pid != os.getpid():  # open once per process, also after a fork
        _fd = os.open(os.environ["BENCH_MARK_FILE"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _pid = os.getpid()
    os.write(_fd, b"%017.6f\n" % time.time())
