"""Artifact folders: everything serving needs, no pickles, checked on load.

Files: ``manifest.json`` (format version, package versions, config hash, encoder identity,
sha256 of every file), ``config.json``, ``arrays.npz`` (loaded with ``allow_pickle=False``),
``items.parquet`` and the onboarding ranker's LightGBM model texts (``onboarding-<fold>.txt``).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from semrec.config import RecommenderConfig
from semrec.data.fetch import sha256_file
from semrec.errors import ArtifactError
from semrec.features import FeatureSpec, Projection
from semrec.ltr.onboarding import OnboardingRanker
from semrec.pipeline.catalogue import Catalogue
from semrec.pipeline.models import Models
from semrec.pipeline.recommender import Recommender
from semrec.pipeline.users import ArtifactUsers, flatten, unflatten
from semrec.scorers import ItemConditionalScorer, MostPopularScorer
from semrec.scorers.described import DescribedUsersModel
from semrec.scorers.prior import prior_from_state
from semrec.text import TextEncoder
from semrec.vocab import IdVocabulary

logger = logging.getLogger(__name__)

FORMAT = "semrec-artifact"
FORMAT_VERSION = 3
PACKAGES = (
    "semrec",
    "numpy",
    "scipy",
    "pandas",
    "implicit",
    "torch",
    "sentence-transformers",
    "transformers",
    "lightgbm",
)


def _versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _arrays(model: Recommender) -> dict[str, np.ndarray]:
    models, users, catalogue = model.models, model.users, model.catalogue
    indptr, indices = flatten(users.histories)
    arrays = {
        "user_ids": users.vocab.ids,
        "history_indptr": indptr,
        "history_indices": indices,
        "history_times": flatten(users.times)[1],
        "item_embeddings": catalogue.embeddings.astype(np.float32),
        "removed_items": np.asarray(sorted(catalogue.removed), dtype=np.int64),
        "popularity/counts": models.popularity.counts,
        **{f"scorer/{k}": v for k, v in models.scorer.get_state().items()},
    }
    if models.conditional is not None:
        arrays.update({f"conditional/{k}": v for k, v in models.conditional.get_state().items()})
    if models.prior is not None:
        arrays.update({f"prior/{k}": v for k, v in models.prior.state().items()})
    if catalogue.projection is not None:
        arrays["pca/mean"], arrays["pca/components"] = catalogue.projection.mean, catalogue.projection.components
    if catalogue.feature_spec is not None:
        arrays["feature_spec"] = np.array(catalogue.feature_spec.to_json())
    if models.onboarding is not None:
        arrays.update(models.onboarding.get_state())
    if models.described is not None:
        arrays.update({f"described/{k}": v for k, v in models.described.get_state().items()})
    if catalogue.ann is not None:
        arrays["ann/index"] = catalogue.ann.to_array()
        arrays["ann/stale"] = np.asarray(sorted(catalogue.ann_stale), dtype=np.int64)
    return arrays


def save(model: Recommender, directory: str | Path) -> Path:
    """Write ``model`` to ``directory`` atomically (a temporary sibling renamed into place).

    Returns:
        The artifact folder.

    Raises:
        ArtifactError: ``directory`` exists and is not a semrec artifact.
    """
    directory = Path(directory).resolve()
    recover(directory)
    if directory.exists() and not _is_artifact(directory):
        raise ArtifactError(f"{directory} exists and is not a semrec artifact; refusing to overwrite it")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        names = ["arrays.npz", "items.parquet", "config.json"]
        np.savez(tmp / "arrays.npz", allow_pickle=False, **_arrays(model))
        if model.models.onboarding is not None:
            for fold, text in enumerate(model.models.onboarding.model_texts):
                names.append(f"onboarding-{fold}.txt")
                (tmp / names[-1]).write_text(text)
        model.catalogue.items.to_parquet(tmp / "items.parquet", index=False)
        (tmp / "config.json").write_text(model.config.model_dump_json(indent=2))
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(),
            "versions": _versions(),
            "scorer": model.scorer.name,
            "scored_items": model.scorer.fitted_n_items(),
            "config_sha256": model.config.digest(),
            "encoder": model.catalogue.encoder_identity,
            "n_items": model.n_items,
            "n_users": len(model.users.vocab),
            "files": {name: sha256_file(tmp / name) for name in names},
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            directory.replace(old)
            tmp.replace(directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.replace(directory)
    except OSError as exc:  # a full disk, a quota, a read-only file system: the user's to fix
        shutil.rmtree(tmp, ignore_errors=True)
        kept = "the previous artifact there is unchanged" if directory.exists() else "nothing was written"
        raise ArtifactError(f"cannot write the artifact {directory}: {exc.strerror or exc}; {kept}") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def _manifest(directory: Path) -> dict:
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise ArtifactError(f"{directory}: not a semrec artifact (no manifest.json); run `semrec fit` first")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{manifest_path}: invalid JSON ({exc})") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{directory}: unsupported artifact format {manifest.get('format')} "
            f"v{manifest.get('format_version')} (this semrec reads v{FORMAT_VERSION}); "
            "run `semrec fit` again"
        )
    for name, digest in manifest["files"].items():
        path = directory / name
        if not path.is_file():
            raise ArtifactError(f"{directory}: {name} is missing")
        if sha256_file(path) != digest:
            raise ArtifactError(f"{path}: sha256 differs from the manifest (corrupted or edited)")
    return manifest


def _prefixed(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def load(directory: str | Path, encoder: TextEncoder | None = None) -> Recommender:
    """Load an artifact written by :func:`save`; needs no training data.

    Args:
        directory: The artifact folder.
        encoder: Use this encoder for query texts (must have the artifact's identity).

    Raises:
        ArtifactError: Missing folder or file, a file whose sha256 differs from the manifest,
            an unsupported format version, or an encoder of another identity.
    """
    directory = Path(directory)
    recover(directory)
    manifest = _manifest(directory)
    if encoder is not None and dict(encoder.identity) != manifest["encoder"]:
        raise ArtifactError(f"encoder identity {encoder.identity} differs from the artifact's {manifest['encoder']}")
    config = RecommenderConfig.model_validate_json((directory / "config.json").read_text())
    with np.load(directory / "arrays.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    items = pd.read_parquet(directory / "items.parquet")
    scored = int(manifest["scored_items"])
    scorer = config.build_scorer()
    scorer.set_state(_prefixed(arrays, "scorer"), scored)
    popularity = MostPopularScorer()
    popularity.set_state({"counts": arrays["popularity/counts"]}, scored)
    models = Models(scorer, popularity)
    if "conditional/weights" in arrays:
        models.conditional = ItemConditionalScorer()
        models.conditional.set_state(_prefixed(arrays, "conditional"), scored)
    if any(k.startswith("prior/") for k in arrays):
        models.prior = prior_from_state(_prefixed(arrays, "prior"))
    boosters = sorted((n for n in manifest["files"] if n.startswith("onboarding-")), key=lambda n: int(n[11:-4]))
    if boosters:
        texts = [(directory / n).read_text() for n in boosters]
        models.onboarding = OnboardingRanker.from_state(config.onboarding, arrays, texts)
    if any(k.startswith("described/") for k in arrays):
        models.described = DescribedUsersModel.from_state(_prefixed(arrays, "described"))
    projection = Projection(arrays["pca/mean"], arrays["pca/components"]) if "pca/mean" in arrays else None
    spec = FeatureSpec.from_json(str(arrays["feature_spec"])) if "feature_spec" in arrays else None
    catalogue = Catalogue(
        items, arrays["item_embeddings"], config.encoder, manifest["encoder"], config.text, projection, spec, encoder
    )
    catalogue.removed = set(arrays["removed_items"].tolist())
    if "ann/index" in arrays:
        from semrec.pipeline.ann import ANNIndex

        catalogue.ann = ANNIndex.from_array(arrays["ann/index"], config.ann)
        catalogue.ann_stale = set(arrays["ann/stale"].tolist())
    scorer.bind_embeddings(catalogue.embeddings[:scored])
    indptr = arrays["history_indptr"]
    users = ArtifactUsers(
        IdVocabulary(arrays["user_ids"], "user"),
        unflatten(indptr, arrays["history_indices"]),
        unflatten(indptr, arrays["history_times"]),
    )
    return Recommender(config, catalogue, users, models)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def recover(directory: str | Path) -> Path | None:
    """Finish a swap that a crash (SIGKILL, power loss) interrupted; a no-op when ``directory`` exists.

    :func:`save` writes a complete new folder next to the artifact (``.<name>.<random>``, its
    manifest written last), moves the old one aside (``.<name>.old-<pid>``) and renames the new
    one into place. A crash between the two renames leaves no ``directory``; this puts back the
    newest sibling whose manifest verifies (every file's sha256), so what serves after a restart
    is the old model or the new one, never a half-written one; the other siblings are removed.
    A crash before the first rename leaves the old artifact in place (and the new folder as
    debris, which is not removed: it may be another process's save in progress).

    Returns:
        The sibling that was put in place, or ``None``.
    """
    directory = Path(directory).resolve()
    if directory.exists() or not directory.parent.is_dir():
        return None
    time.sleep(0.5)  # a save in another process may be between its two renames right now
    if directory.exists():
        return None
    siblings = sorted(directory.parent.glob(f".{directory.name}.*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for sibling in siblings:
        try:
            _manifest(sibling)
        except ArtifactError:
            continue
        sibling.replace(directory)
        logger.warning("artifact %s was missing after an interrupted swap: restored from %s", directory, sibling.name)
        for other in siblings:
            if other != sibling:
                shutil.rmtree(other, ignore_errors=True)
        return sibling
    return None


def _is_artifact(directory: Path) -> bool:
    """A folder written by :func:`save` (safe to replace)."""
    try:
        return directory.is_dir() and json.loads((directory / "manifest.json").read_text()).get("format") == FORMAT
    except (OSError, json.JSONDecodeError, AttributeError):
        return False
