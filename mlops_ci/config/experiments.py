"""`experiments:` in mlops-ci.yaml: parameter sweeps fanned out as a matrix."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ParamValue = str | int | float | bool | None | list[Any]


class ExperimentsConfig(BaseModel):
    """Parameter sweeps: `mlops-ci sweep plan | run | merge` (see docs/experiments.md)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True)

    grid: dict[str, list[ParamValue]] = Field(
        default_factory=dict,
        description="Values per dotted param key (`train.model.max_depth: [3, 5]`); "
        "every combination is one run.",
    )
    sets: list[dict[str, ParamValue]] = Field(
        default_factory=list,
        description="Explicit param sets, each one run, after the grid's runs.",
    )
    params_file: str | None = Field(
        None,
        description="Params file a key without `FILE:` is written to "
        "(default: the first params file, else `params.yaml`).",
    )
    metric: str | None = Field(
        None,
        description="Primary metric that ranks the runs (dotted key, optionally `file:key`; "
        "default: the first gated metric).",
    )
    direction: Literal["higher", "lower"] | None = Field(
        None,
        description="Which way the primary metric is better (default: its gate's, else higher).",
    )
    max_runs: int = Field(
        20, gt=0, le=256, description="Refuse a sweep with more runs (a matrix holds 256 jobs)."
    )

    @field_validator("grid")
    @classmethod
    def _grid(cls, v: dict[str, list[ParamValue]]) -> dict[str, list[ParamValue]]:
        import json

        for key, values in v.items():
            if not values:
                raise ValueError(f"grid key {key!r} has no values")
            seen = [json.dumps(x, sort_keys=True, default=str) for x in values]
            if len(set(seen)) != len(seen):
                raise ValueError(f"grid key {key!r} lists a value twice")
        return v

    @field_validator("sets")
    @classmethod
    def _sets(cls, v: list[dict[str, ParamValue]]) -> list[dict[str, ParamValue]]:
        for i, item in enumerate(v):
            if not item:
                raise ValueError(f"set {i} is empty")
        return v

    @field_validator("params_file")
    @classmethod
    def _params_file(cls, v: str | None) -> str | None:
        from mlops_ci.config.models import _check_repo_path

        return None if v is None else _check_repo_path(v)

    @model_validator(mode="after")
    def _plan_fits(self) -> ExperimentsConfig:
        if self.grid or self.sets:
            from mlops_ci.core.experiments import SweepError, plan

            try:
                plan(self.grid, self.sets, max_runs=self.max_runs)
            except SweepError as exc:
                raise ValueError(str(exc)) from None
        return self
