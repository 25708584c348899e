import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semrec.config import RecommenderConfig
from semrec.pipeline import Recommender
from semrec.pipeline.counterfactual import without_part
from semrec.pipeline.handover import HandoverConfig
from semrec.pipeline.rerank import (
    CalibratedReranker,
    MMRReranker,
    TagMMRReranker,
    TopicDiversificationReranker,
    mmr,
    tag_matrix,
)
from semrec.text import EncoderConfig
from semrec.types import Query


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_mmr_known_answer_skips_a_near_duplicate():
    embeddings = unit([[1, 0], [1, 0.01], [0, 1]])  # items 0 and 1 are near duplicates
    candidates, relevance = np.array([0, 1, 2]), np.array([1.0, 0.9, 0.5])
    similarity = embeddings @ embeddings.T
    assert mmr(candidates, relevance, similarity, 3, 0.0).tolist() == [0, 1, 2]
    assert mmr(candidates, relevance, similarity, 2, 0.5).tolist() == [0, 2]
    assert MMRReranker(embeddings).rerank(candidates, relevance, np.array([]), 2, 0.5).tolist() == [0, 2]


def test_topic_diversification_known_answer():
    tags, _ = tag_matrix(["Comedy", "Comedy", "Comedy", "Drama", "Horror"])
    candidates, relevance = np.arange(5), np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    reranker = TopicDiversificationReranker(tags)
    assert reranker.rerank(candidates, relevance, np.array([]), 3, 0.0).tolist() == [0, 1, 2]
    # d = 0.5: after item 0, Drama (gain 1/log2(5) = 0.43, distance 1) beats Comedy 1 (gain 0.63, distance 0)
    assert reranker.rerank(candidates, relevance, np.array([]), 3, 0.5).tolist() == [0, 3, 4]


def test_tag_mmr_and_calibration_known_answers():
    tags, names = tag_matrix(["Comedy", "Comedy", "Horror|Comedy", "Drama"])
    assert names == ["Comedy", "Drama", "Horror"] and tags[2].tolist() == [0.5, 0.0, 0.5]
    candidates, relevance = np.array([0, 1, 2, 3]), np.array([1.0, 0.95, 0.9, 0.1])
    assert TagMMRReranker(tags).rerank(candidates, relevance, np.array([]), 2, 0.5).tolist() == [0, 2]
    # a history that is half Comedy, half Drama pulls the Drama item into a 2-item list
    calibrated = CalibratedReranker(tags).rerank(candidates, relevance, np.array([0, 3]), 2, 0.5)
    assert calibrated.tolist() == [0, 3]
    assert CalibratedReranker(tags).rerank(candidates, relevance, np.array([0, 3]), 2, 0.0).tolist() == [0, 1]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(1, 15), st.integers(0, 2**31 - 1))
def test_mmr_zero_diversity_is_relevance_order_and_output_is_a_subset(m, k, seed):
    rng = np.random.default_rng(seed)
    embeddings = unit(rng.normal(size=(20, 4)) + 1e-3)
    candidates = rng.choice(20, size=m, replace=False)
    relevance = np.sort(rng.random(m))[::-1]
    assert mmr(candidates, relevance, np.eye(m), k, 0.0).tolist() == candidates[:k].tolist()
    for reranker in (
        MMRReranker(embeddings),
        TagMMRReranker(rng.random((20, 3)) > 0.5),
        CalibratedReranker(tag_matrix(["a|b", "b", "c"] * 6 + ["a", "c"])[0]),
    ):
        assert reranker.rerank(candidates, relevance, candidates[:2], k, 0.0).tolist() == candidates[:k].tolist()
    picked = mmr(candidates, relevance, embeddings[candidates] @ embeddings[candidates].T, k, float(rng.random()))
    assert len(picked) == min(k, m) and len(set(picked.tolist())) == len(picked)
    assert set(picked.tolist()) <= set(candidates.tolist()) and picked[0] == candidates[0]


def test_mmr_rejects_bad_arguments():
    with pytest.raises(ValueError, match="diversity"):
        mmr(np.array([0]), np.array([1.0]), np.eye(1), 1, 1.5)


@pytest.fixture
def model(catalogue, hashing):
    return Recommender.fit(
        catalogue,
        RecommenderConfig(
            scorer="ease",
            scorer_config={"l2": 1.0},
            encoder=EncoderConfig(model="hashing"),
            handover=HandoverConfig(enabled=False),
        ),
        encoder=hashing,
    )


