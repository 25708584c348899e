"""Item features besides the text embedding, and the PCA projection of embeddings.

* :mod:`semrec.features.items`: item columns -> binned / multi-hot / presence features.
* :mod:`semrec.features.projection`: PCA of L2-normalised text embeddings.
"""

from semrec.features.items import FeatureSpec, item_features, learn_spec
from semrec.features.projection import Projection

__all__ = ["FeatureSpec", "Projection", "item_features", "learn_spec"]
