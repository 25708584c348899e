"""A factorisation machine over history, item, attribute and text-embedding features (torch, BPR).

Each (user, item) pair is one FM input row ``x`` with

- user-side features: the user's history items, weighted ``1 / sqrt(|history|)`` (a user is what
  they consumed, so new users fold in without training: SVD++ / FISM style);
- item-side features: the item's one-hot id, its side features (:mod:`semrec.features`) and its
  dense text embedding.

The FM score ``w0 + sum_f w_f x_f + sum_{f<g} <v_f, v_g> x_f x_g`` (Rendle 2010) splits into
terms that depend on the user only (the same for every item, so they do not change a ranking
and are dropped), item terms ``b_j = sum_item-side w_f x_f + pairs inside the item side``, and
the cross term ``<u, q_j>`` with ``u = sum_user-side v_f x_f`` and ``q_j = sum_item-side v_f x_f``.
Trained on implicit feedback with one uniformly sampled negative per positive and the BPR loss
(Rendle et al. 2009); the positive item is left out of its own user's history bag.

References:
    S. Rendle. Factorization Machines. ICDM 2010, doi:10.1109/ICDM.2010.127.
    S. Rendle et al. BPR: Bayesian Personalized Ranking from Implicit Feedback. UAI 2009.
    S. Kabbur, X. Ning and G. Karypis. FISM: Factored Item Similarity Models for Top-N Recommender Systems. KDD 2013.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from pydantic import NonNegativeFloat, PositiveFloat, PositiveInt

from semrec.frozen import FrozenConfig
from semrec.scorers.base import History, Scorer, TrainData, histories_to_csr, sparse_times_dense


class FMConfig(FrozenConfig):
    """Factorisation machine hyper-parameters."""

    factors: PositiveInt = 64
    """Dimension of every feature's latent vector."""
    epochs: PositiveInt = 20
    """Passes over the training interactions."""
    batch_size: PositiveInt = 1024
    learning_rate: PositiveFloat = 0.005
    """Adam step size."""
    l2: NonNegativeFloat = 1e-6
    """L2 penalty on the latent vectors and weights used in a batch."""
    text: bool = True
    """Use the item text embedding as dense item-side features."""
    side_features: bool = True
    """Use the item side features (genres, year bins, field presence)."""
    seed: int = 42


class FMScorer(Scorer[FMConfig]):
    """Factorisation machine (Rendle 2010) trained with BPR; see the module docstring for the features.

    Scores for a history ``h``: ``b_j + <u_h, q_j>``, ``u_h = sum_{i in h} V_hist[i] / sqrt(|h|)``;
    an empty history gets ``b_j`` (the FM's item prior). ``(n_items, factors)`` float32 state.
    """

    name = "fm"

    def fit(self, data: TrainData) -> Self:
        """Train by BPR with Adam.

        Every random draw comes from generators seeded by ``config.seed`` and owned by this call
        (a ``torch.Generator`` for the initialisation, a numpy ``Generator`` for shuffling and
        negative sampling); torch's global seed and thread count are left alone. Refits with the
        same seed and the same torch thread count give identical factors.

        Raises:
            FloatingPointError: Training produced non-finite factors.
        """
        import torch

        c = self.config
        n = data.n_items
        generator = torch.Generator().manual_seed(c.seed)
        rng = np.random.default_rng(c.seed)
        blocks = ((data.item_embeddings, c.text), (data.item_features, c.side_features))
        dense = [b[:n] for b, on in blocks if on and b is not None and b.shape[1]]
        item_x = torch.from_numpy(np.hstack(dense).astype(np.float32)) if dense else torch.zeros((n, 0))
        k, d = c.factors, item_x.shape[1]

        def param(*shape):
            return torch.nn.Parameter(0.01 * torch.randn(*shape, generator=generator))

        v_hist, v_id, v_dense = param(n, k), param(n, k), param(d, k)
        w_id, w_dense = torch.nn.Parameter(torch.zeros(n)), torch.nn.Parameter(torch.zeros(d))
        params = [v_hist, v_id, v_dense, w_id, w_dense]
        optimiser = torch.optim.Adam(params, lr=c.learning_rate)

        matrix = data.matrix.tocsr()
        users, items = matrix.nonzero()
        lengths = np.diff(matrix.indptr).astype(np.float32)
        coo = matrix.tocoo()
        indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        bags = torch.sparse_coo_tensor(
            indices, torch.ones(len(coo.row)), matrix.shape, check_invariants=True
        ).coalesce()

        # index_select, not ``v[index]``: indexing's backward accumulates with atomics across intra-op
        # threads (run-to-run differences); index_select's is deterministic for a given thread count
        def item_side(index):
            """``(q, b)``: cross vectors and item terms (linear + pairs inside the item side)."""
            x, v = item_x.index_select(0, index), v_id.index_select(0, index)
            q = v + x @ v_dense
            inner = 0.5 * ((q * q).sum(1) - (v**2).sum(1) - ((x * x) @ (v_dense * v_dense)).sum(1))
            return q, w_id.index_select(0, index) + x @ w_dense + inner

        for _ in range(c.epochs):
            order = rng.permutation(len(users))
            for start in range(0, len(order), c.batch_size):
                batch = order[start : start + c.batch_size]
                u = torch.from_numpy(users[batch])
                pos = torch.from_numpy(items[batch].astype(np.int64))
                neg = torch.from_numpy(rng.integers(0, n, len(batch)))
                # leave the positive out of its bag
                sums = torch.sparse.mm(bags, v_hist).index_select(0, u) - v_hist.index_select(0, pos)
                size = torch.from_numpy(np.maximum(lengths[users[batch]] - 1, 1)).unsqueeze(1)
                user = sums / size.sqrt()
                q_pos, b_pos = item_side(pos)
                q_neg, b_neg = item_side(neg)
                margin = (b_pos + (user * q_pos).sum(1)) - (b_neg + (user * q_neg).sum(1))
                penalty = c.l2 * (user.pow(2).sum() + q_pos.pow(2).sum() + q_neg.pow(2).sum())
                loss = -torch.nn.functional.logsigmoid(margin).mean() + penalty / len(batch)
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
        with torch.no_grad():
            q, b = item_side(torch.arange(n))
            self.item_vectors = q.numpy().astype(np.float32)
            self.item_bias = b.numpy().astype(np.float32)
            self.history_vectors = v_hist.detach().numpy().astype(np.float32)
        if not (np.isfinite(self.item_vectors).all() and np.isfinite(self.history_vectors).all()):
            raise FloatingPointError("FM training produced non-finite factors")
        self.n_items = n
        return self

    def _score(self, histories: Sequence[History]) -> np.ndarray:
        bags = histories_to_csr(histories, self.fitted_n_items())
        sizes = np.sqrt(np.maximum(bags.getnnz(axis=1), 1)).astype(np.float32)[:, None]
        users = sparse_times_dense(bags, self.history_vectors) / sizes
        return self.item_bias[None, :] + users @ self.item_vectors.T

    def get_state(self) -> dict[str, np.ndarray]:
        return {"item_vectors": self.item_vectors, "item_bias": self.item_bias, "history_vectors": self.history_vectors}

    def set_state(self, state: dict[str, np.ndarray], n_items: int) -> None:
        self.item_vectors = state["item_vectors"].astype(np.float32)
        self.item_bias = state["item_bias"].astype(np.float32)
        self.history_vectors = state["history_vectors"].astype(np.float32)
        self.n_items = n_items
