"""`aligned docs --serve`: the generated site over the stdlib HTTP server."""

from __future__ import annotations

import functools
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would drown the "serving at" message


def docs_server(directory: Path, host: str, port: int) -> ThreadingHTTPServer:
    """A server for `directory` (not started); port 0 picks a free port."""
    handler: Callable[..., SimpleHTTPRequestHandler] = functools.partial(
        _QuietHandler, directory=str(directory)
    )
    return ThreadingHTTPServer((host, port), handler)
