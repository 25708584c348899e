"""Latency of a text-only (cold-start) request: encode the query, score the catalogue, top-10.

Compares the packaged encoders on the MovieLens-100K catalogue: semrec's default pipeline
(:class:`semrec.pipeline.Recommender`) fitted on all of ML-100K with each encoder and asked through
``recommend`` (the method the CLI and the HTTP service call). The baseline of the same run is a
request for a known user (no encoding), so the ratio is the cost of reading text.

Usage: python benchmarks/text_query_latency.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import statistics
import time

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig
from semrec.types import Query

QUERIES = [
    "I love animated movies for kids",
    "我最近喜欢看恐怖片",
    "a slow romantic drama for a rainy evening",
    "Me encantan las películas de terror",
    "space adventure with aliens and robots",
]


def timed(model: Recommender, query: Query, repeats: int) -> list[float]:
    model.recommend(query)  # warm-up
    out = []
    for n in range(repeats):
        started = time.perf_counter()
        model.recommend(query.model_copy(update={"text": QUERIES[n % len(QUERIES)]}) if query.text else query)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    data = load_named("movielens-100k")
    template = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    print("| request | median ms | p95 ms | ratio to the known-user baseline |")
    print("|---|---|---|---|")
    for encoder in ("all-MiniLM-L6-v2", "use-multilingual"):
        model = Recommender.fit(
            data,
            RecommenderConfig(encoder=EncoderConfig(model=encoder), text=template),
            cache=EmbeddingCache(cache_root() / "embeddings"),
        )
        base = timed(model, Query(user_id="1"), args.repeats)
        text = timed(model, Query(text=QUERIES[0]), args.repeats)
        base_median = statistics.median(base)
        for label, values in ((f"known user 1 (baseline), {encoder} artifact", base), (f"text-only, {encoder}", text)):
            p95 = sorted(values)[int(0.95 * len(values)) - 1]
            print(
                f"| {label} | {statistics.median(values):.2f} | {p95:.2f} | "
                f"{statistics.median(values) / base_median:.1f}x |"
            )


if __name__ == "__main__":
    main()
