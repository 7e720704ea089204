"""Jinja2 rendering of YAML strings with `env_var()` and `var()` (SPEC §2)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aligned_cli.core.location import Location
from aligned_cli.errors import ProjectError

if TYPE_CHECKING:
    import jinja2.sandbox

_MISSING = object()
# Every environment variable a render read, with its value then: the compile cache
# is valid only while they keep those values.
_env_read: dict[str, str | None] = {}


def env_vars_read() -> dict[str, str | None]:
    return dict(_env_read)


def forget_env_vars_read() -> None:
    _env_read.clear()


class _MissingValue(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# The longest text or list a template's `*` may make, and the most bits of a `**`:
# far beyond any value a project file needs, far below what stalls a compile.
MAX_REPEAT = 1_000_000
MAX_POWER_BITS = 100_000


@lru_cache(maxsize=1)
def _environment() -> jinja2.sandbox.SandboxedEnvironment:
    import jinja2
    import jinja2.sandbox  # loaded on first use: most strings have no template

    class Environment(jinja2.sandbox.SandboxedEnvironment):
        """Sandboxed: project files are data, they must not reach Python internals,
        nor make a compile run for minutes (`'a' * 10**9`, `7 ** 10000000`; the
        sandbox itself caps only `range`)."""

        intercepted_binops = frozenset(["*", "**"])

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            if operator == "*" and _repeat_size(left, right) > MAX_REPEAT:
                raise jinja2.exceptions.SecurityError(
                    f"the result would be longer than {MAX_REPEAT:,}"
                )
            if operator == "**" and _power_bits(left, right) > MAX_POWER_BITS:
                raise jinja2.exceptions.SecurityError(
                    f"the result would have more than {MAX_POWER_BITS:,} bits"
                )
            return super().call_binop(context, operator, left, right)

    return Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )


def _repeat_size(left: Any, right: Any) -> int:
    """The length of `left * right` when it repeats a text or list, else 0."""
    for sized, count in ((left, right), (right, left)):
        if isinstance(sized, str | list | tuple) and isinstance(count, int):
            return len(sized) * count
    return 0


def _power_bits(base: Any, exponent: Any) -> float:
    """About how many bits `base ** exponent` has, for integers, else 0."""
    import math

    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        return exponent * math.log2(abs(base))
    return 0


def needs_rendering(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def render(
    text: str,
    *,
    location: Location,
    variables: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    defer_env: bool = False,
) -> str:
    """Render one string; a missing env var or var is a ProjectError at `location`.

    With `defer_env`, `env_var(...)` calls are written back as template text instead
    of being resolved: secrets in connection strings are then read only when aligned
    connects (`render_deferred`), so they never reach the manifest.
    """
    if not needs_rendering(text):
        return text

    def env_var(name: str, default: Any = _MISSING) -> Any:
        if not isinstance(name, str):
            raise _MissingValue(
                f"env_var() takes a variable's name as text, not {name!r}",
                "write env_var('NAME') or env_var('NAME', 'default')",
            )
        if defer_env:
            arguments = repr(name) if default is _MISSING else f"{name!r}, {default!r}"
            return "{{ env_var(" + arguments + ") }}"
        value = os.environ.get(name)
        _env_read[name] = value
        if value is not None:
            return value
        if default is _MISSING:
            raise _MissingValue(
                f"environment variable '{name}' is not set and has no default",
                f"export {name}=... or write env_var('{name}', 'default')",
            )
        return default

    def var(name: str, default: Any = _MISSING) -> Any:
        if name in variables:
            return variables[name]
        if default is _MISSING:
            known = ", ".join(sorted(variables)) or "none"
            raise _MissingValue(
                f"variable '{name}' is not defined and has no default",
                f"add it under `vars:` in aligned_project.yml or pass --vars "
                f"'{{{name}: ...}}' (defined: {known})",
            )
        return default

    import jinja2

    context: dict[str, Any] = {"env_var": env_var, "var": var, **(extra or {})}
    try:
        return _environment().from_string(text).render(context)
    except _MissingValue as missing:
        raise ProjectError(missing.message, location=location, hint=missing.hint) from None
    except jinja2.TemplateSyntaxError as error:
        raise ProjectError(
            f"template error in '{text}': {error.message}", location=location
        ) from None
    except jinja2.UndefinedError as error:
        raise ProjectError(
            f"template error in '{text}': {error.message}",
            location=location,
            hint="available here: "
            + ", ".join(["env_var(...)", "var(...)", *sorted(set(context) - {"env_var", "var"})]),
        ) from None
    except jinja2.TemplateError as error:
        raise ProjectError(f"template error in '{text}': {error}", location=location) from None
    except Exception as error:
        # The template's own expression failed (`1/0`, `'a' + 1`, a huge range, a
        # filter given the wrong value): the user's template, so a located error.
        raise ProjectError(
            f"template error in '{text}': {type(error).__name__}: {error}",
            location=location,
            hint="fix the expression inside {{ ... }}",
        ) from None


def render_deferred(text: str, what: str) -> str:
    """Resolve the env_var() calls left in a connection string at load time."""
    return render(text, location=Location(file=what), variables={})
