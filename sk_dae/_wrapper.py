"""The base of the estimators that train a DenoisingAutoencoder for another task.

:class:`~sk_dae.DAEOutlierDetector`, :class:`~sk_dae.DAEImputer` and
:class:`~sk_dae.DeepClustering` each train an autoencoder on ``X`` and build their own
model on what it learned. As scikit-learn's ``IterativeImputer`` does with its
``estimator``, they clone the ``autoencoder`` they are given (or build one from their
defaults) into ``autoencoder_``, so the one given is never fitted. This module holds what
they share: the parameters ``autoencoder``, ``random_state``, ``n_threads`` and ``device``
and their documentation, the building of the autoencoder, the thread policy of their own
computations, a ``fit`` that leaves the estimator as it was when it fails, and ``save``
and ``load``.
"""

from __future__ import annotations

import contextlib
import copy
import textwrap
import warnings
from numbers import Integral

from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval
from threadpoolctl import threadpool_limits

from . import _persistence
from ._autoencoder import DenoisingAutoencoder
from ._core import threads as _threads
from ._validation import caller_stacklevel, resolve_device

#: The documentation of the shared parameters, substituted for ``{name}`` placeholders
#: in the docstrings of the classes (``{autoencoder}`` takes the class's own default).
PARAMETER_DOCS = {
    "autoencoder": """\
autoencoder : DenoisingAutoencoder, default=None
    The autoencoder to train, cloned in :meth:`fit` into ``autoencoder_`` (the one
    given is never fitted). None means {default}. Its parameters can be searched as
    ``autoencoder__<name>``, e.g. ``autoencoder__n_components`` (the search needs an
    explicit ``autoencoder``: None has no parameters).""",
    "random_state": """\
random_state : int, RandomState instance or None, default=None
    Seed of the autoencoder (weights, noise, shuffling), set on ``autoencoder_``{more}.
    An int gives bit-identical fits on the same machine. None keeps the autoencoder's
    own ``random_state``. Global random state is never used or changed.""",
    "n_threads": """\
n_threads : int or None, default=None
    CPU threads of torch and of the numerical libraries (BLAS, OpenMP) in :meth:`fit`
    and inference, also set on ``autoencoder_``. None keeps the autoencoder's own
    ``n_threads`` and chooses per computation, as :class:`DenoisingAutoencoder` does:
    one thread for small ones, else the idle cores this process may use.""",
    "checkpoint": """\
checkpoint : str, path-like, Checkpoint or None, default=None
    Where :meth:`fit` saves its state (after every epoch for a path; as a
    :class:`~sk_dae.Checkpoint` says otherwise), so that a killed fit can be resumed:
    a later ``fit`` with the same parameters and data continues from the file to the
    result of an uninterrupted fit (bit-identical on the CPU with the same threads).
    The autoencoder's training checkpoints to the same path with ``.pretraining``
    appended (unless the autoencoder has a ``checkpoint`` of its own); both files are
    removed when the fit completes. See :ref:`checkpoints`.""",
    "device": """\
device : str or None, default=None
    Torch device of the autoencoder (``"cpu"``, ``"cuda"``, ...), set on
    ``autoencoder_`` (a fitted autoencoder used as it is moves there). None keeps the
    autoencoder's own ``device``.""",
}

#: The parameter and the attribute that hold an autoencoder, which save and load store
#: as a whole estimator inside the file.
COMPONENTS = {"autoencoder": DenoisingAutoencoder, "autoencoder_": DenoisingAutoencoder}


def shared_parameter_docs(**formats):
    """A class decorator: the shared parameters' documentation in the class docstring.

    A line ``{name}`` (indented as the Parameters section is) becomes the entry of
    ``PARAMETER_DOCS[name]``, formatted with ``formats[name]`` (a dict) where given.
    """

    def decorate(cls):
        doc = cls.__doc__
        for name, text in PARAMETER_DOCS.items():
            marker = "    {" + name + "}\n"
            if marker in doc:
                entry = text.format(**formats.get(name, {}))
                doc = doc.replace(marker, textwrap.indent(entry, "    ") + "\n")
        cls.__doc__ = doc
        return cls

    return decorate


