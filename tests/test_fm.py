"""The factorisation machine leaves torch's process-global state alone and refits identically."""

import numpy as np
import pytest

from semrec.scorers import FMScorer, TrainData
from semrec.scorers.fm import FMConfig
from tests.conftest import N_CHECKER

torch = pytest.importorskip("torch")


def small_data() -> TrainData:
    """Checkerboard histories (user u likes its parity's items except u) with a 4-column dense feature."""
    histories = [np.array([i for i in range(N_CHECKER) if i % 2 == u % 2 and i != u]) for u in range(N_CHECKER)]
    features = np.eye(N_CHECKER, 4, dtype=np.float32)
    return TrainData(histories, N_CHECKER, None, features)


def test_fit_leaves_torch_threads_and_global_seed_alone(monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.append(("set_num_threads", n)))
    monkeypatch.setattr(torch, "manual_seed", lambda s: calls.append(("manual_seed", s)))
    threads, rng_state = torch.get_num_threads(), torch.random.get_rng_state()
    FMScorer(FMConfig(epochs=2, factors=8)).fit(small_data())
    assert calls == []
    assert torch.get_num_threads() == threads
    assert torch.equal(torch.random.get_rng_state(), rng_state)  # the global generator was not drawn from


def test_same_seed_same_scores_whatever_the_global_seed():
    data, probe = small_data(), [np.array([0, 2, 4]), np.array([1, 3]), np.zeros(0, np.int64)]
    config = FMConfig(epochs=3, factors=8, seed=7)
    torch.random.manual_seed(0)  # the test, not the library, touches the global generator
    first = FMScorer(config).fit(data).score(probe)
    torch.random.manual_seed(12345)
    second = FMScorer(config).fit(data).score(probe)
    np.testing.assert_array_equal(first, second)
    other = FMScorer(FMConfig(epochs=3, factors=8, seed=8)).fit(data).score(probe)
    assert not np.array_equal(first, other)
