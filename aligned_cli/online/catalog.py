"""What the online store serves: the views, their keys and features, from the IR.

Built from a `Project` (the manifest's, for `serve`; the freshly compiled one, for
`materialize` and `worker`), with view-on-view inheritance resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aligned_cli.core.ir import FeatureRef, Project
from aligned_cli.core.types import INTEGER_TYPES
from aligned_cli.errors import AlignedError, did_you_mean
from aligned_cli.online.keys import view_prefix


class UnknownNameError(AlignedError):
    """A request names a view, feature or model the project does not have (HTTP 404)."""

    def __init__(self, kind: str, name: str, hint: str | None = None) -> None:
        super().__init__(f"unknown {kind} '{name}'", hint=hint)
        self.kind = kind
        self.name = name


@dataclass(frozen=True)
class OnlineView:
    name: str
    entities: tuple[str, ...]
    event_timestamp: str | None
    created_timestamp: str | None
    ttl: int | None  # seconds
    features: tuple[str, ...]  # stored in the hash, in declared order
    key_prefix: str
    # Entity columns of an integer type: a request's value for one must read as an integer.
    integer_entities: frozenset[str] = frozenset()


# The time `materialize` computed a view's aggregates as of (their event_timestamp).
AS_OF = "__aligned_as_of"


@dataclass(frozen=True)
class Catalog:
    project: str
    views: dict[str, OnlineView]
    models: dict[str, tuple[FeatureRef, ...]]
    aggregations: frozenset[str]  # "view:feature" of window aggregations
    # view -> its aggregates as `materialize` stores them: a hash per entity of their
    # values as of one time, apart from the view's latest row (whose time differs).
    aggregate_views: dict[str, OnlineView] = field(default_factory=dict)

    @classmethod
    def from_project(cls, project: Project) -> Catalog:
        from aligned_cli.core.inheritance import resolve_view_inheritance

        resolved = resolve_view_inheritance(project)
        integer_entities = {
            name: frozenset(
                key
                for key in view.entities
                if (f := view.feature(key)) is not None and f.dtype in INTEGER_TYPES
            )
            for name, view in resolved.views.items()
        }
        views = {
            name: OnlineView(
                name=name,
                entities=tuple(view.entities),
                event_timestamp=view.event_timestamp,
                created_timestamp=view.created_timestamp,
                ttl=view.ttl,
                features=tuple(f.name for f in view.features),
                key_prefix=view_prefix(project.name, name),
                integer_entities=integer_entities[name],
            )
            for name, view in resolved.views.items()
        }
        aggregations = frozenset(
            f"{view.name}:{agg.name}"
            for view in resolved.views.values()
            for agg in view.aggregations
        )
        aggregate_views = {
            name: OnlineView(
                name=name,
                entities=tuple(view.entities),
                event_timestamp=AS_OF,
                created_timestamp=None,
                ttl=None,
                features=tuple(a.name for a in view.aggregations),
                # `#` cannot occur in a view name, so no view's keys collide with these.
                key_prefix=view_prefix(project.name, f"{name}#aggregates"),
                integer_entities=integer_entities[name],
            )
            for name, view in resolved.views.items()
            if view.aggregations
        }
        models = {name: tuple(model.features) for name, model in project.models.items()}
        return cls(project.name, views, models, aggregations, aggregate_views)

    def online_view(self, ref: FeatureRef) -> OnlineView:
        """Where `ref` is stored: its view's hash, or the view's aggregates hash."""
        if str(ref) in self.aggregations:
            return self.aggregate_views[ref.view]
        return self.views[ref.view]

    def view(self, name: str) -> OnlineView:
        view = self.views.get(name)
        if view is None:
            raise UnknownNameError("view", name, did_you_mean(name, self.views))
        return view

    def feature_refs(self, texts: Sequence[str]) -> list[FeatureRef]:
        """`view:feature` strings -> refs; an unknown one raises UnknownNameError."""
        refs: list[FeatureRef] = []
        for text in texts:
            try:
                ref = FeatureRef.parse(text)
            except ValueError:
                raise UnknownNameError("feature", text, "write features as view:feature") from None
            self._check(ref)
            refs.append(ref)
        return list(dict.fromkeys(refs))

    def model_refs(self, name: str) -> list[FeatureRef]:
        refs = self.models.get(name)
        if refs is None:
            raise UnknownNameError("model", name, did_you_mean(name, self.models))
        for ref in refs:
            self._check(ref)
        return list(dict.fromkeys(refs))

    def _check(self, ref: FeatureRef) -> None:
        view = self.views.get(ref.view)
        if view is None:
            raise UnknownNameError("feature", str(ref), did_you_mean(ref.view, self.views))
        if str(ref) in self.aggregations:
            return
        if ref.feature not in view.features:
            names = [*view.features, *self._aggregates_of(ref.view)]
            hint = did_you_mean(ref.feature, names)
            raise UnknownNameError("feature", str(ref), hint)

    def _aggregates_of(self, view: str) -> tuple[str, ...]:
        online = self.aggregate_views.get(view)
        return online.features if online else ()
