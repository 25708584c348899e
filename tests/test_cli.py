"""The command line as a new user meets it: real files, bad input, exit codes, nothing written on error."""

import json

import pytest
from typer.testing import CliRunner

from semrec.cli import app

runner = CliRunner()

ITEMS = (
    "item_id,title,genres,overview\n"
    "toy,Toy Story,Animation|Children's,animated toys for kids\n"
    "lion,The Lion King,Animation|Children's,animated lion cub for kids\n"
    "alien,Alien,Sci-Fi|Horror,space monster horror\n"
    "scream,Scream,Horror,a slasher horror\n"
    "notebook,The Notebook,Romance,a love story\n"
)
RATINGS = (
    "user,item,stars,when\nann,toy,5,1\nann,lion,4,2\nbob,alien,5,1\nbob,scream,3,2\ncat,toy,4,1\ncat,notebook,5,3\n"
)
MAP = [
    "--interaction-col",
    "user_id=user",
    "--interaction-col",
    "item_id=item",
    "--interaction-col",
    "value=stars",
    "--interaction-col",
    "timestamp=when",
]


@pytest.fixture
def files(tmp_path):
    (tmp_path / "items.csv").write_text(ITEMS)
    (tmp_path / "ratings.csv").write_text(RATINGS)
    return tmp_path


def fit(files, out, ratings="ratings.csv", items="items.csv", extra=()):
    return runner.invoke(
        app,
        [
            "fit",
            "--items",
            str(files / items),
            "--interactions",
            str(files / ratings),
            *MAP,
            "--encoder",
            "hashing",
            "--scorer",
            "ease",
            "--param",
            "l2=1.0",
            "--out",
            str(out),
            "--no-handover",
            *extra,
        ],
    )


def test_fit_then_recommend_user_text_and_history(files):
    out = files / "model"
    result = fit(files, out)
    assert result.exit_code == 0, result.output
    assert "fitted ease on 3 users x 5 items" in result.output and (out / "manifest.json").exists()
    user = runner.invoke(app, ["recommend", "--model", str(out), "--user", "ann", "-k", "2", "--json"])
    payload = json.loads(user.stdout)
    assert payload["source"] == "ease" and payload["items"][0]["item_id"] == "notebook"
    text = runner.invoke(app, ["recommend", "--model", str(out), "--text", "slasher horror", "-k", "1", "--json"])
    assert json.loads(text.stdout)["items"][0]["title"] == "Scream"
    table = runner.invoke(app, ["recommend", "--model", str(out), "--history", "toy", "-k", "3"])
    assert table.exit_code == 0 and "The Lion King" in table.stdout


