"""`@model_contract`: which features go into a model and what it predicts."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aligned_cli.core.ir import (
    Alert,
    FeatureRef,
    Model,
    MonitorMetric,
    Output,
    Predictions,
    Spine,
    Target,
)
from aligned_cli.core.location import Location
from aligned_cli.dsl.aggregations import AggregationDecl
from aligned_cli.dsl.callsite import CallSite, class_line, user_call_site
from aligned_cli.dsl.features import FeatureFactory
from aligned_cli.dsl.monitoring import monitoring_of
from aligned_cli.dsl.registry import register
from aligned_cli.dsl.sources import SourceDecl
from aligned_cli.dsl.targets import TargetDecl
from aligned_cli.dsl.views import OutputLike, output_of
from aligned_cli.errors import ProjectError

T = TypeVar("T", bound=type)
Locate = Callable[[CallSite], Location]
FeatureLike = FeatureFactory | AggregationDecl | str
SpineLike = SourceDecl | str | Spine


@dataclass(eq=False)
class ModelDecl:
    name: str
    site: CallSite
    features: list[FeatureRef]
    spine: SpineLike | None = None
    output: Output | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    defaults: dict[str, Any] = field(default_factory=dict)
    target: Target | None = None
    predictions: Predictions | None = None
    alerts: dict[MonitorMetric, Alert] = field(default_factory=dict)

    def to_ir(self, locate: Locate) -> Model:
        return Model(
            name=self.name,
            description=self.description,
            tags=list(self.tags),
            features=list(self.features),
            target=self.target,
            spine=_spine(self.spine, f"{self.name}_spine"),
            output=self.output,
            defaults=dict(self.defaults),
            predictions=self.predictions,
            alerts=dict(self.alerts),
            location=locate(self.site),
        )


def model_contract(
    name: str | None = None,
    *,
    features: Sequence[FeatureLike],
    spine: SpineLike | None = None,
    output: OutputLike | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    defaults: dict[str, Any] | None = None,
    predictions: Predictions | Mapping[str, Any] | None = None,
    alerts: Mapping[str, Alert | Mapping[str, Any]] | None = None,
) -> Callable[[T], T]:
    """Declare a model; a target may be declared in the class body.

    `predictions` and `alerts` take the YAML keys (`{"source": ..., "label_delay": "1d"}`,
    `{"accuracy": {"min": 0.8}}`) and feed `aligned monitor`.
    """
    site = user_call_site()
    monitored, bounds = monitoring_of(predictions, alerts)
    refs = [feature_ref(item, "a model's features") for item in features]
    if spine is not None and not isinstance(spine, SourceDecl | str | Spine):
        raise ProjectError(
            f"a model's spine must be a source or a source name, not {type(spine).__name__}"
        )
    resolved_output = output_of(output)

    def decorate(cls: T) -> T:
        decl = ModelDecl(
            name=name or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).lower(),
            site=class_line(site, cls.__name__),
            features=refs,
            spine=spine,
            output=resolved_output,
            description=description,
            tags=list(tags or []),
            defaults=dict(defaults or {}),
            target=_target(cls),
            predictions=monitored,
            alerts=bounds,
        )
        register(decl)
        return cls

    return decorate


def feature_ref(item: object, used_as: str) -> FeatureRef:
    """`passenger.age`, an aggregation of a view, or the text `view:feature`."""
    if isinstance(item, str):
        try:
            return FeatureRef.parse(item)
        except ValueError as error:
            raise ProjectError(str(error), hint="e.g. 'passenger:age'") from None
    if isinstance(item, FeatureFactory | AggregationDecl):
        if item._bound is None:
            raise ProjectError(
                f"{used_as} use a feature that belongs to no feature view",
                location=Location(file=item._site.filename, line=item._site.line),
                hint="declare it in a @feature_view class and use it as view_instance.feature",
            )
        view, feature = item._bound
        return FeatureRef(view=view, feature=feature)
    raise ProjectError(
        f"{used_as} must be features (passenger.age) or 'view:feature' names, "
        f"not {type(item).__name__}"
    )


def _target(cls: type) -> Target | None:
    targets = [(k, v) for k, v in vars(cls).items() if isinstance(v, TargetDecl)]
    for attribute, value in vars(cls).items():
        if isinstance(value, FeatureFactory | AggregationDecl):
            raise ProjectError(
                f"model attribute '{attribute}' is a feature; declare features in a "
                "@feature_view and list them in `features=`",
                location=Location(file=value._site.filename, line=value._site.line),
            )
    if not targets:
        return None
    if len(targets) > 1:
        names = ", ".join(name for name, _ in targets)
        raise ProjectError(
            f"a model has one target, but this one declares {len(targets)}: {names}",
            location=Location(file=targets[1][1].site.filename, line=targets[1][1].site.line),
        )
    attribute, decl = targets[0]
    return Target(
        feature=feature_ref(decl.feature, "a model's target must"),
        kind=decl.kind,
        name=attribute,
    )


def _spine(spine: SpineLike | None, fallback: str) -> Spine | None:
    if spine is None or isinstance(spine, Spine):
        return spine
    if isinstance(spine, SourceDecl):
        return Spine(source=spine.name_for_reader(fallback))
    return Spine(source=spine)
