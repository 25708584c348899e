"""SASRec: self-attentive sequential recommendation (torch), the published sequential baseline.

The architecture is the authors' (Kang and McAuley 2018, as in their TensorFlow code and its
PyTorch port): learned item and position embeddings (items scaled by ``sqrt(hidden)``), ``blocks``
pre-norm causal self-attention blocks whose residual adds to the normalised query, point-wise
feed-forward layers with their own residual, a last layer norm, and scores that are dot products
with the shared item embeddings. Departures, to make training affordable on a CPU: padded positions
are masked as keys (the original lets a query attend to zero vectors), so a batch padded to its own
longest sequence gives exactly what padding to ``max_length`` gives, and batches of similar length
are formed each epoch; negatives are drawn uniformly from the whole catalogue (the original redraws
those inside the user's sequence).

Losses (``loss``):

* ``bce``: binary cross-entropy with ``negatives`` uniformly sampled items per position (the paper: one);
* ``ce``: softmax cross-entropy over the whole catalogue at every position (SASRec+ in Klenitskiy
  and Vasilev 2023, "Turning Dross Into Gold Loss: is BERT4Rec really better than SASRec?"),
  computed in row chunks by :func:`full_softmax_ce` (the whole logits matrix is never held);
* ``sampled-ce``: the same softmax over the positive and ``negatives`` uniformly drawn items shared
  by the batch (a sampled softmax; Klenitskiy and Vasilev 2023 report it close to the full one);
* ``gbce``: gSASRec's generalised BCE with ``negatives`` negatives and calibration ``t``
  (Petrov and Macdonald 2023): the positive's probability is raised to ``beta = alpha (t (1 - 1/alpha) + 1/alpha)``,
  ``alpha = negatives / (n_items - 1)``.

``text_init`` initialises the item embeddings from the catalogue's text embeddings (their top
``hidden`` principal components, scaled to the default initialisation's spread): language-model
item representations as the starting point of the sequential model (as in UniSRec / LLM-ESR).

References:
    W.-C. Kang and J. McAuley. Self-Attentive Sequential Recommendation. ICDM 2018, arXiv:1808.09781.
    A. Petrov and C. Macdonald. gSASRec: Reducing Overconfidence in Sequential Recommendation
    Trained with Negative Sampling. RecSys 2023, arXiv:2308.07192.
    Y. Hou et al. Towards Universal Sequence Representation Learning for Recommender Systems. KDD 2022.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal, Self

import numpy as np
from pydantic import Field, PositiveFloat, PositiveInt

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData

logger = logging.getLogger(__name__)


class SASRecConfig(FrozenConfig):
    """SASRec hyper-parameters; the defaults are the paper's ML-1M setting."""

    max_length: PositiveInt = 200
    """Most recent items a sequence keeps."""
    hidden: PositiveInt = 50
    """Embedding and hidden size."""
    blocks: PositiveInt = 2
    heads: PositiveInt = 1
    dropout: float = Field(0.2, ge=0, lt=1)
    learning_rate: PositiveFloat = 1e-3
    batch_size: PositiveInt = 128
    epochs: PositiveInt = 200
    max_seconds: PositiveFloat | None = None
    """Stop after the epoch that passes this training time (``None``: all ``epochs``)."""
    loss: Literal["bce", "gbce", "ce", "sampled-ce"] = "bce"
    negatives: PositiveInt = 1
    """Sampled negatives per position."""
    gbce_t: float = Field(0.75, ge=0, le=1)
    """gSASRec's calibration parameter ``t`` (``loss="gbce"`` only)."""
    text_init: bool = False
    """Initialise item embeddings from the text embeddings' principal components."""
    seed: int = 42


_FITTED: OrderedDict[str, dict[str, np.ndarray]] = OrderedDict()
"""The last few fitted states by :func:`_fit_key`: a refit on identical data and settings (an
evaluation fitting several pipelines on one split, a retrain with no new data) is a lookup. Fitting
is deterministic for a given torch thread count, which is part of the key."""


def _fit_key(config: SASRecConfig, data: TrainData) -> str:
    import torch

    digest = hashlib.sha256(config.model_dump_json().encode())
    digest.update(f"{data.n_items}/{torch.get_num_threads()}/{torch.__version__}".encode())
    for history in data.histories:
        digest.update(np.asarray(history, dtype=np.int64).tobytes() + b"|")
    if config.text_init and data.item_embeddings is not None:
        digest.update(np.ascontiguousarray(data.item_embeddings[: data.n_items], dtype=np.float32).tobytes())
    return digest.hexdigest()