def test_unknown_user_falls_back_with_a_note(files):
    fit(files, files / "model")
    result = runner.invoke(app, ["recommend", "--model", str(files / "model"), "--user", "ghost", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["source"] == "most-popular"


@pytest.mark.parametrize(
    "ratings, expected",
    [
        ("user,item,when\nann,toy,1\n", "missing required column 'stars'"),
        ("user,item,stars,when\nann,toy,5,1\nann,lion,great,2\n", "line 3, column 'stars': not a number: 'great'"),
        ("user,item,stars,when\nann,toy,5,1\nann,dune,5,2\n", "line 3, column 'item': unknown item id 'dune'"),
    ],
)
def test_bad_input_one_clear_error_nonzero_exit_nothing_written(files, ratings, expected):
    (files / "bad.csv").write_text(ratings)
    out = files / "model"
    result = fit(files, out, ratings="bad.csv")
    assert result.exit_code == 2
    assert expected in " ".join(result.stderr.split())
    assert "Traceback" not in result.output and not out.exists()
    assert {p.name for p in files.iterdir()} == {"items.csv", "ratings.csv", "bad.csv"}


def test_failed_refit_keeps_the_existing_artifact(files):
    out = files / "model"
    assert fit(files, out).exit_code == 0
    before = (out / "manifest.json").read_text()
    (files / "bad.csv").write_text("user,item,stars,when\nann,toy,x,1\n")
    assert fit(files, out, ratings="bad.csv").exit_code == 2
    assert (out / "manifest.json").read_text() == before


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_query_is_an_error(files, text):
    fit(files, files / "model")
    result = runner.invoke(app, ["recommend", "--model", str(files / "model"), "--text", text])
    assert result.exit_code == 2 and "text query is empty" in result.stderr


def test_usage_errors(files):
    missing = runner.invoke(app, ["recommend", "--model", str(files / "none"), "--user", "1"])
    assert missing.exit_code == 2 and "not a semrec artifact" in missing.stderr
    both = runner.invoke(app, ["fit", "--dataset", "movielens-100k", "--items", "x.csv", "--out", str(files / "m")])
    assert both.exit_code == 2 and "not both" in both.stderr
    scorer = fit(files, files / "m", extra=["--scorer", "svd"])
    assert scorer.exit_code == 2 and "unknown scorer 'svd'" in scorer.stderr
    param = fit(files, files / "m", extra=["--param", "l2=-3"])
    assert param.exit_code == 2 and "l2" in param.stderr and not (files / "m").exists()
    k = runner.invoke(app, ["recommend", "--model", str(files / "none"), "--user", "1", "-k", "0"])
    assert k.exit_code == 2 and "k" in k.stderr


def test_evaluate_writes_json_and_markdown(tmp_path):
    from tests.conftest import checkerboard

    checkerboard().save_dir(tmp_path / "d")
    out = tmp_path / "eval"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--items",
            str(tmp_path / "d" / "items.csv"),
            "--interactions",
            str(tmp_path / "d" / "interactions.csv"),
            "--scorers",
            "most-popular,ease,content-profile",
            "--encoder",
            "hashing",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "P1.json").read_text())
    assert [r["scorer"] for r in report["results"]] == ["most-popular", "ease", "content-profile"]
    assert "| ease |" in (out / "P1.md").read_text()


def test_fit_never_overwrites_a_folder_that_is_not_an_artifact(files):
    precious = files / "mydata"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    result = fit(files, precious)
    assert result.exit_code == 2 and "not a semrec artifact" in result.stderr
    assert (precious / "notes.txt").read_text() == "keep me"
    assert fit(files, files / "items.csv").exit_code == 2 and (files / "items.csv").read_text() == ITEMS


def test_encoding_option_and_template_errors(files):
    (files / "latin.csv").write_bytes("item_id,title,genres,overview\ncafe,Caf\xe9,Drama,x\n".encode("latin-1"))
    (files / "r.csv").write_text("user,item,stars,when\nann,cafe,5,1\n")
    bad = fit(files, files / "m", ratings="r.csv", items="latin.csv")
    assert bad.exit_code == 2 and "line 2" in bad.stderr and "--encoding" in bad.stderr
    assert fit(files, files / "m", ratings="r.csv", items="latin.csv", extra=["--encoding", "latin-1"]).exit_code == 0
    template = fit(files, files / "m2", extra=["--text-template", "{nosuch}"])
    assert template.exit_code == 2 and "unknown field 'nosuch'" in template.stderr and '"' not in template.stderr
    broken = fit(files, files / "m2", extra=["--text-template", "{title"])
    assert broken.exit_code == 2 and "malformed" in broken.stderr


def test_a_header_only_item_file_alone_is_an_error_and_nothing_is_written(files):
    (files / "empty.csv").write_text("item_id,title\n")
    out = files / "model"
    result = runner.invoke(app, ["fit", "--items", str(files / "empty.csv"), "--encoder", "hashing", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "empty.csv" in result.stderr and "no items" in result.stderr and not out.exists()


def test_texts_cut_for_the_encoder_are_announced_once_with_their_count(files):
    long = "item_id,title,overview\n" + "".join(f"i{n},Title {n},{'word ' * 400}\n" for n in range(3)) + "s,Short,x\n"
    (files / "long.csv").write_text(long)
    result = runner.invoke(
        app, ["fit", "--items", str(files / "long.csv"), "--encoder", "hashing", "--out", str(files / "m")]
    )
    assert result.exit_code == 0, result.output
    notes = [line for line in result.stdout.splitlines() if "were cut" in line]
    assert len(notes) == 1 and "3 item texts longer than 1,500 characters" in notes[0]
