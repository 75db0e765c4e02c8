"""`evaluation:` in mlops-ci.yaml: the per-example rows behind noise-aware deltas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The metrics a paired bootstrap can recompute from per-example rows.
EvaluationMetric = Literal[
    "accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "rmse", "mae", "r2"
]


class EvaluationConfig(BaseModel):
    """Per-example evaluation rows: with them, metric deltas get bootstrap intervals."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, validate_default=True)

    file: str | None = Field(
        None,
        description="CSV/TSV the pipeline writes with one row per evaluated example "
        "(read at base and head, like a metrics file); unset: the noise of deltas is unknown.",
    )
    label: str = Field("label", description="Column of the true label (or value).")
    prediction: str | None = Field(
        None, description="Column of the predicted label (or value, for regression)."
    )
    score: str | None = Field(
        None,
        description="Column of the predicted probability of the positive class "
        "(binary labels): for `roc_auc` and `log_loss`.",
    )
    id: str | None = Field(
        None,
        description="Column identifying an example: base and head rows are joined on it "
        "(default: by row position, with equal labels).",
    )
    task: Literal["auto", "classification", "regression"] = Field(
        "auto", description="`auto`: text labels or few whole numbers are classes."
    )
    metrics: list[EvaluationMetric] = Field(
        default_factory=list, description="Metrics to recompute (default: all the columns allow)."
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Confidence level of the intervals.")
    resamples: int = Field(9999, ge=100, le=100_000, description="Bootstrap resamples.")
    seed: int = Field(0, ge=0, description="Seed of the resampling (same seed, same interval).")

    @field_validator("file")
    @classmethod
    def _file(cls, v: str | None) -> str | None:
        from mlops_ci.config.models import _check_repo_path

        return None if v is None else _check_repo_path(v)

    @model_validator(mode="after")
    def _has_predictions(self) -> EvaluationConfig:
        if self.file is not None and self.prediction is None and self.score is None:
            raise ValueError("evaluation needs a `prediction` or a `score` column")
        return self
