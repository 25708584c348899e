"""The text route's value route: users whose own most frequent values are those a text names (known answers)."""

import numpy as np
import pytest

from semrec.scorers.described import DescribedUsersConfig, DescribedUsersModel

GENRES = [  # toy, lion, alien, terminator, notebook, titanic, scream, shining
    ["Animation", "Children's"],
    ["Animation", "Children's"],
    ["Sci-Fi", "Horror"],
    ["Sci-Fi", "Action"],
    ["Romance", "Drama"],
    ["Romance", "Drama"],
    ["Horror"],
    ["Horror"],
]
HISTORIES = [np.array(h) for h in ([0, 1], [2, 3, 6], [4, 5], [0, 1, 5], [6, 7, 2])]  # ann bob cat dan eve


@pytest.fixture(scope="module")
def model():
    def encode(texts):
        return np.eye(len(texts), 4, dtype=np.float32)  # the value route does not read the embeddings

    return DescribedUsersModel.fit(HISTORIES, 8, GENRES, encode, DescribedUsersConfig())


def test_each_user_profile_holds_its_most_frequent_values(model):
    named = {u: {model.values[j] for j in np.flatnonzero(row)} for u, row in zip("abcde", model.profiles)}
    assert named == {
        "a": {"Animation", "Children's"},
        "b": {"Horror", "Sci-Fi", "Action"},  # Horror and Sci-Fi twice, Action once
        "c": {"Drama", "Romance"},
        "d": {"Animation", "Children's", "Drama"},  # Drama before Romance at a tie: by name
        "e": {"Horror", "Sci-Fi"},
    }


def test_a_text_naming_values_gets_what_the_users_sharing_most_of_them_consume(model):
    scores = model.score_values([["Horror", "Sci-Fi"], ["Drama"], ["Western"]], temperature=0.1)
    # bob and eve share both values (weight 1/2 each); the others none (weight e^-20 each)
    assert scores[0] == pytest.approx([0, 0, 1.0, 0.5, 0, 0, 1.0, 0.5], abs=1e-6)
    # cat and dan name Drama (the others e^-10 each)
    assert scores[1] == pytest.approx([0.5, 0.5, 0, 0, 0.5, 1.0, 0, 0], abs=1e-4)
    assert not scores[2].any()  # a value no user names: no answer from this route


def test_the_value_route_survives_the_artifact_state(model):
    again = DescribedUsersModel.from_state(model.get_state())
    assert again.values == model.values
    np.testing.assert_array_equal(again.score_values([["Drama"]]), model.score_values([["Drama"]]))
