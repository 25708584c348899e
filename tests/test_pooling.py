"""Token pooling of a sentence-transformers model as configuration (the packaged all-MiniLM-L6-v2)."""

import numpy as np
import pytest

from semrec.errors import SemrecError
from semrec.text import EncoderConfig, HashingEncoder, build_encoder


@pytest.fixture(scope="module")
def texts():
    return ["a scary horror film", "a cheerful animated film for children", "a quiet documentary about whales"]


def test_pooling_modes_change_vectors_identity_and_keep_meaning(texts):
    default = build_encoder(EncoderConfig(model="all-MiniLM-L6-v2"))
    assert "pooling" not in default.identity  # embedding caches keyed before the option stay valid
    base = default.encode(texts)
    for mode in ("max", "cls"):
        encoder = build_encoder(EncoderConfig(model="all-MiniLM-L6-v2", pooling=mode))
        assert encoder.identity["pooling"] == mode
        vectors = encoder.encode(texts)
        assert vectors.shape == base.shape and not np.allclose(vectors, base, atol=1e-3)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
        query = encoder.encode(["frightening horror movie"], kind="query")[0]
        assert int(np.argmax(vectors @ query)) == 0  # still a language model: horror finds horror
    mean = build_encoder(EncoderConfig(model="all-MiniLM-L6-v2", pooling="mean")).encode(texts)
    np.testing.assert_allclose(mean, base, atol=1e-5)  # the model's own pooling is mean


def test_pooling_is_refused_where_it_does_not_apply():
    with pytest.raises(SemrecError, match="hashing encoder"):
        HashingEncoder(EncoderConfig(model="hashing", pooling="max"))
