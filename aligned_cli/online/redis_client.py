"""Opening Redis, and turning "cannot reach it" into one clear AlignedError."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aligned_cli.core.ir import Project
from aligned_cli.errors import ExecutionError

if TYPE_CHECKING:
    import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"


class RedisUnavailableError(ExecutionError):
    """Redis cannot be reached (HTTP 503 in `serve`)."""


def project_redis_url(project: Project, override: str | None = None) -> str:
    """`--redis-url`, else the project's `online: {redis: {url: ...}}`, else the default."""
    if override:
        return override
    online: Any = project.online.get("redis") if isinstance(project.online, dict) else None
    if isinstance(online, dict) and online.get("url"):
        from aligned_cli.parse.jinja import render_deferred

        return render_deferred(str(online["url"]), "aligned_project.yml (online.redis.url)")
    return DEFAULT_URL


def connect(url: str, *, timeout: float = 5.0) -> redis.Redis:
    """A client for `url` (no I/O yet); short connect timeout so failures are quick."""
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=30)


def unavailable(url: str, error: Exception) -> RedisUnavailableError:
    return RedisUnavailableError(
        f"cannot reach Redis at {_redacted(url)}: {error}",
        hint="start Redis or point aligned at it (--redis-url, or online.redis.url)",
    )


def _redacted(url: str) -> str:
    """The URL without a password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
