"""The published tables: P4 (SASRec leave-last-out) and MSR (Microsoft Recommenders' random 75/25),
with baselines, semrec's default and the text ablation in one run.

Every row is a served pipeline (:class:`semrec.pipeline.Recommender`, fitted with ``Recommender.fit``
on the protocol's train split and asked through ``recommend_many``, as ``semrec evaluate`` does).
Rows:

* MostPopular, EASE (l2 200), SASRec (Kang and McAuley 2018: BCE, one negative, hidden 50, two
  blocks, 200 positions; ``--sasrec-minutes`` caps its training time, the paper runs 200 epochs);
* semrec's default (``RecommenderConfig()``: the hybrid, which chooses its recency decay, rule and
  sequence-model weights and EASE l2 on a validation slice of train carved the way the protocol
  holds data out);
* the text ablation (``--ablation``): the default with the sequence model's item embeddings started
  at random instead of from the text embeddings, and with titles-only item text
  (``{title} ({year}). Genres: ...``) instead of the enriched text.

Usage:
    python benchmarks/published.py --protocol P4 --dataset movielens-1m [--sasrec-minutes 15] [--ablation]
    python benchmarks/published.py --protocol MSR --dataset movielens-100k
"""

from __future__ import annotations

import argparse
import logging

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry
from semrec.errors import SemrecError
from semrec.evaluation.runner import evaluate
from semrec.scorers import HybridConfig
from semrec.scorers.sasrec import SASRecConfig
from semrec.text import EmbeddingCache, TextTemplateConfig

TITLES_ONLY = "{title}[ ({year})]. [Genres: {genres}.]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="P4", choices=["P4", "P4-validation", "MSR", "MSR-validation"])
    parser.add_argument("--dataset", default="movielens-1m", help="a named data set (default: movielens-1m)")
    parser.add_argument("--sasrec-minutes", type=float, default=None, help="cap on SASRec's training time")
    parser.add_argument("--sasrec-epochs", type=int, default=200)
    parser.add_argument("--ablation", action="store_true", help="add the text-ablation rows")
    parser.add_argument("--no-baselines", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("semrec.training").setLevel(logging.INFO)
    try:
        entry = dataset_entry(args.dataset)
    except SemrecError as exc:
        parser.exit(2, f"error: --dataset: {exc}\n")
    fields = entry.config_fields(None)
    configs: dict[str, RecommenderConfig] = {}
    if not args.no_baselines:
        configs["MostPopular"] = RecommenderConfig(scorer="most-popular", **fields)
        configs["EASE (l2 200)"] = RecommenderConfig(scorer="ease", **fields)
        if args.protocol.startswith("P4"):
            seconds = None if args.sasrec_minutes is None else 60 * args.sasrec_minutes
            sasrec = SASRecConfig(epochs=args.sasrec_epochs, max_seconds=seconds)
            cap = f", <= {args.sasrec_minutes:g} min" if seconds else ""
            label = f"SASRec (BCE, {args.sasrec_epochs} epochs{cap})"
            configs[label] = RecommenderConfig(scorer="sasrec", scorer_config=sasrec.model_dump(), **fields)
    configs["semrec default"] = RecommenderConfig(**fields)
    if args.ablation:
        no_text = HybridConfig().sequence.model_copy(update={"text_init": False})
        configs["default, sequence model without text init"] = RecommenderConfig(
            scorer_config={"sequence": no_text.model_dump()}, **fields
        )
        titles = {**fields, "text": TextTemplateConfig(template=TITLES_ONLY)}
        configs["default, titles-only item text"] = RecommenderConfig(**titles)
    report = evaluate(entry.load(None, 5.0), configs, args.protocol, cache=EmbeddingCache(cache_root() / "embeddings"))
    print(report.markdown())


if __name__ == "__main__":
    main()
