"""Sending events: JSON lines to a file, and/or POST to an OpenLineage HTTP endpoint."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.openlineage.events import run_events

if TYPE_CHECKING:
    from aligned_cli.artifacts.manifest import Manifest
    from aligned_cli.artifacts.run_results import RunResults

LINEAGE_ENDPOINT = "api/v1/lineage"  # where Marquez and the OpenLineage proxy listen
TIMEOUT_SECONDS = 10


def emit_run_events(
    manifest: Manifest,
    results: RunResults,
    *,
    project_dir: Path,
    url: str | None = None,
    file: Path | None = None,
    started_at: datetime | None = None,
    job_namespace: str = "aligned",
) -> list[dict[str, Any]]:
    """Build the run's events and send them; returns them. ExecutionError when sending fails."""
    if url is None and file is None:
        return []
    events = run_events(
        manifest,
        results,
        project_dir=project_dir,
        job_namespace=job_namespace,
        started_at=started_at,
    )
    if file is not None:
        _append_lines(file, events)
    if url is not None:
        _post(url, events)
    return events


def _append_lines(path: Path, events: list[dict[str, Any]]) -> None:
    # Appending (not replacing) keeps the history of runs, as OpenLineage's file transport does.
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as stream:
        for event in events:
            stream.write(json.dumps(event, separators=(",", ":")) + "\n")


def endpoint_url(url: str) -> str:
    """`http://host:5000` -> `http://host:5000/api/v1/lineage`; a full endpoint stays."""
    from urllib.parse import urlsplit

    if urlsplit(url).path.strip("/"):
        return url
    return url.rstrip("/") + "/" + LINEAGE_ENDPOINT


def _post(url: str, events: list[dict[str, Any]]) -> None:
    from aligned_cli.errors import ExecutionError

    target = endpoint_url(url)
    try:
        sender = _client_sender(target)
    except ImportError:  # openlineage-python is optional; the stdlib speaks HTTP too
        sender = _stdlib_sender(target)
    try:
        for event in events:
            sender(event)
    except Exception as error:
        raise ExecutionError(
            f"could not send OpenLineage events to {target}: {error}",
            hint="check --openlineage-url (the OpenLineage API base, e.g. http://localhost:5000)",
        ) from None


def _client_sender(target: str) -> Any:
    """openlineage-python's HTTP transport (retries, compression, auth from env)."""
    from urllib.parse import urlsplit

    from openlineage.client.transport.http import HttpConfig, HttpTransport

    parts = urlsplit(target)
    base = f"{parts.scheme}://{parts.netloc}"
    transport = HttpTransport(HttpConfig(url=base, endpoint=parts.path.lstrip("/")))

    def send(event: dict[str, Any]) -> None:
        response = transport.emit(event)  # type: ignore[arg-type]  # Serde takes plain dicts
        if response is not None and getattr(response, "status_code", 200) >= 400:
            raise RuntimeError(f"HTTP {response.status_code}")

    return send


def _stdlib_sender(target: str) -> Any:
    import urllib.request

    def send(event: dict[str, Any]) -> None:
        request = urllib.request.Request(
            target,
            data=json.dumps(event).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS):
            pass

    return send
