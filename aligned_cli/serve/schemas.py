"""Request and response bodies: pydantic models, so bad input is a 422 naming the field."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

EntityValue = int | float | str | bool | None
RowValue = int | float | str | bool | list[float] | dict[str, object] | None


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FeaturesRequest(Body):
    entities: dict[str, list[EntityValue]] = Field(
        description="Entity column -> values; one result per position, in order.",
        examples=[{"driver_id": [1, 2]}],
    )
    features: list[str] | None = Field(
        default=None, description="`view:feature` names.", examples=[["driver_stats:conv_rate"]]
    )
    model: str | None = Field(default=None, description="A model: serve its features.")

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        if (self.features is None) == (self.model is None):
            raise ValueError("give exactly one of 'features' or 'model'")
        if self.features is not None and not self.features:
            raise ValueError("'features' is empty")
        if not self.entities:
            raise ValueError("'entities' is empty")
        lengths = {name: len(values) for name, values in self.entities.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"'entities' lists differ in length: {lengths}")
        return self

    @property
    def count(self) -> int:
        return len(next(iter(self.entities.values())))


class FeatureValue(BaseModel):
    value: object | None
    status: Literal["present", "not_found", "outside_ttl"]
    event_timestamp: str | None = Field(description="ISO-8601 UTC, e.g. 2026-03-01T10:00:00Z")


class FeatureResult(BaseModel):
    entity: dict[str, EntityValue]
    features: dict[str, FeatureValue]


class FeaturesResponse(BaseModel):
    results: list[FeatureResult]


class PushRequest(Body):
    view: str = Field(examples=["driver_stats"])
    rows: list[dict[str, RowValue]] = Field(
        description="Raw rows: entity keys, event timestamp, input columns.",
        examples=[[{"driver_id": 1, "event_timestamp": "2026-03-01T10:00:00Z", "conv_rate": 0.4}]],
    )


class PushResponse(BaseModel):
    written: int = Field(description="Rows stored.")
    ignored_older: int = Field(description="Rows not stored: the store holds a newer row.")
    ignored_expired: int = Field(
        default=0,
        description="Rows not stored: already past the view's ttl (event_timestamp + ttl).",
    )


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    redis: Literal["ok", "unreachable"]


class ErrorResponse(BaseModel):
    error: str
    field: str | None = None
    hint: str | None = None
