"""`store.model(name)`: a model contract's features (and, on request, target) for entities."""

from __future__ import annotations

from dataclasses import dataclass

from aligned_cli.api.engine import Engine
from aligned_cli.api.entities import Entities
from aligned_cli.api.job import RetrievalJob
from aligned_cli.api.retrieval import entity_job
from aligned_cli.core.ir import Model


@dataclass(frozen=True)
class ModelStore:
    engine: Engine
    name: str

    @property
    def model(self) -> Model:
        return self.engine.project.models[self.name]

    def features_for(self, entities: Entities, *, with_target: bool = False) -> RetrievalJob:
        """The model's features in order for every entity row (point-in-time with
        `event_timestamp`), as served for a prediction (SPEC §8). `with_target=True`
        adds the model's target after them, where it is a view's feature (training
        rows through the API, like `aligned run`'s dataset)."""
        model = self.model
        target = model.target if with_target else None
        return entity_job(
            self.engine,
            entities,
            model.features,
            target=target.feature if target else None,
            target_name=target.name if target else None,
            defaults=model.defaults,
        )