def test_diversity_knob_zero_is_unchanged_and_positive_stays_in_the_pool(model):
    plain = model.recommend(Query(user_id="dan", k=4))
    assert model.recommend(Query(user_id="dan", k=4, diversity=0.0)).item_ids.tolist() == plain.item_ids.tolist()
    for reranker in ("auto", "mmr", "mmr-tags", "calibrated", "topic"):
        diverse = model.recommend(Query(user_id="dan", k=4, diversity=1.0, reranker=reranker))
        assert diverse.item_ids[0] == plain.item_ids[0] and len(diverse.item_ids) == 4
        assert not {"toy", "lion", "titanic"} & set(diverse.item_ids.tolist())
    with pytest.raises(ValueError):
        Query(diversity=1.2)


def test_every_cited_fact_is_true(model, catalogue):
    items = catalogue.items.set_index("item_id")
    for user in ("ann", "bob", "cat", "dan", "eve"):
        history = set(catalogue.interactions.loc[catalogue.interactions.user_id == user, "item_id"])
        result = model.recommend(Query(user_id=user, k=5, explain=True))
        assert len(result.explanations) == len(result.item_ids)
        for item_id, explanation in zip(result.item_ids, result.explanations):
            assert explanation.item_id == item_id and explanation.reason
            for cited, _ in explanation.because:
                assert cited in history
            for name, values in explanation.shared.items():
                own = set(items.loc[item_id, name].split("|"))
                cited_values = set().union(*(items.loc[c, name].split("|") for c, _ in explanation.because))
                assert set(values) <= own & cited_values


def test_explanations_cite_only_history_items_whose_removal_lowers_the_item(model):
    """Was: the explainer read EASE's B whatever model ranked the item; now each cited history item
    is a counterfactual: without it (same blocked items) the recommended item falls in the ranking."""
    history = ["toy", "lion", "titanic"]
    n = model.n_items
    result = model.recommend(Query(history=history, k=3, explain=True))
    full = list(model.recommend(Query(history=history, k=n)).item_ids)
    cited_any = 0
    for item, explanation in zip(result.item_ids, result.explanations):
        for cited, drop in explanation.because:
            without = list(
                model.recommend(Query(history=[h for h in history if h != cited], exclude=[cited], k=n)).item_ids
            )
            assert drop > 0 and without.index(item) - full.index(item) == drop
            cited_any += 1
    assert cited_any >= 1


def test_text_explanations_cite_only_words_and_interests_whose_removal_lowers_the_item(model):
    text = "haunted hotel horror"
    explained = {e.item_id: e for e in model.recommend(Query(text=text, k=3, explain=True)).explanations}
    # served: scream, alien, shining; without "horror" ("haunted hotel"): alien, scream, shining;
    # without "haunted" or "hotel" the list does not change, so neither word is cited
    assert (
        explained["scream"].matched_words == ["horror"] and explained["scream"].reason == "Matches your words: horror."
    )
    assert explained["shining"].interests == [text] and explained["shining"].matched_words == []
    full = list(model.recommend(Query(text=text, k=8)).item_ids)
    for item, e in explained.items():
        rest = text
        for part in [*e.interests, *e.matched_words]:
            rest = without_part(rest, part) if rest is not None else None
        after = list(model.recommend(Query(text=rest, k=8)).item_ids)
        assert not (e.interests or e.matched_words) or after.index(item) > full.index(item)
    popular = model.recommend(Query(k=1, explain=True)).explanations[0]
    assert popular.reason == f"Popular: {popular.popularity} users interacted with it." and popular.popularity == 2


def test_no_reason_cites_a_zero_count(model):
    """Was: "Popular: 0 users interacted with it" for items nobody touched."""
    model.upsert_item("brand-new", {"title": "A brand new film", "genres": "Drama"})
    result = model.recommend(Query(k=model.n_items, explain=True))
    reasons = {e.item_id: e.reason for e in result.explanations}
    assert reasons["brand-new"] == "New in the catalogue: no one has interacted with it yet."
    assert not any(r.startswith("Popular: 0 ") for r in reasons.values())


@pytest.mark.parametrize(
    ("text", "part", "rest"),
    [
        ("Horror and western, more horror", "horror", "  and western, more horror"),  # case-insensitive, once
        ("horror", "horror", None),  # nothing left: the request has no text
        ("我喜欢恐怖片和喜剧片", "喜剧片", "我喜欢恐怖片和 "),
        ("scary films", "western", "scary films"),  # absent: unchanged
    ],
)
def test_without_part_removes_one_occurrence(text, part, rest):
    assert without_part(text, part) == rest
