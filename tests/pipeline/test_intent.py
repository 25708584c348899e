"""Intent over the catalogue's vocabulary and several interests in one need (known answers)."""

import numpy as np
import pytest

from semrec.config import RecommenderConfig
from semrec.pipeline import Recommender
from semrec.pipeline.intent import IntentConfig, split_aspects
from semrec.text import EncoderConfig
from semrec.types import Query


@pytest.mark.parametrize(
    ("text", "aspects"),
    [
        ("laptops, tablets and phones", ["laptops", "tablets", "phones"]),
        ("我最近喜欢看恐怖片和喜剧", ["我最近喜欢看恐怖片", "喜剧"]),
        ("我最近喜欢浏览笔记本电脑、平板电脑和手机", ["我最近喜欢浏览笔记本电脑", "平板电脑", "手机"]),
        ("películas de terror y comedias", ["películas de terror", "comedias"]),
        ("Horrorfilme und Western", ["Horrorfilme", "Western"]),
        ("我喜欢和平的电影", ["我喜欢和平的电影"]),  # 和 inside the word 和平 (peace) does not split
        ("scary movies", ["scary movies"]),
        ("horror and and , ,", ["horror"]),  # parts without content words are dropped
    ],
)
def test_split_aspects_at_list_separators_and_conjunctions(text, aspects):
    assert split_aspects(text) == aspects


def fit(dataset, **intent):
    config = RecommenderConfig(
        scorer="ease", encoder=EncoderConfig(model="hashing", dim=256), intent=IntentConfig(**intent)
    )
    return Recommender.fit(dataset, config)


def genres_of(model, result):
    table = model.catalogue.items.set_index("item_id")["genres"]
    return [set(table[i].split("|")) for i in result.item_ids]


def test_a_named_value_puts_its_items_first_in_score_order(catalogue):
    model = fit(catalogue)
    result = model.recommend(Query(text="horror", k=3, explain=True))
    assert all("Horror" in g for g in genres_of(model, result))
    assert any("'Horror'" in note for note in result.notes)
    assert all("is Horror, which the request asks for" in e.reason for e in result.explanations)
    off = fit(catalogue, enabled=False).recommend(Query(text="horror", k=3))
    assert not any("interests read from the text" in note for note in off.notes)


def test_two_interests_share_the_list_round_robin(catalogue):
    model = fit(catalogue)
    result = model.recommend(Query(text="horror and romance", k=4))
    genres = genres_of(model, result)
    assert sum("Horror" in g for g in genres) == 2 and sum("Romance" in g for g in genres) == 2
    assert "Horror" in genres[0] and "Romance" in genres[1]  # interleaved: horror, romance, horror, romance


def test_a_history_with_a_text_keeps_the_history_order_within_the_named_value(catalogue):
    model = fit(catalogue)
    history = ["toy", "lion"]
    plain = model.recommend(Query(history=history, k=8))
    with_text = model.recommend(Query(history=history, text="horror", k=8))
    horror = [i for i in plain.item_ids if i in {"alien", "scream", "shining"}]
    assert list(with_text.item_ids[: len(horror)]) == horror  # the history's order among horror films
    assert not any("text ignored" in note for note in with_text.notes)
    unrelated = model.recommend(Query(history=history, text="zebra crossing", k=8))
    assert list(unrelated.item_ids) == list(plain.item_ids)
    assert any("text ignored" in note for note in unrelated.notes)


def test_without_vocabulary_each_aspect_retrieves_by_its_own_text(catalogue):
    items = catalogue.items.drop(columns=["genres"])
    from semrec.data.tables import Dataset

    model = fit(Dataset.text_only(items))
    result = model.recommend(Query(text="kids, ship", k=2))
    assert set(result.item_ids) == {"toy", "titanic"} or set(result.item_ids) == {"lion", "titanic"}


def test_blocked_items_leave_no_hole_in_an_interest_share(catalogue):
    model = fit(catalogue)
    result = model.recommend(Query(text="horror and romance", k=4, exclude=["scream", "alien"]))
    genres = genres_of(model, result)
    assert sum("Horror" in g for g in genres) == 1 and sum("Romance" in g for g in genres) == 2
    assert np.all(np.diff(result.scores) <= 0)
