"""Image data sets for the examples and the ``sk-dae compare`` command, and a generator
of dirty pages for denoising documents (:func:`make_dirty_pages`).

Both loaders return a :class:`~sklearn.utils.Bunch` with ``X_train``, ``X_test``
(float32, scaled to [0, 1]), ``y_train``, ``y_test`` and ``image_shape``. The 8x8 digits
ship with scikit-learn; MNIST is read from a local ``.npz`` file and downloaded from
OpenML only when no file is found.
"""

from __future__ import annotations

import os
import socket
import urllib.error
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.datasets import load_digits as _sklearn_load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

MNIST_ENV_VAR = "SK_DAE_MNIST"
MNIST_FILENAME = "mnist.npz"
_MNIST_KEYS = ("X_train", "y_train", "X_test", "y_test")
_MNIST_N_TRAIN = 60_000
# A download that cannot connect must fail within a minute instead of hanging: the
# seconds a socket operation may wait, and the pause before fetch_openml's one retry.
_DOWNLOAD_TIMEOUT = 20
_RETRY_DELAY = 1.0


def load_digits(*, test_size=0.2, random_state=0):
    """The 8x8 handwritten digits, scaled to [0, 1] and split into train and test.

    A stratified split of scikit-learn's :func:`~sklearn.datasets.load_digits` (1,797
    images of 64 pixels with values 0..16, divided by 16). The same ``random_state``
    always gives the same split.

    Parameters
    ----------
    test_size : float, default=0.2
        Fraction of the images in the test split.
    random_state : int, default=0
        Seed of the split.

    Returns
    -------
    data : Bunch
        ``X_train``, ``X_test`` (float32 arrays of shape (n, 64)), ``y_train``,
        ``y_test`` (int arrays), ``image_shape`` ``(8, 8)`` and ``name`` ``"digits"``.

    See Also
    --------
    load_mnist : The 28x28 MNIST digits.

    Examples
    --------
    >>> from sk_dae.datasets import load_digits
    >>> data = load_digits()
    >>> data.X_train.shape, data.X_test.shape
    ((1437, 64), (360, 64))
    >>> float(data.X_train.min()), float(data.X_train.max())
    (0.0, 1.0)
    """
    X, y = _sklearn_load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y
    )
    return Bunch(
        X_train=X_train,
        X_test=X_test,
        y_train=y_train,
        y_test=y_test,
        image_shape=(8, 8),
        name="digits",
    )


def mnist_cache_path(data_home=None):
    """Where :func:`load_mnist` caches MNIST: ``<data_home>/sk_dae/mnist.npz``.

    Parameters
    ----------
    data_home : str or path-like, default=None
        scikit-learn's data folder; None uses :func:`sklearn.datasets.get_data_home`
        (``~/scikit_learn_data`` unless ``SCIKIT_LEARN_DATA`` says otherwise).

    Returns
    -------
    path : pathlib.Path
        The cache file (it need not exist).

    Examples
    --------
    >>> from sk_dae.datasets import mnist_cache_path
    >>> mnist_cache_path("/tmp/data").as_posix()
    '/tmp/data/sk_dae/mnist.npz'
    """
    return Path(get_data_home(data_home)) / "sk_dae" / MNIST_FILENAME


