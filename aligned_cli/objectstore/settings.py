"""Where an object store is and how to sign in: endpoint, region, credentials.

Looked up each time a filesystem is opened, never stored in the IR or the manifest:
1. settings given in code for this process (`use_settings`, e.g. by `AwsS3Config`),
2. `object_stores: {<scheme>: {...}}` in the project's aligned_project.yml, its
   `env_var()` calls rendered now (so secrets are read only when used),
3. the standard AWS environment variables (s3 only) for whatever is still unset.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aligned_cli.errors import ProjectError

if TYPE_CHECKING:
    from aligned_cli.core.location import Location

_S3 = {"s3", "s3a"}
_overrides: dict[str, StoreSettings] = {}
_guard = threading.Lock()


@dataclass(frozen=True)
class StoreSettings:
    """How to reach one URL scheme. `origin` says where they came from, for messages."""

    protocol: str
    endpoint_url: str | None = None
    region: str | None = None
    key: str | None = None
    secret: str | None = None
    token: str | None = None
    anon: bool = False
    options: dict[str, Any] = field(default_factory=dict)
    origin: str = "the environment"

    @property
    def cache_key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, default=str)

    def where(self) -> str:
        """`the s3 endpoint http://127.0.0.1:9000` (never a credential), for messages."""
        if self.endpoint_url:
            return f"the {self.protocol} endpoint {self.endpoint_url}"
        return "AWS S3" if self.protocol in _S3 else f"the {self.protocol} store"

    def with_defaults(self, other: StoreSettings) -> StoreSettings:
        """These settings, with `other`'s values where these have none."""
        return replace(
            self,
            endpoint_url=self.endpoint_url or other.endpoint_url,
            region=self.region or other.region,
            key=self.key or other.key,
            secret=self.secret or other.secret,
            token=self.token or other.token,
            options={**other.options, **self.options},
        )


def use_settings(settings: StoreSettings) -> None:
    """Use `settings` for their scheme in this process, above the project and env."""
    with _guard:
        _overrides[settings.protocol] = settings


def forget_settings(protocol: str | None = None) -> None:
    """Drop settings given with `use_settings` (all of them without `protocol`)."""
    with _guard:
        if protocol is None:
            _overrides.clear()
        else:
            _overrides.pop(protocol, None)


def settings_for(protocol: str, project_root: Path | None = None) -> StoreSettings:
    """The settings for `protocol` (`s3`), by the precedence in the module docstring."""
    protocol = "s3" if protocol == "s3a" else protocol
    env = environment_settings(protocol)
    with _guard:
        given = _overrides.get(protocol)
    if given is not None:
        return given.with_defaults(env)
    declared = project_settings(project_root, protocol) if project_root is not None else None
    return declared.with_defaults(env) if declared is not None else env


def environment_settings(protocol: str) -> StoreSettings:
    """The standard AWS variables (for s3; other schemes have no such convention)."""
    if protocol not in _S3:
        return StoreSettings(protocol=protocol)
    get = os.environ.get
    return StoreSettings(
        protocol=protocol,
        endpoint_url=get("AWS_ENDPOINT_URL_S3") or get("AWS_ENDPOINT_URL") or None,
        region=get("AWS_REGION") or get("AWS_DEFAULT_REGION") or None,
        key=get("AWS_ACCESS_KEY_ID") or None,
        secret=get("AWS_SECRET_ACCESS_KEY") or None,
        token=get("AWS_SESSION_TOKEN") or None,
    )


def _env_reader(location: Location) -> Callable[..., Any]:
    missing = object()

    def env_var(name: str, default: Any = missing) -> Any:
        value = os.environ.get(name)
        if value is not None:
            return value
        if default is missing:
            raise ProjectError(
                f"environment variable '{name}' is not set and has no default",
                location=location,
                hint=f"export {name}=... or write env_var('{name}', 'default')",
            )
        return default

    return env_var


def project_settings(project_root: Path, protocol: str) -> StoreSettings | None:
    """`object_stores.<protocol>` of the project at `project_root`, rendered now.

    None when there is no project there (a published definition read on another
    machine) or it declares nothing for `protocol`.
    """
    from aligned_cli.parse.jinja import needs_rendering, render
    from aligned_cli.parse.project_file import find_project_file
    from aligned_cli.parse.schema import ObjectStoreSpec
    from aligned_cli.parse.yaml_loader import load_yaml

    try:
        path = find_project_file(project_root)
        text = path.read_text(encoding="utf-8")
    except (ProjectError, OSError, UnicodeDecodeError):
        return None
    loaded = load_yaml(text, path.name)
    data = loaded.data if isinstance(loaded.data, dict) else {}
    stores = data.get("object_stores")
    raw = stores.get(protocol) if isinstance(stores, dict) else None
    if not isinstance(raw, dict):
        return None
    raw_vars = data.get("vars")
    variables: dict[str, Any] = dict(raw_vars) if isinstance(raw_vars, dict) else {}
    base = ("object_stores", protocol)

    def rendered(value: Any, path: tuple[str | int, ...]) -> Any:
        if isinstance(value, dict):
            return {k: rendered(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, str) and needs_rendering(value):
            location = loaded.location(path)
            # Our own env_var(): the loader's records what it reads for the compile
            # cache, which pickles it to disk; credentials must not go there.
            extra = {"env_var": _env_reader(location)}
            return render(value, location=location, variables=variables, extra=extra)
        return value

    values = {k: rendered(v, (*base, k)) for k, v in raw.items()}
    try:
        spec = ObjectStoreSpec.model_validate(values)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        raise ProjectError(
            f"object_stores.{protocol} is not valid: {error}", location=loaded.location(base)
        ) from None
    return StoreSettings(
        protocol=protocol,
        endpoint_url=spec.endpoint_url or None,
        region=spec.region or None,
        key=spec.key or None,
        secret=spec.secret or None,
        token=spec.token or None,
        anon=spec.anon,
        options=dict(spec.options),
        origin=f"{path.name} (object_stores.{protocol})",
    )
