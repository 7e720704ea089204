"""Evaluating selectors against the DAG: `--select`, `--exclude`, `state:modified`.

Name methods (`source:`, `view:`, `feature:`, `model:`, `test:`, bare names) accept
shell-style wildcards (`model:stg_*`). A selector that matches nothing selects nothing
(as in dbt: SPEC §5's empty selection is `[]` and exit 0); for an exact name that
matches nothing, a warning with the closest names is collected for the CLI to print.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, TypeAlias

from aligned_cli.errors import UsageError, closest, did_you_mean
from aligned_cli.graph.selectors import METHODS, Criterion, Selection, parse_selection
from aligned_cli.graph.snapshot import DagSnapshot

if TYPE_CHECKING:
    import networkx as nx

# A selection reads the DAG's snapshot (names, attributes, children); only graph
# operators (`+x`, `x+`, `@x`) walk it with networkx.
Graph: TypeAlias = "DagSnapshot | nx.DiGraph"

_NAMED_KINDS = ("source", "view", "feature", "model", "test")


def select_nodes(
    dag: Graph,
    select: list[str] | None,
    exclude: list[str] | None,
    *,
    state_checksums: dict[str, str] | None = None,
    warnings: list[str] | None = None,
) -> set[str]:
    """The unique ids `select` picks minus those `exclude` picks; no select = all nodes.

    `state_checksums` is {unique_id: checksum} from an older manifest (`--state DIR`).
    `warnings` receives a message per exact name that matched nothing.
    """
    selector = _Selector(_snapshot(dag), state_checksums, warnings)
    included = parse_selection(select)
    chosen = selector.evaluate(included) if included else set(selector.dag.nodes)
    return chosen - selector.evaluate(parse_selection(exclude))


def add_indirect_tests(dag: Graph, selected: Iterable[str]) -> set[str]:
    """`selected` plus every test attached to a selected node (dbt's eager mode)."""
    graph = _snapshot(dag)
    chosen = set(selected)
    tests = {
        child for node in chosen for child in graph.children[node] if graph.kind(child) == "test"
    }
    return chosen | tests


def _snapshot(dag: Graph) -> DagSnapshot:
    return dag if isinstance(dag, DagSnapshot) else DagSnapshot.of(dag)


class _Selector:
    def __init__(
        self,
        dag: DagSnapshot,
        state_checksums: dict[str, str] | None,
        warnings: list[str] | None = None,
    ) -> None:
        self.dag = dag
        self._networkx: nx.DiGraph | None = None
        self.state = state_checksums
        self.warnings = warnings if warnings is not None else []
        # kind -> display name -> unique ids (names may repeat across kinds, not within)
        self.names: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for uid, attrs in dag.nodes.items():
            self.names[attrs["kind"]][attrs["name"]].add(uid)

    @property
    def graph(self) -> nx.DiGraph:
        if self._networkx is None:
            self._networkx = self.dag.to_networkx()
        return self._networkx

    def evaluate(self, selection: Selection) -> set[str]:
        chosen: set[str] = set()
        for atom in selection:
            sets = [self._criterion(criterion) for criterion in atom]
            chosen |= set.intersection(*sets)
        return chosen

    def _criterion(self, criterion: Criterion) -> set[str]:
        base = self._method(criterion)
        if criterion.childrens_parents:
            below = base | _reach(self.graph, base, None)
            return below | _reach(self.graph.reverse(copy=False), below, None)
        chosen = set(base)
        if criterion.parents:
            chosen |= _reach(self.graph.reverse(copy=False), base, criterion.parents_depth)
        if criterion.children:
            chosen |= _reach(self.graph, base, criterion.children_depth)
        return chosen

    def _method(self, criterion: Criterion) -> set[str]:
        method, value = criterion.method, criterion.value
        if method is None:
            return self._bare(criterion)
        if method == "tag":
            return {
                uid
                for uid, tags in self.dag.values("tags")
                if any(fnmatch.fnmatchcase(tag, value) for tag in tags or [])
            }
        if method == "path":
            return self._path(value)
        if method == "state":
            return self._state(criterion)
        if method == "feature" and ":" not in value:
            return self._feature_in_any_view(criterion)
        return self._named(criterion, [method], value)

    def _feature_in_any_view(self, criterion: Criterion) -> set[str]:
        """`feature:age`: the feature `age` of whichever views declare it."""
        by_feature: dict[str, set[str]] = defaultdict(set)
        for name, uids in self.names["feature"].items():
            by_feature[name.partition(":")[2]] |= uids
        if _is_glob(criterion.value):
            return _glob(by_feature, criterion.value)
        if criterion.value in by_feature:
            return set(by_feature[criterion.value])
        return self._nothing(criterion, "feature", criterion.value, by_feature)

    def _bare(self, criterion: Criterion) -> set[str]:
        value = criterion.value
        if value in self.dag.nodes:
            return {value}  # a unique id, as the manifest and `lineage` name nodes
        prefix, sep, _ = value.partition(":")
        if sep and prefix not in self.names["view"]:
            valid = "valid methods: " + ", ".join(f"{m}:" for m in METHODS)
            near = closest(prefix, METHODS)
            raise UsageError(
                f"unknown selector method '{prefix}' in '{criterion.text}'",
                hint=f"did you mean '{near[0]}:'? {valid}" if near else valid,
            )
        if sep:
            kinds = ["feature"]
        elif _is_glob(value):  # `*`, `*age*`: a pattern over every name, `view:feature` too
            kinds = list(_NAMED_KINDS)
        else:
            kinds = [k for k in _NAMED_KINDS if k != "feature"]
        return self._named(criterion, kinds, value)

    def _named(self, criterion: Criterion, kinds: list[str], pattern: str) -> set[str]:
        pool: dict[str, set[str]] = defaultdict(set)
        for kind in kinds:  # a source and a view may share a name: a bare name picks both
            for name, uids in self.names[kind].items():
                pool[name] |= uids
        if _is_glob(pattern):
            return _glob(pool, pattern)
        if pattern in pool:
            return set(pool[pattern])
        what = " or ".join(kinds) if criterion.method else "node"
        if not criterion.method:
            # A bare `age` most likely meant the feature `age` of some view.
            features = sorted(n for n in self.names["feature"] if n.partition(":")[2] == pattern)
            if features:
                return self._nothing(criterion, what, pattern, features, exact=True)
        # Otherwise the closest names, `view:feature` ones too.
        suggestions = (
            pool if criterion.method else {n for names in self.names.values() for n in names}
        )
        return self._nothing(criterion, what, pattern, suggestions)

    def _nothing(
        self,
        criterion: Criterion,
        what: str,
        name: str,
        known: Iterable[str],
        *,
        exact: bool = False,
    ) -> set[str]:
        """An exact name that matches nothing: an empty selection and a warning naming
        the closest of `known` (all of them when `exact`: each is a likely meaning)."""
        candidates = list(known)
        if exact:
            hint: str | None = "did you mean " + " or ".join(f"'{c}'" for c in candidates) + "?"
        else:
            hint = did_you_mean(name, candidates)
        self.warnings.append(
            f"the selector '{criterion.text}' matches no {what} named '{name}'"
            + (f" ({hint})" if hint else "")
        )
        return set()

    def _path(self, value: str) -> set[str]:
        """Nodes declared in a file or folder: `features/titanic.yml`, `features/` (all
        below), `features/titanic` (the file without its suffix, as SPEC §5 writes
        it), or a glob (`features/*/drivers.yml`) matching the file or a folder."""
        wanted = _relative_path(value, self.dag.attrs.get("root"))
        pattern = str(wanted) if any(c in value for c in "*?[") else None
        chosen = set()
        for uid, file in self.dag.values("file"):
            if file is not None and _declared_in(PurePosixPath(file), wanted, pattern):
                chosen.add(uid)
        return chosen

    def _state(self, criterion: Criterion) -> set[str]:
        if criterion.value != "modified":
            raise UsageError(
                f"unknown state selector '{criterion.text}'",
                hint="the state method supports state:modified",
            )
        if self.state is None:
            raise UsageError(
                f"'{criterion.text}' needs an older manifest to compare with",
                hint="pass --state DIR, the target folder of an earlier compile",
            )
        old = self.state
        return {uid for uid, checksum in self.dag.values("checksum") if old.get(uid) != checksum}


def _reach(graph: nx.DiGraph, starts: set[str], depth: int | None) -> set[str]:
    """Nodes within `depth` edges of `starts` along `graph`'s edges, `starts` excluded."""
    import networkx as nx

    if not starts:
        return set()
    reached: set[str] = set()
    for distance, layer in enumerate(nx.bfs_layers(graph, starts)):
        if depth is not None and distance > depth:
            break
        if distance > 0:
            reached.update(layer)
    return reached


def _declared_in(path: PurePosixPath, wanted: PurePosixPath, pattern: str | None) -> bool:
    if wanted == PurePosixPath(".") or path == wanted or wanted in path.parents:
        return True
    if path.with_suffix("") == wanted:
        return True
    if pattern is None:
        return False
    return any(fnmatch.fnmatchcase(str(p), pattern) for p in (path, *path.parents))


def _relative_path(value: str, root: str | None) -> PurePosixPath:
    """`path:` values are relative to the project root; absolute ones inside it too."""
    path = PurePosixPath(value.replace("\\", "/"))
    if root and path.is_absolute():
        root_path = PurePosixPath(root.replace("\\", "/"))
        if root_path == path or root_path in path.parents:
            return path.relative_to(root_path)
    return path  # PurePosixPath already drops `./` and trailing slashes


def _glob(pool: dict[str, set[str]], pattern: str) -> set[str]:
    return {
        uid for name, uids in pool.items() if fnmatch.fnmatchcase(name, pattern) for uid in uids
    }


def _is_glob(pattern: str) -> bool:
    return any(char in pattern for char in "*?[")
