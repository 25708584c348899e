import numpy as np

from semrec.text import EmbeddingCache, EncoderConfig, HashingEncoder, identity_key


def test_hashing_is_deterministic_normalised_and_word_sensitive(hashing):
    a = hashing.encode(["animated toys for kids", "animated lion for kids", "tax law handbook"])
    assert a.dtype == np.float32 and a.shape == (3, 256)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(a, hashing.encode(["animated toys for kids", "animated lion for kids", "tax law handbook"]))
    assert a[0] @ a[1] > a[0] @ a[2]
    assert np.array_equal(hashing.encode([""])[0], np.zeros(256, np.float32))


class CountingEncoder(HashingEncoder):
    def __init__(self, **kw):
        super().__init__(EncoderConfig(model="hashing", **kw))
        self.calls = []

    def encode(self, texts, kind="document", progress=False):
        self.calls.append(list(texts))
        return super().encode(texts, kind, progress)


def test_cache_encodes_each_text_once_and_keys_by_identity(tmp_path):
    cache = EmbeddingCache(tmp_path)
    encoder = CountingEncoder()
    first = cache.encode(encoder, ["a b", "c d", "a b"])
    second = cache.encode(encoder, ["c d", "e f"])
    assert encoder.calls == [["a b", "c d"], ["e f"]]
    assert np.array_equal(first[1], second[0]) and np.array_equal(first[0], first[2])
    other = CountingEncoder(dim=64)  # another identity: nothing shared
    assert identity_key(other.identity) != identity_key(encoder.identity)
    assert cache.encode(other, ["a b"]).shape == (1, 64) and other.calls == [["a b"]]
    # queries and documents are cached apart (prefixes may differ)
    cache.encode(encoder, ["a b"], kind="query")
    assert encoder.calls[-1] == ["a b"]