def _build(n_items: int, c: SASRecConfig):
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention_norm = nn.LayerNorm(c.hidden, eps=1e-8)
            self.attention = nn.MultiheadAttention(c.hidden, c.heads, dropout=c.dropout, batch_first=True)
            self.forward_norm = nn.LayerNorm(c.hidden, eps=1e-8)
            self.forward_layers = nn.Sequential(
                nn.Linear(c.hidden, c.hidden),
                nn.Dropout(c.dropout),
                nn.ReLU(),
                nn.Linear(c.hidden, c.hidden),
                nn.Dropout(c.dropout),
            )

        def forward(self, x, mask, keep):
            query = self.attention_norm(x)
            attended, _ = self.attention(query, x, x, attn_mask=mask, need_weights=False)
            x = self.forward_norm(query + attended)
            return (x + self.forward_layers(x)) * keep

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + 1, c.hidden, padding_idx=0)  # 0 is padding
            self.positions = nn.Embedding(c.max_length, c.hidden)
            self.dropout = nn.Dropout(c.dropout)
            self.blocks = nn.ModuleList([Block() for _ in range(c.blocks)])
            self.last_norm = nn.LayerNorm(c.hidden, eps=1e-8)

        def forward(self, sequences):
            """``(b, m)`` left-padded item ids (1-based) -> ``(b, m, hidden)`` sequence states."""
            length = sequences.shape[1]
            x = self.items(sequences) * c.hidden**0.5
            x = x + self.positions.weight[c.max_length - length :][None]  # positions count from the right end
            keep = (sequences > 0).unsqueeze(-1)
            x = self.dropout(x) * keep
            causal = torch.ones(length, length, dtype=torch.bool).triu(1)
            pad = (sequences == 0)[:, None, :].expand(-1, length, -1)
            mask = causal[None] | pad
            mask = mask & ~torch.eye(length, dtype=torch.bool)[None]  # a padded query attends to itself
            mask = mask.repeat_interleave(c.heads, dim=0)
            for block in self.blocks:
                x = block(x, mask, keep)
            return self.last_norm(x)

    return Model()


def full_softmax_ce(states, weight, targets, chunk: int = 256):
    """Mean softmax cross-entropy of ``states @ weight.T`` against ``targets``, in row chunks.

    Equal to ``cross_entropy(states @ weight.T, targets)`` (up to float rounding) without the whole
    ``(n, n_items)`` logits matrix: the forward keeps each chunk's log-sum-exp, the backward recomputes
    the chunk's logits and turns them into ``softmax - onehot`` in place (one extra matrix product,
    against several memory-bound passes over the logits in torch's log-softmax and its backward).

    Args:
        states: ``(n, hidden)`` float32 position states.
        weight: ``(n_items, hidden)`` float32 item embeddings.
        targets: ``(n,)`` int64 target rows of ``weight``.
        chunk: Rows per chunk.

    Returns:
        A 0-d tensor with gradients to ``states`` and ``weight``.
    """
    import torch

    class FullSoftmaxCE(torch.autograd.Function):
        @staticmethod
        def forward(ctx, states, weight, targets):
            lse = torch.cat([torch.logsumexp(s @ weight.T, dim=1) for s in states.split(chunk)])
            ctx.save_for_backward(states, weight, targets, lse)
            return (lse - (states * weight[targets]).sum(1)).mean()

        @staticmethod
        def backward(ctx, grad):
            states, weight, targets, lse = ctx.saved_tensors
            scale = grad / len(states)
            grad_states, grad_weight = torch.empty_like(states), torch.zeros_like(weight)
            for start in range(0, len(states), chunk):
                s = states[start : start + chunk]
                p = (s @ weight.T).sub_(lse[start : start + chunk, None]).exp_()
                p[torch.arange(len(s)), targets[start : start + chunk]] -= 1.0
                p.mul_(scale)
                grad_states[start : start + chunk] = p @ weight
                grad_weight.addmm_(p.T, s)
            return grad_states, grad_weight, None

    return FullSoftmaxCE.apply(states, weight, targets)


def _left_pad(histories: Sequence[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(histories), length), dtype=np.int64)
    for row, history in enumerate(histories):
        tail = history[-length:]
        if len(tail):
            out[row, length - len(tail) :] = tail + 1
    return out


