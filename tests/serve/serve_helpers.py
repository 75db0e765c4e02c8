"""`mlops-ci serve` as its own process on 127.0.0.1, and a plain HTTP client of it.

The server is started as users start it (`python -m mlops_ci serve ...`), waited for
with a bounded loop, and always stopped: SIGTERM, then SIGKILL to its process group.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.cli import main
from mlops_ci.core.signature import Signature
from mlops_ci.services.shared.sample_project import SampleProject

MODEL = "cancer-classifier"
VERSION = "v1.0.0"
TAG = f"{MODEL}@{VERSION}"
#: MLServer is ready in 2-5 s; a loaded machine may take much longer.
READY_SECONDS = 60.0
PROBA_TOLERANCE = 1e-9


@dataclass
class Oracle:
    """Rows (signature order) and the model's own outputs on them."""

    signature: Signature
    matrix: Any
    labels: list[Any]
    proba: list[list[float]]
    model: Any = field(repr=False, default=None)

    def columns(self, rows: Sequence[int]) -> dict[str, list[float]]:
        names = self.signature.names
        return {n: [float(self.matrix[r, j]) for r in rows] for j, n in enumerate(names)}

    def columns_body(self, rows: Sequence[int]) -> dict[str, Any]:
        """The columns form: one FP64 input per feature."""
        return {
            "inputs": [
                {"name": n, "shape": [len(rows)], "datatype": "FP64", "data": values}
                for n, values in self.columns(rows).items()
            ]
        }

    def matrix_body(self, rows: Sequence[int]) -> dict[str, Any]:
        """The numpy client's form: one `[n, k]` input, features in order."""
        width = len(self.signature.names)
        data = [float(v) for r in rows for v in self.matrix[r]]
        return {"inputs": [{"name": "x", "shape": [len(rows), width], "datatype": "FP64",
                            "data": data}]}  # fmt: skip

    def check(self, answer: dict[str, Any], rows: Sequence[int]) -> float:
        """Assert the answer is the model's own on `rows`; the largest probability
        difference."""
        outputs = {o["name"]: o for o in answer["outputs"]}
        assert outputs["predict"]["shape"] == [len(rows)]
        assert outputs["predict"]["data"] == [self.labels[r] for r in rows]
        proba = outputs["predict_proba"]
        width = len(self.proba[0])
        assert proba["shape"] == [len(rows), width]
        expected = [p for r in rows for p in self.proba[r]]
        assert len(proba["data"]) == len(expected)
        worst = max((abs(a - e) for a, e in zip(proba["data"], expected, strict=True)), default=0.0)
        assert worst <= PROBA_TOLERANCE, worst
        return worst


def run_cli(*args: str) -> tuple[int, str]:
    """`mlops-ci ARGS` in this process: its exit code and what it printed."""
    printed = io.StringIO()
    with (
        contextlib.redirect_stdout(printed),
        contextlib.redirect_stderr(printed),
        pytest.raises(SystemExit) as info,
    ):
        main(list(args))
    code = info.value.code
    return (code if isinstance(code, int) else 1), printed.getvalue()


def release_dir(project: SampleProject) -> Path:
    return project.root / ".mlops-ci" / "release" / TAG


def child_env() -> dict[str, str]:
    """This environment without a runner's or GitHub's variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
    for name in ("CI", "MLOPS_CI_GITHUB_TOKEN"):
        env.pop(name, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    model: str = MODEL

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")

    def request(
        self, method: str, path: str, body: bytes | None = None, *, timeout: float = 30.0
    ) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, Any]:
        status, raw = self.request("GET", path)
        return status, json.loads(raw) if raw else None

    def infer(self, body: dict[str, Any] | bytes, model: str | None = None) -> tuple[int, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, answer = self.request("POST", f"/v2/models/{model or self.model}/infer", raw)
        return status, json.loads(answer)

    def wait_ready(self, seconds: float = READY_SECONDS) -> bool:
        """True once the model answers ready; False if the process ends first or
        `seconds` pass."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError, http.client.HTTPException):
                if self.request("GET", f"/v2/models/{self.model}/ready", timeout=2)[0] == 200:
                    return True
            time.sleep(0.1)
        return False

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 15 s; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        return self.process.returncode


@contextlib.contextmanager
def serving(
    cwd: Path, log: Path, *args: str, model: str = MODEL, ready: bool = True, workers: int = 0
) -> Iterator[Server]:
    """`mlops-ci serve ARGS --port <free> --workers N` running in `cwd`; with `ready`,
    fails unless the model is ready within READY_SECONDS. Always stopped after."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlops_ci", "serve", *args, "--port", str(port),
             "--workers", str(workers)],
            cwd=cwd, env=child_env(), stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(process, port, log, model)
    try:
        if ready and not server.wait_ready():
            raise AssertionError(
                f"the server was not ready in {READY_SECONDS:.0f} s "
                f"(exit {process.poll()}):\n{server.output()[-3000:]}"
            )
        yield server
    finally:
        server.stop()