def load_mnist(path=None, *, data_home=None, download=True):
    """The MNIST digits (60,000 train, 10,000 test), scaled to [0, 1].

    The file is looked for, in this order, at ``path``, at the path in the environment
    variable ``SK_DAE_MNIST`` and in the cache (:func:`mnist_cache_path`). When none
    exists and ``download`` is true, MNIST is fetched with
    :func:`sklearn.datasets.fetch_openml` (``"mnist_784"``, the first 60,000 rows being
    the training set) and saved in the cache. Without a file and without network the
    call fails within seconds with an error that names where to put the file.

    Parameters
    ----------
    path : str or path-like, default=None
        An ``.npz`` archive with the uint8 arrays ``X_train`` (n, 784), ``y_train``,
        ``X_test`` and ``y_test``, pixel values 0..255.
    data_home : str or path-like, default=None
        scikit-learn's data folder, for the cache and the download.
    download : bool, default=True
        Fetch MNIST from OpenML when no local file is found.

    Returns
    -------
    data : Bunch
        ``X_train``, ``X_test`` (float32 arrays of shape (n, 784)), ``y_train``,
        ``y_test`` (int arrays), ``image_shape`` ``(28, 28)`` and ``name`` ``"mnist"``.

    Raises
    ------
    FileNotFoundError
        ``path`` (or ``SK_DAE_MNIST``) names a missing file, or no file was found and
        ``download`` is false.
    OSError
        The download failed (e.g. no network).

    See Also
    --------
    load_digits : The 8x8 digits shipped with scikit-learn.

    Examples
    --------
    >>> from sk_dae.datasets import load_mnist
    >>> data = load_mnist("../shared/data/mnist.npz")  # doctest: +SKIP
    >>> data.X_train.shape, data.X_test.shape  # doctest: +SKIP
    ((60000, 784), (10000, 784))
    """
    file = _find_mnist(path, data_home)
    if file is None:
        cache = mnist_cache_path(data_home)
        if not download:
            raise FileNotFoundError(_where_to_put_mnist(cache, "download=False"))
        _download_mnist(cache, data_home)
        file = cache
    return _read_mnist(file)


