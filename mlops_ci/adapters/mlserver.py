"""Starting MLServer on a model repository, in this process, until it is stopped.

MLServer reads `settings.json` and each `model-settings.json` of the repository itself
(`load_settings`, as `mlserver start` does); we only override where it listens and how
many inference workers it runs. SIGINT and SIGTERM stop it gracefully (MLServer's own
handlers), which also unloads the model and so flushes its inference log.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.errors import InputError


@dataclass(frozen=True)
class Listen:
    """Where the server listens."""

    host: str = "127.0.0.1"
    http_port: int = 8080
    grpc_port: int = 0
    metrics_port: int | None = None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def check_port(host: str, port: int) -> None:
    """One clear line when the port is taken, before MLServer starts anything."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise InputError(f"--port {port}: cannot listen on {host}:{port}: {reason}") from None


def serve_repository(root: Path, listen: Listen, *, workers: int | None = None) -> None:
    """Serve every model of the repository at ``root``; returns when the server stops."""
    import asyncio

    from mlserver import MLServer
    from mlserver.cli.serve import load_settings

    check_port(listen.host, listen.http_port)

    async def run() -> None:
        settings, models = await load_settings(str(root))
        settings.host = listen.host
        settings.http_port = listen.http_port
        settings.grpc_port = listen.grpc_port or free_port(listen.host)
        if listen.metrics_port is None:
            settings.metrics_endpoint = None
        else:
            settings.metrics_port = listen.metrics_port
        if workers is not None:
            settings.parallel_workers = workers
        server = MLServer(settings)
        await server.start(models)

    asyncio.run(run())
