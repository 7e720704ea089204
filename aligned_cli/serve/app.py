"""The FastAPI app: `create_app(manifest_path, redis_url, ...)`.

Reads the manifest only (never the project's Python files). Reads use connections
of the asyncio Redis client (one pipelined round trip per request, see
`online.reader`), and the common POST /features is answered before FastAPI's
routing (`FeatureServer`); /push runs in the threadpool with the sync client, since
it also runs a DuckDB query.
"""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson

# Module level on purpose: FastAPI resolves endpoint annotations from these globals.
# (The CLI imports this module only when it serves.)
from fastapi import Depends, FastAPI, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.types import Message, Receive, Send
from starlette.types import Scope as AsgiScope

from aligned_cli.serve.auth import ApiError, Scope, Tokens
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

    from aligned_cli.online.reader import ReadConnections

Clock = Callable[[], datetime]
DEFAULT_CACHE_SIZE = 100_000
_BEARER = HTTPBearer(auto_error=False)  # optional: the check itself answers 401/403


class _AsyncClients:
    """One asyncio Redis client, and the read path's connections made by it (with
    their near cache of `cache_size` replies of keys under `key_prefix`, none for 0),
    per event loop (test clients may start several)."""

    def __init__(self, url: str, key_prefix: str, cache_size: int) -> None:
        self._url = url
        self._key_prefix = key_prefix
        self._cache_size = cache_size
        self._clients: dict[int, tuple[redis.asyncio.Redis, ReadConnections]] = {}

    def _for_loop(self) -> tuple[redis.asyncio.Redis, ReadConnections]:
        loop = id(asyncio.get_running_loop())
        found = self._clients.get(loop)
        if found is None:
            import redis.asyncio

            from aligned_cli.online.reader import ReadConnections

            # No socket_timeout (redis-py would wrap every send in a new task for
            # it; redis-py 8 sets 5 s unless told): reads, and /health's ping, have
            # a deadline each instead (READ_TIMEOUT).
            client = redis.asyncio.Redis.from_url(
                self._url, socket_connect_timeout=2, socket_timeout=None
            )
            cache = None
            if self._cache_size:
                from aligned_cli.online.near_cache import NearCache

                cache = NearCache(self._listener, [self._key_prefix], self._cache_size)
            found = self._clients[loop] = (client, ReadConnections(client, cache))
        return found

    def _listener(self) -> Any:
        """A new sync connection as the URL says, speaking RESP2 (whatever the URL or
        redis-py's default asks), for the near cache's invalidation messages."""
        import redis

        pool = redis.ConnectionPool.from_url(self._url, socket_connect_timeout=2, socket_timeout=2)
        settings = {**pool.connection_kwargs, "protocol": 2}
        if issubclass(pool.connection_class, redis.Connection):  # TCP or TLS, not unix://
            settings["socket_keepalive"] = True
        return pool.connection_class(**settings)

    async def start(self) -> None:
        """The current loop's client, with its near cache subscribed (when Redis answers)."""
        cache = self.reads().cache
        if cache is not None:
            await cache.start()

    def get(self) -> redis.asyncio.Redis:
        return self._for_loop()[0]

    def reads(self) -> ReadConnections:
        return self._for_loop()[1]

    async def close(self) -> None:
        found = self._clients.pop(id(asyncio.get_running_loop()), None)
        if found is not None:
            client, reads = found
            await reads.close()
            await client.aclose()


class FeatureServer(FastAPI):
    """The FastAPI app, with POST /features answered before FastAPI's machinery.

    Per request, Starlette's middleware stack, router, Request object and
    FastAPI's dependency solving cost about as much as the Redis round trip of a
    one-entity read. `create_app` sets `direct_features`, which answers the common
    request itself (or hands it back, with its body, for the declared route to
    answer). Anything that could make the two differ takes the declared route:
    middleware or dependency overrides added to the app, a root path, a body size
    limit, or FastAPI's OpenTelemetry instrumentation switched on."""

    direct_features: Callable[[AsgiScope, Receive, Send], Awaitable[Receive | None]] | None = None

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        direct = self.direct_features
        if (
            direct is not None
            and scope["type"] == "http"
            and scope["path"] == "/features"
            and scope["method"] == "POST"
            and not scope.get("root_path")
            and not self.root_path
            and not self.user_middleware
            and not self.dependency_overrides
            and getattr(self, "max_body_size", None) is None
            and not _telemetry_on(self)
        ):
            replay = await direct(scope, receive, send)
            if replay is None:
                return
            receive = replay
        await super().__call__(scope, receive, send)


def _telemetry_on(app: FastAPI) -> bool:
    """Whether FastAPI's native OpenTelemetry instrumentation (newer FastAPI versions)
    would record this request: then it takes FastAPI's own path."""
    telemetry = getattr(app, "_native_telemetry", None)
    return telemetry is not None and bool(telemetry.enabled())


