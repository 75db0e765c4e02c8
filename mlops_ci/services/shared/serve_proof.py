"""Prove a version serves before it is promoted: start it, replay, load, measure.

The server is started from the version's model repository (the release's exact bytes,
checked), as its own process on 127.0.0.1, the way `mlops-ci serve` runs it in
production. Then:

1. the release's recorded sample is replayed in one request: every label must be equal
   and every probability within 1e-9 of what the release recorded;
2. a bounded load (`deploy.proof_requests` one-row requests from
   `deploy.proof_concurrency` clients, cycling through the sample) must be answered
   in full, each answer again equal to the sample's;
3. p50, p95 and throughput are measured; a p95 above `deploy.max_p95_ms` refuses.

The figures go into the promotion's outcome, its refusal and the Deployment's status.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.services.shared.local_server import START_SECONDS
from mlops_ci.services.shared.model_repository import CannotServe

if TYPE_CHECKING:
    from mlops_ci.services.shared.registry import Registry

__all__ = ["CannotServe", "Proof", "prove", "record_refusal", "wanted"]

TOLERANCE = 1e-9


@dataclass
class Proof:
    """What the proof measured, and why it refuses (empty: it passed)."""

    model: str
    version: str
    sample_rows: int = 0
    start_seconds: float = 0.0
    requests: int = 0
    concurrency: int = 0
    answered: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    throughput: float = 0.0
    max_p95_ms: float | None = None
    refusals: list[str] = field(default_factory=list)

    def figures(self) -> str:
        """One short line of figures (fits a Deployment status, 140 characters)."""
        if not self.requests:
            return f"replay of {self.sample_rows} rows"
        return (
            f"replay {self.sample_rows} rows; {self.answered}/{self.requests} answered; "
            f"p50 {self.p50_ms:.1f} ms, p95 {self.p95_ms:.1f} ms, {self.throughput:.0f} req/s"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "sample_rows": self.sample_rows,
            "start_seconds": round(self.start_seconds, 3),
            "requests": self.requests,
            "concurrency": self.concurrency,
            "answered": self.answered,
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "throughput": round(self.throughput, 1),
            "max_p95_ms": self.max_p95_ms,
            "refusals": list(self.refusals),
        }


def _percentile(values: list[float], share: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values), share * 100.0)) if values else 0.0


def _outputs(answer: dict[str, Any], rows: int) -> tuple[list[Any], list[list[float]]]:
    """(predictions, probabilities by row) of a V2 answer for ``rows`` rows."""
    outputs = {o.get("name"): o.get("data") for o in answer.get("outputs") or []}
    predicted, flat = outputs.get("predict") or [], outputs.get("predict_proba") or []
    width = len(flat) // rows if rows else 0
    return list(predicted), [flat[i * width : (i + 1) * width] for i in range(rows)] if flat else []


def _answer_problem(row: dict[str, Any], answer: dict[str, Any]) -> str | None:
    """Where one answer differs from a sample row's recorded outputs (one row each)."""
    from mlops_ci.core.inference import sample_problem

    predicted, proba = _outputs(answer, 1)
    return sample_problem([row], predicted, proba, tolerance=TOLERANCE)


def _replay(client: Any, path: str, rows: list[dict[str, Any]], signature: Any) -> str | None:
    """Send the whole sample in one request; where it differs from the release's."""
    from mlops_ci.core.inference import request_body, sample_problem

    columns = {name: [r["inputs"][name] for r in rows] for name in signature.names}
    status, answer = client.request("POST", path, request_body(columns, signature))
    if status != 200 or not isinstance(answer, dict):
        return f"the sample's request was answered HTTP {status}: {answer}"
    predicted, proba = _outputs(answer, len(rows))
    problem = sample_problem(rows, predicted, proba, tolerance=TOLERANCE)
    return None if problem is None else f"predictions differ from the release's sample: {problem}"


def _need_runtime() -> None:
    import importlib.util

    from mlops_ci.errors import InputError

    if importlib.util.find_spec("mlserver") is None:
        raise InputError(
            "deploy.prove: the promotion proof serves the model, and MLServer is not installed",
            hint="pip install 'mlops-ci[serve]', or set deploy.prove: false in mlops-ci.yaml",
        )


