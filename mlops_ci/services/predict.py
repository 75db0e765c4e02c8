"""Batch scoring: the model holding a stage (or a given version) scores a table.

The version's commit comes from the registry; the model file at that commit is fetched
(git or DVC) with its sha256, and its MD5 checked against what `dvc.lock` records there.
The input is read in record batches of at most `chunk_rows` rows, each predicted and
written before the next is read, so memory holds one batch whatever the input's size.

The output keeps every input column, then `prediction`, then `proba_<class>` per class
when the model has `predict_proba`. Provenance (model, version, commit, model sha256,
input sha256) is in the Parquet file metadata under `mlops_ci.*`; a CSV carries it as
three trailing columns (`mlops_ci_model`, `mlops_ci_model_version`,
`mlops_ci_input_sha256`).

With an inference log (`--log`, or `deploy.log.path` in mlops-ci.yaml) each chunk's
feature columns and outputs also go to `adapters.inference_log`, sampled and rotated
as `deploy.log` says, for `monitor --current` to read.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import InputError

if TYPE_CHECKING:
    from mlops_ci.adapters.inference_log import InferenceLog
    from mlops_ci.config import Config
    from mlops_ci.services.shared.job import Job
    from mlops_ci.services.shared.registry import Registry

DEFAULT_CHUNK_ROWS = 100_000


@dataclass
class PredictRequest:
    root: Path
    model: str
    input: str
    output: str
    job: Job
    stage: str | None = None
    version: str | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    #: Inference log directory (path or fsspec URL); None: `deploy.log.path`, if set.
    log: str | None = None
    #: Log nothing, whatever `deploy.log.path` says.
    no_log: bool = False


@dataclass
class PredictOutcome:
    model: str
    version: str
    commit: str
    model_sha256: str
    input_sha256: str
    output: str
    rows: int = 0
    chunks: int = 0
    features: list[str] = field(default_factory=list)
    #: The inference log's directory, the rows it kept and those it could not write.
    log: str | None = None
    logged: int = 0
    log_dropped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_version": self.version,
            "commit": self.commit,
            "model_sha256": self.model_sha256,
            "input_sha256": self.input_sha256,
            "output": self.output,
            "rows": self.rows,
            "chunks": self.chunks,
            "log": self.log,
            "logged_rows": self.logged,
            "log_dropped_rows": self.log_dropped,
        }


def load_model_at(reg: Registry, model: str, commit: str) -> tuple[Any, str]:
    """(model object, sha256 of its file) at `commit`; refused when its bytes differ
    from the MD5 that `dvc.lock` records there. Unpickling runs the project's own file."""
    from mlops_ci.services.shared.lineage import fetch_model
    from mlops_ci.services.shared.model_repository import check_lock_md5

    path = reg.model_config(model).path
    if not path:
        raise InputError(f"mlops-ci.yaml: models.{model}.path: expected the model file's path")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "model"
        sha, _ = fetch_model(reg, path, commit, staged)
        check_lock_md5(reg, path, commit, staged)
        try:
            import joblib

            return joblib.load(staged), sha
        except Exception as exc:
            raise InputError(
                f"{path} at {commit[:12]}: not a loadable pickle/joblib model: {exc}"
            ) from None


