"""Unit tests of ``sk_dae._core.training`` on tensors: the training loop, its stopping rules,
best-weight restoration, divergence, batching and the optimizer's weight decay.

The toy problem: 320 rows of a rank-2 signal in 10 features (plus a little noise), split
into 256 training and 64 held-out rows, and a 10 -> 16 -> 2 network. Every source of
randomness is a seeded generator, so each trajectory is deterministic.
"""

import copy
import math

import pytest
import torch
from torch.nn import functional as F

from sk_dae._core.data import batch_indices, epochs_for, n_batches
from sk_dae._core.network import Dropout, build_autoencoder, init_output_bias
from sk_dae._core.noise import Corruptor
from sk_dae._core.training import CosineSchedule, TrainingDivergedError, make_optimizer, train

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _toy(n_rows=320, n_features=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    codes = torch.randn(n_rows, 2, generator=g)
    basis = torch.randn(2, n_features, generator=g)
    noise = 0.05 * torch.randn(n_rows, n_features, generator=g)
    return (codes @ basis + noise) / 2


@pytest.fixture(scope="module")
def data():
    X = _toy()
    return X[:256], X[256:]


def _net(n_features=10, **options):
    return build_autoencoder(n_features, 2, (16,), seed=0, **options)


def _train(net, X, *, optimizer="adam", learning_rate=0.01, noise=(None, 0.0), **kwargs):
    kwargs.setdefault("batch_size", 32)
    return train(
        net,
        X,
        optimizer=make_optimizer(net, optimizer, learning_rate),
        corruptor=Corruptor(*noise),
        generator=torch.Generator().manual_seed(0),
        **kwargs,
    )


def _val_score(net, X_val):
    """The validation score as ``train`` defines it: minus the mean squared error of the
    clean reconstruction, in eval mode."""
    net.eval()
    with torch.no_grad():
        return -F.mse_loss(net(X_val), X_val).item()


def _assert_same_state(net, state):
    current = net.state_dict()
    assert current.keys() == state.keys()
    for key in state:
        assert torch.equal(current[key], state[key]), key


# A noisy setup (large learning rate, strong input noise) whose validation score and
# training loss go up and down, so that the best epoch is not the last one.
NOISY = dict(learning_rate=0.1, noise=("gaussian", 0.5))


def _recorder(net, states):
    """A ``progress`` callback appending a copy of the weights after every epoch."""

    def progress(epoch, loss, score):
        states.append(copy.deepcopy(net.state_dict()))

    return progress


@pytest.mark.parametrize("noise", [(None, 0.0), ("gaussian", 0.1), ("masking", 0.2)])
def test_loss_falls_on_a_low_rank_problem(data, noise):
    X, _ = data
    result = _train(_net(), X, noise=noise, max_iter=20, check_convergence=False)
    assert result.n_iter == 20
    assert len(result.loss_curve) == 20
    assert result.loss_curve[-1] < 0.25 * result.loss_curve[0]
    assert result.best_loss == min(result.loss_curve)


def test_bce_loss_falls_towards_the_entropy_of_the_data(data):
    X = torch.sigmoid(2 * data[0])
    entropy = F.binary_cross_entropy(X, X).item()  # the least BCE any model can reach
    net = _net(output_activation="sigmoid")
    result = _train(net, X, loss="bce", noise=("masking", 0.2), max_iter=20)
    excess = [loss - entropy for loss in result.loss_curve]
    assert excess[-1] < 0.5 * excess[0]


def test_training_is_reproducible_and_leaves_the_global_rng_untouched(data):
    X, X_val = data
    torch.manual_seed(0)
    state = torch.get_rng_state()
    nets = [_net(dropout=0.2), _net(dropout=0.2)]
    results = [_train(net, X, X_val=X_val, noise=("masking", 0.3), max_iter=3) for net in nets]
    assert torch.equal(torch.get_rng_state(), state)
    assert results[0].loss_curve == results[1].loss_curve
    assert results[0].validation_scores == results[1].validation_scores
    _assert_same_state(nets[0], nets[1].state_dict())


def test_train_leaves_the_module_in_eval_mode_with_dropout_detached(data):
    X, _ = data
    net = _net(dropout=0.2)
    _train(net, X, max_iter=1)
    assert not net.training
    dropouts = [m for m in net.modules() if isinstance(m, Dropout)]
    assert dropouts
    assert all(layer.generator is None for layer in dropouts)


def test_early_stopping_restores_the_weights_of_the_best_epoch(data):
    X, X_val = data
    net = _net()
    states = []
    progress = _recorder(net, states)
    result = _train(net, X, X_val=X_val, max_iter=10, progress=progress, **NOISY)
    scores = result.validation_scores
    assert len(scores) == result.n_iter == 10
    best = max(range(len(scores)), key=scores.__getitem__)
    assert best != len(scores) - 1, "the setup must make the best epoch not the last"
    assert scores[-1] < scores[best] - 1e-3
    assert result.best_validation_score == scores[best]
    assert _val_score(net, X_val) == pytest.approx(max(scores), rel=1e-5, abs=1e-7)
    _assert_same_state(net, states[best])


def test_without_validation_data_the_last_weights_are_kept(data):
    X, _ = data
    net = _net()
    states = []
    progress = _recorder(net, states)
    result = _train(net, X, max_iter=9, progress=progress, **NOISY)
    best = min(range(9), key=result.loss_curve.__getitem__)
    assert best != 8, "the setup must make the best epoch not the last"
    _assert_same_state(net, states[-1])


@pytest.mark.parametrize("with_validation", [True, False])
def test_keyboard_interrupt_keeps_the_best_weights_so_far(data, with_validation):
    X, X_val = data
    k = 9  # interrupted after the 9th epoch
    net = _net()
    states = []
    record = _recorder(net, states)

    def progress(epoch, loss, score):
        record(epoch, loss, score)
        if epoch + 1 == k:
            raise KeyboardInterrupt

    X_val = X_val if with_validation else None
    result = _train(net, X, X_val=X_val, max_iter=20, progress=progress, **NOISY)
    assert result.interrupted
    assert not result.converged
    assert result.n_iter == k
    assert len(result.loss_curve) == k
    assert len(states) == k
    if with_validation:
        best = max(range(k), key=result.validation_scores.__getitem__)
    else:
        best = min(range(k), key=result.loss_curve.__getitem__)
    assert best != k - 1, "the setup must make the best epoch not the last"
    _assert_same_state(net, states[best])
    assert not net.training


def test_inf_in_the_data_raises_training_diverged(data):
    X = data[0].clone()
    X[3, 4] = float("inf")
    with pytest.raises(TrainingDivergedError, match="epoch 1"):
        _train(_net(), X, max_iter=3)


def test_huge_learning_rate_raises_training_diverged(data):
    X, _ = data
    with pytest.raises(TrainingDivergedError):
        _train(_net(), X, optimizer="sgd", learning_rate=1e6, max_iter=5)


def test_training_diverged_error_is_a_value_error():
    assert issubclass(TrainingDivergedError, ValueError)


@pytest.mark.parametrize("with_validation", [False, True])
def test_large_tol_stops_early_and_sets_converged(data, with_validation):
    X, X_val = data
    X_val = X_val if with_validation else None
    n_iter_no_change = 2
    result = _train(_net(), X, X_val=X_val, max_iter=20, tol=1e9, n_iter_no_change=n_iter_no_change)
    assert result.converged
    assert not result.interrupted
    # the first epoch improves on nothing; then more than n_iter_no_change epochs in a
    # row fail to improve by tol
    assert result.n_iter == n_iter_no_change + 2
    assert len(result.loss_curve) == result.n_iter


def test_without_convergence_check_all_epochs_run(data):
    X, _ = data
    result = _train(_net(), X, max_iter=6, tol=1e9, n_iter_no_change=1, check_convergence=False)
    assert not result.converged
    assert result.n_iter == 6


@pytest.mark.parametrize("n_rows, max_iter", [(100, 3), (65, 2), (256, 1)])
def test_n_samples_seen_counts_rows_times_epochs(data, n_rows, max_iter):
    X = data[0][:n_rows]
    result = _train(_net(), X, max_iter=max_iter, check_convergence=False)
    assert result.n_samples_seen == n_rows * max_iter


def test_n_samples_seen_counts_only_the_epochs_run(data):
    X, _ = data
    result = _train(_net(), X, max_iter=20, tol=1e9, n_iter_no_change=1)
    assert result.n_iter < 20
    assert result.n_samples_seen == 256 * result.n_iter


@pytest.mark.parametrize(
    "n_rows, batch_size, sizes",
    [
        (64, 32, [32, 32]),
        (65, 32, [32, 33]),  # a lone trailing row joins the batch before it
        (66, 32, [32, 32, 2]),
        (33, 32, [33]),
        (20, 32, [20]),
        (1, 32, [1]),  # a single row is a batch of its own: there is no batch before it
    ],
)
@pytest.mark.parametrize("shuffle", [True, False])
def test_batch_sizes(data, n_rows, batch_size, sizes, shuffle):
    X = data[0][:n_rows]
    net = _net()
    seen = []
    net.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape[0]))
    _train(net, X, batch_size=batch_size, shuffle=shuffle, max_iter=2)
    assert seen == sizes * 2


