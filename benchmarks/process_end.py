"""How a hand-written baseline process ends: the way aligned's CLI does.

aligned's CLI skips the interpreter's teardown once a command has written everything
(exit handlers run, output flushed, then `os._exit`; see
`aligned_cli.cli.app.exit_without_teardown`). Teardown only frees memory but costs
40-100 ms on this kind of box, so a baseline that paid it would be slowed by work
aligned does not do: each baseline script ends through `end` instead, and both
figures time the same kind of process. (It also spares the baselines native
libraries' destructors at exit, one of which once aborted a run.)
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn


def end(code: int) -> NoReturn:
    """Run exit handlers, flush output and leave without tearing the interpreter down."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
