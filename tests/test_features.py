"""Item side features: numeric bins, multi-hot lists, presence flags; new items featurised alike."""

import numpy as np
import pandas as pd

from semrec.features import FeatureSpec, item_features, learn_spec


def catalogue():
    return pd.DataFrame({
        "item_id": [f"i{i}" for i in range(8)],
        "year": ["1990", "1991", "1992", "1993", "1994", "1995", "1996", None],
        "genres": ["A|B", "A", "B", "C", "A|C", "B", "C", "A"],
        "overview": ["x", None, "y", None, "z", None, "w", ""],
        "title": [f"Film {i}" for i in range(8)],  # always present, all distinct: no feature
    })  # fmt: skip


def test_spec_picks_bins_tokens_and_flags():
    spec = learn_spec(catalogue(), n_bins=2)
    assert spec.bins == {"year": [1993.0]} and spec.tokens == {"genres": ["A", "B", "C"]}
    assert spec.flags == ["overview"]
    assert spec.names == ["year:bin0", "year:bin1", "year:missing", "genres=A", "genres=B", "genres=C", "overview:present"]
    assert FeatureSpec.from_json(spec.to_json()) == spec


def test_features_have_known_values_and_new_items_reuse_the_spec():
    spec = learn_spec(catalogue(), n_bins=2)
    f = item_features(catalogue(), spec)
    assert f.shape == (8, 7) and f.dtype == np.float32
    np.testing.assert_array_equal(f[0], [1, 0, 0, 1, 1, 0, 1])  # 1990 < 1993, A|B, has overview
    np.testing.assert_array_equal(f[6], [0, 1, 0, 0, 0, 1, 1])  # 1996 >= 1993, C
    np.testing.assert_array_equal(f[7], [0, 0, 1, 1, 0, 0, 0])  # no year, A, empty overview
    new = pd.DataFrame({"item_id": ["n"], "year": ["2001"], "genres": ["B|Z"]})  # unseen token, no overview column
    np.testing.assert_array_equal(item_features(new, spec)[0], [0, 1, 0, 0, 1, 0, 0])
