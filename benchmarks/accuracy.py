"""Accuracy of semrec's default against the classic baselines, same run, same splits (PROTOCOL.md).

Every row is a served pipeline (:class:`semrec.pipeline.Recommender`, the object `semrec serve`
answers with) fitted on the protocol's train split and asked the protocol's queries through
``recommend_many``: MostPopular, ItemKNN (implicit, cosine, K=800), ALS (implicit, 128 factors), EASE
(lambda 200), EASE over each user's last 20 train items, LightFM WARP with features (an external
baseline, not a pipeline: ML-100K only), semrec's factorisation machine (``--fm``, ML-100K only), the hybrid
alone, and semrec's default (the hybrid with the learned new-user ranker). Non-hybrid scorers are
served as ``semrec fit --scorer NAME`` serves them (with the attribute/popularity hand-over for
short histories). On P1 also the default with topic diversification, at the smallest level whose
ILD@10 on the P1 validation slice reaches EASE's there.

Usage:
    python benchmarks/accuracy.py                      # ML-100K P1, P2, P3
    python benchmarks/accuracy.py --ml-1m              # also ML-1M P1
    python benchmarks/accuracy.py --protocols P3 --no-lightfm
    python benchmarks/accuracy.py --fm                 # also semrec's factorisation machine (slow)
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.evaluation.baselines import baselines, lightfm_lists
from semrec.evaluation.runner import METRICS, ProtocolRun, prepare
from semrec.ltr.onboarding import OnboardingConfig
from semrec.pipeline import Recommender
from semrec.text import EmbeddingCache, EncoderConfig, TextTemplateConfig, build_encoder

ACCURACY = ("NDCG", "Recall", "HR", "MRR", "Precision")
DEFAULT = "semrec default (hybrid + new-user ranker)"
LEVELS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def served(
    run: ProtocolRun, config: RecommenderConfig, encoder, cache, **query
) -> tuple[dict, float, float, Recommender]:
    """``(metrics, fit seconds, users/s, model)`` of ``config`` served on ``run``."""
    started = time.perf_counter()
    model = Recommender.fit(run.train, config, encoder=encoder, cache=cache)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    lists = run.lists(model, 10, **query)
    return run.metrics(lists, 10), fit_s, len(run.queries) / (time.perf_counter() - started), model


def diversity_level(
    validation: ProtocolRun, config: RecommenderConfig, ease: RecommenderConfig, encoder, cache
) -> float:
    """The smallest topic-diversification level at which the default's ILD@10 on the P1 validation
    slice is at least EASE's there (so diversity does not fall below EASE's)."""
    target = served(validation, ease, encoder, cache)[0]["ILD"]
    model = Recommender.fit(validation.train, config, encoder=encoder, cache=cache)
    for level in LEVELS:
        if validation.metrics(validation.lists(model, 10, diversity=level, reranker="topic"), 10)["ILD"] >= target:
            return level
    return LEVELS[-1]


def run_protocol(
    run: ProtocolRun, text: TextTemplateConfig, encoder, cache, fm: bool, lightfm: bool, level: float | None
) -> list[tuple[str, dict, float, float]]:
    """``(model, metrics, fit seconds, users/s)`` rows, baselines first, semrec's default last."""
    configs = baselines(text=text)
    if fm:
        configs["semrec FM (Rendle 2010, BPR)"] = RecommenderConfig(scorer="fm", text=text)
    configs["semrec hybrid alone"] = RecommenderConfig(text=text, onboarding=OnboardingConfig())
    configs[DEFAULT] = RecommenderConfig(text=text)
    rows = []
    for name, config in configs.items():
        metrics, fit_s, users_s, model = served(run, config, encoder, cache)
        if name == DEFAULT:  # a second, traced fit: tracing slows numpy allocations, so it is not timed
            tracemalloc.start()
            Recommender.fit(run.train, config, encoder=encoder, cache=cache).recommend_many(run.queries[:512])
            metrics["peak MiB"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            if level is not None:
                started = time.perf_counter()
                lists = run.lists(model, 10, diversity=level, reranker="topic")
                users_div = len(run.queries) / (time.perf_counter() - started)
                rows.append(
                    (f"{DEFAULT} + topic diversification d={level:g}", run.metrics(lists, 10), fit_s, users_div)
                )
        rows.append((name, metrics, fit_s, users_s))
        print(f"  {name}: NDCG@10 {metrics['NDCG']:.4f} (fit {fit_s:.1f} s)", flush=True)
        if name == "EASE, last 20 items" and lightfm:
            started = time.perf_counter()
            lists = lightfm_lists(run, 10)
            rows.append(
                ("LightFM WARP + features", run.metrics(lists, 10), time.perf_counter() - started, float("nan"))
            )
            print(f"  LightFM: NDCG@10 {rows[-1][1]['NDCG']:.4f}", flush=True)
    return rows


def table(title: str, rows: list[tuple[str, dict, float, float]]) -> str:
    head = ["model", *[f"{m}@10" for m in METRICS], "fit s", "users/s"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, m, fit_s, users_s in rows:
        speed = "n/a" if np.isnan(users_s) else f"{users_s:,.0f}"
        lines.append(f"| {name} | " + " | ".join(f"{m[x]:.4f}" for x in METRICS) + f" | {fit_s:.1f} | {speed} |")
    ours = rows[-1][1]
    base_rows = [r for r in rows if not r[0].startswith("semrec")]
    best = {m: max(r[1][m] for r in base_rows) for m in ACCURACY}
    best_name = max(base_rows, key=lambda r: r[1]["NDCG"])[0]
    ratios = " | ".join(f"{ours[m] / best[m]:.3f}" if m in best else "" for m in METRICS)
    lines.append(f"| semrec default / best baseline | {ratios} | | |")
    lines += [
        "",
        f"Best baseline by NDCG@10: {best_name} ({best['NDCG']:.4f}); {DEFAULT} {ours['NDCG']:.4f} "
        f"= {ours['NDCG'] / best['NDCG']:.3f}x; default peak traced memory {ours['peak MiB']:.0f} MiB "
        "(fit + answering 512 queries).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", default="P1,P2,P3")
    parser.add_argument("--ml-1m", action="store_true", help="Also run P1 on MovieLens-1M.")
    parser.add_argument("--no-lightfm", action="store_true")
    parser.add_argument("--fm", action="store_true", help="Also run semrec's (untuned) factorisation machine.")
    parser.add_argument("--encoder", default=EncoderConfig().model)
    args = parser.parse_args()
    encoder = build_encoder(EncoderConfig(model=args.encoder))
    cache = EmbeddingCache(cache_root() / "embeddings")
    runs = [("movielens-100k", p) for p in args.protocols.split(",") if p]
    runs += [("movielens-1m", "P1")] if args.ml_1m else []
    out = []
    for name, protocol in runs:
        data = load_named(name)
        print(f"{name} {protocol}", flush=True)
        text = TextTemplateConfig(template=dataset_entry(name).text_template)
        run = prepare(data, protocol)
        level = None
        if protocol == "P1":
            ease = RecommenderConfig(scorer="ease", text=text)
            level = diversity_level(prepare(data, "P1-validation"), RecommenderConfig(text=text), ease, encoder, cache)
        small = name == "movielens-100k"  # LightFM and the FM would take many minutes on ML-1M here
        rows = run_protocol(run, text, encoder, cache, small and args.fm, small and not args.no_lightfm, level)
        out.append(table(f"{protocol} on {name} ({len(run.queries)} users, encoder {args.encoder})", rows))
    print("\n" + "\n".join(out))


if __name__ == "__main__":
    main()
