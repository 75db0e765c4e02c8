"""`deploy:` in mlops-ci.yaml: how a promoted model is served, proved and scaled."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True)


class InferenceLogConfig(_Strict):
    """Where the server and `predict` log what the model saw, for `monitor --current`."""

    path: str | None = Field(
        None,
        description="Directory (local path or fsspec URL such as `s3://bucket/logs`) the "
        "inference log's Parquet files go to; unset: nothing is logged.",
    )
    sample: float = Field(
        1.0, gt=0, le=1, description="Share of requests (or batch rows) that are logged."
    )
    rotate_rows: int = Field(
        10_000, gt=0, description="Rows per Parquet file before the log starts a new one."
    )


class DeployConfig(_Strict):
    """Serving: the promotion proof, the server, the KServe manifest and the log."""

    prove: Literal["auto", "required", "off"] = Field(
        "auto",
        description="Before a promotion, serve the version from its release, replay its "
        "recorded sample (outputs equal within 1e-9) and measure latency. `auto`: when the "
        "version can be served (a model file and a signature); `required`: refuse one that "
        "cannot; `off`. `true`/`false` mean `required`/`off`.",
    )
    max_p95_ms: float | None = Field(
        None, gt=0, description="Refuse a promotion whose proof's p95 latency is above this."
    )
    proof_requests: int = Field(
        200, gt=0, le=100_000, description="Requests of the proof's bounded load."
    )
    proof_concurrency: int = Field(
        4, gt=0, le=64, description="Concurrent clients of the proof's bounded load."
    )
    workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Inference worker processes of the server (0: in the server's own "
        "process, the lowest latency for scikit-learn models; more for CPU-heavy models).",
    )
    image: str | None = Field(
        None,
        description="OCI image of model and runtime, without tag "
        "(default: `ghcr.io/OWNER/REPO/MODEL`).",
    )
    min_replicas: int = Field(1, ge=0, description="KServe: fewest replicas (0: scale to zero).")
    max_replicas: int = Field(3, ge=1, description="KServe: most replicas.")
    target_concurrency: int = Field(
        4, gt=0, description="KServe: in-flight requests per replica that trigger scaling out."
    )
    namespace: str | None = Field(None, description="KServe: namespace of the InferenceService.")
    log: InferenceLogConfig = Field(
        default_factory=InferenceLogConfig,
        description="Inference log of the server and of `predict`, read by `monitor`.",
    )

    @field_validator("prove", mode="before")
    @classmethod
    def _prove(cls, v: object) -> object:
        if v is True:
            return "required"
        return "off" if v is False else v

    @model_validator(mode="after")
    def _replicas_ordered(self) -> DeployConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is greater than max_replicas "
                f"({self.max_replicas})"
            )
        return self