def wanted(reg: Registry, model: str) -> bool:
    """Whether a promotion of ``model`` is proved: `deploy.prove` is not `off`, and
    there is a model file to serve (a registry of other artifacts has nothing to start)."""
    return reg.config.deploy.prove != "off" and bool(reg.model_config(model).path)


def prove(reg: Registry, model: str, version: str, commit: str) -> Proof:
    """Serve ``model`` at ``version`` on 127.0.0.1 and prove it (see the module's text)."""
    from mlops_ci.adapters.inference_client import InferenceClient, bounded_load
    from mlops_ci.core.inference import request_body
    from mlops_ci.core.signature import Signature
    from mlops_ci.services.shared.local_server import local_server
    from mlops_ci.services.shared.model_repository import write_model_repository

    deploy = reg.config.deploy
    proof = Proof(model, version, max_p95_ms=deploy.max_p95_ms)
    _need_runtime()
    with tempfile.TemporaryDirectory(prefix="mlops-ci-proof-") as tmp:
        repo = write_model_repository(reg, model, version, commit, Path(tmp) / "repository")
        rows = list(repo.sample().get("rows") or [])
        signature = Signature.from_dict(repo.signature())
        proof.sample_rows = len(rows)
        if not rows:
            raise CannotServe(f"{model}@{version}: the release recorded no sample to replay")
        lifetime = START_SECONDS + 60.0 + deploy.proof_requests * 0.5
        args = ("--repository", str(repo.root), "--no-log")
        with local_server(reg.root, model, args, lifetime=lifetime) as server:
            proof.start_seconds = server.start_seconds
            if not server.ready:
                proof.refusals.append(
                    f"the server did not become ready within {START_SECONDS:g} s: "
                    f"{server.last_lines()}"
                )
                return proof
            host, port = server.host, server.port
            path = f"/v2/models/{model}/infer"
            client = InferenceClient(host, port)
            try:
                mismatch = _replay(client, path, rows, signature)
            finally:
                client.close()
            if mismatch is not None:
                proof.refusals.append(mismatch)
            bodies = [request_body({n: [r["inputs"][n]] for n in signature.names}, signature)
                      for r in rows]  # fmt: skip
            load = bounded_load(
                host,
                port,
                path,
                bodies,
                requests=deploy.proof_requests,
                concurrency=deploy.proof_concurrency,
                check=lambda i, answer: _answer_problem(rows[i % len(rows)], answer),
            )
    proof.requests, proof.concurrency = load.requests, load.concurrency
    proof.answered = load.answered
    proof.p50_ms = _percentile(load.latencies_ms, 0.50)
    proof.p95_ms = _percentile(load.latencies_ms, 0.95)
    proof.throughput = load.requests / load.seconds if load.seconds > 0 else 0.0
    if load.failures:
        proof.refusals.append(
            f"{len(load.failures)} of {load.requests} requests failed (first: {load.failures[0]})"
        )
    if deploy.max_p95_ms is not None and proof.p95_ms > deploy.max_p95_ms:
        proof.refusals.append(
            f"p95 latency {proof.p95_ms:.1f} ms is above deploy.max_p95_ms {deploy.max_p95_ms:g} ms"
        )
    return proof


def status_text(text: str) -> str:
    """GitHub keeps at most 140 characters of a deployment status's description."""
    return text if len(text) <= 140 else text[:139] + "…"


def record_refusal(
    context: Any, proof: Proof, commit: str, stage: str, environment: str
) -> dict[str, Any]:
    """A Deployment of the refused version to ``environment`` whose status is `failure`
    with the proof's figures: the Environments page shows what was tried and why not."""
    from mlops_ci.adapters.github import GitHubRepo

    gh = GitHubRepo.for_run(context)
    deployment = gh.create_deployment(
        commit,
        environment,
        payload={"model": proof.model, "version": proof.version, "stage": stage,
                 "proof": proof.as_dict()},
        description=status_text(f"{proof.model} {proof.version} to {stage}: proof"),
    )  # fmt: skip
    reason = proof.refusals[0] if proof.refusals else "refused"
    gh.set_deployment_status(
        deployment.id, "failure", description=status_text(f"refused: {proof.figures()}; {reason}")
    )
    return {"deployment_id": deployment.id, "state": "failure"}
