"""The FastAPI app: `create_app(manifest_path, redis_url, ...)`.

Reads the manifest only (never the project's Python files). Reads use the asyncio
Redis client (one pipelined round trip per request); /push runs in the threadpool
with the sync client, since it also runs a DuckDB query.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson

# Module level on purpose: FastAPI resolves endpoint annotations from these globals.
# (The CLI imports this module only when it serves.)
from fastapi import Depends, FastAPI, Request, Response
from fastapi.routing import APIRoute
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
            # No socket_timeout (redis-py would wrap every send in a new task for
            # it; redis-py 8 sets 5 s unless told): reads, and /health's ping, have
            # a deadline each instead (READ_TIMEOUT).
            client = redis.asyncio.Redis.from_url(
                self._url, socket_connect_timeout=2, socket_timeout=None
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
    from aligned_cli.online.reader import JSON_OPTIONS, READ_TIMEOUT, ReadPlan, read_features
    from aligned_cli.online.redis_client import connect
    from aligned_cli.online.transform import RowsError
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
        # Everything alive now (modules, routes, schemas, the catalog) lives as long as
        # the server: out of the collector's reach while it serves, a full collection
        # during a request walks only what requests made (~4k objects, not ~70k: tens
        # of ms of p99). And a request's result (a few dicts per entity, all freed by
        # reference counting once sent) no longer sets off a young-generation
        # collection at every 700 of them. Undone at shutdown, for a process that
        # goes on (tests).
        thresholds = gc.get_threshold()
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, *thresholds[1:])
        yield
        gc.set_threshold(*thresholds)
        gc.unfreeze()
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

    def require(scope: Scope) -> Callable[..., Awaitable[None]]:
        # async: FastAPI runs a plain `def` dependency in its threadpool, a thread
        # hop on every request for a check that never blocks.
        async def check(
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
        ) -> None:
            tokens.check(credentials.credentials if credentials else None, scope)

        return check

    errors: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorResponse} for code in (401, 403, 404, 413, 422, 503)
    }

    plans: dict[tuple[str | None, tuple[str, ...]], ReadPlan] = {}

    def plan_for(request: FeaturesRequest) -> ReadPlan:
        """The request's read plan; the last few hundred selections are kept (parsing
        and checking the names again cost more than the read of one entity)."""
        key = (request.model, tuple(request.features or ()))
        plan = plans.get(key)
        if plan is None:
            if request.model is not None:
                refs = catalog.model_refs(request.model)
            else:
                refs = catalog.feature_refs(request.features or [])
            plan = ReadPlan.build(catalog, refs)
            if len(plans) >= 512:
                plans.clear()
            plans[key] = plan
        return plan

    async def answer(request: FeaturesRequest) -> Response:
        if request.count > max_entities:
            raise ApiError(413, f"{request.count} entities exceed --max-entities {max_entities}")
        plan = plan_for(request)
        missing = plan.missing_entities(request.entities)
        if missing:
            raise RowsError(
                f"entities needs the key column '{missing[0]}'", f"entities.{missing[0]}"
            )
        results = await read_features(
            async_clients.get(), plan, request.entities, request.count, now()
        )
        # Built by hand (orjson, in C): FastAPI's response-model encoding, or even the
        # json module, costs more than the Redis read. Values are JSON-safe already
        # (`to_json_value`); a NaN entity value echoed back would become null.
        try:
            body = orjson.dumps({"results": results}, option=JSON_OPTIONS)
        except orjson.JSONEncodeError:  # only an entity string can be: echoed back
            raise RowsError(
                "entities holds a string that is not valid Unicode (a lone surrogate)",
                "entities",
            ) from None
        return Response(content=body, media_type="application/json")

    read_check = require("read")

    class FeaturesRoute(APIRoute):
        """POST /features as declared below (and so documented), with a shortcut: a
        JSON body that validates from an authorized client is answered directly,
        without FastAPI's per-request dependency solving and body-field machinery
        (~70 µs, as much as reading 20 entities). Anything else (no or a wrong
        token, another content type, a body that does not validate) takes the
        declared route, so every error response is the one FastAPI gives."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            # The shortcut re-does exactly the route's one dependency: a dependency
            # added later (or overridden) must not be skipped silently.
            assert [d.dependency for d in self.dependencies] == [read_check], self.dependencies
            declared = super().get_route_handler()

            async def handler(request: Request) -> Response:
                content_type = request.headers.get("content-type", "")
                if content_type.partition(";")[0].strip().lower() == "application/json":
                    try:
                        await read_check(await _BEARER(request))
                        body = FeaturesRequest.model_validate_json(await request.body())
                    except (ApiError, ValueError):  # ValidationError is a ValueError
                        pass
                    else:
                        return await answer(body)
                return await declared(request)  # the body read above is cached

            return handler

    async def features(request: FeaturesRequest) -> Response:
        """Latest feature values for each entity, in request order."""
        return await answer(request)

    app.router.add_api_route(
        "/features",
        features,
        methods=["POST"],
        response_model=FeaturesResponse,
        responses=errors,
        dependencies=[Depends(read_check)],
        route_class_override=FeaturesRoute,
    )

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
            async with asyncio.timeout(READ_TIMEOUT):
                await async_clients.get().ping()
        except (RedisError, OSError):  # OSError covers the timeout
            body = {"status": "degraded", "redis": "unreachable"}
            return Response(json.dumps(body), status_code=503, media_type="application/json")
        return Response(json.dumps({"status": "ok", "redis": "ok"}), media_type="application/json")

    return app
