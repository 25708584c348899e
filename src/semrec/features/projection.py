"""PCA of text embeddings (scikit-learn), fitted on the catalogue and applied to items and queries alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from semrec.errors import UsageError


@dataclass(frozen=True)
class Projection:
    """PCA of L2-normalised embeddings, re-normalised after projection (so a dot product stays a cosine).

    Attributes:
        mean: ``(dim,) float32`` centre of the fitted embeddings.
        components: ``(k, dim) float32`` principal axes, strongest first.

    References:
        scikit-learn ``sklearn.decomposition.PCA`` (full SVD); Pedregosa et al., JMLR 2011.
    """

    mean: np.ndarray
    components: np.ndarray

    @classmethod
    def fit(cls, embeddings: np.ndarray, dim: int, seed: int = 0) -> Projection:
        """PCA with ``dim`` components of ``(n, d)`` embeddings.

        Raises:
            UsageError: ``dim`` exceeds ``min(n, d)`` (a :class:`ValueError`).
        """
        from sklearn.decomposition import PCA

        if dim > min(embeddings.shape):
            raise UsageError(f"pca_dim {dim} exceeds min(items, embedding size) = {min(embeddings.shape)}")
        pca = PCA(n_components=dim, svd_solver="full", random_state=seed).fit(embeddings.astype(np.float64))
        return cls(pca.mean_.astype(np.float32), pca.components_.astype(np.float32))

    def apply(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, k) float32`` projected, L2-normalised rows (a zero row stays zero)."""
        out = ((np.asarray(embeddings, dtype=np.float32) - self.mean) @ self.components.T).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=out, where=norms > 0)