class AutoencoderWrapper(BaseEstimator):
    """Base class of the estimators that train a :class:`DenoisingAutoencoder`.

    Subclasses implement ``_fit(X, y)``, which sets the fitted attributes and returns
    the warnings to emit (``(message, category)`` pairs), and may override
    :meth:`_default_autoencoder_params`. They list the shared parameters in their
    ``__init__`` and their docstring (``{autoencoder}``, ``{random_state}``,
    ``{n_threads}``, ``{device}`` placeholders, see :func:`shared_parameter_docs`).

    Not meant to be used directly.
    """

    _parameter_constraints: dict = {
        "autoencoder": [HasMethods(["fit", "transform", "reconstruct"]), None],
        "random_state": ["random_state"],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str, None],
    }

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``, then the estimator's own model on it.

        A fit that fails or is interrupted before the model is complete leaves the
        estimator exactly as it was (fitted or not).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        snapshot = self.__dict__.copy()
        try:
            pending = self._fit(X, y)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(snapshot)
            raise
        for message, category in pending or ():
            _warn(message, category)
        return self

    def _fit(self, X, y):
        raise NotImplementedError

    def _default_autoencoder_params(self, n_samples, n_features):
        """The parameters of the autoencoder built when ``autoencoder=None``."""
        return {}

    def _new_autoencoder(self, n_samples, n_features):
        """The unfitted autoencoder to train on data of this shape: a clone of
        ``autoencoder``, or one with the defaults when it is None, configured by
        :meth:`_configured`."""
        template = self.autoencoder
        if template is None:
            template = DenoisingAutoencoder(
                **self._default_autoencoder_params(n_samples, n_features)
            )
        return self._configured(clone(template))

    def _configured(self, autoencoder):
        """``autoencoder`` with the wrapper's ``random_state``, ``n_threads`` and
        ``device`` where they are set; a fitted one (a copy of it) moves to ``device``."""
        for name in ("random_state", "n_threads", "device"):
            value = getattr(self, name)
            if value is not None:
                autoencoder.set_params(**{name: value})
        if self.device is not None and hasattr(autoencoder, "module_"):
            device = resolve_device(self.device)
            autoencoder.module_ = copy.deepcopy(autoencoder.module_).to(device)
            autoencoder.device_ = device
        return autoencoder

    @contextlib.contextmanager
    def _limited_threads(self, work=None):
        """Run the block with torch and the BLAS/OpenMP pools on ``n_threads`` threads;
        with None, the count the thread policy gives for ``work`` (a
        :class:`sk_dae._core.threads.Work`), and no limit without ``work`` (torch's count
        is still set back if the block changed it)."""
        n_threads = self.n_threads
        if n_threads is None and work is not None:
            n_threads = _threads.choose(work)
        if n_threads is None:
            with _threads.kept():
                yield
            return
        with _threads.limit(n_threads), threadpool_limits(limits=n_threads):
            yield

    # ------------------------------------------------------------------ persistence

    def _to_file_state(self, state):
        """``state`` (of ``__getstate__``) with what is not plain data made plain, for
        :meth:`save`; :meth:`_from_file_state` rebuilds it."""
        return state

    @classmethod
    def _from_file_state(cls, state):
        return state

    def save(self, path):
        """Write the estimator to ``path`` in a format that runs no code when loaded.

        The format of :meth:`DenoisingAutoencoder.save`: one `safetensors
        <https://huggingface.co/docs/safetensors>`_ file with the weights of the
        autoencoder (``autoencoder_``, and ``autoencoder`` when it is fitted) and, in its
        header, the parameters and fitted attributes as JSON, a format version and a
        SHA-256 checksum. :meth:`load` executes nothing from the file. The file is
        written under a temporary name and renamed into place, so an interrupted save
        never leaves a truncated file. An unfitted estimator saves its parameters.

        Parameters
        ----------
        path : str or path-like
            File to write, conventionally ending in ``.safetensors``; replaced if it
            exists.

        See Also
        --------
        load : Read an estimator written by this method.
        DenoisingAutoencoder.save : The same format for an autoencoder alone.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import numpy as np
        >>> from sk_dae import DAEOutlierDetector, DenoisingAutoencoder
        >>> X = np.random.default_rng(0).random((100, 8))
        >>> autoencoder = DenoisingAutoencoder(2, hidden_layer_sizes=(16,), max_iter=5)
        >>> detector = DAEOutlierDetector(autoencoder, random_state=0).fit(X)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "detector.safetensors"
        ...     detector.save(path)
        ...     loaded = DAEOutlierDetector.load(path)
        >>> np.array_equal(loaded.score_samples(X), detector.score_samples(X))
        True
        """
        _persistence.save(self, path, components=COMPONENTS)

    @classmethod
    def load(cls, path):
        """Read an estimator written by :meth:`save`, executing nothing from the file.

        A file that is truncated, fails its checksum, is not an sk_dae model, holds
        another class's model or was written in a format version this sk_dae cannot read
        is refused with a ``ValueError``. A model saved by another sk_dae version with a
        readable format loads with an :class:`InconsistentVersionWarning`. A model
        fitted on a GPU loads onto the CPU when no GPU is available
        (``autoencoder_.device_`` tells where it lives).

        This is a class method: it returns a new estimator.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save`.

        Returns
        -------
        estimator : object
            The saved estimator, fitted if it was fitted when saved.

        See Also
        --------
        save : Write an estimator in this format.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> from sk_dae import DAEImputer
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = pathlib.Path(tmp) / "imputer.safetensors"
        ...     DAEImputer(add_indicator=True).save(path)
        ...     DAEImputer.load(path)
        DAEImputer(add_indicator=True)
        """
        return _persistence.load(path, cls, components=COMPONENTS)


def _warn(message, category):
    warnings.warn(message, category, stacklevel=caller_stacklevel())
