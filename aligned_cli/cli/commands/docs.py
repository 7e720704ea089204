"""`aligned docs`: compile, then write a static catalog with the lineage graph to target/docs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.options import LogFormat, ProjectDir, TargetPath, Vars


@cli.command("docs")
@handle_errors
def docs_command(
    serve: Annotated[
        bool, typer.Option("--serve", help="Serve target/docs over HTTP until Ctrl-C.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="Port for --serve.")] = 8080,
    host: Annotated[
        str, typer.Option("--host", help="Address for --serve (default: this machine only).")
    ] = "127.0.0.1",
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Write target/docs/index.html: a searchable catalog, the lineage graph and the SQL."""
    from aligned_cli.cli.context import compiled_project
    from aligned_cli.cli.output import info
    from aligned_cli.docs import write_site
    from aligned_cli.pipeline import build_manifest, write_compiled

    compiled = compiled_project(
        project_dir, vars_text=vars, target_path=target_path, log_format=log_format
    )
    manifest = build_manifest(compiled)
    write_compiled(compiled, manifest)
    index = write_site(manifest, compiled.target_dir)
    info(f"Wrote the docs site -> {index}", index=str(index))
    if serve:
        _serve(index.parent, host, port)


def _serve(directory: Path, host: str, port: int) -> None:
    from aligned_cli.cli.output import info
    from aligned_cli.docs.serve import docs_server
    from aligned_cli.errors import UsageError

    try:
        server = docs_server(directory, host, port)
    except OSError as error:
        raise UsageError(
            f"cannot serve on {host}:{port}: {error.strerror or error}",
            hint="pick another --port",
        ) from None
    bound_port = server.server_address[1]
    info(f"Serving the docs at http://{host}:{bound_port}/ (Ctrl-C to stop)", port=bound_port)
    with server:
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            info("stopped")
