"""Scale: Book-Crossing end to end, and fit / memory / latency growth on synthetic catalogues.

Every row is a served pipeline (:class:`semrec.pipeline.Recommender`, what `semrec serve`
answers with) fitted on the protocol's train split and asked its queries via ``recommend_many``.

Usage:
    python benchmarks/scale.py --book-crossing               # random protocol: default vs baselines
    python benchmarks/scale.py --book-crossing --validation  # the grid the large-catalogue default was chosen on
    python benchmarks/scale.py --encoding                    # texts/s: worker processes vs one process
    python benchmarks/scale.py --ann                         # HNSW text index: recall@10 vs exact, latency
    python benchmarks/scale.py --synthetic 10000,100000,300000  # fit s, peak RSS, p50/p99 latency per size

Book-Crossing uses PROTOCOL's "Data without timestamps": seeded random per-user 80/20 hold-out
(``default_rng(42)``), users with >= 5 interactions evaluated, every rating (implicit 0
included) one interaction, full ranking over the 271,378 books. The baselines are served as
``semrec fit --scorer NAME`` serves them, without the hand-over (as ``benchmarks/accuracy.py``)
and without the user table (the attribute prior it feeds answers no warm user; it takes minutes to
fit here; the default row keeps it, as ``semrec fit --dataset book-crossing`` does). LightFM runs
on identities alone (WARP, 64 components, ``--lightfm-epochs``; :func:`semrec.evaluation.baselines.
lightfm_cf_lists`): with ``accuracy.py``'s features and per-user ``predict`` it does not finish on
92k users x 271k items in the time budget of this machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset
from semrec.evaluation.runner import ProtocolRun, prepare
from semrec.pipeline import Recommender
from semrec.pipeline.handover import HandoverConfig
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig, build_encoder
from semrec.types import Query

DEFAULT = "semrec default"


def served(
    run: ProtocolRun, config: RecommenderConfig, encoder, cache, users: bool = True
) -> tuple[dict, float, float]:
    """``(metrics, fit seconds, users/s)`` of ``config`` served on ``run`` (``users=False``: fitted
    without the user table, so without the attribute prior, which no warm-user query reaches)."""
    train = run.train if users else dataclasses.replace(run.train, users=None)
    started = time.perf_counter()
    model = Recommender.fit(train, config, encoder=encoder, cache=cache)
    fit_s = time.perf_counter() - started
    for note in model.fit_notes:
        print(f"    note: {note}", flush=True)
    started = time.perf_counter()
    lists = run.lists(model, 10)
    return run.metrics(lists, 10), fit_s, len(run.queries) / (time.perf_counter() - started)


def sample(run: ProtocolRun, n: int | None, seed: int = 0) -> ProtocolRun:
    """``run`` with a seeded sample of ``n`` of its evaluated users (``None``: all)."""
    if n is None or n >= len(run.queries):
        return run
    keep = np.sort(np.random.default_rng(seed).choice(len(run.queries), n, replace=False))
    return dataclasses.replace(
        run,
        queries=[run.queries[i] for i in keep],
        user_ids=[run.user_ids[i] for i in keep],
        histories=[run.histories[i] for i in keep],
        relevant=[run.relevant[i] for i in keep],
        times=[run.times[i] for i in keep],
    )


def book_crossing(validation: bool, users: int | None, lightfm: int) -> None:
    data = load_named("book-crossing")
    for note in data.notes:
        print(f"note: {note}")
    protocol = "random-validation" if validation else "random"
    run = prepare(data, protocol, tag_field="author")
    print(f"book-crossing {protocol}: {run.n_train:,} train / {run.n_test:,} test rows, {len(run.queries):,} users")
    run = sample(run, users)
    print(f"evaluated: {len(run.queries):,} users" + (" (seeded sample)" if users else ""))
    encoder = build_encoder(EncoderConfig())
    cache = EmbeddingCache(cache_root() / "embeddings")
    text = TextTemplateConfig(template=dataset_entry("book-crossing").text_template)
    plain = {"handover": HandoverConfig(enabled=False), "text": text}
    configs = {
        "MostPopular": RecommenderConfig(scorer="most-popular", **plain),
        "ItemKNN (K=100)": RecommenderConfig(scorer="item-knn", scorer_config={"neighbours": 100}, **plain),
        "ALS (128 factors)": RecommenderConfig(scorer="als", **plain),
    }
    if validation:
        configs["ALS (64 factors, reg 10)"] = RecommenderConfig(
            scorer="als", scorer_config={"factors": 64, "regularization": 10.0}, **plain
        )
        for weight in (0.0, 0.5, 1.0):
            configs[f"ease-head knn_weight={weight}"] = RecommenderConfig(
                scorer="ease-head", scorer_config={"knn_weight": weight}, **plain
            )
        configs["ease-head l2=50"] = RecommenderConfig(scorer="ease-head", scorer_config={"l2": 50.0}, **plain)
    configs[DEFAULT] = RecommenderConfig(text=text)  # what `semrec fit --dataset book-crossing` fits
    print("| model | NDCG@10 | Recall@10 | HR@10 | fit s | users/s |\n|---|---|---|---|---|---|")
    results = {}
    for name, config in configs.items():
        metrics, fit_s, users_s = served(run, config, encoder, cache, users=name == DEFAULT)
        results[name] = metrics
        print(
            f"| {name} | {metrics['NDCG']:.4f} | {metrics['Recall']:.4f} | {metrics['HR']:.4f} | {fit_s:.1f} "
            f"| {users_s:,.0f} |",
            flush=True,
        )
    if lightfm:  # an external baseline: it cannot fold a history in, so it is not a served pipeline
        from semrec.evaluation.baselines import lightfm_cf_lists

        started = time.perf_counter()
        metrics = run.metrics(lightfm_cf_lists(run, 10, epochs=lightfm), 10)
        results[name := f"LightFM WARP ({lightfm} epochs)"] = metrics
        print(
            f"| {name} | {metrics['NDCG']:.4f} | {metrics['Recall']:.4f} | {metrics['HR']:.4f} "
            f"| {time.perf_counter() - started:.1f} | - |",
            flush=True,
        )
    best = max((n for n in results if n != DEFAULT), key=lambda n: results[n]["NDCG"])
    print(
        f"\nbest other row by NDCG@10: {best} ({results[best]['NDCG']:.4f}); {DEFAULT} "
        f"{results[DEFAULT]['NDCG']:.4f} = {results[DEFAULT]['NDCG'] / results[best]['NDCG']:.3f}x"
    )


def encoding_speed(n: int = 40_000) -> None:
    """Texts/s of the fit-time encoding path (worker processes) against one process, same texts."""
    from semrec.text import render_texts
    from semrec.text.parallel import default_workers, encode_chunks

    data = load_named("book-crossing")
    template = TextTemplateConfig(template=dataset_entry("book-crossing").text_template)
    texts = render_texts(data.items.iloc[:n], template, "item_id")
    encoder = build_encoder(EncoderConfig())
    encoder.encode(texts[:64])
    started = time.perf_counter()
    one = np.concatenate([v for _, v in encode_chunks(encoder, texts[: n // 4], workers=1)])
    single = (n // 4) / (time.perf_counter() - started)
    started = time.perf_counter()
    many = np.concatenate([v for _, v in encode_chunks(encoder, texts, workers=None)])
    parallel = n / (time.perf_counter() - started)
    print(
        f"{default_workers()} workers: {parallel:,.0f} texts/s; one process: {single:,.0f} texts/s "
        f"({parallel / single:.2f}x); max |difference| {float(np.abs(many[: n // 4] - one).max()):.2e}"
    )


def ann_check(n_queries: int = 500) -> None:
    """Recall@10 of the HNSW text index against exact search on Book-Crossing's 271k books, and the
    time per query of both (query texts: other books' titles, as a search box gets them)."""
    from semrec.pipeline.ann import ANNConfig, ANNIndex, recall_at_k
    from semrec.text import render_texts

    data = load_named("book-crossing")
    template = TextTemplateConfig(template=dataset_entry("book-crossing").text_template)
    encoder = build_encoder(EncoderConfig())
    cache = EmbeddingCache(cache_root() / "embeddings")
    vectors = cache.encode(encoder, render_texts(data.items, template, "item_id"), "document")
    rng = np.random.default_rng(0)
    titles = data.items["title"].astype(str).to_numpy()[rng.choice(len(data.items), n_queries, replace=False)]
    queries = encoder.encode([t.split(":")[0] for t in titles], kind="query")
    started = time.perf_counter()
    index = ANNIndex.build(vectors, ANNConfig())
    build_s = time.perf_counter() - started
    recall = recall_at_k(index, vectors, queries, 10)
    timings = {}
    for name, run_one in (
        ("exact", lambda q: np.argpartition(-(vectors @ q), 10)[:10]),
        ("ANN", lambda q: index.search(q[None, :], index.config.candidates)),
    ):
        started = time.perf_counter()
        for q in queries:
            run_one(q)
        timings[name] = (time.perf_counter() - started) / len(queries) * 1000
    print(
        f"HNSW over {len(vectors):,} items (M {index.config.m}, efSearch {index.config.ef_search}): built in "
        f"{build_s:.0f} s; recall@10 against exact {recall:.4f} on {n_queries} title queries; search of "
        f"{index.config.candidates} candidates (as the pipeline asks) "
        f"{timings['ANN']:.2f} ms/query against {timings['exact']:.2f} ms exact"
    )


@functools.lru_cache(maxsize=1)
def title_words() -> np.ndarray:
    """The distinct words of Book-Crossing's titles (about 100k): synthetic item texts drawn from
    them are varied enough that nearest neighbours are not ties (a 14-word vocabulary made every
    text a near-duplicate and recall@10 meaningless)."""
    titles = load_named("book-crossing").items["title"].astype(str)
    words = pd.Series(titles.str.lower().str.findall(r"[^\W\d_]{3,}").explode().dropna().unique())
    return np.sort(words.to_numpy(dtype=str))


def synthetic(n_items: int, per_item: int = 5, seed: int = 0) -> Dataset:
    """``n_items`` items with texts of 3-8 title words and ``per_item * n_items`` distinct (user, item)
    interactions.

    Item popularity follows a Zipf-like law ``1 / (rank + 10) ** 0.8`` (a long tail, no item in most
    histories); ``n_items / 5`` users, each drawn uniformly.
    """
    rng = np.random.default_rng(seed)
    n_users = max(100, n_items // 5)
    n = per_item * n_items
    weights = 1.0 / (np.arange(n_items) + 10.0) ** 0.8
    pairs = np.empty(0, dtype=np.int64)
    while len(pairs) < n:  # draw until n distinct (user, item) pairs
        draw = int((n - len(pairs)) * 1.2) + 1000
        new = rng.integers(0, n_users, size=draw) * n_items + rng.choice(n_items, size=draw, p=weights / weights.sum())
        pairs = pd.unique(np.concatenate([pairs, new]))
    pairs = pairs[:n]
    vocabulary = title_words()
    lengths = rng.integers(3, 9, size=n_items)
    drawn = rng.integers(0, len(vocabulary), size=int(lengths.sum()))
    texts = [" ".join(w) for w in np.split(vocabulary[drawn], np.cumsum(lengths)[:-1])]
    item_table = pd.DataFrame({"item_id": [str(i) for i in range(n_items)], "title": texts})
    inter = pd.DataFrame(
        {
            "user_id": (pairs // n_items).astype(str),
            "item_id": (pairs % n_items).astype(str),
            "value": 1.0,
            "timestamp": np.arange(n, dtype=np.int64) + 1_600_000_000,
            "event": "interaction",
        }
    )
    return Dataset(item_table, inter, None, f"synthetic-{n_items}")


def query_texts(n: int, seed: int) -> list[str]:
    """``n`` search-box texts of 2-3 title words."""
    rng, vocabulary = np.random.default_rng(seed), title_words()
    return [" ".join(rng.choice(vocabulary, int(rng.integers(2, 4)))) for _ in range(n)]


def synthetic_row(n_items: int, encoder_name: str) -> None:
    """One size, in this process (run in a fresh process per size so peak RSS is the size's own)."""
    data = synthetic(n_items)
    config = RecommenderConfig(encoder=EncoderConfig(model=encoder_name), text=TextTemplateConfig(template="{title}"))
    started = time.perf_counter()
    model = Recommender.fit(data, config)
    fit_s = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    users = model.users.vocab.ids[:200].tolist()
    known = [Query(user_id=u, k=10) for u in users]
    model.recommend(known[0])
    known_ms = []
    for q in known:
        t = time.perf_counter()
        model.recommend(q)
        known_ms.append((time.perf_counter() - t) * 1000)
    text_ms = []
    for text in query_texts(100, seed=2):
        t = time.perf_counter()
        model.recommend(Query(text=text, k=10))
        text_ms.append((time.perf_counter() - t) * 1000)
    recall = "exact"
    if model.catalogue.ann is not None:  # the index the pipeline searches, against exact search
        from semrec.pipeline.ann import recall_at_k

        queries = model.catalogue.query_vectors(query_texts(200, seed=1))
        recall = f"{recall_at_k(model.catalogue.ann, model.catalogue.embeddings, queries, 10):.4f}"
    print(
        f"| {n_items:,} | {len(data.interactions):,} | {model.scorer.name} | {fit_s:.1f} | {rss:.2f} | "
        f"{np.percentile(known_ms, 50):.1f} / {np.percentile(known_ms, 99):.1f} | "
        f"{np.percentile(text_ms, 50):.1f} / {np.percentile(text_ms, 99):.1f} | {recall} |",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book-crossing", action="store_true")
    parser.add_argument("--validation", action="store_true", help="with --book-crossing: the tuning grid")
    parser.add_argument("--users", type=int, help="with --book-crossing: evaluate a seeded sample of this many users")
    parser.add_argument(
        "--lightfm-epochs", type=int, default=20, help="with --book-crossing: LightFM WARP epochs (0: no LightFM row)"
    )
    parser.add_argument("--encoding", action="store_true")
    parser.add_argument("--ann", action="store_true", help="HNSW recall@10 and latency on Book-Crossing")
    parser.add_argument("--synthetic", help="comma-separated catalogue sizes")
    parser.add_argument("--encoder", default=EncoderConfig().model)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one synthetic size
    args = parser.parse_args()
    if args.one is not None:
        synthetic_row(args.one, args.encoder)
        return
    if args.book_crossing:
        book_crossing(args.validation, args.users, args.lightfm_epochs)
    if args.encoding:
        encoding_speed()
    if args.ann:
        ann_check()
    if args.synthetic:
        print(
            "| items | interactions | scorer | fit s | peak RSS GiB | known user p50 / p99 ms | text p50 / p99 ms "
            "| ANN recall@10 |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for size in [int(s) for s in args.synthetic.split(",")]:
            subprocess.run([sys.executable, __file__, "--one", str(size), "--encoder", args.encoder], check=True)


if __name__ == "__main__":
    main()
