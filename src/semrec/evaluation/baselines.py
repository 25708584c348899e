"""Library baselines for accuracy comparisons, configured as in PROTOCOL.md's references.

MostPopular, ItemKNN (implicit, cosine, K=800), ALS (implicit, 128 factors), EASE (lambda 200),
EASE over each user's last 20 train items (the recency-aware baseline), and LightFM WARP with
features (lightfm-next; 64 components, learning rate 0.05, 60 epochs), which cannot fold a
history in and is therefore trained per protocol:

- P1: user and item identities + genres, fitted on P1 train;
- P2: refitted on P2 train plus every cold user's onboarding items, with user features (age
  quartile, gender, occupation) and item genres;
- P3: item features only (genres, year, title words; no identities, which a cold item lacks).

References:
    M. Kula. Metadata Embeddings for User and Item Cold-start Recommendations. CBRecSys 2015 (LightFM).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from semrec.config import RecommenderConfig
from semrec.data.tables import split_list
from semrec.evaluation.protocols import PROTOCOLS, id_order
from semrec.evaluation.runner import ProtocolRun
from semrec.pipeline.handover import HandoverConfig
from semrec.pipeline.topk import top_k
from semrec.scorers import histories_to_csr


def baselines(**fields: Any) -> dict[str, RecommenderConfig]:
    """The library baselines as served pipelines (display name -> configuration), each scorer alone:
    plain fold-in of any history, without the attribute/popularity hand-over (with it, every scorer
    would answer short histories with the same cold-start blend). ``fields`` go to every
    configuration (e.g. ``encoder``, ``text``)."""
    plain = {"handover": HandoverConfig(enabled=False), **fields}
    return {
        "MostPopular": RecommenderConfig(scorer="most-popular", **plain),
        "ItemKNN (K=800)": RecommenderConfig(scorer="item-knn", **plain),
        "ALS (128 factors)": RecommenderConfig(scorer="als", **plain),
        "EASE (l2 200)": RecommenderConfig(scorer="ease", **plain),
        "EASE, last 20 items": RecommenderConfig(scorer="ease", scorer_config={"last_n": 20}, **plain),
    }


def lightfm_lists(prepared: ProtocolRun, k: int) -> np.ndarray:
    """``(n_users, k) int64`` top-k lists of LightFM WARP with the protocol's features (module docstring).

    Needs the data set's ``users`` table (age, gender, occupation) for P2 and ``genres`` / ``year`` /
    ``title`` item columns.

    Raises:
        ValueError: The data set has no ``users`` table.
    """
    from lightfm import LightFM
    from lightfm.data import Dataset as LFDataset

    data, protocol = prepared.dataset, prepared.protocol
    if data.users is None:
        raise ValueError("the LightFM baseline needs the data set's users table (age, gender, occupation)")
    split = PROTOCOLS[protocol](data.interactions)
    item_ids = prepared.items.ids.tolist()
    items = data.items.set_index("item_id")

    def item_features(item_id: str) -> list[str]:
        row = items.loc[item_id]
        out = [f"genre:{g}" for g in split_list(row["genres"])]
        if protocol == "P3":
            out += [f"year:{row['year']}"] + [f"word:{w}" for w in re.findall(r"[a-z0-9]+", str(row["title"]).lower())]
        return out

    user_table = data.users.set_index("user_id")
    age_edges = np.quantile(user_table["age"].astype(float), [0.25, 0.5, 0.75])

    def user_features(user_id: str) -> list[str]:
        row = user_table.loc[user_id]
        return [
            f"age:q{int(np.searchsorted(age_edges, float(row['age']), side='right'))}",
            f"gender:{row['gender']}",
            f"occupation:{row['occupation']}",
        ]

    pairs = list(zip(split.train["user_id"], split.train["item_id"]))
    if protocol == "P2":
        assert split.onboarding is not None  # split_p2 always reveals onboarding interactions
        pairs += list(zip(split.onboarding["user_id"], split.onboarding["item_id"]))
        eval_users = sorted(split.test["user_id"].unique(), key=id_order)
    else:
        eval_users = sorted(
            split.test["user_id"][split.test["user_id"].isin(set(split.train["user_id"]))].unique(), key=id_order
        )
    users = sorted({u for u, _ in pairs} | set(eval_users), key=id_order)
    use_users = protocol == "P2"
    lf = LFDataset(item_identity_features=protocol != "P3")
    lf.fit(
        users,
        item_ids,
        user_features=sorted({f for u in users for f in user_features(u)}) if use_users else None,
        item_features=sorted({f for i in item_ids for f in item_features(i)}),
    )
    interactions, _ = lf.build_interactions(pairs)
    uf = lf.build_user_features((u, user_features(u)) for u in users) if use_users else None
    itf = lf.build_item_features((i, item_features(i)) for i in item_ids)
    model = LightFM(no_components=64, loss="warp", learning_rate=0.05, random_state=42)
    model.fit(interactions, user_features=uf, item_features=itf, epochs=60, num_threads=2)
    user_map, _, item_map, _ = lf.mapping()
    order = np.array([item_map[i] for i in item_ids])
    scores = np.stack(
        [model.predict(user_map[u], order, user_features=uf, item_features=itf, num_threads=2) for u in eval_users]
    ).astype(np.float32)
    if prepared.candidates is not None:
        scores[:, ~prepared.candidates] = -np.inf
    lists, _ = top_k(scores, k, histories_to_csr(prepared.histories, len(item_ids)))
    return lists


def lightfm_cf_lists(
    prepared: ProtocolRun, k: int, epochs: int = 20, components: int = 64, threads: int = 2, batch: int = 512
) -> np.ndarray:
    """``(n_users, k) int64`` top-k lists of LightFM WARP on identities alone (no features), for
    catalogues too large for :func:`lightfm_lists`' per-user ``predict`` (Book-Crossing's 271k books).

    Trained on the protocol's train histories (``prepared.histories`` are the evaluated users';
    every train user's interactions come from ``prepared.train``); scored in batches of ``batch``
    users as ``u · v + b_i`` (the user bias does not change a user's order), seen items removed.
    """
    import scipy.sparse as sp
    from lightfm import LightFM

    from semrec.vocab import IdVocabulary

    train = prepared.train.interactions
    users = IdVocabulary(sorted(train["user_id"].unique(), key=id_order), "user")
    rows = users.index(train["user_id"].tolist())
    cols = prepared.items.index(train["item_id"].tolist())
    matrix = sp.coo_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(users), len(prepared.items))
    ).tocsr()
    matrix.data[:] = 1.0  # repeated (user, item) pairs count once
    model = LightFM(no_components=components, loss="warp", learning_rate=0.05, random_state=42)
    model.fit(matrix.tocoo(), epochs=epochs, num_threads=threads)
    item_bias, item_vectors = model.get_item_representations()
    _, user_vectors = model.get_user_representations()
    wanted = user_vectors[users.index(prepared.user_ids)].astype(np.float32)
    seen = histories_to_csr(prepared.histories, len(prepared.items))
    out = np.empty((len(wanted), k), dtype=np.int64)
    item_vectors, item_bias = item_vectors.astype(np.float32), item_bias.astype(np.float32)
    for start in range(0, len(wanted), batch):
        scores = wanted[start : start + batch] @ item_vectors.T + item_bias[None, :]
        if prepared.candidates is not None:
            scores[:, ~prepared.candidates] = -np.inf
        out[start : start + batch], _ = top_k(scores, k, seen[start : start + batch])
    return out
