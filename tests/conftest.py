"""Shared fixtures: tiny synthetic data with known answers and a deterministic encoder."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pandas as pd
import pytest

from semrec.data.tables import Dataset
from semrec.text import EncoderConfig, HashingEncoder

N_CHECKER = 40


def checkerboard(n: int = N_CHECKER) -> Dataset:
    """User u likes every item of its parity except item u itself (the held-out diagonal).

    Known answer: for a collaborative or content scorer, item u is user u's best unseen item.
    Item texts carry the parity word, so a text scorer sees the same structure.
    """
    rows = []
    for user in range(n):
        for item in range(n):
            if item % 2 == user % 2 and item != user:
                rows.append((f"u{user}", f"i{item}", 1.0, 1000 * user + item, "click"))
    interactions = pd.DataFrame(rows, columns=["user_id", "item_id", "value", "timestamp", "event"])
    items = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n)],
            "title": [f"{'Even' if i % 2 == 0 else 'Odd'} film {i}" for i in range(n)],
            "genres": ["Even|Numbers" if i % 2 == 0 else "Odd|Numbers" for i in range(n)],
        }
    )
    return Dataset(items, interactions, None, "checkerboard")


@pytest.fixture
def checker() -> Dataset:
    return checkerboard()


@pytest.fixture
def hashing() -> HashingEncoder:
    return HashingEncoder(EncoderConfig(model="hashing", dim=256))


@pytest.fixture
def catalogue() -> Dataset:
    """A small movie-like catalogue with readable texts and a few users."""
    items = pd.DataFrame(
        {
            "item_id": ["toy", "lion", "alien", "terminator", "notebook", "titanic", "scream", "shining"],
            "title": [
                "Toy Story",
                "The Lion King",
                "Alien",
                "The Terminator",
                "The Notebook",
                "Titanic",
                "Scream",
                "The Shining",
            ],
            "genres": [
                "Animation|Children's",
                "Animation|Children's",
                "Sci-Fi|Horror",
                "Sci-Fi|Action",
                "Romance|Drama",
                "Romance|Drama",
                "Horror",
                "Horror",
            ],
            "overview": [
                "animated toys for kids",
                "animated lion cub for kids",
                "space monster horror",
                "robot from the future",
                "a love story",
                "a love story on a ship",
                "a slasher horror",
                "a haunted hotel horror",
            ],
        }
    )
    rows = [
        ("ann", "toy", 1),
        ("ann", "lion", 2),
        ("bob", "alien", 1),
        ("bob", "terminator", 2),
        ("bob", "scream", 3),
        ("cat", "notebook", 1),
        ("cat", "titanic", 2),
        ("dan", "toy", 1),
        ("dan", "lion", 2),
        ("dan", "titanic", 3),
        ("eve", "scream", 1),
        ("eve", "shining", 2),
        ("eve", "alien", 3),
    ]
    interactions = pd.DataFrame(
        [(u, i, 1.0, t, "click") for u, i, t in rows], columns=["user_id", "item_id", "value", "timestamp", "event"]
    )
    return Dataset(items, interactions, None, "catalogue")


@pytest.fixture
def with_users(catalogue) -> Dataset:
    """The catalogue plus a users table (age, likes): attribute-aware cold start has something to read."""
    users = pd.DataFrame(
        {
            "user_id": ["ann", "bob", "cat", "dan", "eve"],
            "age": [8, 40, 30, 9, 35],
            "likes": ["cartoons", "scifi", "romance", "cartoons", "horror"],
        }
    )
    return Dataset(catalogue.items, catalogue.interactions, users, "catalogue")


def scores_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.allclose(a, b, atol=1e-5)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A fresh store URL: SQLite in tmp_path, and a real PostgreSQL server when one is configured
    (``SEMREC_TEST_POSTGRES_URL``; CI starts one with scripts/start-postgres.sh and must not skip)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def postgres_url():
    """The URL of the real PostgreSQL server (``SEMREC_TEST_POSTGRES_URL``), its semrec tables dropped."""
    url = os.environ.get("SEMREC_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run the store tests against PostgreSQL: SEMREC_TEST_POSTGRES_URL is not set")
        pytest.skip('no PostgreSQL server (run: eval "$(scripts/start-postgres.sh)")')
    from sqlalchemy import create_engine

    from semrec.serving.store import metadata

    engine = create_engine(url)
    metadata.drop_all(engine)
    engine.dispose()
    return url