@pytest.mark.parametrize("n_rows, batch_size", [(65, 32), (97, 32), (2 * 256 + 1, 256)])
def test_batch_norm_trains_when_one_row_is_left_over(data, n_rows, batch_size):
    X = _toy(n_rows=n_rows)
    net = _net(batch_norm=True)
    with pytest.raises(ValueError):  # why it matters: batch norm cannot train on one row
        net.train()(X[:1])
    result = _train(net, X, batch_size=batch_size, max_iter=2)
    assert result.n_iter == 2


def test_shuffle_false_visits_the_rows_in_order(data):
    X = data[0][:70]
    net = _net()
    seen = []
    net.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    _train(net, X, batch_size=32, shuffle=False, max_iter=1)
    assert torch.equal(torch.cat(seen), X)


def test_shuffle_true_visits_every_row_once_per_epoch_in_another_order(data):
    X = data[0][:70]
    net = _net()
    seen = []
    net.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    _train(net, X, batch_size=32, shuffle=True, max_iter=1)
    visited = torch.cat(seen)
    assert not torch.equal(visited, X)
    order = visited[:, 0].argsort()
    assert torch.equal(visited[order], X[X[:, 0].argsort()])


def test_l1_penalty_shrinks_the_weights(data):
    X, _ = data

    def weight_l1(net):
        return sum(p.abs().sum().item() for p in net.parameters() if p.ndim >= 2)

    plain, sparse = _net(), _net()
    _train(plain, X, max_iter=5)
    _train(sparse, X, max_iter=5, l1=1e-2)
    assert weight_l1(sparse) < 0.5 * weight_l1(plain)


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_make_optimizer_decays_weight_matrices_only(name):
    net = _net(batch_norm=True)
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    optimizer = make_optimizer(net, name, 0.1, weight_decay=0.5)
    for p in net.parameters():
        p.grad = torch.zeros_like(p)  # with no gradient, only weight decay moves a value
    optimizer.step()
    matrices = [n for n, p in net.named_parameters() if p.ndim >= 2]
    others = [n for n, p in net.named_parameters() if p.ndim < 2]
    assert matrices
    assert any(n.endswith("weight") for n in others)  # the batch-norm scales
    params = dict(net.named_parameters())
    for n in matrices:
        assert (params[n].detach() < before[n]).all(), n
    for n in others:
        assert torch.equal(params[n].detach(), before[n]), n


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_make_optimizer_without_weight_decay_leaves_weights_alone(name):
    net = _net()
    before = copy.deepcopy(net.state_dict())
    optimizer = make_optimizer(net, name, 0.1)
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    _assert_same_state(net, before)


