"""Multilingual intent and multi-interest needs through the served pipeline (ML-100K, default model).

Reads ``benchmarks/data/intent_set.json`` (39 queries in 7 languages: en, zh, ja, es, fr, de, pt;
9 of them name two or three interests). For each query, ``Recommender.recommend(Query(text=...,
k=10))`` on the default model fitted on all of ML-100K (what ``semrec fit --dataset
movielens-100k`` builds) gives:

* precision@10: the share of the 10 items that carry a genre of one of the query's interests;
* for multi-interest queries, the items of each interest (the target: at least 2 each).

The seed example of the issue runs too when the shared electronics catalogue is present
(``../shared/data/electronics-abt-buy``): "我最近喜欢浏览笔记本电脑、平板电脑和手机", items
labelled by their titles (the catalogue has no category column).

``--dev`` prints, for the development queries (``intent_dev.json``: other phrasings and need-free
texts), the value each matched and its cosine: what ``IntentConfig.min_cosine`` was chosen on.

Usage:
    python benchmarks/intent.py [--encoder use-multilingual] [--dev] [--model artifacts/ml-100k] [--intent pool=100]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset, load_items, split_list
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig
from semrec.types import Query

HERE = Path(__file__).resolve().parent
ELECTRONICS = HERE.parents[1] / "shared" / "data" / "electronics-abt-buy" / "abt.csv"
SEED = "我最近喜欢浏览笔记本电脑、平板电脑和手机"
SEED_INTERESTS = {
    "laptops": re.compile(r"notebook|laptop|macbook", re.IGNORECASE),
    "tablets": re.compile(r"\btablet", re.IGNORECASE),
    "phones": re.compile(r"\b(?:phones?|telephone|iphone|cell|mobile|handset)\b", re.IGNORECASE),
}


def intent_set(model: Recommender) -> None:
    genres = model.catalogue.items.set_index("item_id")["genres"]
    queries = json.loads((HERE / "data" / "intent_set.json").read_text())["queries"]
    precisions, shares_ok, multi = [], 0, 0
    print("| lang | query | precision@10 | per interest |\n|---|---|---|---|")
    for q in queries:
        result = model.recommend(Query(text=q["text"], k=10))
        carried = [set(split_list(genres[i])) for i in result.item_ids]
        wanted = {v for interest in q["interests"] for v in interest}
        precision = sum(bool(g & wanted) for g in carried) / 10
        precisions.append(precision)
        per = [sum(bool(g & set(interest)) for g in carried) for interest in q["interests"]]
        if len(per) > 1:
            multi += 1
            shares_ok += min(per) >= 2
        shown = ", ".join(f"{'/'.join(i)} {n}" for i, n in zip(q["interests"], per))
        print(f"| {q['lang']} | {q['text']} | {precision:.1f} | {shown} |")
    mean = sum(precisions) / len(precisions)
    print(
        f"\nmean precision@10 {mean:.3f}, worst {min(precisions):.1f} over {len(precisions)} queries; "
        f"multi-interest queries with >= 2 items per interest: {shares_ok}/{multi}"
    )


def dev(model: Recommender) -> None:
    stage = model.lists.intent
    assert stage is not None
    genres = model.catalogue.items.set_index("item_id")["genres"]
    print("| query | expected | matched (z) | precision@10 |\n|---|---|---|---|")
    precisions = []
    for q in json.loads((HERE / "data" / "intent_dev.json").read_text())["queries"]:
        aspects = stage.aspects(q["text"])
        shown = "; ".join(f"{'/'.join(a.values) or None} (z {a.z:.2f})" for a in aspects)
        precision = ""
        if q["value"] is not None:
            items = model.recommend(Query(text=q["text"], k=10)).item_ids
            wanted = set(q["value"].split("|"))
            precisions.append(sum(bool(wanted & set(split_list(genres[i]))) for i in items) / 10)
            precision = f"{precisions[-1]:.1f}"
        print(f"| {q['text']} | {q['value']} | {shown} | {precision} |")
    print(f"\nmean precision@10 over the development needs {sum(precisions) / len(precisions):.3f}")


def seed_example(encoder: str, cache: EmbeddingCache) -> None:
    if not ELECTRONICS.exists():
        print("(no shared electronics catalogue: seed example skipped)")
        return
    items = load_items(ELECTRONICS, {"item_id": "id", "title": "name"}, sep="|")
    config = RecommenderConfig(
        scorer="most-popular",
        encoder=EncoderConfig(model=encoder),
        text=TextTemplateConfig(template="{title}. [{description}]"),
    )
    model = Recommender.fit(Dataset.text_only(items), config, cache=cache)
    titles = model.catalogue.titles(model.recommend(Query(text=SEED, k=10)).item_ids)
    in_catalogue = {
        name: sum(bool(rx.search(t)) for t in model.catalogue.titles(model.catalogue.vocab.ids))
        for name, rx in SEED_INTERESTS.items()
    }
    counts = {name: sum(bool(rx.search(t)) for t in titles) for name, rx in SEED_INTERESTS.items()}
    print(
        f"\nseed example {SEED!r} on the electronics catalogue: top 10 per interest {counts} "
        f"(items of each kind in the catalogue: {in_catalogue})"
    )
    for t in titles:
        print("   ", t[:90])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=EncoderConfig().model)
    parser.add_argument("--dev", action="store_true")
    parser.add_argument(
        "--intent", action="append", default=[], help="override an IntentConfig field, e.g. --intent pool=100 (--dev)"
    )
    parser.add_argument("--model", type=Path, help="an artifact of `semrec fit --dataset movielens-100k` (else fitted)")
    args = parser.parse_args()
    cache = EmbeddingCache(cache_root() / "embeddings")
    if args.model is not None:
        model = Recommender.load(args.model)
    else:
        fields = dataset_entry("movielens-100k").config_fields()
        config = RecommenderConfig(encoder=EncoderConfig(model=args.encoder), **fields)
        model = Recommender.fit(load_named("movielens-100k"), config, cache=cache)
    if args.intent and model.lists.intent is not None:
        intent = model.lists.intent
        update = dict(item.split("=", 1) for item in args.intent)
        intent.config = type(intent.config)(**{**intent.config.model_dump(), **update})
    if args.dev:
        dev(model)
        return
    intent_set(model)
    seed_example(args.encoder, cache)


if __name__ == "__main__":
    main()