class SASRecScorer(Scorer[SASRecConfig]):
    """SASRec (module docstring). Scores are the last position's state dotted with every item embedding.

    Fitting is seeded (torch's global seed and a numpy ``default_rng`` from ``seed``); torch's thread
    count is left alone. The last few fits are kept in the process (:data:`_FITTED`).
    """

    name = "sasrec"

    def fit(self, data: TrainData) -> Self:
        key = _fit_key(self.config, data)
        if key in _FITTED:
            self.set_state(_FITTED[key], data.n_items)
            _FITTED.move_to_end(key)
            return self
        self._train(data)
        _FITTED[key] = self.get_state()
        while len(_FITTED) > 4:
            _FITTED.popitem(last=False)
        return self

    def _train(self, data: TrainData) -> None:
        import torch

        c, n = self.config, data.n_items
        torch.manual_seed(c.seed)
        model = _build(n, c)
        for parameter in model.parameters():  # the PyTorch port's initialisation
            if parameter.dim() > 1:
                torch.nn.init.xavier_normal_(parameter)
        if c.text_init and data.item_embeddings is not None:
            with torch.no_grad():
                model.items.weight[1:] = torch.from_numpy(self._text_rows(data.item_embeddings[:n], model))
        optimiser = torch.optim.Adam(model.parameters(), lr=c.learning_rate, betas=(0.9, 0.98))
        rng = np.random.default_rng(c.seed)
        sequences = [np.asarray(h[-(c.max_length + 1) :], dtype=np.int64) for h in data.histories if len(h) > 1]
        lengths = np.array([len(s) for s in sequences])
        started = time.perf_counter()
        model.train()
        alpha = c.negatives / max(n - 1, 1)
        beta = alpha * (c.gbce_t * (1 - 1 / alpha) + 1 / alpha) if c.loss == "gbce" else 1.0
        for epoch in range(c.epochs):
            for batch in self._batches(lengths, rng):
                padded = _left_pad([sequences[i] for i in batch], int(lengths[batch].max()))
                inputs, targets = torch.from_numpy(padded[:, :-1]), torch.from_numpy(padded[:, 1:])
                states = model(inputs)
                real = targets > 0
                if c.loss == "ce":  # softmax over the whole catalogue
                    loss = full_softmax_ce(states[real], model.items.weight[1:], targets[real] - 1)
                elif c.loss == "sampled-ce":  # softmax over the positive and negatives shared by the batch
                    shared = torch.from_numpy(rng.integers(1, n + 1, c.negatives))
                    positive = (states * model.items(targets)).sum(-1)[real]
                    negative = states[real] @ model.items(shared).T
                    negative = negative.masked_fill(targets[real][:, None] == shared[None], float("-inf"))
                    logits = torch.cat([positive[:, None], negative], dim=1)
                    loss = torch.nn.functional.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long))
                else:
                    negatives = torch.from_numpy(rng.integers(1, n + 1, (*targets.shape, c.negatives)))
                    positive = (states * model.items(targets)).sum(-1)[real]
                    negative = torch.einsum("bmh,bmkh->bmk", states, model.items(negatives))[real]
                    positive_loss = -beta * torch.nn.functional.logsigmoid(positive)  # -log(sigmoid^beta); bce: 1
                    loss = (positive_loss.sum() + torch.nn.functional.softplus(negative).sum()) / real.sum()
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            elapsed = time.perf_counter() - started
            logger.debug("sasrec epoch %d loss %.4f (%.0f s)", epoch + 1, float(loss.detach()), elapsed)
            if c.max_seconds is not None and elapsed > c.max_seconds:
                logger.info("sasrec stopped after %d epochs (max_seconds %.0f)", epoch + 1, c.max_seconds)
                break
        logger.info("sasrec: %d epochs in %.0f s", epoch + 1, time.perf_counter() - started)
        self.model, self.n_items = model.eval(), n

    def _batches(self, lengths: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
        """Shuffled batches of similar-length sequences: shuffle, sort each run of 32 batches by length."""
        size, order = self.config.batch_size, rng.permutation(len(lengths))
        chunk = 32 * size
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            batches += [part[i : i + size] for i in range(0, len(part), size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _text_rows(self, embeddings: np.ndarray, model) -> np.ndarray:
        """The text embeddings' top ``hidden`` principal components, scaled to the initial rows' spread."""
        centred = embeddings.astype(np.float64) - embeddings.mean(axis=0)
        _, _, components = np.linalg.svd(centred, full_matrices=False)
        rows = centred @ components[: self.config.hidden].T
        if rows.shape[1] < self.config.hidden:
            rows = np.hstack([rows, np.zeros((len(rows), self.config.hidden - rows.shape[1]))])
        spread = float(model.items.weight[1:].detach().std())
        return (rows / max(rows.std(), 1e-12) * spread).astype(np.float32)

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        import torch

        n, out = self.fitted_n_items(), np.zeros((len(histories), self.fitted_n_items()), dtype=np.float32)
        rows = [r for r, h in enumerate(histories) if len(h)]
        with torch.no_grad():
            weights = self.model.items.weight[1:]
            for start in range(0, len(rows), 256):
                chunk = rows[start : start + 256]
                length = min(self.config.max_length, max(len(histories[r]) for r in chunk))
                padded = _left_pad([np.asarray(histories[r], dtype=np.int64) for r in chunk], length)
                states = self.model(torch.from_numpy(padded))[:, -1]
                out[chunk] = (states @ weights.T).numpy()[:, :n]
        return out

    def get_state(self) -> dict[str, np.ndarray]:
        return {f"p.{k}": v.detach().numpy().copy() for k, v in self.model.state_dict().items()}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        import torch

        model = _build(n_items, self.config)
        model.load_state_dict({k[2:]: torch.from_numpy(np.asarray(v)) for k, v in state.items() if k.startswith("p.")})
        self.model, self.n_items = model.eval(), n_items