@pytest.mark.parametrize(
    "name, cls",
    [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)],
)
def test_make_optimizer_covers_every_parameter_once(name, cls):
    net = _net(batch_norm=True, tied_weights=True)
    optimizer = make_optimizer(net, name, 0.01, weight_decay=0.1)
    assert type(optimizer) is cls
    grouped = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(grouped) == sorted(id(p) for p in net.parameters())
    for group in optimizer.param_groups:
        assert group["lr"] == 0.01


def test_make_optimizer_rejects_an_unknown_name():
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer(_net(), "rmsprop", 0.01)


# ------------------------------------------------------------------ schedule


def test_cosine_schedule_anneals_every_group_from_its_rate_to_zero():
    net = _net()
    optimizer = make_optimizer(net, "adam", 0.01)
    schedule = CosineSchedule(optimizer, total_steps=4)
    rates = []
    for _ in range(5):  # one step past the end stays at zero
        schedule.step()
        rates.append([group["lr"] for group in optimizer.param_groups])
    expected = [0.01 * 0.5 * (1 + math.cos(math.pi * min(t, 4) / 4)) for t in range(1, 6)]
    for step_rates, rate in zip(rates, expected):
        assert step_rates == pytest.approx([rate, rate])
    assert rates[-1] == [0.0, 0.0]


