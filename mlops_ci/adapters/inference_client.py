"""A small Open Inference Protocol client over keep-alive HTTP/1.1 connections.

Used to prove a server before a promotion: wait until it is ready, send requests, and
put a bounded load on it from a few concurrent clients, recording each latency. Only
the standard library: the proof must not depend on what the user's project installs.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

#: A check of one answer: None when it is right, else why not.
AnswerCheck = Callable[[int, dict[str, Any]], str | None]


class InferenceClient:
    """One keep-alive connection to a server; reconnects once after a dropped one."""

    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        """(HTTP status, JSON answer or None)."""
        payload = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
                break
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def wait_ready(
    host: str, port: int, model: str, *, deadline: float, alive: Callable[[], bool]
) -> bool:
    """Poll the model's readiness until ``deadline`` (monotonic seconds); False when the
    deadline passes or the server process dies first."""
    client = InferenceClient(host, port, timeout=2.0)
    try:
        while time.monotonic() < deadline and alive():
            try:
                status, _ = client.request("GET", f"/v2/models/{model}/ready")
                if status == 200:
                    return True
            except OSError:
                client.close()
            time.sleep(0.1)
        return False
    finally:
        client.close()


@dataclass
class LoadResult:
    """What a bounded load measured."""

    requests: int
    concurrency: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return len(self.latencies_ms) - len(self.failures)


def bounded_load(
    host: str,
    port: int,
    path: str,
    bodies: Sequence[dict[str, Any]],
    *,
    requests: int,
    concurrency: int,
    check: AnswerCheck,
) -> LoadResult:
    """Send ``requests`` POSTs (body ``i % len(bodies)`` for request ``i``) from
    ``concurrency`` clients, each on its own connection; every answer is checked."""
    result = LoadResult(requests, concurrency)
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        client = InferenceClient(host, port)
        try:
            while True:
                with lock:
                    index = next(counter, None)
                if index is None:
                    return
                start = time.perf_counter()
                try:
                    status, answer = client.request("POST", path, bodies[index % len(bodies)])
                    problem = check(index, answer if isinstance(answer, dict) else {})
                    if status != 200:
                        problem = f"HTTP {status}: {answer}"
                except OSError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                elapsed = (time.perf_counter() - start) * 1000.0
                with lock:
                    result.latencies_ms.append(elapsed)
                    if problem is not None:
                        result.failures.append(f"request {index}: {problem}")
        finally:
            client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - began
    return result
