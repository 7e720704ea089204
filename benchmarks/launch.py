"""Run one command and report its wall time and peak RSS (a small process on purpose).

Linux gives a child the peak RSS of the process that spawned it: exec keeps the
larger of the old address space's high-water mark and the new one's, and a forked
(or vforked) child starts from its parent's. A benchmark process holding hundreds of
MB of generated data would make every child it times look that big. So children are
spawned from this process instead, which imports nothing but the standard library's
basics (~10 MB). Its own start-up is not timed.

    python launch.py RESULT_FD -- CMD ARGS...

writes `{"seconds": ..., "status": ..., "peak_rss_bytes": ...}` to RESULT_FD.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    result_fd = int(sys.argv[1])
    assert sys.argv[2] == "--"
    command = sys.argv[3:]
    start = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    report = {
        "seconds": seconds,
        "status": os.waitstatus_to_exitcode(status),
        "peak_rss_bytes": usage.ru_maxrss * 1024,
    }
    with os.fdopen(result_fd, "w") as stream:
        stream.write(json.dumps(report))


if __name__ == "__main__":
    main()