def feature_columns(model: Any, columns: list[str], target: str | None) -> list[str]:
    """The columns the model scores: its `feature_names_in_`, else every input column
    but the target, which must then be as many as `n_features_in_`."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        wanted = [str(n) for n in names]
        missing = [n for n in wanted if n not in columns]
        if missing:
            raise InputError(f"missing column {missing[0]!r} that the model expects")
        return wanted
    features = [c for c in columns if c != target]
    expected = getattr(model, "n_features_in_", None)
    if isinstance(expected, int) and expected != len(features):
        raise InputError(
            f"expected {expected} feature columns (the model's n_features_in_), "
            f"found {len(features)}" + (f" besides the target {target!r}" if target else "")
        )
    return features


def _score(model: Any, batch: Any, features: list[str], named: bool) -> Any:
    """The batch with `prediction` and `proba_<class>` columns appended. A model fitted
    on named columns is given an Arrow table (scikit-learn reads its column names)."""
    import numpy as np
    import pyarrow as pa

    try:
        columns = [
            batch.column(name).to_numpy(zero_copy_only=False).astype(float) for name in features
        ]
    except (ValueError, TypeError) as exc:
        raise InputError(f"feature columns must be numeric: {exc}") from None
    matrix: Any = (
        pa.table(dict(zip(features, columns, strict=True))) if named else np.column_stack(columns)
    )
    out = batch.append_column("prediction", pa.array(np.asarray(model.predict(matrix))))
    if hasattr(model, "predict_proba"):
        proba = np.asarray(model.predict_proba(matrix))
        for i, label in enumerate(getattr(model, "classes_", range(proba.shape[1]))):
            out = out.append_column(f"proba_{label}", pa.array(proba[:, i]))
    return out


def _provenance(batch: Any, meta: dict[str, str]) -> Any:
    import pyarrow as pa

    for key in ("model", "model_version", "input_sha256"):
        batch = batch.append_column(f"mlops_ci_{key}", pa.array([meta[key]] * batch.num_rows))
    return batch


def _columns(batch: Any, names: list[str]) -> Any:
    import pyarrow as pa

    return pa.Table.from_batches([batch.select(names)])


def _outputs(scored: Any, batch: Any) -> Any:
    """The columns scoring added: `prediction` and `proba_<class>`."""
    return _columns(scored, scored.schema.names[batch.num_columns :])


def run_predict(request: PredictRequest) -> PredictOutcome:
    from mlops_ci.adapters import scoring_io
    from mlops_ci.adapters.tables import resolve_files, storage_options_from_env
    from mlops_ci.services.shared.registry import open_registry
    from mlops_ci.services.shared.versions import resolve_version

    if request.chunk_rows < 1:
        raise InputError(f"--chunk-rows {request.chunk_rows}: expected a positive number")
    fmt = scoring_io.output_format(request.output)
    reg = open_registry(request.root)
    version, commit = resolve_version(reg, request.model, request.stage, request.version)
    model, model_sha = load_model_at(reg, request.model, commit)
    env = request.job.env
    fs, files = resolve_files(
        request.input, request.root, storage_options_from_env(request.input, env)
    )
    outcome = PredictOutcome(
        request.model, version, commit, model_sha, scoring_io.sha256_of(fs, files), request.output
    )
    meta = {
        "model": request.model,
        "model_version": version,
        "model_commit": commit,
        "model_sha256": model_sha,
        "input_sha256": outcome.input_sha256,
    }
    target = reg.config.monitor.target
    options = storage_options_from_env(request.output, env)
    log = _inference_log(request, reg.config, version)
    try:
        with scoring_io.table_writer(request.output, request.root, meta, options) as writer:
            for name in files:
                _score_file(
                    request, model, (fs, name), (writer, log), outcome, target, fmt == "csv", meta
                )
    finally:
        if log is not None:
            log.close()
            outcome.log, outcome.logged, outcome.log_dropped = log.url, log.written, log.dropped
    return outcome


def _inference_log(request: PredictRequest, config: Config, version: str) -> InferenceLog | None:
    """The inference log the scored chunks go to, or None when logging is off."""
    settings = config.deploy.log
    where = None if request.no_log else (request.log or settings.path)
    if not where:
        return None
    from mlops_ci.adapters.inference_log import InferenceLog
    from mlops_ci.adapters.tables import is_url, storage_options_from_env

    if not is_url(where) and not Path(where.removeprefix("file://")).is_absolute():
        where = str(request.root / where.removeprefix("file://"))
    return InferenceLog(
        where,
        model=request.model,
        version=version,
        sample=settings.sample,
        rotate_rows=settings.rotate_rows,
        storage_options=storage_options_from_env(where, request.job.env),
    )


def _score_file(  # noqa: PLR0917 - one file's scoring state, kept together
    request: PredictRequest,
    model: Any,
    source: tuple[Any, str],
    sinks: tuple[Any, InferenceLog | None],
    outcome: PredictOutcome,
    target: str | None,
    csv: bool,
    meta: dict[str, str],
) -> None:
    import pyarrow as pa

    from mlops_ci.adapters import scoring_io

    fs, name = source
    writer, log = sinks
    total = scoring_io.file_size(fs, name) or None

    def tell(done: int) -> None:
        request.job.progress.advance(name, done, total)

    named = getattr(model, "feature_names_in_", None) is not None
    try:
        for batch in scoring_io.iter_batches(fs, name, request.chunk_rows, tell):
            if not outcome.features:
                outcome.features = feature_columns(model, batch.schema.names, target)
            missing = [c for c in outcome.features if c not in batch.schema.names]
            if missing:
                raise InputError(f"missing column {missing[0]!r} that the model expects")
            scored = _score(model, batch, outcome.features, named)
            writer.write(_provenance(scored, meta) if csv else scored)
            if log is not None:
                log.record(_columns(scored, outcome.features), _outputs(scored, batch))
            outcome.rows += batch.num_rows
            outcome.chunks += 1
    except InputError as exc:
        raise InputError(f"{name}: {exc.message}", file=name, hint=exc.hint) from None
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{name}: not readable as a table: {reason[:300]}", file=name) from None
