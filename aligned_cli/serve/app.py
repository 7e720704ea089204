"""The FastAPI app: `create_app(manifest_path, redis_url, ...)`.

Reads the manifest only (never the project's Python files). Reads use the asyncio
Redis client (one pipelined round trip per request); /push runs in the threadpool
with the sync client, since it also runs a DuckDB query.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson

# Module level on purpose: FastAPI resolves endpoint annotations from these globals.
# (The CLI imports this module only when it serves.)
from fastapi import Depends, FastAPI, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from aligned_cli.serve.auth import Scope, Tokens
from aligned_cli.serve.schemas import (
    ErrorResponse,
    FeaturesRequest,
    FeaturesResponse,
    HealthResponse,
    PushRequest,
    PushResponse,
)

if TYPE_CHECKING:
    import redis.asyncio

Clock = Callable[[], datetime]
_BEARER = HTTPBearer(auto_error=False)  # optional: the check itself answers 401/403


class _AsyncClients:
    """One asyncio Redis client per event loop (test clients may start several)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._clients: dict[int, redis.asyncio.Redis] = {}

    def get(self) -> redis.asyncio.Redis:
        import redis.asyncio

        loop = id(asyncio.get_running_loop())
        client = self._clients.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(
                self._url, socket_connect_timeout=2, socket_timeout=10
            )
            self._clients[loop] = client
        return client

    async def close(self) -> None:
        client = self._clients.pop(id(asyncio.get_running_loop()), None)
        if client is not None:
            await client.aclose()


def create_app(
    manifest_path: Path,
    redis_url: str,
    *,
    token: str | None = None,
    read_token: str | None = None,
    max_entities: int = 10_000,
    clock: Clock | None = None,
) -> FastAPI:
    from contextlib import asynccontextmanager

    from starlette.concurrency import run_in_threadpool

    from aligned_cli import __version__
    from aligned_cli.artifacts.manifest import read_manifest
    from aligned_cli.online.catalog import Catalog
    from aligned_cli.online.push import PushService
    from aligned_cli.online.reader import ReadPlan, read_features
    from aligned_cli.online.redis_client import connect
    from aligned_cli.pipeline import project_from_manifest
    from aligned_cli.serve.auth import ApiError
    from aligned_cli.serve.errors import install_handlers

    manifest_path = Path(manifest_path).resolve()
    project = project_from_manifest(read_manifest(manifest_path), manifest_path.parent.parent)
    catalog = Catalog.from_project(project)
    tokens = Tokens(token=token, read_token=read_token)
    now = clock or (lambda: datetime.now(UTC))
    async_clients = _AsyncClients(redis_url)
    sync_client = connect(redis_url, timeout=2)
    pusher = PushService(project, manifest_path.parent.parent, sync_client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        await async_clients.close()
        pusher.close()
        sync_client.close()

    app = FastAPI(
        title=f"aligned feature server ({project.name})",
        version=__version__,
        lifespan=lifespan,
        description="Online features from the Redis store, as defined by the manifest.",
    )
    install_handlers(app)

    def require(scope: Scope) -> Callable[..., None]:
        def check(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
        ) -> None:
            tokens.check(credentials.credentials if credentials else None, scope)

        return check

    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse} for code in (401, 403, 404, 413, 422, 503)
    }

    @app.post(
        "/features",
        response_model=FeaturesResponse,
        responses=errors,
        dependencies=[Depends(require("read"))],
    )
    async def features(request: FeaturesRequest) -> Response:
        """Latest feature values for each entity, in request order."""
        if request.count > max_entities:
            raise ApiError(413, f"{request.count} entities exceed --max-entities {max_entities}")
        if request.model is not None:
            refs = catalog.model_refs(request.model)
        else:
            refs = catalog.feature_refs(request.features or [])
        plan = ReadPlan.build(catalog, refs)
        missing = plan.missing_entities(request.entities)
        if missing:
            from aligned_cli.online.transform import RowsError

            raise RowsError(
                f"entities needs the key column '{missing[0]}'", f"entities.{missing[0]}"
            )
        results = await read_features(
            async_clients.get(), plan, request.entities, request.count, now()
        )
        # Built by hand (orjson, in C): FastAPI's response-model encoding, or even the
        # json module, costs more than the Redis read. Values are JSON-safe already
        # (`to_json_value`); a NaN entity value echoed back would become null.
        return Response(content=orjson.dumps({"results": results}), media_type="application/json")

    @app.post(
        "/push",
        response_model=PushResponse,
        responses=errors,
        dependencies=[Depends(require("push"))],
    )
    async def push(request: PushRequest) -> PushResponse:
        """Compute the view's derived features (as offline) and write the rows (CAS)."""
        counts = await run_in_threadpool(pusher.push, request.view, request.rows)
        return PushResponse(
            written=counts.written,
            ignored_older=counts.ignored_older,
            ignored_expired=counts.ignored_expired,
        )

    @app.get("/health", response_model=HealthResponse, responses={503: {"model": HealthResponse}})
    async def health() -> Response:
        """Liveness and Redis reachability; needs no token."""
        from redis.exceptions import RedisError

        try:
            await async_clients.get().ping()
        except (RedisError, OSError):
            body = {"status": "degraded", "redis": "unreachable"}
            return Response(json.dumps(body), status_code=503, media_type="application/json")
        return Response(json.dumps({"status": "ok", "redis": "ok"}), media_type="application/json")

    return app
