"""Does the optional LLM stage help? NDCG@10, added latency and fallbacks with a local model.

llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct (``scripts/install-llm.sh``),
against the same default pipeline without it, on MovieLens-100K P2 (fitted once on P2's train
split), for a seeded sample of the cold users:

* text-only users: each describes itself by the three genres most frequent among its held-out
  interactions (``benchmarks/text_users.py``'s English and Chinese phrasings), no history;
* P2's own queries: 5 onboarding items as history (no text: the rerank prompt shows their titles).

Arms, all through ``Recommender.recommend_many`` with the stage attached: no LLM; all three stages
within the default budget (1.5 s); intent + rerank with a 30 s budget (what the model does to the
lists when it has time to answer; P2's queries have no text, so only rerank acts there).
Reported: NDCG@10, the seconds the stages added per request
(p50 / p99) and how often a stage fell back (timeout, error, unparsable, rejected) within the
budget.

Usage: python benchmarks/llm_stage.py [--users 20] [--budget 1.5] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from text_users import chinese, english, top_genres  # noqa: E402

from semrec.config import RecommenderConfig  # noqa: E402
from semrec.data.fetch import cache_root  # noqa: E402
from semrec.data.registry import dataset_entry, load_named  # noqa: E402
from semrec.evaluation.metrics import ranking_metrics  # noqa: E402
from semrec.evaluation.runner import ProtocolRun, prepare  # noqa: E402
from semrec.llm import GenerativeStage, LLMConfig, attach  # noqa: E402
from semrec.pipeline import Recommender  # noqa: E402
from semrec.testing.llm import LlamaServer  # noqa: E402
from semrec.text import EmbeddingCache  # noqa: E402
from semrec.types import Query  # noqa: E402

ALL = ("intent", "rerank", "rephrase")
ARMS = {
    "no LLM": ((), None),
    "all stages, default budget": (ALL, None),
    "intent + rerank, budget 30 s": (("intent", "rerank"), 30.0),
}


def run_arm(model, run: ProtocolRun, queries, relevant, stages, url: str, budget: float):
    if stages:
        stage = attach(model, LLMConfig(url=url, budget_s=budget, stages=stages))
    else:
        stage = attach(model, None)
    results = model.recommend_many(queries)
    lists = np.full((len(results), 10), -1, dtype=np.int64)
    for row, result in enumerate(results):
        positions = model.catalogue.vocab.index(result.item_ids.tolist())
        lists[row, : len(positions)] = positions
    ndcg = float(ranking_metrics(lists, relevant, 10)["NDCG"].mean())
    if not isinstance(stage, GenerativeStage):
        return ndcg, None, None, None
    added = np.asarray(stage.added_s)
    calls = sum(stage.outcomes.values())
    fallbacks = sum(n for (_, outcome), n in stage.outcomes.items() if outcome not in ("ok", "skipped"))
    return ndcg, np.percentile(added, 50), np.percentile(added, 99), (fallbacks, calls, dict(stage.outcomes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--budget", type=float, default=1.5)
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    args = parser.parse_args()
    data = load_named("movielens-100k")
    run = prepare(data, "P2", 5)
    config = RecommenderConfig(**dataset_entry("movielens-100k").config_fields(None))
    model = Recommender.fit(run.train, config, cache=EmbeddingCache(cache_root() / "embeddings"))
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(run.queries), size=min(args.users, len(run.queries)), replace=False))
    relevant = [run.relevant[i] for i in sample]
    genres = model.catalogue.items["genres"].to_numpy()
    described = [top_genres(genres, r) for r in relevant]
    sets = {
        "text (en)": [Query(text=english(v), k=10) for v in described],
        "text (zh)": [Query(text=chinese(v), k=10) for v in described],
        "P2 history (5 items)": [run.queries[i].model_copy(update={"k": 10}) for i in sample],
    }
    server = LlamaServer(threads=args.threads)
    try:
        print(f"{len(sample)} P2 cold users (seed 0), budget {args.budget:g} s, SmolLM2-135M-Instruct Q4_1")
        print("| queries | arm | NDCG@10 | added s p50 | added s p99 | fallbacks / stage calls |")
        print("|---|---|---|---|---|---|")
        for name, queries in sets.items():
            for arm, (stages, budget) in ARMS.items():
                budget = budget or args.budget
                ndcg, p50, p99, falls = run_arm(model, run, queries, relevant, stages, server.url, budget)
                if p50 is None:
                    print(f"| {name} | {arm} | {ndcg:.4f} | - | - | - |", flush=True)
                else:
                    print(
                        f"| {name} | {arm} | {ndcg:.4f} | {p50:.2f} | {p99:.2f} | {falls[0]} / {falls[1]} |", flush=True
                    )
                    print(f"  outcomes: {falls[2]}", file=sys.stderr)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
