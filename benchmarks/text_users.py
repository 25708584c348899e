"""Text-described new users on P2: do they beat the popular list? (served pipeline, ML-100K)

Each P2 cold user describes itself truthfully, with no history (P2 with 0 onboarding items: every
interaction of the cold user is relevant, nothing is excluded): the three genres most frequent
among its interactions, in English or Chinese, phrased differently from semrec's own
pseudo-descriptions ("Lately I have mostly watched comedy and drama, now and then a romance.",
"我最近常看喜剧片和剧情片，偶尔也看爱情片。"). Rows, all through ``Recommender.recommend_many``:

* MostPopular: ``Query()``;
* the attribute prior: ``Query(attributes=...)`` (age, gender, occupation);
* plain text cosine (``text_users`` off): ``Query(text=...)``;
* semrec's default text route (described training users + item text): ``Query(text=...)``;
* text + history: the same cold users in P2 proper (5 onboarding items revealed, the rest
  relevant), described by the genres of their held-out items: the history alone (P2's own query),
  the text alone, and both in one query.

Every model is fitted on P2's train split (the cold users are never read). ``--tune`` instead runs
the same check inside train (20% of P2's train users as pseudo-cold users, seed 7, fitted on the
rest) over a small grid of the text route's settings: what the defaults were chosen on.

Usage:
    python benchmarks/text_users.py [--encoder use-multilingual]
    python benchmarks/text_users.py --tune [--grid 4,5,6]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.data.tables import Dataset, split_list
from semrec.evaluation.metrics import ranking_metrics
from semrec.evaluation.runner import ProtocolRun, prepare
from semrec.pipeline import Recommender
from semrec.pipeline.intent import IntentConfig
from semrec.pipeline.textblend import TextBlendConfig
from semrec.scorers.described import DescribedUsersConfig
from semrec.text import EmbeddingCache, EncoderConfig, build_encoder
from semrec.types import Query

CHINESE = {
    "Action": "动作片",
    "Adventure": "冒险片",
    "Animation": "动画片",
    "Children's": "儿童片",
    "Comedy": "喜剧片",
    "Crime": "犯罪片",
    "Documentary": "纪录片",
    "Drama": "剧情片",
    "Fantasy": "奇幻片",
    "Film-Noir": "黑色电影",
    "Horror": "恐怖片",
    "Musical": "歌舞片",
    "Mystery": "悬疑片",
    "Romance": "爱情片",
    "Sci-Fi": "科幻片",
    "Thriller": "惊悚片",
    "War": "战争片",
    "Western": "西部片",
}


def top_genres(genres: np.ndarray, items: np.ndarray, n: int = 3) -> list[str]:
    counts = Counter(g for cell in genres[items] for g in split_list(cell) if g in CHINESE)
    return [g for g, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]] or ["Drama"]


def english(values: list[str]) -> str:
    names = [v.lower() for v in values]
    if len(names) == 1:
        return f"Lately I have mostly watched {names[0]} films."
    rest = f", now and then a {names[2]}" if len(names) > 2 else ""
    return f"Lately I have mostly watched {names[0]} and {names[1]}{rest}."


def chinese(values: list[str]) -> str:
    names = [CHINESE[v] for v in values]
    if len(names) == 1:
        return f"我最近常看{names[0]}。"
    rest = f"，偶尔也看{names[2]}" if len(names) > 2 else ""
    return f"我最近常看{names[0]}和{names[1]}{rest}。"


def english_other(values: list[str]) -> str:
    """The ``--tune`` phrasing (unlike the evaluation's, so the defaults are not chosen on it)."""
    names = [v.lower() for v in values]
    return "My favourites are " + (", ".join(names[:-1]) + " and " if len(names) > 1 else "") + names[-1] + " movies"


def chinese_other(values: list[str]) -> str:
    """The ``--tune`` phrasing in Chinese: other genre words too (…电影 for …片)."""
    names = [CHINESE[v].removesuffix("片") + "电影" if CHINESE[v].endswith("片") else CHINESE[v] for v in values]
    return "我平时爱看" + "、".join(names)


def ndcg(run: ProtocolRun, model: Recommender, queries: list[Query]) -> float:
    lists = ProtocolRun(**{**run.__dict__, "queries": queries}).lists(model, 10)
    return float(ranking_metrics(lists, run.relevant, 10)["NDCG"].mean())


def check(
    run: ProtocolRun,
    data: Dataset,
    configs: dict[str, RecommenderConfig],
    encoder,
    cache,
    history_runs: list[ProtocolRun] = (),
    phrasings=(english, chinese),
    blend_grid: list[TextBlendConfig] = (),
) -> dict[str, float]:
    genres = data.items["genres"].to_numpy()
    described = [top_genres(genres, relevant) for relevant in run.relevant]
    texts = {"en": [phrasings[0](v) for v in described], "zh": [phrasings[1](v) for v in described]}
    out = {}
    default = Recommender.fit(run.train, configs["default"], encoder=encoder, cache=cache)
    out["MostPopular"] = ndcg(run, default, [Query() for _ in run.queries])
    out["attribute prior"] = ndcg(run, default, [Query(attributes=q.attributes) for q in run.queries])
    for name, config in configs.items():
        serving = {"intent": configs["default"].intent, "text_users": configs["default"].text_users}
        fitted_alike = config.text_users.model_copy(update=_SERVING) == configs["default"].text_users.model_copy(
            update=_SERVING
        )
        if fitted_alike and config.model_copy(update=serving) == configs["default"]:
            # only serving-time settings differ: the fitted models are the default's
            model = Recommender(config, default.catalogue, default.users, default.models)
        else:
            model = Recommender.fit(run.train, config, encoder=encoder, cache=cache)
        for language, sentences in texts.items():
            out[f"{name} text ({language})"] = ndcg(run, model, [Query(text=t) for t in sentences])
    blends = {"": default}
    for blend in blend_grid:
        config = configs["default"].model_copy(update={"text_blend": blend})
        blends[f", text_blend weight={blend.weight} half={blend.half}"] = Recommender(
            config, default.catalogue, default.users, default.models
        )
    for history_run in history_runs:
        assert history_run.train.interactions.equals(run.train.interactions), "P2 train differs by n"
        # the same cold users after n interactions (P2 proper), described by their held-out items
        n = len(history_run.histories[0])
        held = [top_genres(genres, relevant) for relevant in history_run.relevant]
        out[f"P2 n={n}: history alone"] = ndcg(history_run, default, history_run.queries)
        for language, phrase in zip(("en", "zh"), phrasings):
            sentences = [phrase(v) for v in held]
            out[f"P2 n={n}: text alone ({language})"] = ndcg(history_run, default, [Query(text=t) for t in sentences])
            both = [q.model_copy(update={"text": t}) for q, t in zip(history_run.queries, sentences)]
            for name, model in blends.items():
                out[f"P2 n={n}: text + history ({language}){name}"] = ndcg(history_run, model, both)
    return out


_SERVING = {"item_text_weight": 0.0, "value_weight": 0.0, "value_temperature": 1.0}
"""Text-route settings read at request time only (a model fitted with others serves them)."""


def _label(change: dict) -> str:
    """``"text_users.value_weight=0.5"``: the fields a grid point sets (aliases shown by count)."""
    parts = []
    for field, value in change.items():
        for name, setting in value.model_dump(exclude_defaults=True).items():
            shown = f"{len(setting)} values" if isinstance(setting, dict) else setting
            parts.append(f"{field}.{name}={shown}")
        parts += [] if value.model_fields_set else [f"{field}=defaults"]
    return ", ".join(parts)


def pseudo_cold(data: Dataset) -> Dataset:
    """P2's train split as a data set whose own P2 split is the tuning check (seeded, train users only)."""
    train = prepare(data, "P2").train
    return Dataset(data.items, train.interactions, data.users, "P2-train")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", default=EncoderConfig().model)
    parser.add_argument("--tune", action="store_true")
    parser.add_argument(
        "--other-phrasing",
        action="store_true",
        help="describe the evaluation users in the --tune phrasing (robustness)",
    )
    parser.add_argument("--grid", help="with --tune: comma-separated positions of the grid to run (default: all)")
    args = parser.parse_args()
    data = load_named("movielens-100k")
    encoder = build_encoder(EncoderConfig(model=args.encoder))
    cache = EmbeddingCache(cache_root() / "embeddings")
    base = {"encoder": EncoderConfig(model=args.encoder), **dataset_entry("movielens-100k").config_fields()}
    if args.tune:
        run = prepare(pseudo_cold(data), "P2", n_onboarding=0)
        grid = [
            {"text_users": DescribedUsersConfig(item_text_weight=0.0)},
            {"text_users": DescribedUsersConfig(item_text_weight=1.0)},
            {"text_users": DescribedUsersConfig(neighbours=50)},
            {"text_users": DescribedUsersConfig(temperature=0.1)},
            {"text_users": DescribedUsersConfig(item_text_weight=0.25)},
            {"text_users": DescribedUsersConfig(item_text_weight=0.0, neighbours=200)},
            {"text_users": DescribedUsersConfig(item_text_weight=0.0, neighbours=400)},
            {"intent": IntentConfig(enabled=False)},
            {"text_users": DescribedUsersConfig(value_weight=0.0)},
            {"text_users": DescribedUsersConfig(value_weight=0.5)},
            {"text_users": DescribedUsersConfig(value_weight=2.0)},
            {"text_users": DescribedUsersConfig(value_temperature=0.3)},
            {"intent": base["intent"].model_copy(update={"value_aliases": {}})},
            {"intent": base["intent"].model_copy(update={"order": False})},
            {
                "intent": base["intent"].model_copy(update={"order": False}),
                "text_users": DescribedUsersConfig(value_weight=0.0),
            },
            {
                "intent": base["intent"].model_copy(update={"order": False}),
                "text_users": DescribedUsersConfig(value_weight=2.0),
            },
        ]
        if args.grid is not None:
            grid = [grid[int(i)] for i in args.grid.split(",")]
        configs = {"default": RecommenderConfig(**base)}
        configs |= {_label(g): RecommenderConfig(**{**base, **g}) for g in grid}
    else:
        run = prepare(data, "P2", n_onboarding=0)
        configs = {
            "default": RecommenderConfig(**base),
            "plain cosine": RecommenderConfig(**base, text_users=DescribedUsersConfig(enabled=False)),
            "no intent ordering": RecommenderConfig(**{**base, "intent": IntentConfig(enabled=False)}),
        }
    source = pseudo_cold(data) if args.tune else data
    history_runs = [prepare(source, "P2", n_onboarding=n) for n in ((2, 5, 10) if args.tune else (5,))]
    phrasings = (english_other, chinese_other) if args.tune or args.other_phrasing else (english, chinese)
    blend_grid = [TextBlendConfig(weight=w, half=h) for w, h in ((0, 10), (0.25, 10), (1, 10), (0.5, 3), (1, 3))]
    results = check(run, data, configs, encoder, cache, history_runs, phrasings, blend_grid if args.tune else [])
    print(f"{'tuning inside P2 train' if args.tune else 'P2'}: {len(run.queries)} cold users, encoder {args.encoder}")
    print("| model | NDCG@10 | / MostPopular |\n|---|---|---|")
    for name, value in results.items():
        print(f"| {name} | {value:.4f} | {value / results['MostPopular']:.3f} |")


if __name__ == "__main__":
    main()
