"""What fit and evaluate hand the library: defaults per scorer, the onboarding-ranker switch, configs by label.

The library calls are monkeypatched to record their arguments and stop, so nothing is fitted.
"""

import pytest
from typer.testing import CliRunner

from semrec.cli import app
from semrec.errors import SemrecError
from semrec.text import EncoderConfig, TextTemplateConfig

runner = CliRunner()

ITEMS = "item_id,title,genres\ntoy,Toy Story,Animation\nlion,The Lion King,Animation\nalien,Alien,Horror\n"
RATINGS = "user_id,item_id,value,timestamp\nann,toy,5,1\nann,lion,4,2\nbob,alien,5,1\ncat,toy,4,1\n"


class Stop(SemrecError):
    """Raised by the recorders once they have the arguments."""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "items.csv").write_text(ITEMS)
    (tmp_path / "ratings.csv").write_text(RATINGS)
    return tmp_path


@pytest.fixture
def fitted_config(monkeypatch):
    seen = {}

    def record(dataset, config=None, *args, **kwargs):
        seen["config"] = config
        raise Stop("recorded")

    monkeypatch.setattr("semrec.pipeline.Recommender.fit", record)
    return seen


def fit(files, *extra):
    data = ["--items", str(files / "items.csv"), "--interactions", str(files / "ratings.csv")]
    return runner.invoke(app, ["fit", *data, "--encoder", "hashing", "--out", str(files / "m"), *extra])


@pytest.mark.parametrize(
    "extra, scorer, ranker",
    [
        ((), "hybrid", True),
        (("--no-onboarding-ranker",), "hybrid", False),
        (("--scorer", "ease"), "ease", False),
        (("--scorer", "ease", "--onboarding-ranker"), "ease", True),
    ],
)
def test_fit_defaults_to_hybrid_with_the_onboarding_ranker(files, fitted_config, extra, scorer, ranker):
    result = fit(files, *extra)
    assert result.exit_code == 2 and "recorded" in result.stderr, result.output
    config = fitted_config["config"]
    assert config.scorer == scorer and config.onboarding.enabled is ranker
    assert config.encoder.model == "hashing" and config.handover.enabled


def test_fit_options_reach_the_config(files, fitted_config):
    result = fit(files, "--scorer", "ease", "--param", "l2=5", "--no-handover", "--text-template", "{title}")
    assert result.exit_code == 2 and "recorded" in result.stderr, result.output
    config = fitted_config["config"]
    assert config.scorer_config == {"l2": 5} and not config.handover.enabled and config.text.template == "{title}"


def test_fit_refuses_an_out_folder_that_is_not_an_artifact(files, fitted_config):
    (files / "m").mkdir()
    result = fit(files)
    assert result.exit_code == 2 and "not a semrec artifact" in result.stderr and "config" not in fitted_config


@pytest.fixture
def evaluated(monkeypatch):
    seen = {}

    def record(dataset, configs, protocol="P1", k=10, **kwargs):
        seen.update(dataset=dataset, configs=configs, protocol=protocol, k=k, **kwargs)
        raise Stop("recorded")

    monkeypatch.setattr("semrec.evaluation.runner.evaluate", record)
    return seen


def evaluate(files, *extra):
    data = ["--items", str(files / "items.csv"), "--interactions", str(files / "ratings.csv")]
    return runner.invoke(app, ["evaluate", *data, "--encoder", "hashing", *extra])


def test_evaluate_passes_one_default_config_per_scorer_name(files, evaluated):
    from semrec.config import RecommenderConfig

    result = evaluate(files, "--scorers", "ease,hybrid", "-k", "5")
    assert result.exit_code == 2 and "recorded" in result.stderr, result.output
    fields = {"encoder": EncoderConfig(model="hashing"), "text": TextTemplateConfig()}
    assert evaluated["configs"] == {name: RecommenderConfig(scorer=name, **fields) for name in ("ease", "hybrid")}
    assert evaluated["configs"]["hybrid"].onboarding.enabled and evaluated["k"] == 5


