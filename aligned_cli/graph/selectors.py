"""Parsing the selection grammar (SPEC §5) into criteria; no graph access here.

select   := element*                 each --select value; may hold spaces
element  := atom (' ' atom)*         space = union
atom     := criterion (',' criterion)*   comma = intersection
criterion:= ['@'] [N '+'] body ['+' N]
body     := method ':' value | name  (name may be `view:feature`)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from aligned_cli.errors import UsageError

METHODS: tuple[str, ...] = ("source", "view", "feature", "model", "test", "tag", "path", "state")

_CRITERION = re.compile(r"^(?P<at>@)?(?:(?P<up>\d*)\+)?(?P<body>.*?)(?:\+(?P<down>\d*))?$")


@dataclass(frozen=True)
class Criterion:
    """One selector term, e.g. `2+view:passenger+`."""

    text: str  # as written, for messages
    method: str | None  # None: a bare name (possibly `view:feature`)
    value: str
    parents: bool = False
    parents_depth: int | None = None  # None: unlimited
    children: bool = False
    children_depth: int | None = None
    childrens_parents: bool = False  # `@`


# A selection is a union of intersections of criteria.
Selection = list[list[Criterion]]


_HINT = "write e.g. view:passenger, +model:titanic, tag:nightly or passenger:age"


def parse_selection(elements: Iterable[str] | None) -> Selection:
    """Every element split on whitespace (union) and commas (intersection).

    None selects nothing here (the caller decides what "no --select" means), but a
    selector that was given and is blank is an error: silently selecting everything
    for `--select ""` would run far more than the user asked for.
    """
    selection: Selection = []
    for element in elements or []:
        atoms = element.split()
        if not atoms:
            raise UsageError("empty selector", hint=_HINT)
        for atom in atoms:
            terms = atom.split(",")
            if "" in terms:
                raise UsageError(
                    f"'{atom}' has an empty term around a comma",
                    hint="a comma intersects two selectors: view:passenger,tag:nightly",
                )
            selection.append([parse_criterion(text) for text in terms])
    return selection


def parse_criterion(text: str) -> Criterion:
    """`@x`, `+x`, `2+x`, `x+`, `x+1`, combined with a method or a bare name."""
    match = _CRITERION.match(text)
    # An operator left in the body (`@@x`, `+@x`) is a typo, not part of a name.
    if match is None or not match["body"] or match["body"][0] in "@+":
        raise UsageError(f"'{text}' is not a selector", hint=_HINT)
    at, up, body, down = match["at"], match["up"], match["body"], match["down"]
    if at and up is not None:
        raise UsageError(
            f"'{text}' combines '@' with a '+' prefix",
            hint="'@x' already includes the ancestors of everything below x",
        )
    method, value = _split_method(body)
    return Criterion(
        text=text,
        method=method,
        value=value,
        parents=up is not None,
        parents_depth=int(up) if up else None,
        children=down is not None,
        children_depth=int(down) if down else None,
        childrens_parents=bool(at),
    )


def _split_method(body: str) -> tuple[str | None, str]:
    prefix, sep, rest = body.partition(":")
    if sep and prefix in METHODS:
        if not rest:
            raise UsageError(f"'{body}' names no value", hint=f"write e.g. {prefix}:NAME")
        return prefix, rest
    # Not a known method: a bare name, or `view:feature`; the graph decides which.
    return None, body
