"""What fit, warm_start and partial_fit keep, as scikit-learn's MLP does, and where their
warnings point."""

import numpy as np
import pytest
from conftest import interrupt_at_step, short_training
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sk_dae import DenoisingAutoencoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def X():
    return (load_digits().data[:400] / 16.0).astype(np.float32)


def model(**params):
    defaults = dict(n_components=4, hidden_layer_sizes=(16,), batch_size=50, random_state=0)
    return DenoisingAutoencoder(**{**defaults, **params})


# ------------------------------------------------------------------ interrupts


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_interrupt_in_the_first_epoch_keeps_a_usable_model(X, method):
    dae = model(max_iter=5)  # 400 rows, 50 a batch: 8 steps an epoch
    with interrupt_at_step(4), pytest.warns(UserWarning, match=r"0 complete epoch.*3 optimizer"):
        getattr(dae, method)(X)
    assert dae.n_iter_ == 0 and dae.t_ == 150
    assert dae.transform(X).shape == (400, 4)
    assert np.isfinite(dae.score(X))


def test_interrupt_before_any_step_leaves_a_fitted_model_as_it_was(X):
    with short_training():
        dae = model(max_iter=2, warm_start=True).fit(X)
    before = dae.transform(X)
    curve = list(dae.loss_curve_)

    class Interrupting(np.ndarray):
        def __array_finalize__(self, obj):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        dae.fit(X.view(Interrupting))
    np.testing.assert_array_equal(dae.transform(X), before)
    assert dae.loss_curve_ == curve


def test_interrupt_after_epochs_keeps_the_best_epoch_and_says_so(X):
    dae = model(max_iter=50)
    with interrupt_at_step(8 * 3 + 3), pytest.warns(UserWarning, match="3 complete epoch"):
        dae.fit(X)
    assert dae.n_iter_ == 3 and len(dae.loss_curve_) == 3


# ------------------------------------------------------------------ warm start


def test_warm_start_extends_the_validation_scores_as_mlp_does(X):
    dae = model(max_iter=4, early_stopping=True, warm_start=True, n_iter_no_change=50)
    with short_training():
        dae.fit(X)
        first = list(dae.validation_scores_)
        dae.fit(X)
    assert len(dae.validation_scores_) == len(dae.loss_curve_) == 8
    assert dae.validation_scores_[:4] == first
    assert dae.best_validation_score_ == max(dae.validation_scores_)


def test_warm_start_without_early_stopping_drops_the_validation_scores(X):
    dae = model(max_iter=3, early_stopping=True, warm_start=True, n_iter_no_change=50)
    with short_training():
        dae.fit(X)
        dae.set_params(early_stopping=False).fit(X)
    assert dae.validation_scores_ is None and dae.best_validation_score_ is None


def test_warm_start_keeps_the_earlier_weights_when_no_epoch_beats_them(X):
    dae = model(max_iter=30, early_stopping=True, warm_start=True, n_iter_no_change=50)
    with short_training():
        dae.fit(X)
        best = dae.best_validation_score_
        kept = dae.transform(X)
        # A learning rate that only makes things worse: the best weights stay.
        dae.set_params(max_iter=2, learning_rate_init=0.5).fit(X)
    assert dae.best_validation_score_ == best
    assert max(dae.validation_scores_[-2:]) < best
    np.testing.assert_array_equal(dae.transform(X), kept)


def test_partial_fit_refuses_early_stopping_as_mlp_does(X):
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        model(early_stopping=True).partial_fit(X)


# ------------------------------------------------------------------ warnings


def test_convergence_warning_points_at_the_callers_line(X):
    with pytest.warns(ConvergenceWarning) as record:
        model(max_iter=1, learning_rate="constant").fit(X)
    assert record[0].filename == __file__


def test_convergence_warning_in_a_pipeline_points_at_the_callers_line(X):
    pipe = make_pipeline(FunctionTransformer(), model(max_iter=1, learning_rate="constant"))
    with pytest.warns(ConvergenceWarning) as record:
        pipe.fit(X)
    assert record[0].filename == __file__


def test_warm_start_with_another_optimizer_starts_its_state_anew(X):
    dae = model(max_iter=2, warm_start=True)
    with short_training():
        dae.fit(X)
        dae.set_params(optimizer="sgd", learning_rate_init=1e-2).fit(X)
    assert dae.n_iter_ == 4 and np.isfinite(dae.loss_curve_).all()


def test_warm_start_continues_the_moments_with_this_fits_settings(X):
    dae = model(max_iter=2, warm_start=True, optimizer="sgd", learning_rate="constant")
    with short_training():
        dae.fit(X)
        buffers = [s["momentum_buffer"].clone() for s in dae._optimizer.state.values()]
        dae.set_params(momentum=0.5, nesterovs_momentum=False, learning_rate_init=1e-3).fit(X)
    group = dae._optimizer.param_groups[0]
    assert (group["momentum"], group["nesterov"], group["lr"]) == (0.5, False, 1e-3)
    # The buffers went on from the first fit's (a fresh optimizer's would restart).
    assert dae.n_iter_ == 4 and len(dae._optimizer.state) == len(buffers)
