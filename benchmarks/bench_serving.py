"""`mlops-ci serve` (Open Inference Protocol V2 on MLServer) against `mlflow models serve`.

The model: the sample project's random forest (30 float64 features), v1.0.0 registered,
promoted to staging, then production, and released locally through the CLI
(`released_sample.py`). MLflow serves the same model file, saved with
``mlflow.sklearn.save_model`` (its default skops format, the tree type trusted, and a
signature inferred from the dataset) by MLflow's own Python, as a new process.

Servers, each a new process group on 127.0.0.1, one inference worker each
(``--workers``):

* ``mlops-ci``: ``python -m mlops_ci serve cancer-classifier --stage production --host
  127.0.0.1 --port P --workers 1``; ready when ``GET /v2/health/ready`` answers 200;
  ``POST /v2/models/cancer-classifier/infer`` with one FP64 input per feature; answers
  ``predict`` and ``predict_proba``.
* ``mlflow``: ``mlflow models serve -m DIR --host 127.0.0.1 -p P --env-manager local
  --workers 1``; ready when ``GET /ping`` answers 200; ``POST /invocations`` with
  ``{"dataframe_split": {"columns": [...], "data": [[...]]}}``; answers ``predictions``
  (``predict`` only: the pyfunc flavour calls one method).

Time to ready: from the process's start to the first 200 of the readiness endpoint
(polled every 20 ms), the median of ``--starts`` starts, alternating who goes first.

Load: this process is the client: C threads, each with its own keep-alive HTTP/1.1
connection, take request numbers from one counter until N are sent; request i carries
body i modulo the prepared bodies (encoded before the clock starts); per-request latency
from sending to the whole answer read; req/s over the round's wall time. Single rows
(default 2,000 requests from 8 clients) and 1,000-row batches (200 requests from 4
clients), ``--repeat`` rounds each, alternating which server goes first; medians of the
rounds. Rows are drawn from the dataset's rows with 2% noise, the same for both servers.

A check (not timed) sends every prepared body once to each server and compares the
answers' predictions with the model's own ``predict`` on those rows (this also warms
both servers up). The memory column is the resident size of each server's process tree
after the load (server and worker processes).

MLflow lives in its own environment (its dependencies would disturb mlops-ci's):

    python3.11 -m venv venv-mlflow
    venv-mlflow/bin/pip install mlflow scikit-learn==<mlops-ci's> pandas pyarrow
    MLOPS_CI_BENCH_MLFLOW=venv-mlflow/bin/mlflow python benchmarks/bench_serving.py

Without ``MLOPS_CI_BENCH_MLFLOW`` (or ``--mlflow``) only ``mlops-ci serve`` runs, and the
output says why MLflow did not.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from released_sample import MODEL, cli, environment, model_file, released_project, resampled
from released_sample import sample_rows as dataset_rows

SEED = 20240612
SINGLE_BODIES = 2_000
BATCH_BODIES = 10
READY_TIMEOUT = 240.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """How to start one server, reach it and read its answers."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    ready_path: str
    infer_path: str
    encode: Callable[[list[str], Any], bytes]
    predictions: Callable[[dict[str, Any]], list[Any]]
    log: Path
    starts: list[float] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self.status(self.ready_path):
            raise RuntimeError(f"{self.name}: port {self.port} answers before the server starts")
        started = time.perf_counter()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        while time.perf_counter() - started < READY_TIMEOUT:
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")
            if self.status(self.ready_path) == 200:
                self.starts.append(time.perf_counter() - started)
                return
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not ready after {READY_TIMEOUT:.0f} s")

    def status(self, path: str) -> int:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", path)
            answer = conn.getresponse()
            answer.read()
            conn.close()
            return answer.status
        except OSError:
            return 0

    def stop(self) -> None:
        """End the server's process group (server and worker processes) and wait until
        every one of them is gone: a server still shutting down would hold the port and
        answer the next start's readiness probe."""
        import psutil

        if self.process is None:
            return
        try:
            root = psutil.Process(self.process.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            tree = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        _, alive = psutil.wait_procs(tree, timeout=30)
        for survivor in alive:
            survivor.kill()
        psutil.wait_procs(alive, timeout=10)
        self.process.wait()
        self.process = None

    def resident_bytes(self) -> int:
        import psutil

        if self.process is None:
            return 0
        root = psutil.Process(self.process.pid)
        tree = [root, *root.children(recursive=True)]
        return sum(p.memory_info().rss for p in tree if p.is_running())


def v2_body(names: list[str], rows: Any) -> bytes:
    inputs = [
        {"name": name, "shape": [len(rows)], "datatype": "FP64", "data": rows[:, i].tolist()}
        for i, name in enumerate(names)
    ]
    return json.dumps({"inputs": inputs}).encode()


def v2_predictions(answer: dict[str, Any]) -> list[Any]:
    return next(o["data"] for o in answer["outputs"] if o["name"] == "predict")


def mlflow_body(names: list[str], rows: Any) -> bytes:
    return json.dumps({"dataframe_split": {"columns": names, "data": rows.tolist()}}).encode()


def mlflow_predictions(answer: dict[str, Any]) -> list[Any]:
    return list(answer["predictions"])


def post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    answer = conn.getresponse()
    return answer.status, answer.read()


def load(server: Server, bodies: list[bytes], requests: int, clients: int) -> dict[str, float]:
    """`requests` requests from `clients` keep-alive connections; req/s, p50 and p95."""
    counter = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []

    def client(mine: list[float]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        try:
            while (i := next(counter)) < requests:
                sent = time.perf_counter()
                code, data = post(conn, server.infer_path, bodies[i % len(bodies)])
                mine.append(time.perf_counter() - sent)
                if code != 200:
                    failures.append(f"{code}: {data[:300]!r}")
                    return
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(mine,)) for mine in latencies]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{server.name}: {len(failures)} failed request(s), first {failures[0]}")
    ordered = sorted(t for mine in latencies for t in mine)
    return {
        "rps": len(ordered) / wall,
        "p50": ordered[len(ordered) // 2],
        "p95": ordered[max(0, -(-len(ordered) * 95 // 100) - 1)],
    }


def same_as_model(server: Server, bodies: list[bytes], expected: list[list[Any]]) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        for body, want in zip(bodies, expected, strict=True):
            code, data = post(conn, server.infer_path, body)
            if code != 200:
                raise RuntimeError(f"{server.name}: HTTP {code}: {data[:300]!r}")
            got = server.predictions(json.loads(data))
            if [int(v) for v in got] != [int(v) for v in want]:
                return False
    finally:
        conn.close()
    return True


SAVE_SCRIPT = r"""
import sys
import joblib
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature

model = joblib.load(sys.argv[1])
data = pd.read_csv(sys.argv[3]).iloc[:, :-1]
mlflow.sklearn.save_model(
    model, sys.argv[2], signature=infer_signature(data, model.predict(data.to_numpy())),
    skops_trusted_types=["sklearn.tree._tree.Tree"],
)
"""


def mlflow_server(mlflow: Path, work: Path, root: Path, workers: int) -> Server:
    """Save the released model as an MLflow model with MLflow's own Python; its server."""
    bin_dir = mlflow.parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("PYTHONPATH", None)
    saved = work / "mlflow-model"
    data = root / "data" / "breast_cancer.csv"
    python = str(bin_dir / "python")
    argv = [python, "-c", SAVE_SCRIPT, str(model_file(root)), str(saved), str(data)]
    subprocess.run(argv, env=env, check=True, capture_output=True)
    port = free_port()
    return Server(
        name="mlflow",
        argv=[
            str(mlflow), "models", "serve", "-m", str(saved), "--host", "127.0.0.1",
            "-p", str(port), "--env-manager", "local", "--workers", str(workers),
        ],
        env=env, port=port, ready_path="/ping", infer_path="/invocations",
        encode=mlflow_body, predictions=mlflow_predictions, log=work / "mlflow.log",
    )  # fmt: skip


def ours_server(work: Path, root: Path, env: dict[str, str], workers: int) -> Server:
    port = free_port()
    argv = cli(
        "serve", MODEL, "--stage", "production", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers), "--root", str(root),
    )  # fmt: skip
    return Server(
        name="mlops-ci",
        argv=argv, env=env, port=port, ready_path="/v2/health/ready",
        infer_path=f"/v2/models/{MODEL}/infer", encode=v2_body, predictions=v2_predictions,
        log=work / "mlops-ci.log",
    )  # fmt: skip


def mlflow_executable(given: str | None) -> tuple[Path | None, str]:
    """The mlflow executable to compare with, or why there is none."""
    if not given:
        return None, (
            "MLflow: not run (set MLOPS_CI_BENCH_MLFLOW to the mlflow executable of an "
            "environment with mlflow, scikit-learn, pandas and pyarrow; see this script's help)"
        )
    path = Path(given)
    if not (path.is_file() and (path.parent / "python").exists()):
        return None, f"MLflow: not run ({given}: not an mlflow executable beside a python)"
    return path, ""


def mlflow_version(mlflow: Path) -> str:
    done = subprocess.run(
        [str(mlflow.parent / "python"), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip() or "unknown"


@dataclass
class Scenario:
    label: str
    rows: int
    requests: int
    clients: int
    data: Any
    bodies: dict[str, list[bytes]] = field(default_factory=dict)
    rounds: dict[str, list[dict[str, float]]] = field(default_factory=dict)


def print_table(servers: list[Server], scenarios: list[Scenario], workers: int) -> None:
    starts = ", ".join(
        f"{s.name} {statistics.median(s.starts):.2f} s ({', '.join(f'{t:.1f}' for t in s.starts)})"
        for s in servers
    )
    print(f"time to ready, median of {len(servers[0].starts)} starts: {starts}")
    print(f"{workers} inference worker(s) each; the client runs on the same 2 cores")
    print(
        f"{'requests':<32} {'server':<9} {'req/s':>8} {'rows/s':>9} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'x ours':>7}"
    )
    for scenario in scenarios:
        medians = {
            name: {key: statistics.median(r[key] for r in rounds) for key in ("rps", "p50", "p95")}
            for name, rounds in scenario.rounds.items()
        }
        ours = medians["mlops-ci"]["rps"]
        for name, m in medians.items():
            print(
                f"{scenario.label:<32} {name:<9} {m['rps']:>8,.1f} "
                f"{m['rps'] * scenario.rows:>9,.0f} {m['p50'] * 1000:>8.1f} "
                f"{m['p95'] * 1000:>8.1f} {m['rps'] / ours:>7.2f}"
            )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--single", type=int, default=2_000, help="single-row requests a round")
    parser.add_argument("--single-clients", type=int, default=8, help="their concurrent clients")
    parser.add_argument("--batch", type=int, default=200, help="batch requests a round")
    parser.add_argument("--batch-rows", type=int, default=1_000, help="rows of a batch request")
    parser.add_argument("--batch-clients", type=int, default=4, help="their concurrent clients")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each load (median)")
    parser.add_argument("--starts", type=int, default=3, help="starts of each server (median)")
    parser.add_argument("--workers", type=int, default=1, help="inference workers of each server")
    parser.add_argument(
        "--mlflow",
        default=os.environ.get("MLOPS_CI_BENCH_MLFLOW"),
        help="mlflow executable (default: $MLOPS_CI_BENCH_MLFLOW)",
    )
    parser.add_argument("--tmp", default=tempfile.gettempdir(), help="where the project is made")
    return parser.parse_args()


def scenarios_for(args: argparse.Namespace, matrix: Any) -> list[Scenario]:
    """Single rows and batches drawn from the dataset's rows, the same for every server."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    return [
        Scenario(
            f"1 row, {args.single:,} req, {args.single_clients} clients", 1,
            args.single, args.single_clients,
            [resampled(matrix, 1, rng) for _ in range(SINGLE_BODIES)],
        ),
        Scenario(
            f"{args.batch_rows:,} rows, {args.batch:,} req, {args.batch_clients} clients",
            args.batch_rows, args.batch, args.batch_clients,
            [resampled(matrix, args.batch_rows, rng) for _ in range(BATCH_BODIES)],
        ),
    ]  # fmt: skip


def measure(
    servers: list[Server], scenarios: list[Scenario], args: argparse.Namespace, model: Any
) -> list[str]:
    """Starts, the check, then the load rounds; returns the check's lines."""
    for attempt in range(args.starts):
        for server in servers if attempt % 2 == 0 else servers[::-1]:
            server.start()
            if attempt < args.starts - 1:
                server.stop()
    import numpy as np

    expected = {}
    for s in scenarios:  # one call: a forest's predict costs milliseconds even on one row
        labels = model.predict(np.vstack(s.data)).tolist()
        expected[s.label] = [labels[i * s.rows : (i + 1) * s.rows] for i in range(len(s.data))]
    checks = []
    for server in servers:
        ok = all(same_as_model(server, s.bodies[server.name], expected[s.label]) for s in scenarios)
        rows = sum(len(s.data) * s.rows for s in scenarios)
        checks.append(f"{server.name} {'yes' if ok else 'NO'} ({rows:,} rows)")
    for round_ in range(args.repeat):
        for scenario in scenarios:
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                result = load(
                    server, scenario.bodies[server.name], scenario.requests, scenario.clients
                )
                scenario.rounds[server.name].append(result)
    return checks


def main() -> None:
    import joblib

    args = arguments()
    env = environment()
    mlflow, why_not = mlflow_executable(args.mlflow)
    work = Path(tempfile.mkdtemp(prefix="bench-serving-", dir=args.tmp))
    servers: list[Server] = []
    try:
        root = released_project(work / "sample", env, release=True)
        servers.append(ours_server(work, root, env, args.workers))
        if mlflow is not None:
            servers.append(mlflow_server(mlflow, work, root, args.workers))
        names, matrix = dataset_rows(root)
        scenarios = scenarios_for(args, matrix)
        for scenario in scenarios:
            for server in servers:
                scenario.bodies[server.name] = [server.encode(names, d) for d in scenario.data]
                scenario.rounds[server.name] = []
        checks = measure(servers, scenarios, args, joblib.load(model_file(root)))
        memory = ", ".join(f"{s.name} {s.resident_bytes() / 2**20:,.0f} MiB" for s in servers)
        print_table(servers, scenarios, args.workers)
        print(f"resident memory of each server's processes after the load: {memory}")
        print(f"same predictions as the model's own predict: {', '.join(checks)}")
        print(
            "answers: mlops-ci predict and predict_proba (V2 JSON); "
            + (f"mlflow {mlflow_version(mlflow)} predict only" if mlflow else why_not)
        )
        if any("NO" in c for c in checks):
            sys.exit(1)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
