"""Run `semrec serve` as a real subprocess on loopback (tests and benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

KEY = "fault-test-key-0123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fit_tiny(catalogue, directory: Path) -> Path:
    """A small artifact (hashing encoder, no model weights) from the catalogue fixture."""
    catalogue.items.to_csv(directory / "items.csv", index=False)
    catalogue.interactions.to_csv(directory / "interactions.csv", index=False)
    out = directory / "model"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "semrec.cli",
            "fit",
            "--items",
            str(directory / "items.csv"),
            "--interactions",
            str(directory / "interactions.csv"),
            "--encoder",
            "hashing",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out


class Server:
    """``semrec serve`` in its own process group; ``kill()`` sends SIGKILL."""

    def __init__(
        self, model: Path, db: str, port: int | None = None, workers: int = 1, options: Sequence[str] = ()
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SEMREC_API_KEY": KEY}
        command = [
            "serve",
            "--model",
            str(model),
            "--db",
            db,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            *options,
        ]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "semrec.cli", *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                assert self.process.stderr is not None  # opened with stderr=PIPE
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not start within 60 s")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
