"""Model targets declared in a model_contract class body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from aligned_cli.dsl.callsite import CallSite, user_call_site

if TYPE_CHECKING:
    from aligned_cli.dsl.features import FeatureFactory

TargetKind = Literal["classification", "regression"]


class TargetDecl:
    """`did_survive = passenger.survived.as_classification_target()`."""

    def __init__(self, feature: FeatureFactory, kind: TargetKind) -> None:
        self.feature = feature
        self.kind: TargetKind = kind
        self.site: CallSite = user_call_site()
