"""DAEImputer: missing values filled with a denoising autoencoder's reconstruction, on
sklearn's imputer API.

The autoencoder learns from the rows with holes themselves (its loss counts observed
entries only) and fills every hole with its reconstruction. This module is sklearn glue
over :meth:`DenoisingAutoencoder.reconstruct`: the standardization, the masks and the
indicator; no torch code lives here.
"""

from __future__ import annotations

import numpy as np
from sklearn.impute import MissingIndicator
from sklearn.impute._base import _BaseImputer
from sklearn.utils import check_random_state
from sklearn.utils._mask import _get_mask
from sklearn.utils._missing import is_scalar_nan
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import (
    FLOAT_DTYPES,
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._wrapper import AutoencoderWrapper, shared_parameter_docs

#: Parameters of the autoencoder used when ``autoencoder=None``, chosen on the RMSE of
#: hidden entries of digits, breast_cancer and MNIST (the variants measured against each
#: other are in ``docs/user_guide/tabular.rst``, by ``benchmarks/bench_impute.py``):
#: masking noise, as the holes are masked entries, and a cosine budget from a random
#: start on all rows. Not the autoencoder's own start and held-out check: from PCA of
#: the mean-filled rows, they stay at the column means on small tables (the user
#: guide's tabular page, ``benchmarks/results/impute_defaults.md``).
#: ``batch_size`` and the widths follow the data: :func:`default_params`.
DEFAULT_AUTOENCODER_PARAMS = {
    "n_components": 32,
    "hidden_layer_sizes": (256, 128),
    "noise": "masking",
    "noise_level": 0.2,
    "output_activation": "identity",
    "init": "random",
    "early_stopping": False,
    "learning_rate": "cosine",
    "learning_rate_init": 3e-3,
    "max_iter": "auto",
}


def default_params(n_samples, n_features):
    """The parameters of the default autoencoder for data of this shape.

    Batches of ``n_samples // 64`` rows, from 32 to 256: small tables gain from many
    small steps, while 70,000 MNIST rows need large batches to fit in minutes. More than
    256 features (images) get a (512, 256)-64 network, twice the widths of the tables'.
    """
    params = dict(DEFAULT_AUTOENCODER_PARAMS, batch_size=min(256, max(32, n_samples // 64)))
    if n_features > 256:
        params.update(hidden_layer_sizes=(512, 256), n_components=64)
    return params


@shared_parameter_docs(
    autoencoder={
        "default": "a ``DenoisingAutoencoder`` with ``n_components=32, "
        'hidden_layer_sizes=(256, 128), noise="masking", noise_level=0.2, '
        'output_activation="identity", learning_rate="cosine", learning_rate_init=3e-3, '
        'max_iter="auto"`` (about 5,000 steps), batches of ``n_samples // 64`` rows '
        "(between 32 and 256), and for more than 256 features (images) a (512, 256)-64 "
        "network"
    },
    random_state={
        "more": ", and of the draws of ``sample_posterior`` (None draws them from fresh OS entropy)"
    },
)
class DAEImputer(_BaseImputer, AutoencoderWrapper):
    """Imputation of missing values by a denoising autoencoder's reconstruction.

    :meth:`fit` centers (and, as ``standardize`` says, scales) every feature on its
    observed entries and trains the autoencoder on the rows as they are, holes included:
    a missing entry enters the network as a masked one (zero, the feature's mean after
    centering) and the training loss counts the observed entries only.
    :meth:`transform` replaces every missing entry by the reconstruction of its row;
    observed entries are returned unchanged.

    Parameters
    ----------
    missing_values : int, float, str, np.nan or None, default=np.nan
        The placeholder for the missing values. All occurrences of `missing_values` will
        be imputed.

    {autoencoder}

    standardize : bool or "auto", default="auto"
        Divide every centered feature by its standard deviation before training, so that
        features in different units weigh alike in the loss. ``"auto"`` standardizes
        unless every observed value lies in [0, 1] (pixels, proportions, min-max scaled
        data: features already on one scale), which are only centered: there a
        rarely-nonzero feature (a border pixel) would become values of tens of standard
        deviations that dominate the loss (10,000 MNIST digits, 30% hidden: RMSE 0.146
        standardized, 0.105 centered; ``benchmarks/results/impute_mnist.md``).

    add_indicator : bool, default=False
        If True, a :class:`~sklearn.impute.MissingIndicator` transform will stack onto
        the output of the imputer's transform. This allows a predictive estimator to
        account for missingness despite imputation. If a feature has no missing values at
        fit/train time, the feature won't appear in the missing indicator even if there
        are missing values at transform/test time.

    keep_empty_features : bool, default=False
        If True, features that consist exclusively of missing values when `fit` is
        called are returned in results when `transform` is called. The imputed value is
        always `0`.

    sample_posterior : bool, default=False
        If True, :meth:`transform` draws one plausible imputation instead of the single
        best fill: every row is corrupted by the autoencoder's training noise (with the
        default masking noise, another 20% of its observed entries hidden) and its holes
        are filled with the reconstruction of that corrupted row, as MIDAS draws its
        imputations (Lall and Robinson, 2022). Successive calls draw anew, from
        ``random_state_``; imputers fitted with different ``random_state`` also differ
        in their networks. The spread of the draws is the reconstruction's sensitivity
        to the noise, not a calibrated posterior, and narrow (digits with 30% hidden:
        a spread of 0.04 where the fill errs by 0.15); an autoencoder trained with
        ``noise=None`` draws the deterministic fill every time. For multiple
        imputation, fit (or transform) several times and analyse each completed data
        set.

    {random_state}

    {n_threads}

    {device}

    Attributes
    ----------
    autoencoder_ : DenoisingAutoencoder
        The fitted autoencoder, trained on the standardized non-empty features.

    mean_ : ndarray of shape (`n_features_in_`,)
        Mean of every feature's observed training entries (0 for an empty feature).

    random_state_ : RandomState instance
        The generator of the draws of ``sample_posterior``, made in :meth:`fit` from
        ``random_state``.

    scale_ : ndarray of shape (`n_features_in_`,)
        Standard deviation of every feature's observed training entries (1 where it is
        0 or the feature is empty); all ones when the features were only centered (see
        ``standardize``).

    indicator_ : :class:`~sklearn.impute.MissingIndicator`
        Indicator used to add binary indicators for missing values. ``None`` if
        add_indicator is False.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.impute.SimpleImputer : Imputation with each column's mean, median or mode.
    sklearn.impute.KNNImputer : Imputation with the mean of the nearest neighbours.
    sklearn.impute.IterativeImputer : Imputation by regressing each feature on the
        others, in rounds.

    References
    ----------
    R. Lall and T. Robinson. "The MIDAS Touch: Accurate and Scalable Missing-Data
    Imputation with Deep Learning", Political Analysis 30(2), 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sk_dae import DAEImputer
    >>> X = load_digits().data[:600] / 16.0
    >>> hidden = np.random.default_rng(0).random(X.shape) < 0.2
    >>> X_missing = np.where(hidden, np.nan, X)
    >>> imputer = DAEImputer(random_state=0)
    >>> X_filled = imputer.fit_transform(X_missing)
    >>> bool(np.isnan(X_filled).any())
    False
    >>> bool(np.array_equal(X_filled[~hidden], X[~hidden]))  # observed entries unchanged
    True
    >>> rmse = np.sqrt(np.mean((X_filled - X)[hidden] ** 2))
    >>> bool(rmse < 0.2)  # filling with column means: 0.27
    True
    """

    _parameter_constraints: dict = {
        **_BaseImputer._parameter_constraints,
        **AutoencoderWrapper._parameter_constraints,
        "standardize": ["boolean", StrOptions({"auto"})],
        "sample_posterior": ["boolean"],
    }

    def __init__(
        self,
        *,
        missing_values=np.nan,
        autoencoder=None,
        add_indicator=False,
        keep_empty_features=False,
        standardize="auto",
        sample_posterior=False,
        random_state=None,
        n_threads=None,
        device=None,
    ):
        super().__init__(
            missing_values=missing_values,
            add_indicator=add_indicator,
            keep_empty_features=keep_empty_features,
        )
        self.autoencoder = autoencoder
        self.standardize = standardize
        self.sample_posterior = sample_posterior
        self.random_state = random_state
        self.n_threads = n_threads
        self.device = device

    def _validate(self, X, *, reset):
        finite = "allow-nan" if is_scalar_nan(self.missing_values) else True
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=FLOAT_DTYPES,
            ensure_all_finite=finite,
            copy=True,
            force_writeable=True,
        )
        return X, _get_mask(X, self.missing_values)

    def _default_autoencoder_params(self, n_samples, n_features):
        return default_params(n_samples, n_features)

    def _fit(self, X, y):
        """Center (and scale) ``X`` and train the autoencoder on it, holes included."""
        X, mask = self._validate(X, reset=True)
        valid = ~mask.all(axis=0)
        X[mask] = np.nan
        observed = np.where(mask, 0.0, X)  # 0 where missing: inside [0, 1], as "auto" needs
        count = np.maximum((~mask).sum(axis=0), 1)
        mean = observed.sum(axis=0) / count
        spread = np.sqrt(np.where(mask, 0.0, np.square(X - mean)).sum(axis=0) / count)
        standardize = self.standardize
        if standardize == "auto":
            standardize = not (observed.min() >= 0 and observed.max() <= 1)
        self.mean_ = mean
        self.scale_ = np.where(spread > 0, spread, 1.0) if standardize else np.ones_like(mean)
        autoencoder = self._new_autoencoder(X.shape[0], int(valid.sum()))
        autoencoder.fit(self._standardize(X)[:, valid])
        self.autoencoder_ = autoencoder
        self.random_state_ = _draw_generator(self.random_state)
        self._valid_mask = valid
        self._fit_indicator(mask)
        return []

    def _to_file_state(self, state):
        """The missing-value indicator as its parameters and fitted attributes."""
        state = dict(state)
        if state.get("indicator_") is not None:
            state["_indicator_state"] = dict(vars(state.pop("indicator_")))
        return state

    @classmethod
    def _from_file_state(cls, state):
        indicator_state = state.pop("_indicator_state", None)
        if indicator_state is not None:
            params = MissingIndicator().get_params()
            indicator = MissingIndicator(**{k: indicator_state[k] for k in params})
            # Only the fitted attributes scikit-learn's indicator reads, as plain data.
            fitted = ("_precomputed", "_n_features", "features_", "n_features_in_")
            indicator.__dict__.update({k: indicator_state[k] for k in fitted})
            state["indicator_"] = indicator
        return state

    def _standardize(self, X):
        return ((X - self.mean_) / self.scale_).astype(X.dtype, copy=False)

    def transform(self, X):
        """Fill every missing entry of ``X`` with the reconstruction of its row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing entries.

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_output_features)
            ``X`` with its missing entries filled; the features empty in training are
            dropped (or filled with 0 with ``keep_empty_features``), and the indicator
            columns follow with ``add_indicator``.
        """
        check_is_fitted(self)
        X, mask = self._validate(X, reset=False)
        X_indicator = self._transform_indicator(mask)
        valid = self._valid_mask
        rows = np.flatnonzero(mask[:, valid].any(axis=1))
        if rows.size:
            X[mask] = np.nan
            block = X[np.ix_(rows, np.flatnonzero(valid))]
            standardized = ((block - self.mean_[valid]) / self.scale_[valid]).astype(X.dtype)
            if self.sample_posterior:
                seed = self.random_state_.randint(np.iinfo(np.int32).max)
                standardized = self.autoencoder_.corrupt(standardized, random_state=seed)
            filled = self.autoencoder_.reconstruct(standardized)
            filled = filled * self.scale_[valid] + self.mean_[valid]
            X[np.ix_(rows, np.flatnonzero(valid))] = np.where(np.isnan(block), filled, block)
        if self.keep_empty_features:
            X[:, ~valid] = 0
        else:
            X = X[:, valid]
        return self._concatenate_indicator(X, X_indicator)

    def get_feature_names_out(self, input_features=None):
        """Get output feature names for transformation.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input features. None means ``feature_names_in_`` when defined, else
            ``["x0", "x1", ..., "x(n_features_in_ - 1)"]``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The non-empty input features (all of them with ``keep_empty_features``),
            followed by the indicator's names with ``add_indicator``.
        """
        check_is_fitted(self, "n_features_in_")
        input_features = _check_feature_names_in(self, input_features)
        names = input_features if self.keep_empty_features else input_features[self._valid_mask]
        return self._concatenate_indicator_feature_names_out(names, input_features)


def _draw_generator(random_state):
    """numpy's ``RandomState`` for ``random_state``; for None, one seeded from OS
    entropy rather than numpy's global generator, so that drawing changes no global
    state."""
    if random_state is None:
        return np.random.RandomState(np.random.SeedSequence().generate_state(4))
    return check_random_state(random_state)
