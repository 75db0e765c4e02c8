"""`mlops-ci serve` as its own process on 127.0.0.1, for as long as a block runs.

The promotion proof and the demo both start the server the way a user does (a new
process, on a free port), wait a bounded time for the model to be ready, work against
it, and stop its whole process group on leaving the block (MLServer then writes what
its inference log still buffers).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_ci.adapters.process import BackgroundChild

HOST = "127.0.0.1"
#: MLServer is ready in 2-5 s; a loaded machine may take much longer.
START_SECONDS = 90.0


@dataclass
class LocalServer:
    """A started server: where it listens, whether its model became ready, how fast."""

    port: int
    child: BackgroundChild
    ready: bool
    start_seconds: float
    host: str = HOST

    def last_lines(self) -> str:
        """The server's last output lines on one line, for a message."""
        return self.child.last_lines(3).replace("\n", " | ")


@contextmanager
def local_server(
    root: Path,
    model: str,
    serve_args: Sequence[str],
    *,
    lifetime: float,
    start_seconds: float = START_SECONDS,
) -> Iterator[LocalServer]:
    """`mlops-ci serve SERVE_ARGS` on a free port of 127.0.0.1, run in ``root``; the
    block gets it once ``model`` is ready or ``start_seconds`` have passed (`ready`
    says which). Stopped on leaving the block, or after ``lifetime`` seconds."""
    from mlops_ci.adapters.inference_client import wait_ready
    from mlops_ci.adapters.mlserver import free_port
    from mlops_ci.adapters.process import background_child, python_command, tool_env

    port = free_port(HOST)
    argv = python_command(
        "-m", "mlops_ci", "serve", *serve_args, "--host", HOST, "--port", str(port)
    )  # fmt: skip
    with background_child(argv, cwd=root, env=tool_env(), lifetime=lifetime) as child:
        began = time.monotonic()
        ready = wait_ready(
            HOST, port, model, deadline=began + start_seconds, alive=lambda: child.running
        )
        yield LocalServer(port, child, ready, time.monotonic() - began)
