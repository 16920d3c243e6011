"""``ImageDenoiser``: a fully convolutional denoiser of whole images of any size."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._core import image_net
from .._core import threads as _threads
from .._core.seeds import seeds
from .._core.training import PRECISIONS
from .._validation import caller_stacklevel, resolve_device, warn_if_precision_emulated
from . import _classical

#: The smallest side an image may have: the convolutions pad by reflection, which
#: needs two pixels.
MIN_SIDE = 2
#: How far beyond the training images' range (a fraction of its span, plus 5 noise
#: standard deviations) a value may go before ``transform`` warns: a noisy image goes a
#: few standard deviations beyond its clean range, a picture on a 0-255 scale given to a
#: denoiser of [0, 1] images goes far beyond.
RANGE_TOLERANCE = 0.5
#: Noisy copies of each clean image that the guide is computed on once, before training.
NOISY_COPIES = 16


class ImageDenoiser(TransformerMixin, BaseEstimator):
    """Denoise whole images of any size with a small fully convolutional network.

    A residual network of ``depth`` 3x3 convolutions (DnCNN-like) learns, on random
    ``crop_size`` crops of the training images, to predict the noise of an image; as it
    has no dense layer, :meth:`transform` applies it to whole images of any size and
    returns each at the size it came in. What it learns from depends on what
    :meth:`fit` is given:

    - **clean images and a noise level** (``fit(clean)`` with ``noise_level`` set):
      Gaussian noise of that standard deviation (or of one drawn per crop from a
      ``(low, high)`` range) is added to each crop, and the network learns to remove it.
      By default (``guide="auto"``) its input then also holds BM3D's estimate of the
      image (sk_dae's own, in torch), told the noise level, and the network learns to
      correct that estimate (see the user guide for the figures that chose this);
    - **pairs** (``fit(noisy, clean)``): the network learns to map each noisy image to
      its clean one, whatever the corruption (stains, blur, uneven lighting, ...);
    - **noisy images alone** (``fit(noisy)`` with ``noise_level=None``): self-supervised
      training, in one of two ways (``self_supervision``). By default
      (``"recorrupted"``, R2R) each image's Gaussian noise level is estimated, and each
      crop gets a fresh draw of that noise added to the network's input and taken away,
      magnified, from its target: the two noises are then independent, and learning to
      map one to the other is learning to remove the noise. ``"blind_spot"``
      (Noise2Self): pixels of a grid are hidden from the network (replaced by a
      neighbour) and it learns to predict them from their surroundings, which noise
      independent from pixel to pixel cannot help with, whatever its distribution.

    Images are lists (as :class:`~sklearn.feature_extraction.text.CountVectorizer`
    takes a list of documents): scikit-learn's estimator checks, made for 2-D arrays,
    do not apply as they are; ``get_params``, ``set_params``, ``clone``, pickling and
    :class:`~sklearn.exceptions.NotFittedError` work as for any estimator.

    Parameters
    ----------
    noise_level : float, tuple of two floats or None, default=None
        Standard deviation of the Gaussian noise, in the images' own units (0.1 on
        images scaled to [0, 1] is 25.5 on a 0-255 scale). A float: the noise that
        :meth:`fit` adds to the clean images it is given, and the level the guide
        is told in :meth:`transform`. A ``(low, high)`` range: each crop's noise
        is drawn uniformly from it, and :meth:`transform` estimates each image's level
        (:func:`skimage.restoration.estimate_sigma`), clipped to the range. None: the
        images given to :meth:`fit` are the noisy ones (pairs when ``y`` is given,
        self-supervised otherwise) and the level, where needed, is estimated.

    guide : {"auto", "bm3d", "nl_means"} or None, default="auto"
        A first estimate of the clean image that the network corrects: "bm3d" is
        BM3D (Dabov et al., 2007; sk_dae's own, in torch: the authors' ``bm3d``
        package is free for non-commercial use only) told the noise level; "nl_means"
        is scikit-image's :func:`~skimage.restoration.denoise_nl_means` (faster in
        every ``transform``, 1.3 dB worse on average; the user guide has the
        figures); None lets the network denoise the image alone. "auto" is "bm3d"
        when learning from clean images and a noise level, None otherwise
        (self-supervised training cannot use a guide: computed
        once on the noisy image, it would see the blind spots, and the noise that the
        target holds). From clean images, the guide is computed once
        on ``NOISY_COPIES`` (16) noisy copies of each image before training.

    self_supervision : {"recorrupted", "blind_spot"}, default="recorrupted"
        How :meth:`fit` learns from noisy images alone (``noise_level=None`` and no
        ``y``; ignored otherwise). ``"recorrupted"`` (Recorrupted-to-Recorrupted) needs
        the noise to be Gaussian and independent from pixel to pixel, and estimates its
        level in each image (:func:`skimage.restoration.estimate_sigma`); every pixel of
        every crop is a training target. ``"blind_spot"`` (Noise2Self) assumes only
        that the noise is independent from pixel to pixel and zero on average, of any
        distribution (e.g. Poisson), with one pixel in 16 of each crop as a target. The
        user guide compares the two.

    width : int, default=32
        Channels of the hidden convolutions.

    depth : int, default=8
        Convolutions; an output pixel sees a ``2 * depth + 1`` square of the input.

    crop_size : int, default=48
        Side of the training crops (an image's own side where it is smaller).

    batch_size : int, default=16
        Crops per training step.

    max_iter : int, default=600
        Training steps (Adam, the learning rate decaying to zero on a cosine).

    learning_rate_init : float, default=1e-3
        Adam's initial learning rate.

    random_state : int, RandomState instance or None, default=None
        Seed of the network's weights, the crops and the noise. An int gives
        bit-identical fits on the same machine with the same ``n_threads``. Global
        random state is never used or changed.

    n_threads : int or None, default=None
        CPU threads of torch in :meth:`fit` and :meth:`transform` (restored after each
        call); None chooses per call as :class:`~sk_dae.DenoisingAutoencoder` does.

    device : str, default="auto"
        Torch device to train and infer on: ``"auto"`` (CUDA when available, else CPU),
        ``"cpu"``, ``"cuda"``, ... The fitted network is kept on the CPU, so a fitted
        denoiser pickles and opens anywhere.

    precision : {"float32", "bfloat16"}, default="float32"
        The arithmetic of training, as :class:`~sk_dae.DenoisingAutoencoder`'s
        ``precision``: ``"bfloat16"`` runs the convolutions of every training step in
        bfloat16 (torch's autocast; the weights, Adam's state and the loss in float32),
        which is faster where the hardware multiplies bfloat16 natively (GPUs, CPUs with
        AVX512-BF16 or AMX) and slower elsewhere (``fit`` warns on a CPU that PyTorch
        emulates it on). :meth:`transform` runs in float32.

    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network, on the CPU, in eval mode.

    mode_ : {"synthetic", "pairs", "self"}
        What :meth:`fit` learned from: clean images and added noise, pairs, or noisy
        images alone.

    noise_level_ : float, tuple or None
        The noise level used: ``noise_level``, or, when that is None, the mean of the
        estimated levels of the noisy training images (None in pairs without a guide).

    guide_ : str or None
        The guide used ("bm3d", "nl_means" or None).

    n_channels_ : int
        Channels of the training images (1 for 2-D images).

    data_range_ : tuple of float
        Smallest and largest value of the training images (the clean ones in pairs).

    loss_curve_ : list of float
        The training loss of each step.

    n_iter_ : int
        Training steps taken.

    See Also
    --------
    sk_dae.DenoisingAutoencoder : Denoises fixed-length rows (e.g. small images
        flattened).
    skimage.restoration.denoise_nl_means : A classical denoiser, the other guide.
    skimage.restoration.calibrate_denoiser : Self-supervised tuning of a classical
        denoiser (Noise2Self's J-invariance).

    References
    ----------
    K. Dabov, A. Foi, V. Katkovnik and K. Egiazarian, "Image Denoising by Sparse 3-D
    Transform-Domain Collaborative Filtering", IEEE TIP 16(8), 2007.

    K. Zhang, W. Zuo, Y. Chen, D. Meng and L. Zhang, "Beyond a Gaussian Denoiser:
    Residual Learning of Deep CNN for Image Denoising", IEEE TIP 26(7), 2017.

    J. Batson and L. Royer, "Noise2Self: Blind Denoising by Self-Supervision", ICML 2019.

    T. Pang, H. Zheng, Y. Quan and H. Ji, "Recorrupted-to-Recorrupted: Unsupervised
    Deep Learning for Image Denoising", CVPR 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dae.image import ImageDenoiser
    >>> rng = np.random.default_rng(0)
    >>> y, x = np.mgrid[:40, :50] / 40.0
    >>> clean = [np.sin(4 * x) * np.cos(3 * y) * 0.4 + 0.5]
    >>> denoiser = ImageDenoiser(noise_level=0.1, guide=None, width=16, depth=4,
    ...                          crop_size=24, batch_size=8, max_iter=30,
    ...                          random_state=0, n_threads=1).fit(clean)
    >>> noisy = [clean[0] + 0.1 * rng.standard_normal(clean[0].shape)]
    >>> denoised = denoiser.transform(noisy)
    >>> denoised[0].shape
    (40, 50)
    >>> bool(np.abs(denoised[0] - clean[0]).mean() < np.abs(noisy[0] - clean[0]).mean())
    True
    """

    _parameter_constraints: dict = {
        "noise_level": [Interval(Real, 0, None, closed="neither"), tuple, None],
        "guide": [StrOptions({"auto", "bm3d", "nl_means"}), None],
        "self_supervision": [StrOptions({"recorrupted", "blind_spot"})],
        "width": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 2, None, closed="left")],
        "crop_size": [Interval(Integral, MIN_SIDE, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str],
        "precision": [StrOptions(set(PRECISIONS))],
    }

    def __init__(
        self,
        *,
        noise_level=None,
        guide="auto",
        self_supervision="recorrupted",
        width=32,
        depth=8,
        crop_size=48,
        batch_size=16,
        max_iter=600,
        learning_rate_init=1e-3,
        random_state=None,
        n_threads=None,
        device="auto",
        precision="float32",
    ):
        self.noise_level = noise_level
        self.guide = guide
        self.self_supervision = self_supervision
        self.width = width
        self.depth = depth
        self.crop_size = crop_size
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.random_state = random_state
        self.n_threads = n_threads
        self.device = device
        self.precision = precision

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the network on the images ``X`` (and their clean versions ``y``).

        Parameters
        ----------
        X : list of ndarray of shape (height, width) or (height, width, channels)
            Training images, of any sizes, all with the same number of channels: the
            clean images when ``noise_level`` is set and ``y`` is None, else noisy ones.
        y : list of ndarray or None, default=None
            The clean image of each image of ``X`` (same shapes): (noisy, clean) pairs.

        Returns
        -------
        self : ImageDenoiser
            The fitted denoiser.
        """
        images, targets, mode, guide, noise_level = self._training_setup(X, y)
        clean = targets if targets is not None else images
        data_range = (min(float(im.min()) for im in clean), max(float(im.max()) for im in clean))
        module, losses = self._train(images, targets, mode, guide, noise_level, data_range)
        self.module_ = module.cpu().eval()
        self.mode_ = mode
        self.noise_level_ = float(np.mean(noise_level)) if mode == "self" else noise_level
        self.guide_ = guide
        self.n_channels_ = images[0].shape[-1]
        self.data_range_ = data_range
        self.loss_curve_ = losses
        self.n_iter_ = len(losses)
        return self

    def _training_setup(self, X, y):
        """The checked images and targets, the mode, the guide and the noise level (in
        self-supervised training, the list of each image's estimated level)."""
        noise_level = self._check_noise_level()
        images = _check_images(X, name="X")
        targets = None
        if y is not None:
            targets = _check_images(y, name="y", n_channels=images[0].shape[-1])
            _check_pairs(images, targets)
        mode = "pairs" if targets is not None else "self" if noise_level is None else "synthetic"
        guide = self._resolve_guide(mode)
        if guide is not None:
            _classical.check_guide(guide)
        if mode == "self":
            noise_level = [_classical.estimate_noise(im) for im in images]
        elif noise_level is None and guide is not None:
            noise_level = float(np.mean([_classical.estimate_noise(im) for im in images]))
        return images, targets, mode, guide, noise_level

    def _train(self, images, targets, mode, guide, noise_level, data_range):
        """The trained network and its loss curve."""
        device = resolve_device(self.device)
        warn_if_precision_emulated(self.precision, device)
        n_channels = images[0].shape[-1]
        init_seed, batch_seed = seeds(self.random_state, 2)
        module = image_net.ResidualDenoiser(
            n_channels, width=self.width, depth=self.depth, guided=guide is not None, seed=init_seed
        )
        generator = torch.Generator().manual_seed(batch_seed)
        if guide is not None:
            # The guide is computed once, on whole images, not on every crop: BM3D
            # of 16 crops would cost more than the step itself.
            rng = np.random.default_rng(batch_seed)
            # BM3D runs in torch: the guide keeps to the threads training gets
            with _threads.limit(self.n_threads, self._work(n_channels, self.max_iter)):
                images, targets = _guided_pairs(
                    images, targets, guide, noise_level, data_range, rng
                )
            mode = "pairs"
        mode = self.self_supervision if mode == "self" else mode
        X_t = _tensors(images)
        y_t = _tensors(targets) if targets is not None else None

        def batches():
            return image_net.training_batch(
                mode,
                X_t,
                y_t,
                noise_level,
                crop_size=self.crop_size,
                batch_size=self.batch_size,
                generator=generator,
            )

        with _threads.limit(self.n_threads, self._work(n_channels, self.max_iter)):
            losses = image_net.train(
                module,
                batches,
                max_iter=self.max_iter,
                learning_rate=self.learning_rate_init,
                device=device,
                autocast_dtype=PRECISIONS[self.precision],
            )
        if not all(math.isfinite(v) for v in losses):
            raise ValueError(
                "The training loss became NaN or infinite: lower learning_rate_init, or "
                "check the images' values."
            )
        return module, losses

    def _check_noise_level(self):
        level = self.noise_level
        if isinstance(level, tuple):
            if not (
                len(level) == 2
                and all(isinstance(v, Real) and not isinstance(v, bool) for v in level)
                and 0 < level[0] <= level[1]
            ):
                raise ValueError(
                    f"noise_level={level!r}: a range must be two numbers (low, high) "
                    "with 0 < low <= high."
                )
            return (float(level[0]), float(level[1]))
        return None if level is None else float(level)

    def _resolve_guide(self, mode):
        if self.guide == "auto":
            return "bm3d" if mode == "synthetic" else None
        if self.guide is not None and mode == "self":
            raise ValueError(
                f"guide={self.guide!r} cannot be used when learning from noisy images alone "
                "(noise_level=None and no y): a guide computed on the noisy images sees "
                "what self-supervised training hides from the network (the blind spots, "
                "the target's noise). Use guide=None or 'auto'."
            )
        return self.guide

    def _work(self, n_channels, n_batches, pixels=None):
        """The FLOPs of one training batch (forward and backward), for the thread policy."""
        pixels = self.batch_size * self.crop_size**2 if pixels is None else pixels
        per_pixel = 9 * (2 * n_channels * self.width + (self.depth - 2) * self.width**2)
        return _threads.Work(6.0 * per_pixel * pixels, n_batches)

    # ------------------------------------------------------------------ inference

    def transform(self, X, noise_level=None):
        """Denoise each image of ``X``.

        Parameters
        ----------
        X : list of ndarray of shape (height, width) or (height, width, channels)
            Images of any sizes with the training images' number of channels (a single
            2-D or 3-D array is taken as one image only inside a list).
        noise_level : float or None, default=None
            The noise level the guide is told for these images, where it is known;
            None: the fitted ``noise_level_`` (estimated per image when that is a
            range). Ignored without a guide.

        Returns
        -------
        images : list of ndarray
            The denoised images, each of the shape and float dtype it came in.
        """
        check_is_fitted(self)
        if noise_level is not None and not (
            isinstance(noise_level, Real) and math.isfinite(noise_level) and noise_level > 0
        ):
            raise ValueError(f"noise_level={noise_level!r} must be a positive number or None.")
        images = _check_images(X, name="X", n_channels=self.n_channels_)
        self._warn_out_of_range(images)
        device = resolve_device(self.device)
        module = self.module_.to(device)
        out = []
        try:
            for image, original in zip(images, X):
                pixels = image.shape[0] * image.shape[1]
                with _threads.limit(self.n_threads, self._work(self.n_channels_, 1, pixels)):
                    result = image_net.denoise(
                        module, self._network_input(image, noise_level), device
                    )
                result = result.permute(1, 2, 0).numpy()
                dtype = np.asarray(original).dtype
                dtype = dtype if np.issubdtype(dtype, np.floating) else np.float64
                out.append(result.reshape(np.shape(original)).astype(dtype, copy=False))
        finally:
            self.module_ = module.cpu()
        return out

    def _network_input(self, image, noise_level):
        if self.guide_ is not None:
            level = self._level_of(image) if noise_level is None else float(noise_level)
            image = _stacked(image, self.guide_, level, self.data_range_)
        return _tensors([image])[0]

    def _level_of(self, image):
        level = self.noise_level_
        if isinstance(level, tuple):
            return float(np.clip(_classical.estimate_noise(image), *level))
        return level

    def _warn_out_of_range(self, images):
        low, high = self.data_range_
        level = self.noise_level_ or 0.0
        level = max(level) if isinstance(level, tuple) else level
        margin = RANGE_TOLERANCE * max(high - low, np.finfo(np.float32).eps) + 5 * level
        for i, image in enumerate(images):
            lo, hi = float(image.min()), float(image.max())
            if lo < low - margin or hi > high + margin:
                warnings.warn(
                    f"Image {i} has values in [{lo:.4g}, {hi:.4g}], far outside the "
                    f"training images' [{low:.4g}, {high:.4g}]: the network never saw "
                    "such values and may denoise it badly. Scale it as the training "
                    "images were (e.g. to [0, 1]).",
                    UserWarning,
                    stacklevel=caller_stacklevel(),
                )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags


def _check_images(X, *, name, n_channels=None):
    """``X`` as a list of float32 arrays of shape (height, width, channels), with a
    clear error for what cannot be one."""
    if isinstance(X, np.ndarray) and X.ndim in (2, 3) and X.dtype != object:
        raise ValueError(
            f"{name} must be a list of images; got one array of shape {X.shape}. "
            f"Pass [image] for a single image (a 3-D array of grey images: list({name}))."
        )
    try:
        items = list(X)
    except TypeError:
        raise ValueError(f"{name} must be a list of images, got {type(X).__name__}.") from None
    if not items:
        raise ValueError(f"{name} is empty: give at least one image.")
    images = []
    for i, item in enumerate(items):
        array = np.asarray(item)
        if array.ndim not in (2, 3) or not np.issubdtype(array.dtype, np.number):
            raise ValueError(
                f"{name}[{i}] has shape {array.shape} (dtype {array.dtype}): an image must "
                "be a 2-D (grey) or 3-D (height, width, channels) array of numbers."
            )
        array = array.astype(np.float32, copy=False)
        array = array[..., None] if array.ndim == 2 else array
        if min(array.shape[:2]) < MIN_SIDE:
            raise ValueError(
                f"{name}[{i}] is {array.shape[0]}x{array.shape[1]} pixels: images need at "
                f"least {MIN_SIDE} pixels on each side."
            )
        if not np.isfinite(array).all():
            raise ValueError(f"{name}[{i}] holds NaN or infinite values.")
        expected = images[0].shape[-1] if n_channels is None and images else n_channels
        if expected is not None and array.shape[-1] != expected:
            raise ValueError(
                f"{name}[{i}] has {array.shape[-1]} channel(s) where "
                + ("the training images have" if n_channels else f"{name}[0] has")
                + f" {expected}: every image needs the same number of channels."
            )
        images.append(array)
    return images


def _check_pairs(noisy, clean):
    if len(noisy) != len(clean):
        raise ValueError(f"X has {len(noisy)} images but y has {len(clean)}: give one each.")
    for i, (a, b) in enumerate(zip(noisy, clean)):
        if a.shape != b.shape:
            raise ValueError(
                f"X[{i}] has shape {a.shape[:2]} but y[{i}] has {b.shape[:2]}: a noisy "
                "image and its clean one must have the same size."
            )


def _guided_pairs(images, targets, guide, noise_level, data_range, rng):
    """The network's inputs (each noisy image with its guide's estimate stacked after
    its channels) and targets: in pairs, the given ones; from clean images,
    ``NOISY_COPIES`` noisy copies of each (the noise level drawn from its range where
    it is one)."""
    if targets is not None:
        inputs = [_stacked(im, guide, noise_level, data_range) for im in images]
        return inputs, targets
    inputs, clean = [], []
    for image in images:
        for _ in range(NOISY_COPIES):
            level = rng.uniform(*noise_level) if isinstance(noise_level, tuple) else noise_level
            noisy = image + np.float32(level) * rng.standard_normal(image.shape, np.float32)
            inputs.append(_stacked(noisy, guide, level, data_range))
            clean.append(image)
    return inputs, clean


def _stacked(image, guide, level, data_range):
    """``image`` with its guide's estimate stacked after its channels; ``data_range`` is
    the clean training images' (low, high), the span of values BM3D's thresholds scale with."""
    span = data_range[1] - data_range[0]
    span = span if span > 0 else 1.0
    estimate = _classical.GUIDES[guide](image, max(float(level), 1e-6), span)
    return np.concatenate([image, estimate.astype(np.float32)], axis=-1)


def _tensors(images):
    """(height, width, channels) arrays as (channels, height, width) float32 tensors."""
    return [torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1))) for im in images]
