"""OpenLineage events for `aligned run`: one START and one COMPLETE or FAIL per executed node.

`emit_run_events` is the single entry point; it builds plain JSON events (the OpenLineage
2-0-2 wire format) and sends them to a JSON-lines file and/or an HTTP endpoint.
"""

from aligned_cli.openlineage.emit import emit_run_events
from aligned_cli.openlineage.events import run_events

__all__ = ["emit_run_events", "run_events"]