def test_train_steps_the_schedule_after_every_optimizer_step(data):
    X, _ = data
    net = _net()
    optimizer = make_optimizer(net, "adam", 0.01)
    schedule = CosineSchedule(optimizer, total_steps=3 * 4)  # 256 rows in batches of 64
    result = train(
        net,
        X,
        optimizer=optimizer,
        corruptor=Corruptor(None, 0.0),
        generator=torch.Generator().manual_seed(0),
        batch_size=64,
        max_iter=3,
        schedule=schedule,
    )
    assert result.n_steps == schedule.n_steps == 12
    assert optimizer.param_groups[0]["lr"] == 0.0


@pytest.mark.parametrize(
    "n_samples, batch_size, expected", [(256, 64, 4), (257, 64, 4), (258, 64, 5), (1, 64, 1)]
)
def test_n_batches_counts_what_batch_indices_makes(n_samples, batch_size, expected):
    assert n_batches(n_samples, batch_size) == expected
    assert len(list(batch_indices(n_samples, batch_size))) == expected


@pytest.mark.parametrize(
    "n_samples, expected", [(60_000, 22), (1_347, 200), (10_000_000, 1), (100, 200)]
)
def test_auto_epochs_are_a_budget_of_optimizer_steps(n_samples, expected):
    assert epochs_for("auto", n_samples, min(256, n_samples)) == expected
    assert epochs_for(7, n_samples, 256) == 7


@pytest.mark.parametrize("output_activation", ["sigmoid", "identity"])
def test_the_output_starts_at_the_data_mean(output_activation):
    net = _net(output_activation=output_activation)
    for param in net.decoder[-1].parameters():
        if param.ndim == 2:
            with torch.no_grad():
                param.zero_()  # no input reaches the output: only its bias
    mean = torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0, 0.3, 0.2, 0.7, 0.6, 0.4])
    init_output_bias(net, mean)
    out = net(torch.rand(3, 10))
    expected = mean.clamp(1e-3, 1 - 1e-3) if output_activation == "sigmoid" else mean
    torch.testing.assert_close(out, expected.expand(3, 10), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("momentum,nesterov", [(0.9, False), (0.5, True), (0.0, True)])
def test_make_optimizer_sgd_takes_its_momentum(momentum, nesterov):
    optimizer = make_optimizer(_net(), "sgd", 0.1, momentum=momentum, nesterov=nesterov)
    for group in optimizer.param_groups:
        assert group["momentum"] == momentum
        # Without momentum there is no Nesterov step (torch refuses the pair).
        assert group["nesterov"] == (nesterov and momentum > 0)
