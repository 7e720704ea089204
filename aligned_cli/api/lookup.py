"""Finding models, views and features by name, with 'did you mean' errors."""

from __future__ import annotations

from collections.abc import Iterable

from aligned_cli.core.ir import FeatureRef, FeatureView, Model, Project
from aligned_cli.errors import UsageError, did_you_mean


def get_view(project: Project, name: str) -> FeatureView:
    view = project.views.get(name)
    if view is None:
        raise UsageError(
            f"unknown feature view '{name}'", hint=did_you_mean(str(name), project.views)
        )
    return view


def get_model(project: Project, name: str) -> Model:
    model = project.models.get(name)
    if model is None:
        raise UsageError(f"unknown model '{name}'", hint=did_you_mean(str(name), project.models))
    return model


def feature_refs(project: Project, names: Iterable[str | FeatureRef]) -> list[FeatureRef]:
    """`view:feature` names as references, each checked against the project."""
    refs: list[FeatureRef] = []
    for name in names:
        if isinstance(name, FeatureRef):
            ref = name
        else:
            try:
                ref = FeatureRef.parse(str(name))
            except ValueError as error:
                raise UsageError(str(error), hint=did_you_mean(str(name), _all(project))) from None
        view = project.views.get(ref.view)
        if view is None:
            raise UsageError(
                f"unknown feature view '{ref.view}' in '{ref}'",
                hint=did_you_mean(ref.view, project.views),
            )
        if view.feature(ref.feature) is None and view.aggregation(ref.feature) is None:
            raise UsageError(
                f"feature view '{view.name}' has no feature '{ref.feature}'",
                hint=did_you_mean(ref.feature, view.feature_names),
            )
        refs.append(ref)
    if not refs:
        raise UsageError("no features requested", hint="pass features=['view:feature', ...]")
    return refs


def _all(project: Project) -> list[str]:
    return [f"{v.name}:{f}" for v in project.views.values() for f in v.feature_names]