def _authorized(tokens: Tokens, authorization: bytes | None) -> bool:
    """Whether the route's bearer check (`HTTPBearer(auto_error=False)`, then
    `Tokens.check`) lets this Authorization header read; the header is split by
    FastAPI's own function, as HTTPBearer splits it."""
    if not tokens.enabled:
        return True
    credentials = None
    if authorization:
        scheme, param = get_authorization_scheme_param(authorization.decode("latin-1"))
        if scheme and param and scheme.lower() == "bearer":
            credentials = param
    try:
        tokens.check(credentials, "read")
    except ApiError:  # the declared route answers it
        return False
    return True


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for a request whose body was read already."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _handled(app: FastAPI, scope: AsgiScope, error: Exception) -> Response:
    """The response the app's exception handlers give `error`, as FastAPI would."""
    handlers = app.exception_handlers
    handler = next((handlers[c] for c in type(error).__mro__ if c in handlers), None)
    if handler is None:
        raise error
    response = handler(Request(scope), error)
    if not isinstance(response, Response):
        response = await response
    assert isinstance(response, Response)
    return response


def create_app(
    manifest_path: Path,
    redis_url: str,
    *,
    token: str | None = None,
    read_token: str | None = None,
    max_entities: int = 10_000,
    cache_size: int = DEFAULT_CACHE_SIZE,
    clock: Clock | None = None,
) -> FastAPI:
    """The feature server of the compiled project at `manifest_path`. `cache_size`:
    replies from Redis (one per entity hash and feature list) kept in memory between
    requests, each until Redis reports a change (`online.near_cache`); 0 reads Redis
    on every request."""
    from contextlib import asynccontextmanager

    from starlette.concurrency import run_in_threadpool

    from aligned_cli import __version__
    from aligned_cli.artifacts.manifest import read_manifest
    from aligned_cli.online.catalog import Catalog
    from aligned_cli.online.keys import project_prefix
    from aligned_cli.online.push import PushService
    from aligned_cli.online.reader import JSON_OPTIONS, READ_TIMEOUT, ReadPlan, read_features
    from aligned_cli.online.redis_client import connect
    from aligned_cli.online.transform import RowsError
    from aligned_cli.pipeline import project_from_manifest
    from aligned_cli.serve.errors import install_handlers

    manifest_path = Path(manifest_path).resolve()
    project = project_from_manifest(read_manifest(manifest_path), manifest_path.parent.parent)
    catalog = Catalog.from_project(project)
    tokens = Tokens(token=token, read_token=read_token)
    now = clock or (lambda: datetime.now(UTC))
    async_clients = _AsyncClients(redis_url, project_prefix(project.name), cache_size)
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
        await async_clients.start()
        yield
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        await async_clients.close()
        pusher.close()
        sync_client.close()

    app = FeatureServer(
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

    async def answer(request: FeaturesRequest) -> bytes:
        if request.count > max_entities:
            raise ApiError(413, f"{request.count} entities exceed --max-entities {max_entities}")
        plan = plan_for(request)
        missing = plan.missing_entities(request.entities)
        if missing:
            raise RowsError(
                f"entities needs the key column '{missing[0]}'", f"entities.{missing[0]}"
            )
        mistyped = plan.mistyped_entity(request.entities)
        if mistyped is not None:
            name, position = mistyped
            value = request.entities[name][position]
            raise RowsError(
                f"entities.{name}[{position}] is {value!r}, not an integer (the key's type)",
                f"entities.{name}.{position}",
            )
        results = await read_features(
            async_clients.reads(), plan, request.entities, request.count, now()
        )
        # Built by hand (orjson, in C): FastAPI's response-model encoding, or even the
        # json module, costs more than the Redis read. Values are JSON-safe already
        # (`to_json_value`); a NaN entity value echoed back would become null.
        try:
            return orjson.dumps({"results": results}, option=JSON_OPTIONS)
        except orjson.JSONEncodeError:  # only an entity string can be: echoed back
            raise RowsError(
                "entities holds a string that is not valid Unicode (a lone surrogate)",
                "entities",
            ) from None

    read_check = require("read")

    async def features(request: FeaturesRequest) -> Response:
        """Latest feature values for each entity, in request order."""
        return Response(content=await answer(request), media_type="application/json")

    app.add_api_route(
        "/features",
        features,
        methods=["POST"],
        response_model=FeaturesResponse,
        responses=errors,
        dependencies=[Depends(read_check)],
    )

    async def direct(scope: AsgiScope, receive: Receive, send: Send) -> Receive | None:
        """POST /features without FastAPI's routing, middleware and dependency
        machinery: a JSON body that validates, from an authorized client, is read
        and answered here. Anything else (no or a wrong token, another content type,
        a body that does not validate) is handed back, with its body, to the
        declared route, so every error response is the one FastAPI gives; errors of
        the read itself (413, 404, 503, ...) go through the app's own handlers."""
        content_type = authorization = None
        for name, value in scope["headers"]:  # (ASGI servers lower-case the names)
            if name == b"content-type":
                content_type = value if content_type is None else content_type
            elif name == b"authorization":
                authorization = value if authorization is None else authorization
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        request: FeaturesRequest | None = None
        if (
            content_type is not None
            and content_type.partition(b";")[0].strip().lower() == b"application/json"
            and _authorized(tokens, authorization)
        ):
            try:
                request = FeaturesRequest.model_validate_json(body)
            except ValueError:  # ValidationError is a ValueError: the route answers
                request = None
        if request is None:
            return _replay(body, receive)
        try:
            content = await answer(request)
        except Exception as error:  # what the declared route's handlers make of it
            response = await _handled(app, scope, error)
            await response(scope, receive, send)
            return None
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-length", b"%d" % len(content)),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
        return None

    app.direct_features = direct

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
