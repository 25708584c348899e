"""Item side features (numeric bins, multi-hot lists, presence flags) and the PCA projection of embeddings."""

import numpy as np
import pandas as pd
import pytest

from semrec.config import RecommenderConfig
from semrec.features import FeatureSpec, Projection, item_features, learn_spec
from semrec.pipeline import Recommender
from semrec.text import EncoderConfig
from semrec.types import Query


def catalogue():
    return pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(8)],
            "year": ["1990", "1991", "1992", "1993", "1994", "1995", "1996", None],
            "genres": ["A|B", "A", "B", "C", "A|C", "B", "C", "A"],
            "overview": ["x", None, "y", None, "z", None, "w", ""],
            "title": [f"Film {i}" for i in range(8)],  # always present, all distinct: no feature
        }
    )


def test_spec_picks_bins_tokens_and_flags():
    spec = learn_spec(catalogue(), n_bins=2)
    assert spec.bins == {"year": [1993.0]} and spec.tokens == {"genres": ["A", "B", "C"]}
    assert spec.flags == ["overview"]
    assert spec.names == [
        "year:bin0",
        "year:bin1",
        "year:missing",
        "genres=A",
        "genres=B",
        "genres=C",
        "overview:present",
    ]
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


def test_projection_keeps_the_principal_axis_and_renormalises():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(200, 1))
    x = np.hstack([3 * t, t, 0.01 * rng.normal(size=(200, 2))]).astype(np.float32)  # nearly one line
    p = Projection.fit(x, 1)
    np.testing.assert_allclose(np.abs(p.components[0]), np.array([3, 1, 0, 0]) / np.sqrt(10), atol=0.01)
    out = p.apply(x)
    assert out.shape == (200, 1) and np.allclose(np.abs(out), 1.0)
    assert np.sign(out[:, 0]).tolist() == np.sign(t[:, 0] * np.sign(p.components[0, 0])).tolist()
    with pytest.raises(ValueError, match="pca_dim 5 exceeds"):
        Projection.fit(x, 5)


def test_recommender_with_pca_projects_items_and_queries_and_survives_save(catalogue, hashing, tmp_path):
    config = RecommenderConfig(scorer="ease", encoder=EncoderConfig(model="hashing", dim=256, pca_dim=4))
    model = Recommender.fit(catalogue, config, encoder=hashing)
    assert model.catalogue.embeddings.shape == (len(catalogue.items), 4)
    np.testing.assert_allclose(np.linalg.norm(model.catalogue.embeddings, axis=1), 1.0, rtol=1e-5)
    before = model.recommend(Query(text="animated film for children", k=3)).item_ids.tolist()
    model.save(tmp_path / "m")
    again = Recommender.load(tmp_path / "m", encoder=hashing)
    assert again.recommend(Query(text="animated film for children", k=3)).item_ids.tolist() == before
    position = again.upsert_item("new", {"title": "A new animated film"})
    assert again.catalogue.embeddings.shape == (len(catalogue.items) + 1, 4) and position == len(catalogue.items)
