"""The CLI's error policy: the user's mistakes are one `error:` line and exit 2; semrec's bugs say so and exit 1.

Independent of the pipeline: the commands used here only reach the data registry, which is
monkeypatched to inject the failures.
"""

import pytest
from typer.testing import CliRunner

from semrec.cli import app
from semrec.data import registry
from semrec.errors import DataFormatError, SemrecError, UsageError

runner = CliRunner()


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_unknown_dataset_is_one_error_line_and_exit_2():
    result = runner.invoke(app, ["data", "fetch", "no-such-data"])
    assert result.exit_code == 2
    assert lines(result.stderr) == [lines(result.stderr)[0]] and result.stderr.startswith("error: unknown dataset")
    assert "Traceback" not in result.output and "bug" not in result.stderr


def _raise(exc: Exception):
    def broken(*args, **kwargs):
        raise exc

    return broken


@pytest.mark.parametrize("exc", [SemrecError("the catalogue is [empty]"), DataFormatError("bad", path="x.csv", line=3)])
def test_semrec_errors_are_user_errors(monkeypatch, exc):
    monkeypatch.setattr(registry, "dataset_entry", _raise(exc))
    result = runner.invoke(app, ["data", "fetch", "movielens-100k"])
    assert result.exit_code == 2
    assert lines(result.stderr) == [f"error: {exc}"]


@pytest.mark.parametrize("exc", [KeyError("user_idx"), ZeroDivisionError("division by zero"), ValueError("boom")])
def test_an_injected_bug_exits_1_and_says_it_is_a_bug(monkeypatch, exc):
    monkeypatch.delenv("SEMREC_DEBUG", raising=False)
    monkeypatch.setattr(registry, "dataset_entry", _raise(exc))
    result = runner.invoke(app, ["data", "fetch", "movielens-100k"])
    assert result.exit_code == 1, result.output
    assert "bug in semrec" in result.stderr and type(exc).__name__ in result.stderr and str(exc) in result.stderr
    assert "-v" in result.stderr and "SEMREC_DEBUG=1" in result.stderr
    assert "Traceback" not in result.stderr and not result.stderr.startswith("error:")


@pytest.mark.parametrize("how", ["-v", "SEMREC_DEBUG"])
def test_verbose_or_debug_env_prints_the_traceback_of_a_bug(monkeypatch, how):
    monkeypatch.setattr(registry, "dataset_entry", _raise(ZeroDivisionError("division by zero")))
    if how == "SEMREC_DEBUG":
        monkeypatch.setenv("SEMREC_DEBUG", "1")
        args = ["data", "fetch", "movielens-100k"]
    else:
        monkeypatch.delenv("SEMREC_DEBUG", raising=False)
        args = ["-v", "data", "fetch", "movielens-100k"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr and "ZeroDivisionError" in result.stderr
    assert "bug in semrec" in result.stderr


def test_typer_usage_errors_stay_usage_errors():
    result = runner.invoke(app, ["data", "fetch"])
    assert result.exit_code == 2 and "bug" not in result.output


def test_malformed_options_raise_usage_errors():
    from semrec.cli.common import parse_mapping, parse_numbers, parse_params

    with pytest.raises(UsageError, match="--item-col expects FIELD=COLUMN, got 'title'"):
        parse_mapping(["title"], "--item-col")
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_params(["l2"])
    with pytest.raises(UsageError, match="--ns expects comma-separated int values, got 'x'"):
        parse_numbers("1,x", "--ns", int)
    assert parse_params(["l2=200", "name=abc"]) == {"l2": 200, "name": "abc"}
    assert issubclass(UsageError, ValueError) and issubclass(UsageError, SemrecError)


def test_fit_with_an_unknown_holdout_is_one_error_line_before_anything_is_loaded(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "dataset_entry", _raise(AssertionError("loaded before checking --holdout")))
    result = runner.invoke(
        app, ["fit", "--dataset", "movielens-100k", "--out", str(tmp_path / "m"), "--holdout", "next"]
    )
    assert result.exit_code == 2
    assert lines(result.stderr) == ["error: --holdout must be temporal or random, got 'next'"]
    assert not (tmp_path / "m").exists()
