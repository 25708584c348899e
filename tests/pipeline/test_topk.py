import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from semrec.pipeline.topk import top_k


def test_known_answer_with_exclusion_and_ties():
    scores = np.array([[0.1, 0.9, 0.5, 0.5, 0.2]], dtype=np.float32)
    exclude = sp.csr_matrix(([1.0], ([0], [1])), shape=(1, 5))
    idx, val = top_k(scores, 3, exclude)
    assert idx.tolist() == [[2, 3, 4]]  # tie 0.5/0.5 broken by lower position
    assert np.allclose(val, [[0.5, 0.5, 0.2]])


def test_short_rows_are_padded():
    scores = np.array([[1.0, 2.0]], dtype=np.float32)
    idx, val = top_k(scores, 4, sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 2)))
    assert idx.tolist() == [[1, -1, -1, -1]] and np.isneginf(val[0, 1:]).all()


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 4), st.integers(1, 30)),
        elements=st.sampled_from([0.0, 0.25, 0.5, 1.0, -1.0]),
    ),
    st.integers(1, 35),
)
def test_matches_a_full_stable_sort(scores, k):
    idx, _ = top_k(scores, k)
    for row in range(scores.shape[0]):
        expected = np.lexsort((np.arange(scores.shape[1]), -scores[row]))[:k]
        assert idx[row, : len(expected)].tolist() == expected.tolist()
