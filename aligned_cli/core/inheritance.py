"""Views built on views inherit what they don't restate (SPEC §4, last bullet).

A pure transformation of the IR, shared by the loader (which checks the project) and
the compiler (which also compiles IR rebuilt from a manifest or built in code).
"""

from __future__ import annotations

from aligned_cli.core.ir import Feature, FeatureView, Project
from aligned_cli.errors import ProjectError, did_you_mean


def resolve_view_inheritance(project: Project) -> Project:
    """A copy where views built on views carry their parent's entities, timestamps,
    ttl (unless restated) and the types of passed-through features."""
    resolved: dict[str, FeatureView] = {}
    for name in project.views:
        _inherit(project, name, resolved, [])
    return project.model_copy(update={"views": {n: resolved[n] for n in project.views}})


def _inherit(
    project: Project, name: str, done: dict[str, FeatureView], stack: list[str]
) -> FeatureView:
    if name in done:
        return done[name]
    view = project.views[name]
    if name in stack:
        cycle = " -> ".join([*stack[stack.index(name) :], name])
        raise ProjectError(
            f"views are built on each other in a cycle: {cycle}", location=view.location
        )
    if view.source.kind == "source":
        if view.source.name not in project.sources:
            raise ProjectError(
                f"view '{name}' reads unknown source '{view.source.name}'",
                location=view.location,
                hint=did_you_mean(view.source.name, project.sources),
            )
        done[name] = view
        return view
    if view.source.name not in project.views:
        raise ProjectError(
            f"view '{name}' is built on unknown view '{view.source.name}'",
            location=view.location,
            hint=did_you_mean(view.source.name, project.views),
        )
    parent = _inherit(project, view.source.name, done, [*stack, name])
    features = [inherit_feature_type(feature, parent) for feature in view.features]
    child = view.model_copy(
        update={
            "entities": view.entities or list(parent.entities),
            "event_timestamp": view.event_timestamp or parent.event_timestamp,
            "created_timestamp": view.created_timestamp or parent.created_timestamp,
            "ttl": view.ttl if view.ttl is not None else parent.ttl,
            "features": features,
        }
    )
    done[name] = child
    return child


def inherit_feature_type(feature: Feature, parent: FeatureView) -> Feature:
    """`feature` passed through from `parent` without a declared type gets the parent's."""
    if feature.is_derived or feature.dtype is not None:
        return feature
    upstream = parent.feature(feature.name)
    if upstream is None or upstream.dtype is None:
        return feature
    return feature.model_copy(update={"dtype": upstream.dtype})
