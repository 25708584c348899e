"""The artifact under faults: a crash in the middle of a swap, a full disk while writing."""

import errno
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from semrec.config import RecommenderConfig
from semrec.errors import ArtifactError
from semrec.pipeline import Recommender
from semrec.text import EncoderConfig

CONFIG = RecommenderConfig(scorer="ease", scorer_config={"l2": 1.0}, encoder=EncoderConfig(model="hashing"))


@pytest.fixture
def saved(catalogue, hashing, tmp_path):
    model = Recommender.fit(catalogue, CONFIG, encoder=hashing)
    model.save(tmp_path / "model")
    return model, tmp_path / "model"


@pytest.mark.parametrize("after_renames", [0, 1])
def test_a_process_killed_inside_the_swap_leaves_the_old_or_the_new_model(saved, tmp_path, after_renames):
    """The saving process dies (``os._exit``, as under SIGKILL: no cleanup runs) before the first
    rename or between the two renames; the next load finds a complete model."""
    model, folder = saved
    script = textwrap.dedent(
        f"""
        import os, pathlib
        from semrec.pipeline import Recommender
        from semrec.text import HashingEncoder
        model = Recommender.load({str(folder)!r}, encoder=HashingEncoder())
        model.forget_user("ann")  # the new model differs from the old: ann is gone
        real, calls = pathlib.Path.replace, []
        def replace(self, target):
            if len(calls) == {after_renames}:
                os._exit(9)
            calls.append(target)
            return real(self, target)
        pathlib.Path.replace = replace
        model.save({str(folder)!r})
        """
    )
    assert subprocess.run([sys.executable, "-c", script], capture_output=True).returncode == 9
    assert (not folder.exists()) == (after_renames == 1)  # between the renames: no artifact in place
    loaded = Recommender.load(folder)
    assert ("ann" in loaded.users.vocab) == (after_renames == 0)  # before: the old model; between: the new one
    debris = [p.name for p in tmp_path.iterdir() if p.name.startswith(".model.")]
    assert len(debris) == (1 - after_renames)  # before the swap the finished new folder stays aside
    np.testing.assert_array_equal(loaded.catalogue.vocab.ids, model.catalogue.vocab.ids)


def test_a_full_disk_while_saving_is_a_clear_error_and_the_old_artifact_stays(saved, monkeypatch):
    model, folder = saved
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full)
    with pytest.raises(ArtifactError, match="No space left on device; the previous artifact there is unchanged"):
        model.save(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".model.")] == []
    Recommender.load(folder)
