"""`aligned serve`: the FastAPI feature server (uvicorn), reading the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aligned_cli.cli.app import cli, handle_errors
from aligned_cli.cli.commands.materialize import RedisUrl
from aligned_cli.cli.options import LogFormat, ProjectDir, TargetPath, Vars


@cli.command("serve")
@handle_errors
def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="ALIGNED_TOKEN", help="Bearer token for read and push."),
    ] = None,
    read_token: Annotated[
        str | None,
        typer.Option("--read-token", envvar="ALIGNED_READ_TOKEN", help="Read-only bearer token."),
    ] = None,
    max_entities: Annotated[
        int, typer.Option("--max-entities", min=1, help="Most entities per request (413 above).")
    ] = 10_000,
    cache_size: Annotated[
        int,
        typer.Option(
            "--cache-size",
            min=0,
            help="Replies from Redis kept in memory (one per entity hash and feature "
            "list), each until Redis reports a change (0: off).",
        ),
    ] = 100_000,  # serve.app.DEFAULT_CACHE_SIZE (not imported: `--help` stays light)
    redis_url: RedisUrl = None,
    project_dir: ProjectDir = Path("."),
    target_path: TargetPath = None,
    vars: Vars = None,
    log_format: LogFormat = "text",
) -> None:
    """Serve online features over HTTP (POST /features, POST /push, GET /health)."""
    import uvicorn

    from aligned_cli.artifacts.manifest import read_manifest
    from aligned_cli.cli.output import info
    from aligned_cli.online.redis_client import project_redis_url
    from aligned_cli.pipeline import project_from_manifest
    from aligned_cli.serve import create_app

    manifest_path = _manifest(project_dir, target_path, vars, log_format)
    project = project_from_manifest(read_manifest(manifest_path), project_dir.resolve())
    url = project_redis_url(project, redis_url)
    server_app = create_app(
        manifest_path,
        url,
        token=token,
        read_token=read_token,
        max_entities=max_entities,
        cache_size=cache_size,
    )
    info(f"serving {project.name} on http://{host}:{port}", host=host, port=port)
    # uvloop and httptools (C) when installed, as uvicorn's "auto" picks today, named
    # so that no other default can replace them: a request round trip through
    # uvicorn alone (a constant ASGI app) takes ~2.5x as long with h11, ~1.2x with
    # asyncio's own loop. No access log: no log record made and written per request.
    uvicorn.run(
        server_app,
        host=host,
        port=port,
        loop="uvloop" if _installed("uvloop") else "auto",
        http="httptools" if _installed("httptools") else "auto",
        log_level="warning",
        access_log=False,
    )


def _installed(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


def _manifest(project_dir: Path, target_path: Path | None, vars: str | None, fmt: str) -> Path:
    """target/manifest.json of the project as it is now: compiled first (from the
    compile cache when nothing changed), as `materialize` and `worker` do, so an edit
    to the project (its Redis URL, a ttl) is served; a target folder published without
    its project (no aligned_project.yml) is served as it is."""
    from aligned_cli.cli.context import compiled_project
    from aligned_cli.cli.output import set_log_format
    from aligned_cli.parse.project_file import PROJECT_FILE

    set_log_format(fmt)
    if target_path is not None:
        candidate = (project_dir / target_path) / "manifest.json"
    else:
        candidate = _default_target(project_dir) / "manifest.json"
    if candidate.exists() and not (project_dir / PROJECT_FILE).exists():
        return candidate
    from aligned_cli.pipeline import build_manifest, write_compiled

    compiled = compiled_project(
        project_dir, vars_text=vars, target_path=target_path, log_format=fmt
    )
    return write_compiled(compiled, build_manifest(compiled))


def _default_target(project_dir: Path) -> Path:
    """The project's target-path, read from aligned_project.yml without loading features."""
    import yaml

    try:
        settings = yaml.safe_load((project_dir / "aligned_project.yml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        settings = {}
    target = settings.get("target-path", "target") if isinstance(settings, dict) else "target"
    return project_dir / str(target)
