"""DenoisingAutoencoder: parameters, validation and scikit-learn glue.

The network (:mod:`sk_dae._core.network`), the corruption (:mod:`sk_dae._core.noise`) and the
training loop (:mod:`sk_dae._core.training`) know nothing of scikit-learn; this module turns
user input into their arguments and their results into fitted attributes.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from . import _persistence
from ._core import checkpoint as _checkpoints
from ._core import threads as _threads
from ._core.augment import AUGMENT_KINDS, Augmenter
from ._core.checkpoint import Checkpoint, as_checkpoint
from ._core.conv import build_network, conv_plan, multiply_adds_per_row, resolve_image_shape
from ._core.data import (
    CONV_LARGEST_AUTO_BATCH,
    INFERENCE_BATCH_SIZE,
    LARGEST_AUTO_BATCH,
    batch_size_for,
    column_means,
    column_spread,
    corrupt_array,
    epochs_for,
    fill_missing,
    map_batches,
    n_batches,
    training_tensors,
)
from ._core.network import (
    ACTIVATIONS,
    Autoencoder,
    float64_copy,
    hidden_activations,
    init_from_pca,
    init_output_bias,
)
from ._core.noise import IMAGE_NOISE_KINDS, NOISE_KINDS, Corruptor
from ._core.seeds import seeds
from ._core.training import (
    PRECISIONS,
    CosineSchedule,
    TrainingDivergedError,
    held_out_score,
    learning_rate_for,
    make_optimizer,
    progress_bar,
    row_mse,
    train,
    validation_errors,
)
from ._validation import (
    caller_stacklevel,
    check_hidden_layer_sizes,
    observed_range,
    refuse_featureless,
    resolve_device,
    validate_targets,
    warn_if_precision_emulated,
)

#: ``early_stopping="auto"`` holds rows out when at least this many would be held out
#: (50 rows at the default ``validation_fraction``): fewer score too noisily to stop on.
AUTO_MIN_HELD_OUT = 5

#: ``init="auto"`` starts a network as PCA on fewer rows than this. There a network from
#: a random start ends worse than PCA (the learning curve of the user guide); on more
#: rows the random start with a sigmoid output for images learns more in the budget.
PCA_START_MAX_ROWS = 10_000

#: A network that starts as PCA keeps trained weights that score better (their mean
#: of the clean and the denoising error is lower) only while their clean held-out error
#: stays within this share of PCA's. Not 0: on 8x8 digits at 32 codes a strict bar keeps
#: PCA's weights, where those kept with this slack remove more noise than PCA (1.1 to
#: 1.7 dB of PSNR) and reconstruct clean test digits 0.5% worse
#: (``benchmarks/bench_held_out_score.py``).
CLEAN_ERROR_SLACK = 0.1


class DenoisingAutoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Denoising autoencoder: a nonlinear dimensionality reduction trained to undo noise.

    The encoder ``E`` maps each sample to a code of ``n_components`` values and the decoder
    ``D`` maps codes back to the input space. Training minimises ``L(D(E(x~)), x)`` over
    mini-batches, where ``x~`` is a freshly corrupted copy of the clean batch ``x``
    (Vincent et al., 2008): to reconstruct the clean input, the network must learn the
    structure of the data rather than copy it. ``transform`` returns the clean code
    ``E(x)``; ``inverse_transform`` decodes codes back to input space.

    By default a new network starts as :class:`~sklearn.decomposition.PCA` with
    ``n_components`` components (``init``): a linear path beside the encoder and beside
    the decoder holds PCA's projection, and the multilayer paths start at zero, so the
    untrained model reconstructs exactly as ``PCA(n_components)`` fitted on the same rows.
    Training then moves away from PCA only while a held-out share of the rows is
    reconstructed better (``early_stopping``), and keeps the best weights, PCA's
    included: on data too few or too noisy for a network to learn more, the model stays
    PCA instead of ending worse.

    Data may have missing entries (NaN) in ``fit``, ``partial_fit``, ``transform``,
    ``reconstruct``, ``score_samples`` and ``corrupt``: a missing entry enters the
    network as zero, as a masked one does, training counts the observed entries only,
    and ``reconstruct`` returns a value for every entry (see :class:`DAEImputer`).

    Parameters
    ----------
    n_components : int, default=16
        Width of the latent code, the number of features ``transform`` returns.

    hidden_layer_sizes : tuple of int or "auto", default="auto"
        Widths of the encoder's hidden layers, from the input towards the code. The
        decoder mirrors them. ``"auto"`` sizes them from the data: one layer of
        ``max(128, 2 * n_features, 2 * n_components)`` units, at most 512, and for more
        than 256 features (images) a second of half that width (784 pixels:
        ``(512, 256)``; 64 pixels or a table of 30 columns: ``(128,)``). ``()`` with
        ``activation="identity"`` is a linear autoencoder, which learns the same subspace
        as :class:`~sklearn.decomposition.PCA`. With ``architecture="conv"``, the dense
        layers between the convolutions and the code; ``"auto"``: one of 256 units for
        more than 256 pixels (28x28 digits), else of 128 (at least ``2 * n_components``).

    architecture : {"mlp", "conv"}, default="mlp"
        The network. ``"mlp"``: dense layers, which see every feature as unrelated to
        the others. ``"conv"``: for rows that are pictures (``image_shape``), 3x3
        convolutions whose depth, channels and strides follow the image size (each
        layer halves every side of at least 8 pixels, at most 4 layers: one for 8x8
        digits, two for 28x28 MNIST; see ``conv_channels``), then the dense layers
        ``hidden_layer_sizes`` and the code, mirrored by transposed convolutions.
        ``init``, batch norm, dropout, persistence, ``partial_fit`` and warm starts
        work as for the MLP; ``tied_weights`` needs ``"mlp"``. See :ref:`images`.

    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of the pictures the rows
        hold, flattened channels-last (``height * width * channels`` features, as
        ``images.reshape(n, -1)`` of an ``(n, H, W, C)`` array gives them); a shape that
        does not hold ``n_features`` values is refused. ``None``: where the network,
        ``noise="occlusion"`` or ``augment`` need a shape, a square grey picture when
        ``n_features`` is a perfect square (64: 8x8), else one row of ``n_features``
        pixels. The resolved shape is stored in ``image_shape_``.

    conv_channels : tuple of int or "auto", default="auto"
        Channels of the encoder's convolutions, from the input towards the code, with
        ``architecture="conv"``. ``"auto"``: 16, doubling per layer up to 128, one layer
        per halving (8x8: ``(16,)``; 28x28: ``(16, 32)``). A given tuple keeps those
        strides and adds layers of stride 1 beyond them.

    activation : {"relu", "tanh", "sigmoid", "elu", "gelu", "identity"}, default="relu"
        Activation after every hidden layer. The code layer is always linear.

    output_activation : {"auto", "sigmoid", "identity"}, default="auto"
        Activation of the reconstruction. ``"auto"`` picks ``"identity"`` when the
        network starts as PCA (see ``init``); otherwise ``"sigmoid"`` when the training
        data lie in [0, 1] (images) or ``loss="bce"``, and ``"identity"`` for other data
        (e.g. standardized tabular data). The choice is stored in
        ``output_activation_``.

    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss: mean squared error, or binary cross-entropy (the negative
        log-likelihood of [0, 1] data; it requires the data to lie in [0, 1] and a
        sigmoid output).

    target : {"input", "y"}, default="input"
        What the network learns to output. ``"input"``: ``X`` itself, from a corrupted
        copy; ``y`` is ignored, as transformers ignore class labels in a
        :class:`~sklearn.pipeline.Pipeline`. ``"y"``: the clean rows passed as ``y``
        to ``fit`` and ``score`` (pairs of noisy and clean data, e.g. scanned and clean
        documents); ``noise`` still corrupts the inputs further (``noise=None`` trains on
        the pairs as given), and ``score(X, y)`` rates the denoised ``X`` against ``y``.

    noise : {"gaussian", "masking", "salt_and_pepper", "swap"} or None, default="gaussian"
        Corruption applied to every training batch. ``"gaussian"`` adds noise of standard
        deviation ``noise_level`` (clipped to the training data's range as ``clip_noise``
        says); ``"masking"`` sets a ``noise_level`` fraction of the entries to zero;
        ``"salt_and_pepper"`` sets a ``noise_level`` fraction to the training data's
        minimum or maximum, half each; ``"swap"`` replaces a ``noise_level`` fraction of
        the entries by the same column's value in another row of the batch, drawn at
        random (the "swap noise" of tabular data: corrupted values keep each column's
        distribution and units); ``"occlusion"`` sets one block of every picture
        (``image_shape``) to zero, covering a ``noise_level`` fraction of its area (its
        sides ``sqrt(noise_level)`` of the picture's: 0.1276 is a 10x10 block of a 28x28
        digit), at a random position. ``None`` trains a plain autoencoder.

    noise_level : float, default=0.1
        Standard deviation (gaussian) or fraction of corrupted entries (masking,
        salt-and-pepper, swap and occlusion, then at most 1).

    noise_scale : {"absolute", "std"}, default="absolute"
        Units of Gaussian noise. ``"absolute"``: the same standard deviation
        ``noise_level`` in every feature, in the data's units. ``"std"``: ``noise_level``
        times each feature's training standard deviation (``feature_scale_``), so that
        unscaled features (pixels in 0..255, prices, counts) are corrupted in proportion
        to their own spread. A fit whose absolute noise is below 1% of the data's
        typical feature standard deviation warns that it barely corrupts anything.

    clip_noise : bool or "auto", default="auto"
        Clip Gaussian-corrupted inputs to the training data's range (``data_min_``,
        ``data_max_``), as saved images are clipped. ``"auto"`` clips when the output is a
        sigmoid, i.e. for data in [0, 1]. Set False to train on (and :meth:`corrupt` with)
        unclipped noise, True to clip whatever the output.

    augment : {"shift", "affine"} or None, default=None
        Random geometric changes of every training batch of pictures (``image_shape``),
        drawn afresh per batch from ``random_state``, before the corruption: unlike
        ``noise``, they change the clean rows too, so the input and its target move
        together (both, with ``target="y"``). ``"shift"``: a move by whole pixels, up to
        a tenth of each side (3 pixels of a 28x28 digit, 1 of an 8x8); ``"affine"``: a
        shift up to a tenth of each side, a rotation up to 10 degrees and a scaling by
        0.9 to 1.1, interpolated. Pixels moved in from outside are zero. Held-out rows
        are scored unchanged. Works with either ``architecture``.

    transform_layers : {"code", "all"}, default="code"
        What :meth:`transform` returns: ``"code"``, the latent code ``E(x)``
        (``n_components`` features); ``"all"``, the activations of every hidden layer,
        encoder, code and decoder, side by side (Jahrer's "deep stack" features for a
        downstream model; ``2 * sum(hidden_layer_sizes) + n_components`` features, named
        ``<prefix>_enc1_0, ..., <prefix>_code_0, ..., <prefix>_dec1_0, ...``). Training is
        the same either way.

    init : {"auto", "pca", "random", "fan_in"}, default="auto"
        How a new network starts. ``"pca"``: as PCA of the training rows (targets, with
        ``target="y"``; missing entries counted as their column's mean), through a
        linear path beside the encoder and the decoder, the multilayer paths starting
        at zero; it needs a linear output and untied weights. ``"random"``: Glorot
        uniform weights, the output starting at the data's mean. ``"fan_in"``: as
        ``"random"`` with weights uniform in ``+-1/sqrt(fan_in)`` (the DEC papers'
        Keras initialisation, variance scaling 1/3 on the fan-in; the default
        ``nn.Linear`` weights of PyTorch). ``"auto"``: ``"pca"`` unless
        ``tied_weights=True``, ``loss="bce"`` or ``output_activation="sigmoid"`` ask
        for what it cannot have.

    tied_weights : bool, default=False
        Decoder layers use the transposed encoder weights (biases stay separate), which
        halves the number of weights.

    batch_norm : bool, default=False
        Batch normalisation after every hidden linear layer.

    dropout : float, default=0.0
        Dropout probability after every hidden activation.

    alpha : float, default=0.0
        Strength of the L2 penalty ``alpha / 2 * ||W||^2`` on the weight matrices
        (decoupled weight decay with ``optimizer="adamw"``).

    l1 : float, default=0.0
        Strength of the L1 penalty ``l1 * |W|`` on the weight matrices.

    optimizer : {"adam", "adamw", "sgd"}, default="adam"
        Optimizer: Adam, AdamW, or stochastic gradient descent with ``momentum``.

    momentum : float, default=0.9
        Momentum of ``optimizer="sgd"``, between 0 and 1 (as in scikit-learn's MLP).

    nesterovs_momentum : bool, default=True
        Whether ``optimizer="sgd"`` uses Nesterov's momentum (with ``momentum > 0``).

    learning_rate : {"constant", "cosine"}, default="cosine"
        Learning-rate schedule of ``fit``. ``"cosine"`` anneals it from
        ``learning_rate_init`` to zero over the ``max_iter`` epochs along half a cosine,
        step by step (every ``fit`` and warm start anneals anew), and runs all of them:
        ``max_iter`` is then a budget, and only ``early_stopping`` ends training sooner.
        ``"constant"`` keeps the rate and stops on the convergence test (``tol``,
        ``n_iter_no_change``), as scikit-learn's MLP does. ``partial_fit`` always uses
        ``learning_rate_init``.

    learning_rate_init : float or "auto", default="auto"
        Initial learning rate. ``"auto"``: 1e-3 for a network that starts as PCA, whose
        start larger steps would throw away, and 3e-3 for a random start.

    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` is a sixteenth of the training rows, from 32 to
        256 (at most all of them): small data sets get more, smaller steps per pass. A
        convolutional network's ``"auto"`` batch is at most 64 rows: its cost per row
        hardly falls with larger batches on a CPU, so smaller ones buy more steps.

    max_iter : int, "auto" or "clustering", default="auto"
        Maximum number of epochs (passes over the training data). ``"auto"`` gives a
        fixed budget of about 5,000 optimizer steps, at most 200 epochs: 22 epochs of
        60,000 MNIST digits in batches of 256, 200 of the 1,797 8x8 digits.
        ``"clustering"``: the shorter length that pretrains codes for clustering
        (:func:`~sk_dae.clustering.default_pretraining_passes`, as
        :func:`~sk_dae.clustering.make_clustering_pipeline` trains): 20 epochs below
        1,000 rows, else about 1,500 steps, 20 to 200 epochs.

    tol : float or None, default=1e-4
        Minimum improvement that counts as progress: of the validation score with
        held-out rows (see ``early_stopping``), as a share of the best score so far, so
        that it means the same for data in any units; otherwise of the training loss
        (with ``learning_rate="constant"``), absolute, as in scikit-learn's MLP.
        ``None`` trains exactly ``max_iter`` epochs, without a convergence test and
        without a :class:`~sklearn.exceptions.ConvergenceWarning` (with
        ``early_stopping``, the best epoch's weights are still kept).

    n_iter_no_change : int, default=10
        Training stops once there has been no progress for more than this many epochs.

    early_stopping : bool or "auto", default="auto"
        Hold out ``validation_fraction`` of the training data, score every epoch on it,
        stop when the score stops
        improving, and keep the weights of the best epoch (or, when no epoch beats
        them, the starting weights of a PCA start or of a warm start). ``"auto"``:
        in :meth:`fit` whenever at least 5 rows would be held out, without a
        :class:`~sklearn.exceptions.ConvergenceWarning` when a cosine budget ends
        before the score stops improving; never in :meth:`partial_fit`, which refuses
        ``True``. The score is the negative mean of two squared errors on the
        held-out rows: of their reconstruction, and of their reconstruction from one
        fixed corruption of them by ``noise`` (what the network trains on), so that a
        fit stops neither while it still learns to denoise nor when it starts to
        reconstruct clean rows worse; with ``target="y"`` (or no noise) the first
        alone, against the held-out targets.

    validation_fraction : float, default=0.1
        Fraction of the training data held out (see ``early_stopping``).

    shuffle : bool, default=True
        Shuffle the rows at every epoch.

    warm_start : bool, default=False
        Continue training the fitted network (and its optimizer state) on the next
        ``fit`` instead of starting anew.

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling, the validation split and the
        noise. An int gives bit-identical fits on the same machine. Global random state
        (numpy's and torch's) is never used or changed.

    verbose : int, default=0
        With a positive value, report the training and validation loss of every epoch:
        a progress bar on a terminal, one plain line per epoch on standard output
        otherwise (a log file), as scikit-learn's MLP prints.

    device : str, default="auto"
        Torch device to train and infer on: ``"auto"`` (CUDA when available, else CPU),
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...

    precision : {"float32", "bfloat16"}, default="float32"
        The arithmetic of training. ``"bfloat16"`` trains in mixed precision (torch's
        autocast): the network's matrix products in bfloat16, while the weights, their
        gradients, the optimizer's state and the loss stay float32, and so does
        ``transform``. It about halves a step's time where the hardware multiplies
        bfloat16 natively (GPUs; CPUs with AVX512-BF16 or AMX, e.g. recent Xeon and
        EPYC) and slows it elsewhere (ten times on a CPU with AVX2 and no AVX-512, where
        ``fit`` warns); the fitted model differs from a float32 fit by rounding (the user
        guide's "Mixed precision" section has the measurements).

    n_threads : int or None, default=None
        CPU threads torch uses while fitting and transforming; torch's previous count is
        restored after each call. An int is used as given and makes fits with the same
        ``random_state`` bit-identical on the same machine. ``None`` chooses per call:
        one thread when a batch's matrix products are small (under 16 MFLOP, e.g. 64
        features, ``(128,)`` hidden, batch 64) or the call is short, whatever the
        machine's state; otherwise as many threads as there are cores this process may
        use (affinity, cgroup quota, ``OMP_NUM_THREADS`` and so a joblib or Dask
        worker's share) that other processes are not keeping busy. Only in that second
        case can the count, and possibly the low bits of a fit, differ between runs.
        See :ref:`performance`.

    checkpoint : str, path-like, Checkpoint or None, default=None
        Where :meth:`fit` saves its training state (after every epoch for a path; as a
        :class:`Checkpoint` says otherwise), so that a fit killed before its end can be
        resumed: a later ``fit`` with the same parameters and data, in any process,
        continues from the file to the result of an uninterrupted fit (bit-identical on
        the CPU with the same threads) and removes the file when it completes. A file of
        another fit is refused. ``partial_fit`` writes none. See :ref:`checkpoints`.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network (an :class:`sk_dae.Autoencoder`), in eval mode.

    feature_scale_ : ndarray of shape (`n_features_in_`,) or None
        With ``noise_scale="std"``, every feature's standard deviation on the (first)
        training data, over its observed entries, floored at 0.1% of their mean (and
        above zero) so that a constant feature still gets some noise; the units of the
        Gaussian noise. None with ``noise_scale="absolute"``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when ``X`` has string column names.

    output_activation_ : str
        The output activation used, ``"auto"`` resolved.

    image_shape_ : tuple of int or None
        ``(height, width, channels)`` of the pictures the rows hold, ``image_shape``
        resolved; None when nothing needed a shape (an MLP without ``image_shape``,
        occlusion or ``augment``).

    data_min_, data_max_ : float
        Smallest and largest value of the training data: the clip range of Gaussian
        noise and the values of salt-and-pepper noise.

    device_ : torch.device
        Device the model lives on.

    loss_curve_ : list of float
        Mean training loss of every epoch (on corrupted inputs, so larger than the clean
        reconstruction error).

    validation_scores_ : list of float or None
        Score on the held-out data at every epoch with ``early_stopping`` (see there),
        else None.

    best_loss_ : float
        Smallest training loss reached.

    best_validation_score_ : float or None
        Best validation score with ``early_stopping``, else None.

    n_iter_ : int
        Number of epochs run.

    t_ : int
        Number of training samples seen, over all epochs.

    interrupted_ : bool
        Whether the last call to :meth:`fit` or :meth:`partial_fit` was ended by a
        ``KeyboardInterrupt`` (Ctrl-C) after at least one optimizer step; the model then
        keeps the weights it reached (see the warning it emits) and is usable.

    See Also
    --------
    sklearn.decomposition.PCA : The linear counterpart; exact, fast and without
        hyperparameters, and the baseline to compare with.
    sklearn.neural_network.MLPRegressor : A multilayer perceptron; trained as ``X -> X``
        it is an autoencoder without noise and without access to the code.

    References
    ----------
    P. Vincent, H. Larochelle, Y. Bengio and P.-A. Manzagol. "Extracting and composing
    robust features with denoising autoencoders", ICML 2008.

    P. Vincent et al. "Stacked denoising autoencoders", JMLR 11, 2010.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sk_dae import DenoisingAutoencoder
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> dae = DenoisingAutoencoder(n_components=8, random_state=0)
    >>> codes = dae.fit_transform(X)
    >>> codes.shape
    (1797, 8)
    >>> dae.inverse_transform(codes).shape
    (1797, 64)
    >>> dae.best_validation_score_ > dae.validation_scores_[0]  # held-out rows improved
    True

    The same as PCA, before any training:

    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> start = DenoisingAutoencoder(n_components=8, max_iter=1, learning_rate_init=1e-12)
    >>> start = start.fit(X)
    >>> pca = PCA(8).fit(X)
    >>> bool(np.allclose(start.reconstruct(X), pca.inverse_transform(pca.transform(X)),
    ...                  atol=1e-4))
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", StrOptions({"auto"})],
        "architecture": [StrOptions({"mlp", "conv"})],
        "image_shape": ["array-like", None],
        "conv_channels": ["array-like", StrOptions({"auto"})],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "output_activation": [StrOptions({"auto", "sigmoid", "identity"})],
        "loss": [StrOptions({"mse", "bce"})],
        "target": [StrOptions({"input", "y"})],
        "noise": [StrOptions(set(NOISE_KINDS)), None],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "noise_scale": [StrOptions({"absolute", "std"})],
        "clip_noise": ["boolean", StrOptions({"auto"})],
        "augment": [StrOptions(set(AUGMENT_KINDS)), None],
        "transform_layers": [StrOptions({"code", "all"})],
        "init": [StrOptions({"auto", "pca", "random", "fan_in"})],
        "tied_weights": ["boolean"],
        "batch_norm": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "l1": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions({"adam", "adamw", "sgd"})],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "learning_rate": [StrOptions({"constant", "cosine"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto", "clustering"}),
        ],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "device": [str],
        "precision": [StrOptions(set(PRECISIONS))],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "checkpoint": [str, os.PathLike, Checkpoint, None],
    }

    def __init__(
        self,
        n_components=16,
        *,
        hidden_layer_sizes="auto",
        architecture="mlp",
        image_shape=None,
        conv_channels="auto",
        activation="relu",
        output_activation="auto",
        loss="mse",
        target="input",
        noise="gaussian",
        noise_level=0.1,
        noise_scale="absolute",
        clip_noise="auto",
        augment=None,
        transform_layers="code",
        init="auto",
        tied_weights=False,
        batch_norm=False,
        dropout=0.0,
        alpha=0.0,
        l1=0.0,
        optimizer="adam",
        momentum=0.9,
        nesterovs_momentum=True,
        learning_rate="cosine",
        learning_rate_init="auto",
        batch_size="auto",
        max_iter="auto",
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping="auto",
        validation_fraction=0.1,
        shuffle=True,
        warm_start=False,
        random_state=None,
        verbose=0,
        device="auto",
        precision="float32",
        n_threads=None,
        checkpoint=None,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.architecture = architecture
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.target = target
        self.noise = noise
        self.noise_level = noise_level
        self.noise_scale = noise_scale
        self.clip_noise = clip_noise
        self.augment = augment
        self.transform_layers = transform_layers
        self.init = init
        self.tied_weights = tied_weights
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.alpha = alpha
        self.l1 = l1
        self.optimizer = optimizer
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.checkpoint = checkpoint

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Values in [0, 1] (e.g. images scaled by their maximum) or
            standardized features both work with the defaults. Missing entries (NaN)
            are allowed: they enter the network as zeros, as masked entries do, and the
            loss counts the observed entries only (infinity is refused).
        y : None, array-like of shape (n_samples,) or (n_samples, n_features)
            Ignored with ``target="input"`` (so class labels pass through a
            :class:`~sklearn.pipeline.Pipeline` untouched). With ``target="y"``, the
            clean rows the network learns to reconstruct from ``X`` (pairs such as
            noisy and clean images), of the same shape as ``X``.

        Returns
        -------
        self : DenoisingAutoencoder
            The fitted estimator.
        """
        return self._fit(X, y, incremental=False)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on the chunk ``X``, creating the network on the first call.

        Successive calls continue the same network and optimizer, so a dataset too large
        for memory can be streamed in chunks. ``early_stopping`` and ``max_iter`` do not
        apply.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : None or array-like of shape (n_samples, n_features)
            Ignored with ``target="input"``; the chunk's clean rows with ``target="y"``.

        Returns
        -------
        self : DenoisingAutoencoder
            The fitted estimator.
        """
        return self._fit(X, y, incremental=True)

    def _fit(self, X, y, *, incremental):
        # The stages below change nothing of self until _store, except validate_data's
        # feature bookkeeping: a failing fit leaves a fitted model exactly as it was.
        snapshot = self.__dict__.copy()
        try:
            # The input is validated before anything reads it, the thread policy included.
            continuing = hasattr(self, "module_") and (incremental or self.warm_start)
            hidden, device = self._check_params(incremental)
            warn_if_precision_emulated(self.precision, device)
            X, data_range = self._check_input(X, continuing, incremental)
            Y, target_range = self._check_target(X, y, data_range)
            image_shape = self._image_shape(X.shape[1])
            hidden = _resolve_hidden(hidden, X.shape[1], self.n_components, self.architecture)
            work = _training_work(self, X.shape, hidden, incremental, image_shape)
            held_out = self._holds_out(incremental, X.shape[0])
            writer, saved = self._checkpoint_for(X, Y, continuing, incremental, device)
            with _threads.limit(self.n_threads, work):
                scale = self._feature_scale(X, continuing)
                fit_seeds = saved["seeds"] if saved else seeds(self.random_state, 4)
                init_seed, noise_seed, split_seed, check_seed = fit_seeds
                if writer is not None:
                    writer.header["seeds"] = list(fit_seeds)
                model = self._start_model(
                    X if Y is None else Y,
                    hidden,
                    device,
                    (data_range, target_range),
                    scale,
                    (init_seed, noise_seed),
                    continuing,
                    incremental,
                    image_shape=image_shape,
                )
                data = self._training_data(X, Y, device, split_seed, held_out)
                data = self._with_corrupted_check(data, model, check_seed)
                max_iter = self._epochs(data, incremental)
                to_beat = self._score_to_beat(model, data, continuing)
                resume = saved and saved["training"]
                result = self._train(
                    model, data, max_iter, incremental, to_beat, data_range, (writer, resume)
                )
                self._store(model, data, result, continuing, incremental)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        if writer is not None and not result.interrupted:
            writer.remove()
        self._warn_if_unfinished(result, incremental, held_out, max_iter)
        if not continuing:
            self._warn_if_noise_negligible(X)
        return self

    def _checkpoint_for(self, X, Y, continuing, incremental, device):
        """The writer of this fit's checkpoints and the checkpoint found to resume from
        (None: the fit starts anew); both None without ``checkpoint`` and in
        ``partial_fit``, one epoch long."""
        checkpoint = as_checkpoint(self.checkpoint)
        if checkpoint is None or incremental:
            return None, None
        start = (self.n_iter_, self.t_) if continuing else None
        key = fit_fingerprint(self, start, X, Y)
        saved = _checkpoints.read(checkpoint.path, key)
        if saved is not None and saved.get("device") != device.type:
            # A CUDA generator's state does not fit a CPU generator (nor the reverse).
            warnings.warn(
                f"{str(checkpoint.path)!r} was written by a fit on {saved.get('device')}; "
                f"it resumes on {device.type} with a new random stream (shuffling, noise, "
                "dropout), so the result differs from an uninterrupted fit's.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
            saved["training"]["generator"] = None
        header = {"fingerprint": key, "device": device.type}
        return _checkpoints.Writer(checkpoint, header), saved

    def _check_params(self, incremental):
        """The parameters that the constraints cannot check: hidden sizes and device."""
        if incremental and self.early_stopping is True:
            # As scikit-learn's MLP: there is no held-out set to stop on in one chunk.
            raise ValueError("partial_fit does not support early_stopping=True.")
        if (
            self.noise in ("masking", "salt_and_pepper", "swap", "occlusion")
            and self.noise_level > 1
        ):
            raise ValueError(
                f"noise_level must be a fraction in [0, 1] for noise={self.noise!r}; "
                f"got {self.noise_level}."
            )
        if self.architecture == "conv" and self.tied_weights:
            raise ValueError(
                "tied_weights=True needs architecture='mlp': a convolutional decoder has "
                "weights of its own."
            )
        return check_hidden_layer_sizes(self.hidden_layer_sizes), resolve_device(self.device)

    def _image_shape(self, n_features):
        """``(H, W, C)`` of the rows, from ``image_shape`` (checked against
        ``n_features``), or None when nothing needs it; ``image_shape=None`` for a conv
        network, occlusion or augmentation is a square grey image when ``n_features`` is
        a perfect square, else one row of pixels."""
        needs_images = (
            self.architecture == "conv"
            or self.noise in IMAGE_NOISE_KINDS
            or self.augment is not None
        )
        if self.image_shape is None and not needs_images:
            return None
        try:
            return resolve_image_shape(self.image_shape, n_features)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ValueError) and "image_shape" in str(exc):
                raise
            raise ValueError(
                f"image_shape must be (height, width) or (height, width, channels) of "
                f"positive ints; got {self.image_shape!r}."
            ) from None

    def _check_input(self, X, continuing, incremental):
        """Validated ``X`` (float32 unless it is float64) and its ``(min, max)``."""
        refuse_featureless(self, X)
        # Integer input (e.g. uint8 images) becomes float32 in one copy, not float64 and
        # then float32; anything else (lists, object arrays) float64 first, so that values
        # beyond float32 reach the range check below instead of overflowing in a cast.
        integer = np.dtype(getattr(X, "dtype", object)).kind in "biu"
        X = validate_data(
            self,
            X,
            reset=not continuing,
            dtype=[np.float32, np.float64] if integer else [np.float64, np.float32],
            ensure_min_samples=2 if (self.early_stopping is True and not incremental) else 1,
            ensure_all_finite="allow-nan",
        )
        low, high = observed_range(X)
        float32_max = float(np.finfo(np.float32).max)
        if max(-low, high) > float32_max:
            raise ValueError(
                f"X holds values up to {max(-low, high):.4g} in magnitude, beyond the "
                f"float32 range ({float32_max:.4g}) the network trains in. Scale X, e.g. "
                "with StandardScaler."
            )
        return X, (low, high)

    def _check_target(self, X, y, data_range):
        """The clean targets (None: ``X`` itself) and their ``(min, max)``."""
        if self.target == "input":
            return None, data_range
        Y = validate_targets(self, X, y)
        return Y, observed_range(Y)

    def _feature_scale(self, X, continuing):
        """``feature_scale_`` of this fit: the fitted one when continuing, else every
        feature's floored standard deviation with ``noise_scale="std"`` (else None)."""
        if continuing and self.feature_scale_ is not None:
            return self.feature_scale_
        if self.noise_scale != "std":
            return None
        spread = np.nan_to_num(column_spread(X), nan=0.0)
        floor = max(1e-3 * float(spread.mean()), float(np.finfo(np.float32).tiny))
        return np.maximum(spread, floor)

    def _warn_if_noise_negligible(self, X):
        """Absolute Gaussian noise below 1% of the typical feature's spread (pixels in
        0..255 with ``noise_level=0.1``) trains what is nearly a plain autoencoder."""
        if self.noise != "gaussian" or self.noise_scale != "absolute" or self.noise_level == 0:
            return
        # The spread of a sample of rows is plenty for an order of magnitude.
        spread = column_spread(X[:: max(1, X.shape[0] // 2000)])
        spread = spread[np.isfinite(spread) & (spread > 0)]
        if spread.size and self.noise_level < 0.01 * float(np.median(spread)):
            warnings.warn(
                f"Gaussian noise of noise_level={self.noise_level} is below 1% of the "
                f"data's typical feature standard deviation ({float(np.median(spread)):.4g}): "
                "it barely corrupts the training data. Standardize X (e.g. StandardScaler), "
                "raise noise_level, or set noise_scale='std' for noise in units of each "
                "feature's standard deviation.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )

    def _start_model(
        self,
        target,
        hidden,
        device,
        ranges,
        scale,
        model_seeds,
        continuing,
        incremental,
        *,
        image_shape=None,
    ):
        """A new network, optimizer and noise stream, or the fitted ones continued, as a
        :class:`_Model`.

        ``target`` is what the network learns to output (``X`` or ``Y``: a new network's
        output starts at its column means). ``ranges`` holds the ``(min, max)`` of the
        inputs (the range of the noise) and of the targets (what the output activation
        must reach); ``model_seeds`` the seeds of the weights and of the noise;
        ``image_shape`` the ``(H, W, C)`` of the rows (None when nothing needs it).
        """
        data_range, target_range = ranges
        init_seed, noise_seed = model_seeds
        pca_start = False
        if continuing:
            self._check_same_architecture(hidden, image_shape)
            module = copy.deepcopy(self.module_).to(device)
            data_range = (self.data_min_, self.data_max_)
            output_activation = self.output_activation_
        else:
            pca = None
            if self._starts_as_pca(target.shape[0]):
                pca = _principal_components(target, self.n_components, init_seed)
            pca_start = pca is not None
            output_activation = self._resolve_output_activation(*target_range, pca_start)
            module = self._new_network(
                target, hidden, output_activation, init_seed, device, pca, image_shape
            )
        self._check_loss_fits(*target_range)
        if continuing:
            self._warn_if_out_of_reach(output_activation, *target_range)
        return _Model(
            module=module,
            optimizer=self._optimizer_for(module, continuing),
            corruptor=self._corruptor(output_activation, *data_range, scale, image_shape),
            augmenter=None if self.augment is None else Augmenter(self.augment, image_shape),
            generator=self._noise_generator(device, noise_seed, incremental),
            device=device,
            data_range=data_range,
            output_activation=output_activation,
            feature_scale=scale,
            pca_start=pca_start,
            image_shape=image_shape,
        )

    def _new_network(self, target, hidden, output_activation, seed, device, pca, image_shape):
        """A network initialised from ``seed`` on ``device``: as the PCA ``pca`` (a mean
        and components) when given, else with its output starting at the column means of
        ``target``; convolutional over images of ``image_shape`` with
        ``architecture="conv"``."""
        conv = {}
        if self.architecture == "conv":
            conv = dict(
                architecture="conv", image_shape=image_shape, conv_channels=self.conv_channels
            )
        module = build_network(
            target.shape[1],
            self.n_components,
            hidden,
            seed=seed,
            **conv,
            activation=self.activation,
            output_activation=output_activation,
            tied_weights=self.tied_weights,
            batch_norm=self.batch_norm,
            dropout=self.dropout,
            linear_path=pca is not None,
            weight_init="fan_in" if self.init == "fan_in" else "glorot",
        ).to(device)
        if pca is not None:
            return init_from_pca(module, *pca)
        return init_output_bias(module, column_means(target))

    def _starts_as_pca(self, n_samples):
        """Whether a new network on ``n_samples`` rows starts as PCA (``init``): it needs
        a linear output and untied weights; ``"auto"`` starts at random otherwise, and on
        :data:`PCA_START_MAX_ROWS` rows or more."""
        reasons = [
            reason
            for reason, applies in (
                ("tied_weights=True", self.tied_weights),
                ("loss='bce'", self.loss == "bce"),
                ("output_activation='sigmoid'", self.output_activation == "sigmoid"),
            )
            if applies
        ]
        if self.init == "pca" and reasons:
            raise ValueError(
                f"init='pca' starts the network as PCA, which needs a linear output and "
                f"untied weights; {', '.join(reasons)} does not allow it. Use init='random' "
                "(or 'auto')."
            )
        if self.init == "auto":
            return not reasons and n_samples < PCA_START_MAX_ROWS
        return self.init == "pca"

    def _noise_generator(self, device, seed, incremental):
        """partial_fit continues the noise stream (from a copy, so that a failing call
        leaves the model's as it was); every fit starts it from the seed."""
        generator = torch.Generator(device=device)
        previous = getattr(self, "_generator", None)
        if incremental and previous is not None:
            return generator.set_state(previous.get_state())
        return generator.manual_seed(seed)

    def _check_same_architecture(self, hidden, image_shape):
        widths = self.module_.widths
        if widths[-1] != self.n_components or tuple(widths[1:-1]) != tuple(hidden):
            raise ValueError(
                "warm_start and partial_fit continue the fitted network, whose shape "
                f"({widths}) does not match n_components={self.n_components} and "
                f"hidden_layer_sizes={hidden}. Set warm_start=False to train a new network."
            )
        spec = self.module_.spec()
        fitted = spec.get("architecture", "mlp"), spec.get("image_shape", image_shape)
        if fitted != (self.architecture, image_shape):
            raise ValueError(
                "warm_start and partial_fit continue the fitted network, a "
                f"{fitted[0]!r} network of images {fitted[1]}, which does not match "
                f"architecture={self.architecture!r} and image_shape={self.image_shape!r}. "
                "Set warm_start=False to train a new network."
            )

    def _check_loss_fits(self, data_min, data_max):
        if self.loss == "bce" and (data_min < 0 or data_max > 1):
            raise ValueError(
                "loss='bce' needs data in [0, 1]; the training data range over "
                f"[{data_min:.4g}, {data_max:.4g}]. Scale the data (e.g. MinMaxScaler) "
                "or use loss='mse'."
            )

    def _warn_if_out_of_reach(self, output_activation, target_min, target_max):
        """A continued fit keeps the output activation of the first: a sigmoid chosen
        for data in [0, 1] cannot reconstruct later data outside that range."""
        if output_activation == "sigmoid" and (target_min < 0 or target_max > 1):
            warnings.warn(
                f"The fitted output layer is a sigmoid (chosen for the first data, in "
                f"[0, 1]), but these data range over [{target_min:.4g}, {target_max:.4g}]: "
                "values outside [0, 1] cannot be reconstructed. Scale them like the first "
                "data, or refit with output_activation='identity'.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )

    def _optimizer_for(self, module, continuing):
        learning_rate = learning_rate_for(self.learning_rate_init, module.spec()["linear_path"])
        optimizer = make_optimizer(
            module,
            self.optimizer,
            learning_rate,
            weight_decay=self.alpha,
            momentum=self.momentum,
            nesterov=self.nesterovs_momentum,
        )
        previous = getattr(self, "_optimizer", None)
        # Moments carry over to the same kind of optimizer only (adam -> sgd starts anew).
        if continuing and type(previous) is type(optimizer):
            # A deep copy: load_state_dict keeps the very tensors it is given, so without
            # it a diverging warm start would poison the fitted model's optimizer state.
            # The moments continue; the settings (learning rate, momentum, weight decay)
            # are this fit's, not the ones the state dict would restore.
            settings = [
                {k: v for k, v in group.items() if k != "params"}
                for group in optimizer.param_groups
            ]
            optimizer.load_state_dict(copy.deepcopy(previous.state_dict()))
            for group, setting in zip(optimizer.param_groups, settings):
                group.update(setting)
        return optimizer

    def _corruptor(self, output_activation, data_min, data_max, scale=None, image_shape=None):
        """The training corruption: Gaussian noise is clipped to the data's range as
        ``clip_noise`` says ("auto": when the output is a sigmoid), and in units of
        ``scale`` (per feature) when given; occlusion hides blocks of images of
        ``image_shape``."""
        clip = self.clip_noise
        if clip == "auto":
            clip = output_activation == "sigmoid"
        return Corruptor(
            self.noise,
            self.noise_level,
            low=data_min,
            high=data_max,
            clip=bool(clip),
            scale=None if scale is None else torch.as_tensor(scale, dtype=torch.float32),
            image_shape=image_shape,
        )

    def _training_data(self, X, Y, device, seed, held_out):
        """The training (and, when rows are ``held_out``, validation) tensors and batch
        size, as a :class:`_TrainingData`; the targets ``Y`` (or None) split as the rows
        of ``X`` are, by ``seed``."""
        fraction = self.validation_fraction if held_out else None
        X_train, X_val = training_tensors(X, device=device, validation_fraction=fraction, seed=seed)
        Y_train = Y_val = None
        if Y is not None:
            Y_train, Y_val = training_tensors(
                Y, device=device, validation_fraction=fraction, seed=seed
            )
        batch_size = self._batch_size(X_train.shape[0])
        if self.batch_norm and batch_size < 2:
            raise ValueError(
                "batch_norm=True needs at least 2 rows per batch to compute batch "
                f"statistics; got batch_size={self.batch_size} and {X_train.shape[0]} "
                "training row(s). Use more rows, a larger batch_size, or batch_norm=False."
            )
        return _TrainingData(X_train, X_val, Y_train, Y_val, batch_size)

    def _batch_size(self, n_samples):
        """Rows per training batch of a fit on ``n_samples`` rows (``batch_size``)."""
        conv = self.architecture == "conv"
        largest = CONV_LARGEST_AUTO_BATCH if conv else LARGEST_AUTO_BATCH
        return batch_size_for(self.batch_size, n_samples, largest=largest)

    def _with_corrupted_check(self, data, model, seed):
        """``data`` with a fixed corruption of its held-out rows, so that the held-out
        check scores what a denoising autoencoder is for (the clean rows from their
        corrupted copies) beside their clean reconstruction. Not for pairs
        (``target="y"``), whose held-out inputs are already the noisy ones."""
        if data.X_val is None or data.Y_val is not None or model.corruptor.is_identity:
            return data
        generator = torch.Generator(device=data.X_val.device).manual_seed(seed)
        corrupted = model.corruptor(data.X_val, generator, reuse_buffer=False)
        return dataclasses.replace(data, X_val_corrupted=corrupted)

    def _epochs(self, data, incremental):
        """Epochs of this fit: one for ``partial_fit``, else ``max_iter`` resolved."""
        if incremental:
            return 1
        return epochs_for(self.max_iter, data.X_train.shape[0], data.batch_size)

    def _train(
        self, model, data, max_iter, incremental, score_to_beat, data_range, checkpoint=(None, None)
    ):
        """Train ``model`` on ``data`` for at most ``max_iter`` epochs; the result of
        :func:`~sk_dae._core.training.train`. With held-out rows, the starting weights are
        kept unless an epoch scores above ``score_to_beat[0]`` with a clean error of at
        most ``score_to_beat[1]`` (see :meth:`_score_to_beat`). ``data_range`` is that of
        this fit's ``X``, for the advice on a diverged fit. ``checkpoint`` holds the
        checkpoint writer and the training state to resume (each may be None)."""
        schedule = None
        if self.learning_rate == "cosine" and not incremental:
            n_steps = max_iter * n_batches(data.X_train.shape[0], data.batch_size)
            schedule = CosineSchedule(model.optimizer, n_steps)
        with progress_bar(bool(self.verbose), max_iter) as progress:
            try:
                result = train(
                    model.module,
                    data.X_train,
                    optimizer=model.optimizer,
                    corruptor=model.corruptor,
                    generator=model.generator,
                    loss=self.loss,
                    batch_size=data.batch_size,
                    max_iter=max_iter,
                    shuffle=self.shuffle,
                    tol=self.tol,
                    n_iter_no_change=self.n_iter_no_change,
                    X_val=data.X_val,
                    Y=data.Y_train,
                    Y_val=data.Y_val,
                    X_val_corrupted=data.X_val_corrupted,
                    best_validation_score=score_to_beat[0],
                    clean_error_bar=score_to_beat[1],
                    l1=self.l1,
                    check_convergence=self._may_stop(incremental, data.X_val is not None),
                    schedule=schedule,
                    progress=progress,
                    checkpoint=checkpoint[0],
                    resume=checkpoint[1],
                    augmenter=model.augmenter,
                    autocast_dtype=PRECISIONS[self.precision],
                )
            except TrainingDivergedError as exc:
                low, high = data_range
                raise ValueError(
                    f"Training diverged: {exc}. The learning rate may be too large "
                    f"(learning_rate_init={self.learning_rate_init}) or the data badly "
                    f"scaled (values range over [{low:.4g}, {high:.4g}]); try a "
                    "smaller learning_rate_init or standardize X (e.g. StandardScaler)."
                ) from None
        if result.interrupted and result.n_steps == 0:
            # Interrupted before one optimizer step: nothing was learned, so the interrupt
            # goes on and _fit restores the model as it was.
            raise KeyboardInterrupt
        return result

    def _store(self, model, data, result, continuing, incremental):
        """Set the fitted attributes from the trained model and its result.

        As in scikit-learn's MLP, a continued fit extends ``loss_curve_`` and, with early
        stopping, ``validation_scores_``; a fit without early stopping has none.
        """
        loss_curve, n_iter, t = [], 0, 0
        if continuing:
            loss_curve, n_iter, t = list(self.loss_curve_), self.n_iter_, self.t_
        self.module_ = model.module
        self._optimizer = model.optimizer
        self._generator = model.generator
        self._n_features_out = self.n_components
        self.device_ = model.device
        self.output_activation_ = model.output_activation
        self.data_min_, self.data_max_ = model.data_range
        self.feature_scale_ = model.feature_scale
        self.image_shape_ = model.image_shape
        self.loss_curve_ = loss_curve + result.loss_curve
        self.n_iter_ = n_iter + result.n_iter
        self.t_ = t + result.n_samples_seen
        self.best_loss_ = min(self.loss_curve_, default=math.inf)
        self.interrupted_ = bool(result.interrupted)
        if data.X_val is not None:
            previous = getattr(self, "validation_scores_", None) if continuing else None
            self.validation_scores_ = list(previous or []) + result.validation_scores
            self.best_validation_score_ = result.best_validation_score
        elif not incremental:
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _may_stop(self, incremental, held_out):
        """Whether ``fit`` may stop before ``max_iter``: on the convergence test of a
        constant learning rate, or when the held-out score stops improving; otherwise a
        cosine schedule is a budget run in full."""
        if incremental or self.tol is None:
            return False
        return self.learning_rate == "constant" or held_out

    def _holds_out(self, incremental, n_samples):
        """Whether this fit holds out ``validation_fraction`` of its rows to stop on and
        keep the best epoch: with ``early_stopping=True``, and with ``"auto"`` when
        ``fit`` gets enough rows that the held-out ones score more than noise."""
        if incremental:
            return False
        if self.early_stopping == "auto":
            return n_samples * self.validation_fraction >= AUTO_MIN_HELD_OUT
        return bool(self.early_stopping)

    def _score_to_beat(self, model, data, continuing):
        """The held-out score that an epoch must beat for its weights to be kept, and the
        clean error it must not exceed: those of a PCA start (so a fit never ends worse
        on held-out rows than PCA at denoising them, nor more than
        ``CLEAN_ERROR_SLACK`` worse at reconstructing them as they are),
        or the best score of the fit a warm start continues; -inf and inf otherwise."""
        if data.X_val is None:
            return -math.inf, math.inf
        if model.pca_start:
            errors = validation_errors(
                model.module,
                data.X_val,
                batch_size=INFERENCE_BATCH_SIZE,
                Y_val=data.Y_val,
                X_val_corrupted=data.X_val_corrupted,
            )
            return held_out_score(errors), errors[0] * (1 + CLEAN_ERROR_SLACK)
        previous = getattr(self, "best_validation_score_", None) if continuing else None
        return (-math.inf if previous is None else previous), math.inf

    def _warn_if_unfinished(self, result, incremental, held_out, max_iter):
        if result.interrupted:
            kept = "the best epoch's weights" if result.n_iter else "the last step's weights"
            warnings.warn(
                f"Training was interrupted after {result.n_iter} complete epoch(s) and "
                f"{result.n_steps} optimizer step(s) of this fit; the model keeps {kept}. "
                "Call fit again with warm_start=True (or partial_fit) to continue.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
        elif self._warns_unconverged(incremental, held_out) and not result.converged:
            warnings.warn(
                f"Stopped at max_iter={max_iter} epochs before the loss converged; "
                "increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=caller_stacklevel(),
            )

    def _warns_unconverged(self, incremental, held_out):
        """Whether a fit that ends at ``max_iter`` warns: on a constant learning rate,
        and with ``early_stopping=True``; a cosine budget run to its end under
        ``early_stopping="auto"`` is the plan, not a failure."""
        if not self._may_stop(incremental, held_out):
            return False
        return self.learning_rate == "constant" or self.early_stopping is True

    def _resolve_output_activation(self, data_min, data_max, pca_start=False):
        in_unit_range = data_min >= 0 and data_max <= 1
        if self.output_activation == "auto":
            if pca_start:
                return "identity"
            return "sigmoid" if (in_unit_range or self.loss == "bce") else "identity"
        if self.output_activation == "sigmoid" and not in_unit_range:
            raise ValueError(
                "output_activation='sigmoid' can only reconstruct values in [0, 1]; the "
                f"training data range over [{data_min:.4g}, {data_max:.4g}]. Use "
                "output_activation='identity' (or 'auto'), or scale the data."
            )
        if self.output_activation == "identity" and self.loss == "bce":
            raise ValueError("loss='bce' needs output_activation='sigmoid' (or 'auto').")
        return self.output_activation

    # ------------------------------------------------------------------ inference

    def _map(self, method, X, *, fill=True):
        """Run ``method(module, batch)`` over ``X`` in batches, in the dtype of ``X``.

        float64 input is computed in float64 (a float64 copy of the network, made once per
        fitted network), so results do not depend on how rows are batched beyond float64
        rounding.
        """
        module = self.module_
        if X.dtype == np.float64:
            module = float64_copy(module)

        def apply(batch):
            # Missing entries enter the network as zeros, as masked ones do in training.
            return method(module, fill_missing(batch) if fill else batch)

        with _threads.limit(self.n_threads, _inference_work(module, X)):
            out = map_batches(apply, X, device=self.device_, dtype=X.dtype)
        if not np.isfinite(out).all():
            raise ValueError(
                f"The result overflowed to inf or NaN in {X.dtype}: X holds values up to "
                f"{np.nanmax(np.abs(X)):.4g} in magnitude, far outside the training data's range "
                f"[{self.data_min_:.4g}, {self.data_max_:.4g}]. Scale X like the training "
                "data (or pass float64)."
            )
        return out

    def _validate_X(self, X):
        check_is_fitted(self)
        refuse_featureless(self, X)
        return validate_data(
            self, X, reset=False, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )

    def transform(self, X):
        """Encode ``X``: the clean latent code ``E(x)`` of every sample (no noise).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components) or (n_samples, n_hidden)
            The codes, in the floating dtype of ``X`` (float32 or float64); with
            ``transform_layers="all"``, the activations of every hidden layer.
        """
        X = self._validate_X(X)
        if self.transform_layers == "all":
            return self._map(hidden_activations, X)
        return self._map(Autoencoder.encode, X)

    def get_feature_names_out(self, input_features=None):
        """Names of the features :meth:`transform` returns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored beyond the check of its length against ``n_features_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``denoisingautoencoder0, ...`` for the code; with ``transform_layers="all"``,
            ``denoisingautoencoder_enc1_0, ...``, ``denoisingautoencoder_code_0, ...`` and
            ``denoisingautoencoder_dec1_0, ...``, layer by layer.
        """
        if self.transform_layers == "code":
            return super().get_feature_names_out(input_features)
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        widths = self.module_.widths
        hidden = widths[1:-1]
        layers = [(f"enc{i + 1}", w) for i, w in enumerate(hidden)] + [("code", widths[-1])]
        layers += [(f"dec{i + 1}", w) for i, w in enumerate(reversed(hidden))]
        names = [f"{prefix}_{layer}_{j}" for layer, width in layers for j in range(width)]
        return np.asarray(names, dtype=object)

    def inverse_transform(self, X):
        """Decode codes back to input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from :meth:`transform`.

        Returns
        -------
        X_original : ndarray of shape (n_samples, `n_features_in_`)
            The reconstructions ``D(z)``.
        """
        check_is_fitted(self)
        refuse_featureless(self, X)
        Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        if Z.shape[1] != self.n_components:
            raise ValueError(
                f"X has {Z.shape[1]} features, but inverse_transform expects codes of "
                f"width n_components={self.n_components}."
            )
        return self._map(Autoencoder.decode, Z)

    def reconstruct(self, X):
        """Reconstruct ``X`` through the autoencoder: ``D(E(x))``.

        Given noisy inputs, this is the denoised estimate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features)
            The reconstructions.
        """
        X = self._validate_X(X)
        self._warn_if_out_of_range(X)
        return self._map(Autoencoder.forward, X)

    def _warn_if_out_of_range(self, X):
        """Warn when many values of ``X`` lie far outside the training data's range,
        where the network extrapolates (e.g. pixels in 0..255 given to a model fitted on
        [0, 1])."""
        margin = 0.5 * max(self.data_max_ - self.data_min_, np.finfo(np.float32).eps)
        sample = X[:: max(1, X.shape[0] // 2000)]
        with np.errstate(invalid="ignore"):
            outside = (sample < self.data_min_ - margin) | (sample > self.data_max_ + margin)
        share = float(outside.mean())
        if share > 0.01:
            warnings.warn(
                f"{share:.0%} of the values of X lie far outside the range of the training "
                f"data [{self.data_min_:.4g}, {self.data_max_:.4g}]; the network "
                "extrapolates there and its reconstructions mean little. Scale X as the "
                "training data were scaled.",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )

    def score_samples(self, X):
        """Negative mean squared reconstruction error of every sample.

        Low values flag samples the model reconstructs badly, e.g. outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-mean((x - D(E(x)))**2)`` per row (over its observed entries).

        See Also
        --------
        DAEOutlierDetector : Outlier detection on this score (``error="mse"``) or on the
            per-feature standardized error, with a threshold and ``predict`` in {-1, +1}.
        """
        X = self._validate_X(X)
        return -self._map(row_mse, X, fill=False)

    def score(self, X, y=None):
        """Negative mean squared reconstruction error (higher is better).

        With ``target="input"``, the error of the clean reconstruction of ``X``; this
        makes ``GridSearchCV(DenoisingAutoencoder(), ...)`` work without labels and prefer
        models that reconstruct held-out data better. With ``target="y"``, the error of
        the denoised ``X`` against its clean rows ``y``, so that
        ``GridSearchCV(DenoisingAutoencoder(target="y"), ...).fit(X_noisy, X_clean)``
        picks the best denoiser. To search for a denoiser of clean data under a known
        noise, see :func:`sk_dae.metrics.make_denoising_scorer`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score (the noisy inputs with ``target="y"``).
        y : None or array-like of shape (n_samples, n_features)
            Ignored with ``target="input"``; the clean rows with ``target="y"``.

        Returns
        -------
        score : float
            ``-mean((X - D(E(X)))**2)`` (or ``-mean((y - D(E(X)))**2)``) over all
            observed entries.
        """
        if self.target == "input":
            return float(np.mean(self.score_samples(X)))
        X = self._validate_X(X)
        Y = validate_targets(self, X, y)
        squared = (self._map(Autoencoder.forward, X).astype(np.float64) - Y) ** 2
        return -float(np.nanmean(squared))

    def corrupt(self, X, random_state=None):
        """Apply the corruption the model trains with to ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Clean data.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise; None draws fresh noise without touching global state.

        Returns
        -------
        X_noisy : ndarray of shape (n_samples, n_features)
            A corrupted copy of ``X``; ``X`` itself is left unchanged.
        """
        X = self._validate_X(X)
        corruptor = self._corruptor(
            self.output_activation_,
            self.data_min_,
            self.data_max_,
            self.feature_scale_,
            getattr(self, "image_shape_", None),
        )
        with _threads.limit(self.n_threads, _inference_work(None, X)):
            return corrupt_array(X, corruptor, seeds(random_state, 3)[1], dtype=X.dtype)

    def summary(self):
        """The network's layers, output shapes and parameter counts, as printable text.

        Returns
        -------
        summary : str
            A table, one row a layer.
        """
        check_is_fitted(self)
        return self.module_.summary()

    # ------------------------------------------------------------------ persistence

    def save(self, path):
        """Write the model to ``path`` in a format that runs no code when loaded.

        One `safetensors <https://huggingface.co/docs/safetensors>`_ file holds the
        network's weights and, in its header, the parameters and fitted attributes as
        JSON, a format version and a SHA-256 checksum. Unlike pickle and joblib, loading
        it with :meth:`load` executes nothing from the file, so models can be shared
        with people who should not have to trust the sender. The optimizer's moments
        and the noise generator's state are saved too, so ``warm_start`` and
        ``partial_fit`` after loading continue exactly where the saved model stopped.
        The file is written under a temporary name and renamed into place, so an
        interrupted save never leaves a truncated file.

        Parameters
        ----------
        path : str or path-like
            File to write, conventionally ending in ``.safetensors``; replaced if it
            exists.

        See Also
        --------
        load : Read a model written by this method.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from sk_dae import DenoisingAutoencoder
        >>> X = np.random.default_rng(0).random((50, 8))
        >>> dae = DenoisingAutoencoder(n_components=2, tol=1e-2, random_state=0).fit(X)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "dae.safetensors"
        ...     dae.save(path)
        ...     loaded = DenoisingAutoencoder.load(path)
        >>> np.array_equal(loaded.transform(X), dae.transform(X))
        True
        """
        _persistence.save(self, path)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`, executing nothing from the file.

        A file that is truncated, fails its checksum (modified after saving), is not an
        sk_dae model or was written in a format version this sk_dae cannot read is
        refused with a ``ValueError``. A model saved by another sk_dae version with a
        readable format loads with an :class:`InconsistentVersionWarning`. A model fitted
        on a GPU loads onto the CPU when no GPU is available.

        This is a class method: it returns a new estimator and leaves the one it is
        called on unchanged.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save`.

        Returns
        -------
        estimator : DenoisingAutoencoder
            The saved model, fitted if it was fitted when saved.

        See Also
        --------
        save : Write a model in this format.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from sk_dae import DenoisingAutoencoder
        >>> dae = DenoisingAutoencoder(n_components=3, hidden_layer_sizes=(32,))
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "dae.safetensors"
        ...     dae.save(path)  # unfitted estimators keep their parameters
        ...     DenoisingAutoencoder.load(path)
        DenoisingAutoencoder(hidden_layer_sizes=(32,), n_components=3)
        """
        return _persistence.load(path, cls)

    # ------------------------------------------------------------------ sklearn glue

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = True
        return tags

    def __getstate__(self):
        return _persistence.portable_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(_persistence.live_state(state, stacklevel=2))


@dataclass(frozen=True)
class _Model:
    """What one fit trains and then stores: the network on its device, its optimizer,
    the corruption and its noise stream, and what they were made for: the data range
    of the noise, the output activation, the noise's per-feature scale (or None) and
    whether a new network starts as PCA."""

    module: Autoencoder
    optimizer: torch.optim.Optimizer
    corruptor: Corruptor
    generator: torch.Generator
    device: torch.device
    data_range: tuple
    output_activation: str
    feature_scale: np.ndarray | None
    pca_start: bool
    image_shape: tuple | None = None
    augmenter: Augmenter | None = None


@dataclass(frozen=True)
class _TrainingData:
    """The rows one fit trains on, as tensors on the training device: the inputs, their
    targets (None: the inputs themselves), the held-out rows of early stopping (None
    without it), and the batch size."""

    X_train: torch.Tensor
    X_val: torch.Tensor | None
    Y_train: torch.Tensor | None
    Y_val: torch.Tensor | None
    batch_size: int
    X_val_corrupted: torch.Tensor | None = None


def _training_work(estimator, shape, hidden, incremental, image_shape=None):
    """What fitting ``estimator`` on validated data of ``shape`` with the resolved
    ``hidden`` widths (and images of ``image_shape``) computes, for the thread policy."""
    n_samples, n_features = shape
    widths = [n_features, *hidden, estimator.n_components, *hidden[::-1], n_features]
    batch_size = estimator._batch_size(n_samples)
    epochs = 1 if incremental else epochs_for(estimator.max_iter, n_samples, batch_size)
    work = _threads.Work.of_layers(widths, batch_size, n_samples, passes=epochs, training=True)
    if estimator.architecture != "conv":
        return work
    # A convolution's products are not those of its weights: count its multiply-adds.
    channels, strides = conv_plan(image_shape, estimator.conv_channels)
    spec = dict(
        architecture="conv",
        n_features=n_features,
        n_components=estimator.n_components,
        hidden_layer_sizes=hidden,
        image_shape=image_shape,
        conv_channels=channels,
        conv_strides=strides,
    )
    flops = 2 * min(batch_size, n_samples) * multiply_adds_per_row(spec) * 3
    return _threads.Work(flops, work.n_batches)


def _inference_work(module, X):
    """What one pass of ``module`` over ``X`` in inference batches computes (all its
    weights counted); with ``module=None``, one operation per entry (corruption)."""
    rows = min(X.shape[0], INFERENCE_BATCH_SIZE)
    n_batches = -(-X.shape[0] // INFERENCE_BATCH_SIZE)
    if module is None:
        return _threads.Work(rows * X.shape[1], n_batches)
    spec = module.spec()
    if spec.get("architecture", "mlp") == "conv":
        # A convolution's weights are few and reused at every pixel: count its products.
        per_row = multiply_adds_per_row(spec)
    else:
        per_row = sum(p.numel() for p in module.parameters() if p.ndim == 2)
    return _threads.Work(2 * rows * per_row, n_batches)


def fit_fingerprint(estimator, start, *arrays):
    """The fingerprint of a fit of ``estimator`` on ``arrays`` (None skipped) from
    ``start`` (None, or what a warm start continues): its parameters but those that
    change nothing of the result's meaning (``checkpoint``, ``verbose``, ``n_threads``),
    a random state object by its kind (its draws are the seeds the checkpoint keeps)."""
    params = estimator.get_params(deep=False)
    for name in ("checkpoint", "verbose", "n_threads"):
        params.pop(name, None)
    if params.get("random_state") is not None and not isinstance(params["random_state"], Integral):
        params["random_state"] = type(params["random_state"]).__name__
    description = repr((type(estimator).__name__, sorted(params.items()), start))
    return _checkpoints.fingerprint(description, *arrays)


def _resolve_hidden(sizes, n_features, n_components, architecture="mlp"):
    """``hidden_layer_sizes``, with ``"auto"`` resolved from the data's width: one layer
    of ``max(128, 2 * n_features, 2 * n_components)`` units (at most 512) and, for more
    than 256 features (images), a second one of half that width. A convolutional
    network's dense layers come after its convolutions: one of 256 units for more than
    256 pixels, else of 128."""
    if sizes != "auto":
        return sizes
    if architecture == "conv":
        return (max(256 if n_features > 256 else 128, 2 * n_components),)
    width = min(512, max(128, 2 * n_features, 2 * n_components))
    return (width, width // 2) if n_features > 256 else (width,)


def _principal_components(target, n_components, seed):
    """The mean and the (at most ``n_components``) principal axes of ``target``'s rows,
    as :class:`~sklearn.decomposition.PCA` finds them (missing entries counted as their
    column's mean), or None when they are not finite: data so extreme that float32
    overflows start at random, and training says what is wrong."""
    X = np.asarray(target)
    if np.isnan(X).any():
        X = np.where(np.isnan(X), column_means(X).astype(X.dtype), X)
    rank = min(n_components, *X.shape)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # Constant or overflowing data: PCA's variance ratios divide by zero or inf.
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            pca = PCA(rank, random_state=seed % (2**32)).fit(X)
        except (ValueError, np.linalg.LinAlgError):  # centring overflowed to inf
            return None
    mean, components = pca.mean_, pca.components_
    if not (np.isfinite(mean).all() and np.isfinite(components).all()):
        return None
    if np.abs(mean).max(initial=0.0) > np.finfo(np.float32).max:
        return None
    return mean, components
