"""Ray: batch encoding and batch scoring on a cluster (``semrec fit --ray``, ``semrec evaluate --ray``).

Two jobs leave the machine when a Ray address is given; everything else (fitting the models,
serving) is unchanged:

- **Batch encoding** (:func:`encode_on_ray`): the catalogue's texts become a Ray Data dataset of
  chunks and ``map_batches`` runs an actor pool, each actor holding one copy of the encoder built
  from its :class:`~semrec.text.encoders.EncoderConfig`; vectors come back with their positions
  and are stored in the embedding cache as they arrive.
- **Batch scoring** (:func:`recommend_on_ray`): the fitted :class:`~semrec.pipeline.Recommender`
  goes once into the object store as its artifact, each worker loads it once, and Ray tasks
  answer shards of the queries with the same ``recommend_many`` the service calls, so
  evaluation figures equal the local run's.

Addresses (``--ray``): ``local`` starts a Ray instance on this machine (one CPU per core);
``auto`` joins the cluster this machine belongs to (``ray start`` / ``RAY_ADDRESS``); anything
else is passed to :func:`ray.init` (``ray://head:10001`` for a remote cluster through Ray Client,
``head:6379`` from a cluster node). Every node needs the same semrec and encoder packages
(``pip install 'semrec[ray]'`` in the image, or a ``runtime_env``).

References:
    P. Moritz et al. Ray: A Distributed Framework for Emerging AI Applications. OSDI 2018.
    Ray Data, ``Dataset.map_batches`` with a callable class: https://docs.ray.io/en/latest/data/
"""

from __future__ import annotations

import io
import logging
import tarfile
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from semrec.errors import SemrecError
from semrec.text.encoders import TextKind

logger = logging.getLogger(__name__)


def _ray():
    try:
        import ray
    except ImportError as exc:  # an optional dependency
        raise SemrecError("--ray needs Ray: pip install 'semrec[ray]' (ray[data])") from exc
    return ray


def connect(address: str) -> None:
    """Start or join Ray once per process (a no-op when Ray is already initialised).

    Args:
        address: ``"local"``, ``"auto"`` or a :func:`ray.init` address (see the module docstring).

    Raises:
        SemrecError: Ray is not installed, or no cluster answers at ``address``.
    """
    ray = _ray()
    if ray.is_initialized():
        return
    from semrec.text.parallel import default_workers

    options = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    try:
        if address == "local":
            ray.init(num_cpus=default_workers(), **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise SemrecError(f"cannot reach a Ray cluster at {address!r}: {exc}") from exc
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # semrec reports its own progress
    context.print_on_execution_start = False
    for name in ("ray.data", "ray"):
        logging.getLogger(name).setLevel(logging.WARNING)
    logger.info("Ray: %s CPUs", ray.cluster_resources().get("CPU"))


class _EncoderActor:
    """One encoder per actor, built once from the configuration (``map_batches`` callable class)."""

    def __init__(self, config: dict, kind: TextKind) -> None:
        from semrec.text.encoders import EncoderConfig, build_encoder
        from semrec.text.parallel import limit_threads

        encoder_config = EncoderConfig(**config)
        limit_threads(encoder_config)
        self.encoder, self.kind = build_encoder(encoder_config), kind

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode([str(t) for t in batch["text"]], kind=self.kind)
        return {"position": batch["position"], "vector": np.asarray(vectors, dtype=np.float32)}


def encode_on_ray(
    config, texts: Sequence[str], kind: TextKind, address: str, chunk_size: int = 4096
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(positions (n,) int64, vectors (n, dim) float32)`` for chunks of ``texts``, in the order
    they finish.

    Args:
        config: The :class:`~semrec.text.encoders.EncoderConfig` every actor builds.
        texts: The texts.
        kind: ``"document"`` or ``"query"``.
        address: Where Ray runs (:func:`connect`).
        chunk_size: Texts per Ray Data block and per batch.

    Raises:
        SemrecError: See :func:`connect`.
    """
    import pandas as pd

    connect(address)
    ray = _ray()
    if not len(texts):
        return
    frame = pd.DataFrame({"position": np.arange(len(texts), dtype=np.int64), "text": [str(t) for t in texts]})
    blocks = [frame.iloc[start : start + chunk_size] for start in range(0, len(frame), chunk_size)]
    cpus = int(ray.cluster_resources().get("CPU", 1))
    vectors = ray.data.from_pandas(blocks).map_batches(
        _EncoderActor,
        fn_constructor_kwargs={"config": config.model_dump(), "kind": kind},
        batch_size=chunk_size,
        batch_format="numpy",
        concurrency=max(1, min(cpus, len(blocks))),
        num_cpus=1,
    )
    for batch in vectors.iter_batches(batch_size=None, batch_format="numpy"):
        yield np.asarray(batch["position"], dtype=np.int64), np.asarray(batch["vector"], dtype=np.float32)


_models: dict[str, object] = {}
"""The artifact each Ray worker process last unpacked (key -> Recommender): loaded once per worker."""


def _answer(key: str, artifact: bytes, queries):
    model = _models.get(key)
    if model is None:
        from semrec.pipeline import Recommender

        with tempfile.TemporaryDirectory() as folder:
            with tarfile.open(fileobj=io.BytesIO(artifact)) as tar:
                tar.extractall(folder, filter="data")
            model = Recommender.load(Path(folder) / "model")
        _models.clear()
        _models[key] = model
    return model.recommend_many(queries)  # type: ignore[attr-defined]


def recommend_on_ray(model, queries: Sequence, address: str, shard_size: int = 512) -> list:
    """``model.recommend_many(queries)``, answered by Ray tasks in shards of ``shard_size``.

    The model travels as its artifact (:meth:`Recommender.save`, packed into one object in the
    object store: what is served is what is evaluated, and nothing unpicklable such as a
    LightGBM or faiss handle has to cross); each worker process loads it once, each task calls
    the served ``recommend_many`` on its shard, and the answers come back in query order.

    Raises:
        SemrecError: See :func:`connect`.
    """
    connect(address)
    ray = _ray()
    if not queries:
        return []
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "model")
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            tar.add(Path(folder) / "model", arcname="model")
    artifact = ray.put(buffer.getvalue())
    answer = ray.remote(num_cpus=1)(_answer)
    key = uuid.uuid4().hex
    shards = [list(queries[start : start + shard_size]) for start in range(0, len(queries), shard_size)]
    out: list = []
    for answers in ray.get([answer.remote(key, artifact, shard) for shard in shards]):
        out.extend(answers)
    return out
