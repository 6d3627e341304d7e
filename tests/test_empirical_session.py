"""What a notebook session meets with the empirical companion: ``empirical.train`` stays a function, and
the progress bar switches off when asked or when nobody is watching, without changing a run.

The import trap (issue 17): ``empirical.train`` used to be both a lazily exported function and a
submodule; importing the submodule replaced the attribute, and the second call failed with
"'module' object is not callable". The loop now lives in ``empirical.training``.
"""

import importlib
import io

import jax
import numpy as np
import pytest

pytest.importorskip("flax")
pytest.importorskip("optax")

from ssl_odes import empirical  # noqa: E402
from ssl_odes.empirical import training  # noqa: E402

# A linear encoder on synthetic views: the cheapest run to compile (a few seconds on a busy CPU).
TINY = dict(method="simsiam", predictor="linear", encoder="linear", dataset="synthetic", input_dim=4, feature_dim=4,
            projector_hidden=0, batch_size=16, steps=4, log_every=2)


def test_empirical_train_is_a_function_on_every_call_and_every_import():
    config = empirical.TrainConfig(**TINY)
    first = empirical.train(config, evaluate_probes=False, progress=False)
    # What used to break it: importing the submodule that held the loop.
    importlib.import_module("ssl_odes.empirical.training")
    second = empirical.train(config, evaluate_probes=False, progress=False)
    from ssl_odes.empirical import train

    assert callable(train) and train is training.train and empirical.train is training.train
    third = train(config, evaluate_probes=False, progress=False)
    for run in (first, second, third):
        assert isinstance(run, empirical.TrainResult) and run.finished
    # The same config and seed: the three runs are the same run.
    assert [r["loss"] for r in second.records] == [r["loss"] for r in first.records] == [r["loss"] for r in third.records]
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("ssl_odes.empirical.train")


def _losses(result):
    return [r["loss"] for r in result.records if r["kind"] == "spectra"]


def test_progress_bar_shows_steps_and_loss_and_does_not_change_the_run(capsys):
    config = empirical.TrainConfig(**TINY)
    quiet = training.train(config, evaluate_probes=False, progress=False)
    assert capsys.readouterr().err == ""
    shown = training.train(config, evaluate_probes=False, progress=True)
    err = capsys.readouterr().err
    assert f"{config.steps}/{config.steps}" in err and "loss=" in err and "step/s" in err
    assert _losses(shown) == _losses(quiet)
    for a, b in zip(jax.tree_util.tree_leaves(shown.state), jax.tree_util.tree_leaves(quiet.state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # bit-identical: the bar only reads the loss


def test_progress_is_off_when_not_interactive_or_under_ci(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())  # piped or captured: not interactive
    assert training.progress_enabled(None) is False
    monkeypatch.setattr("sys.stderr", Terminal())
    assert training.progress_enabled(None) is True
    monkeypatch.setenv("CI", "true")
    assert training.progress_enabled(None) is False
    assert training.progress_enabled(True) is True  # asked for explicitly, even under CI
    monkeypatch.setenv("CI", "0")
    assert training.progress_enabled(None) is True
    assert training.progress_enabled(False) is False
    with pytest.raises(TypeError, match="progress"):
        training.progress_enabled("yes")