def test_evaluate_reads_files_in_the_encoding_and_separator_given(files, evaluated):
    (files / "items.csv").write_bytes("item_id;title\ntoy;Amélie\nlion;Lion\n".encode("latin-1"))
    (files / "ratings.csv").write_text("user_id;item_id;value;timestamp\nann;toy;5;1\nann;lion;4;2\n")
    result = evaluate(files, "--scorers", "ease", "--encoding", "latin-1", "--sep", ";")
    assert result.exit_code == 2 and "recorded" in result.stderr, result.output
    assert list(evaluated["dataset"].items["title"]) == ["Amélie", "Lion"]
    assert len(evaluated["dataset"].interactions) == 2


@pytest.mark.parametrize("command", [evaluate, fit])
def test_an_unknown_encoding_is_a_user_error(files, evaluated, fitted_config, command):
    result = command(files, "--encoding", "no-such-codec")
    assert result.exit_code == 2 and "not a known text encoding" in result.stderr, result.output
    assert "internal error" not in result.stderr and "configs" not in evaluated and "config" not in fitted_config


def test_evaluate_p4_prints_what_the_split_dropped(files):
    # five items with six interactions each, one item rated once: P4 drops it and says so
    users = [f"u{i}" for i in range(6)]
    rows = [f"{u},{item},5,{t}\n" for u in users for t, item in enumerate(["toy", "lion", "alien", "up", "jaws"])]
    (files / "items.csv").write_text(ITEMS + "up,Up,Animation\njaws,Jaws,Horror\nrare,Rare,Drama\n")
    (files / "ratings.csv").write_text("user_id,item_id,value,timestamp\n" + "".join(rows) + "u0,rare,5,9\n")
    result = evaluate(files, "--scorers", "most-popular", "--protocol", "P4")
    assert result.exit_code == 0, result.output
    note = "note: P4: 1 items with fewer than 5 interactions dropped (1 rows); 0 users with 1 or fewer rows kept"
    assert note in " ".join(result.output.split())


def test_evaluate_p2_trains_the_onboarding_ranker_on_the_revealed_length(files, evaluated):
    result = evaluate(files, "--scorers", "hybrid", "--protocol", "P2", "--onboarding", "3")
    assert result.exit_code == 2 and "recorded" in result.stderr, result.output
    assert evaluated["configs"]["hybrid"].onboarding.n_onboarding == 3 and evaluated["n_onboarding"] == 3


@pytest.mark.parametrize("scorers", ["onboarding-ranker", "ease,svd"])
def test_evaluate_unknown_scorer_names_are_user_errors(files, evaluated, scorers):
    result = evaluate(files, "--scorers", scorers)
    assert result.exit_code == 2 and "unknown scorer" in result.stderr and "configs" not in evaluated


@pytest.mark.parametrize("protocol", ["P5", "p4", ""])
def test_evaluate_unknown_protocols_are_user_errors_before_any_data_is_read(files, evaluated, protocol):
    (files / "ratings.csv").write_text("not,a,table\n")  # never read: the protocol is checked first
    result = evaluate(files, "--scorers", "ease", "--protocol", protocol)
    assert result.exit_code == 2 and "unknown protocol" in result.stderr and "P4-validation" in result.stderr
    assert "internal error" not in result.stderr and "configs" not in evaluated


@pytest.mark.parametrize("protocol", ["P4", "MSR"])
def test_evaluate_with_no_evaluable_user_is_one_clear_error(files, protocol):
    # every user has one interaction: leave-last-out and the 75/25 split leave nobody on both sides
    ratings = "user_id,item_id,value,timestamp\n" + "".join(f"u{i},toy,5,{i}\n" for i in range(6))
    (files / "ratings.csv").write_text(ratings)
    result = evaluate(files, "--scorers", "most-popular", "--protocol", protocol)
    assert result.exit_code == 2 and "no user can be evaluated" in result.stderr, result.output
    assert "nan" not in result.output