def load_npz(path):
    """A data set from an ``.npz`` archive with ``X_train``, ``X_test`` and optional labels.

    Integer images (e.g. uint8 pixels) are divided by their maximum value (255 for
    uint8); float data are used as they are. Square feature counts are read as square
    images.

    Parameters
    ----------
    path : str or path-like
        An archive with the arrays ``X_train`` and ``X_test`` of shape (n, n_features)
        and, optionally, ``y_train`` and ``y_test``.

    Returns
    -------
    data : Bunch
        ``X_train``, ``X_test`` (float32), ``y_train``, ``y_test`` (None when absent),
        ``image_shape`` (None when the features are not a square image) and ``name``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from sk_dae.datasets import load_npz
    >>> file = os.path.join(tempfile.mkdtemp(), "toy.npz")
    >>> rng = np.random.default_rng(0)
    >>> np.savez(file, X_train=rng.integers(0, 256, (20, 16), dtype=np.uint8),
    ...          X_test=rng.integers(0, 256, (5, 16), dtype=np.uint8))
    >>> data = load_npz(file)
    >>> data.X_train.dtype, data.image_shape, data.y_train is None
    (dtype('float32'), (4, 4), True)
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such .npz file: {path}")
    with np.load(path, allow_pickle=False) as archive:
        missing = [key for key in ("X_train", "X_test") if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path} lacks the arrays {missing}; an .npz data set needs X_train and "
                f"X_test (and optionally y_train and y_test). It holds {archive.files}."
            )
        arrays = {key: archive[key] for key in archive.files}
    X_train, X_test = _scale(arrays["X_train"]), _scale(arrays["X_test"])
    for name, X in (("X_train", X_train), ("X_test", X_test)):
        if X.ndim != 2:
            raise ValueError(f"{name} in {path} must be 2-D; got shape {X.shape}.")
    if X_train.shape[1] != X_test.shape[1]:
        raise ValueError(
            f"X_train and X_test in {path} have different numbers of features: "
            f"{X_train.shape[1]} and {X_test.shape[1]}."
        )
    side = int(round(np.sqrt(X_train.shape[1])))
    return Bunch(
        X_train=X_train,
        X_test=X_test,
        y_train=arrays.get("y_train"),
        y_test=arrays.get("y_test"),
        image_shape=(side, side) if side * side == X_train.shape[1] else None,
        name=path.stem,
    )


def _scale(X):
    X = np.asarray(X)
    if np.issubdtype(X.dtype, np.integer):
        top = np.iinfo(X.dtype).max if X.dtype == np.uint8 else max(int(X.max()), 1)
        return (X / top).astype(np.float32)
    return X.astype(np.float32, copy=False)


def _find_mnist(path, data_home):
    for source, candidate in (("path", path), (MNIST_ENV_VAR, os.environ.get(MNIST_ENV_VAR))):
        if candidate:
            candidate = Path(candidate).expanduser()
            if not candidate.is_file():
                raise FileNotFoundError(f"MNIST file given by {source} does not exist: {candidate}")
            return candidate
    cache = mnist_cache_path(data_home)
    return cache if cache.is_file() else None


def _read_mnist(file):
    with np.load(file, allow_pickle=False) as archive:
        missing = [key for key in _MNIST_KEYS if key not in archive.files]
        if missing:
            raise ValueError(
                f"{file} is not an MNIST archive: it lacks {missing} (it holds {archive.files})."
            )
        arrays = {key: archive[key] for key in _MNIST_KEYS}
    return Bunch(
        X_train=(arrays["X_train"].reshape(-1, 784) / 255.0).astype(np.float32),
        X_test=(arrays["X_test"].reshape(-1, 784) / 255.0).astype(np.float32),
        y_train=arrays["y_train"].astype(np.int64),
        y_test=arrays["y_test"].astype(np.int64),
        image_shape=(28, 28),
        name="mnist",
    )


def _where_to_put_mnist(cache, reason):
    return (
        f"MNIST was not found and cannot be downloaded ({reason}). Put an MNIST .npz "
        f"archive (uint8 arrays X_train, y_train, X_test, y_test) at {cache}, set the "
        f"environment variable {MNIST_ENV_VAR} to its path, or pass its path to "
        "load_mnist(path) / `sk-dae compare --dataset PATH.npz`."
    )


def _download_mnist(cache, data_home):
    from sklearn.datasets import fetch_openml

    # fetch_openml has no timeout of its own; a socket default makes an unreachable
    # server fail within seconds instead of hanging. With one retry, a server that never
    # answers costs at most 2 * _DOWNLOAD_TIMEOUT + _RETRY_DELAY seconds.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT)
    try:
        with warnings.catch_warnings():
            # "A network error occurred ... Retrying...": the error below says it all.
            warnings.filterwarnings("ignore", message="A network error occurred")
            X, y = fetch_openml(
                "mnist_784",
                version=1,
                return_X_y=True,
                as_frame=False,
                # scikit-learn's own ARFF reader: it needs no pandas (an optional
                # dependency), and pandas 3 reads the digit classes as integers, which
                # scikit-learn 1.9's pandas parser fails on. It is slower than pandas, but
                # runs once: the arrays are cached as .npz.
                parser="liac-arff",
                data_home=data_home,
                n_retries=1,
                delay=_RETRY_DELAY,  # scikit-learn refuses 0.0
            )
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise OSError(_where_to_put_mnist(cache, f"download failed: {exc}")) from exc
    finally:
        socket.setdefaulttimeout(previous)
    X = np.asarray(X).astype(np.uint8)
    y = np.asarray(y).astype(np.uint8)
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the cache and renamed, so that an interrupted write leaves no
    # truncated archive for the next call to trip on.
    partial = cache.with_name(cache.name + ".part")
    with open(partial, "wb") as file:
        np.savez_compressed(
            file,
            X_train=X[:_MNIST_N_TRAIN],
            y_train=y[:_MNIST_N_TRAIN],
            X_test=X[_MNIST_N_TRAIN:],
            y_test=y[_MNIST_N_TRAIN:],
        )
    os.replace(partial, cache)


# ------------------------------------------------------------------ dirty pages

_LETTERS = "etaoinshrdlcumwfgypbvkjxqz"
#: Letter frequencies of English text, roughly, so that the words look like words.
_LETTER_WEIGHTS = np.array(
    [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0]
    + [2.0, 1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
)
_FONTS = ("DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono")


def make_dirty_pages(n_pages=10, *, shape=(192, 256), random_state=0):
    """Scanned pages of text with stains, creases, uneven lighting, blur and noise.

    A seeded generator for denoising documents that needs no download: each clean page
    is lines of random words (drawn with English letter frequencies) rendered with one
    of the fonts bundled with matplotlib, black ink on white paper; its dirty version
    adds uneven lighting (a tilted, smoothly varying brightness), coffee stains (dark
    blobs and rings), creases (a thin dark line with a lighter edge), a slight blur and
    Gaussian noise, and is clipped to [0, 1]. The same ``random_state`` always gives
    the same pages.

    Needs matplotlib (the ``plot`` extra).

    Parameters
    ----------
    n_pages : int, default=10
        Number of pages.
    shape : tuple of int, default=(192, 256)
        Height and width of a page in pixels.
    random_state : int, default=0
        Seed of the text and the dirt.

    Returns
    -------
    dirty : list of ndarray of shape ``shape``
        The dirty pages, float32 in [0, 1] (1 is white paper).
    clean : list of ndarray of shape ``shape``
        The same pages, clean.

    See Also
    --------
    sk_dae.image.ImageDenoiser : Learns to clean them from (dirty, clean) pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_dae.datasets import make_dirty_pages
    >>> dirty, clean = make_dirty_pages(2, shape=(64, 96))
    >>> len(dirty), dirty[0].shape, dirty[0].dtype
    (2, (64, 96), dtype('float32'))
    >>> bool(np.sqrt(np.mean((dirty[0] - clean[0]) ** 2)) > 0.05)
    True
    """
    rng = np.random.default_rng(random_state)
    height, width = (int(v) for v in shape)
    if height < 16 or width < 16:
        raise ValueError(f"shape={shape!r}: a page needs at least 16x16 pixels.")
    clean = [_render_page(height, width, rng) for _ in range(int(n_pages))]
    dirty = [_soil(page, rng) for page in clean]
    return dirty, clean


def _random_line(rng, n_chars):
    words, length = [], 0
    while length < n_chars:
        size = int(rng.integers(1, 10))
        p = _LETTER_WEIGHTS / _LETTER_WEIGHTS.sum()
        words.append("".join(rng.choice(list(_LETTERS), size=size, p=p)))
        length += size + 1
    return " ".join(words)[:n_chars]


def _render_page(height, width, rng):
    """Lines of text in one font and size, rendered by matplotlib's Agg backend."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "make_dirty_pages renders text with matplotlib: pip install matplotlib"
        ) from None
    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    canvas = FigureCanvasAgg(figure)
    font = _FONTS[int(rng.integers(len(_FONTS)))]
    size = float(rng.uniform(7.0, 10.0))  # points: 10 to 14 pixels at 100 dpi
    line_height = size * 1.6 / 72 * dpi
    n_chars = int(width / (0.55 * size / 72 * dpi))
    top = float(rng.uniform(4, 12))
    for k in range(int((height - top - 4) // line_height)):
        y = 1 - (top + (k + 0.8) * line_height) / height
        text = _random_line(rng, n_chars)
        figure.text(0.03, y, text, family=font, fontsize=size, color="black")
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba(), dtype=np.float32)[..., :3] / 255.0
    return np.ascontiguousarray(rgba.mean(axis=-1)[:height, :width])


def _soil(page, rng):
    """``page`` under uneven light, with stains, a crease, blur and noise."""
    from scipy.ndimage import gaussian_filter

    height, width = page.shape
    y, x = np.mgrid[:height, :width] / max(height, width)
    light = 1.0 - rng.uniform(0.1, 0.3) * (
        np.cos(rng.uniform(0, 2 * np.pi)) * x + np.sin(rng.uniform(0, 2 * np.pi)) * y
    )
    light += gaussian_filter(rng.normal(0, 1, page.shape), max(height, width) / 6) * 8
    paper = np.clip(light / light.max(), 0.55, 1.0) * rng.uniform(0.85, 0.97)
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(0.08, 0.25) * max(height, width)
        distance = np.hypot((y * max(height, width) - cy), (x * max(height, width) - cx))
        blob = np.exp(-((distance / radius) ** 2)) * rng.uniform(0.1, 0.35)
        ring = np.exp(-(((distance - radius) / (0.06 * radius)) ** 2)) * rng.uniform(0.1, 0.3)
        paper *= 1 - blob - ring
    angle = rng.uniform(0, np.pi)
    offset = rng.uniform(0.3, 0.7) * (height * abs(np.sin(angle)) + width * abs(np.cos(angle)))
    across = (x * np.cos(angle) + y * np.sin(angle)) * max(height, width) - offset * 0.7
    paper *= 1 - 0.25 * np.exp(-((across / 1.2) ** 2)) + 0.06 * np.exp(-(((across - 3) / 2) ** 2))
    ink = rng.uniform(0.05, 0.25)
    dirty = paper * page + ink * (1 - page)
    dirty = gaussian_filter(dirty, rng.uniform(0.4, 0.9))
    dirty = dirty + rng.uniform(0.02, 0.06) * rng.standard_normal(page.shape)
    return np.clip(dirty, 0.0, 1.0).astype(np.float32)
