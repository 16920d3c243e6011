"""DAEOutlierDetector: outlier detection with a denoising autoencoder, on sklearn's
outlier API.

A :class:`~sk_dae.DenoisingAutoencoder` trained on (mostly) normal data reconstructs
normal rows well and unusual ones badly, and codes normal rows close to other normal
rows. This module turns the reconstruction error and the distances to the nearest
training codes into the scores, threshold and labels of
:class:`~sklearn.ensemble.IsolationForest`'s interface. The scores are plain numpy (and
sklearn's ``NearestNeighbors``) on the autoencoder's ``reconstruct`` and ``transform``:
no torch code lives here.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import OutlierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core.data import INFERENCE_BATCH_SIZE
from ._core.threads import Work
from ._wrapper import AutoencoderWrapper, shared_parameter_docs

#: Parameters of the autoencoder used when ``autoencoder=None``. A linear output
#: reconstructs the background of images far better than a sigmoid, whose outputs only
#: approach 0 and 1, and the scores depend on exactly that; a constant step size with the
#: convergence test stops before a small training set is overfit, and the cap of 200
#: epochs is part of the regime: on tables of a few hundred rows it ends training
#: before the test does, as in the measurements (the user guide's outlier page, made
#: with a random start on all training rows). Neither the autoencoder's own start and
#: held-out check nor the held-out check alone detect as well on held-out digit classes
#: (``benchmarks/results/outlier_defaults.md``).
DEFAULT_AUTOENCODER_PARAMS = {
    "output_activation": "identity",
    "hidden_layer_sizes": (128,),
    "init": "random",
    "early_stopping": False,
    "batch_size": 256,
    "learning_rate": "constant",
    "learning_rate_init": 1e-3,
    "max_iter": 200,
}

#: ``contamination="auto"`` flags the rows whose error lies more than this many
#: interquartile ranges above the third quartile of the training errors: the points a box
#: plot draws beyond its whiskers (Tukey's fence). The "far out" fence (3 ranges) would
#: flag nothing at all on small, well reconstructed data sets; what 1.5 flags is on the
#: user guide's outlier page.
AUTO_FENCE = 1.5


@shared_parameter_docs(
    autoencoder={
        "default": '``DenoisingAutoencoder(output_activation="identity", '
        'hidden_layer_sizes=(128,), init="random", early_stopping=False, batch_size=256, '
        'learning_rate="constant", learning_rate_init=1e-3, '
        "max_iter=200)``, the training regime of the measurements in the user guide; "
        "its cap of 200 epochs is a budget, which ends training on small tables without "
        "a :class:`~sklearn.exceptions.ConvergenceWarning`"
    },
    random_state={"more": ""},
)
class DAEOutlierDetector(OutlierMixin, AutoencoderWrapper):
    """Outlier detection with a denoising autoencoder: its reconstruction error and
    the neighbours of its codes.

    The autoencoder is trained on ``X`` in :meth:`fit`; a row it reconstructs badly is
    unusual, and so is a row whose code lies far from the codes of the training rows.
    Each of these measures is put in units of its spread over the training rows, and a
    row's anomaly is the largest of them. :meth:`score_samples` returns its negative
    (higher is more normal), :meth:`decision_function` subtracts ``offset_`` (negative
    means outlier) and :meth:`predict` returns -1 for outliers and +1 for inliers, as
    :class:`~sklearn.ensemble.IsolationForest` does.

    Parameters
    ----------
    {autoencoder}

    error : {"standardized", "mse"}, default="standardized"
        How the errors of a row's features make its reconstruction error.
        ``"mse"``: the mean squared error ``mean_j (x_j - r_j)**2``, the negative of
        :meth:`DenoisingAutoencoder.score_samples` (the detector's own score with
        ``n_neighbors=0``). ``"standardized"``: every feature's
        error in units of that feature's typical error on the training data,
        ``mean_j ((x_j - r_j) / s_j)**2`` with ``s_j`` in ``error_scale_``. A feature
        the model reconstructs almost exactly (the empty border of an image) then counts
        as much as one it reconstructs loosely, so a few wrong pixels in the background
        stand out.

    spread_floor : float, default=0.1
        Lower bound of every ``s_j``, as a fraction of the root mean squared training
        error over all features. Without it a feature constant in training gets a
        spread near zero and any change in it (a clean digit touching a pixel that no
        training digit touched) multiplies the row's error by millions. Only used with
        ``error="standardized"``.

    n_neighbors : int, default=10
        Number of nearest training codes whose mean distance measures how unusual a
        row's code (``autoencoder_.transform``) is, both as given and scaled to unit
        length (the code's direction, whatever its length). Every row leaves out its
        nearest training code, which for a training row is its own, so training and
        new rows are scored alike. The reconstruction error and the two distances are
        each standardized by their median and interquartile range over the training
        rows, and the score is minus the largest of the three. An autoencoder
        reconstructs many rows of a kind it never saw (a digit class left out of
        training) almost as well as normal ones, but codes them apart: on MNIST this
        raises the mean ROC AUC over held-out digit classes from 0.70 to 0.84. ``0``
        scores the reconstruction error alone, ``-mean_j ((x_j - r_j) / s_j)**2``. At
        most the number of training rows minus one is used.

    contamination : "auto" or float, default="auto"
        The proportion of outliers in the training data; it sets ``offset_``, the
        threshold of :meth:`predict`. A float in (0, 0.5]: ``offset_`` is that
        percentile of the training scores, so :meth:`predict` flags that fraction of
        the training rows. ``"auto"``: the box-plot rule (Tukey's fence), so a row is
        an outlier when its anomaly (minus its score) lies more than 1.5 interquartile
        ranges above the third quartile of the training rows' anomalies. Anomalies
        have a long right tail, so this flags a few percent of normal rows (about 5%
        of MNIST digits, 7% with the standardized error alone); set a float for fewer.

    {random_state}

    {n_threads}

    {device}

    Attributes
    ----------
    autoencoder_ : DenoisingAutoencoder
        The fitted autoencoder.

    error_scale_ : ndarray of shape (`n_features_in_`,)
        ``s_j``: the root mean squared training error of every feature, at least
        ``spread_floor`` times its root mean over features. With ``error="mse"``, ones.

    n_neighbors_ : int
        The number of neighbours used: ``n_neighbors``, at most the number of training
        rows minus one.

    code_neighbors_ : list of NearestNeighbors
        The training codes, as given and scaled to unit length, indexed for the
        neighbour search. Only when ``n_neighbors_ > 0``.

    part_center_ : ndarray of shape (3,)
        Median over the training rows of the reconstruction error, the mean distance
        to the nearest codes and that of the codes' directions. Only when
        ``n_neighbors_ > 0``.

    part_spread_ : ndarray of shape (3,)
        Their interquartile ranges (the standard deviation where a range is zero).
        Only when ``n_neighbors_ > 0``.

    offset_ : float
        Offset used to define the decision function from the raw scores:
        ``decision_function = score_samples - offset_``.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when ``X`` has string column names.

    See Also
    --------
    DenoisingAutoencoder.score_samples : The negative mean squared error of every row,
        the score of ``error="mse", n_neighbors=0``.
    sklearn.ensemble.IsolationForest : Outlier detection with random trees; fast, and
        strong on tabular data.
    sklearn.neighbors.LocalOutlierFactor : Outlier detection by local density; use
        ``novelty=True`` to score new data.

    Notes
    -----
    The detector is fitted once and then scores any data, as
    :class:`~sklearn.ensemble.IsolationForest` and ``LocalOutlierFactor(novelty=True)``
    do: :meth:`fit_predict` labels the training rows, :meth:`predict` new ones. Train
    it on data that are normal or nearly so; an autoencoder that sees many outliers
    learns to reconstruct them too. Scale tabular features first (e.g. in a
    :class:`~sklearn.pipeline.Pipeline` after a
    :class:`~sklearn.preprocessing.StandardScaler`): the autoencoder trains on the
    squared error of the features as given.

    Training rows are reconstructed slightly better than new ones, so a threshold set
    on them flags somewhat more than ``contamination`` of new normal rows.

    :meth:`fit` searches the neighbours of every training code among the others, which
    takes time proportional to the square of the number of training rows (seconds for
    tens of thousands of rows with 32 codes); scoring new rows, to their number times
    that of the training rows. The detector keeps the training codes (two copies of
    ``n_samples x n_components`` floats). ``n_neighbors=0`` keeps neither cost.

    The standardized error follows the practice of PyOD's ``AutoEncoder``, which divides
    every feature by its standard deviation; here the error, not the input, is divided,
    and by a floored spread.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sk_dae import DAEOutlierDetector
    >>> X, _ = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> X_train, X_test = X[:1500], X[1500:]
    >>> X_noisy = X_test.copy()  # every 5th pixel replaced by noise
    >>> X_noisy[:, ::5] = np.random.default_rng(0).random((len(X_test), 13))
    >>> detector = DAEOutlierDetector(contamination=0.05, random_state=0).fit(X_train)
    >>> detector.autoencoder_.output_activation_
    'identity'
    >>> float(np.mean(detector.predict(X_test) == 1)) > 0.8  # most clean digits pass
    True
    >>> float(np.mean(detector.predict(X_noisy) == -1))  # the noisy ones are flagged
    1.0
    >>> bool(np.all(detector.decision_function(X_noisy) < 0))
    True
    """

    _parameter_constraints: dict = {
        **AutoencoderWrapper._parameter_constraints,
        "error": [StrOptions({"standardized", "mse"})],
        "spread_floor": [Interval(Real, 0, None, closed="left")],
        "n_neighbors": [Interval(Integral, 0, None, closed="left")],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
    }

    def __init__(
        self,
        autoencoder=None,
        *,
        error="standardized",
        spread_floor=0.1,
        n_neighbors=10,
        contamination="auto",
        random_state=None,
        n_threads=None,
        device=None,
    ):
        self.autoencoder = autoencoder
        self.error = error
        self.spread_floor = spread_floor
        self.n_neighbors = n_neighbors
        self.contamination = contamination
        self.random_state = random_state
        self.n_threads = n_threads
        self.device = device

    def _default_autoencoder_params(self, n_samples, n_features):
        return DEFAULT_AUTOENCODER_PARAMS

    def _fit(self, X, y):
        """Train the autoencoder on ``X``, index its codes and set the threshold."""
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        autoencoder = self._new_autoencoder(*X.shape)
        # The autoencoder sees an array: feature names are checked here, once.
        with warnings.catch_warnings():
            if self.autoencoder is None:
                # The default regime's cap of 200 epochs is its budget, not a failure
                # to converge that the user could act on.
                warnings.filterwarnings("ignore", category=ConvergenceWarning)
            autoencoder.fit(X)
        scale = np.ones(X.shape[1])
        if self.error == "standardized":
            mean_squares = _feature_mean_squares(autoencoder, X)
            scale = _floored_spread(mean_squares, self.spread_floor)
        self.autoencoder_ = autoencoder
        self.error_scale_ = scale
        # Every row leaves out its nearest training code (a training row's own), so at
        # least one other row must remain.
        self.n_neighbors_ = min(self.n_neighbors, X.shape[0] - 1)
        for name in ("code_neighbors_", "part_center_", "part_spread_"):
            vars(self).pop(name, None)  # from an earlier fit with neighbours
        views = None
        if self.n_neighbors_ > 0:
            views = _code_views(autoencoder.transform(X))
            self.code_neighbors_ = [NearestNeighbors().fit(view) for view in views]
        parts = self._score_parts(X, views)
        if self.n_neighbors_ > 0:
            self.part_center_ = np.median(parts, axis=0)
            self.part_spread_ = _robust_spread(parts)
        self.offset_ = self._offset(-self._anomaly(parts))
        return []

    def __getstate__(self):
        # The neighbour indexes travel as the training codes they index: a KDTree is no
        # type that skops rebuilds without trusting it, and the same codes rebuild the
        # same index.
        return _replaced(
            super().__getstate__(),
            "code_neighbors_",
            "_code_points",
            lambda indexes: [index._fit_X for index in indexes],
        )

    def __setstate__(self, state):
        super().__setstate__(_with_neighbours(state))

    def _to_file_state(self, state):
        """The training codes of the neighbour indexes as tensors of the file."""
        return _replaced(
            state, "_code_points", "_code_points", lambda points: list(map(torch.as_tensor, points))
        )

    @classmethod
    def _from_file_state(cls, state):
        return _with_neighbours(state)

    def _offset(self, train_scores):
        if self.contamination == "auto":
            q1, q3 = np.percentile(train_scores, [25.0, 75.0])
            # Scores are negative anomalies: the low fence of the scores is the high
            # fence of the anomalies.
            return float(q1 - AUTO_FENCE * (q3 - q1))
        return float(np.percentile(train_scores, 100.0 * self.contamination))

    def score_samples(self, X):
        """Negative anomaly of every row (higher is more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Minus the largest of the row's reconstruction error and the mean
            distances to its nearest training codes, each in interquartile ranges
            above its training median. With ``n_neighbors=0``,
            ``-mean_j ((x_j - r_j) / s_j)**2`` with ``r = D(E(x))`` and ``s`` in
            ``error_scale_`` (ones with ``error="mse"``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        return -self._anomaly(self._score_parts(X))

    def _score_parts(self, X, views=None):
        """Columns of evidence, higher for more anomalous rows: the reconstruction error,
        then (with neighbours) the code's mean distance to its nearest training codes,
        as they are and on the unit sphere (``views``, the codes of ``X`` as
        :func:`_code_views` gives them, when already computed)."""
        errors = _row_errors(self.autoencoder_, X, self.error_scale_)
        if self.n_neighbors_ == 0:
            return errors[:, np.newaxis]
        if views is None:
            views = _code_views(self.autoencoder_.transform(X))
        distances = [errors]
        n_train, width = self.code_neighbors_[0].n_samples_fit_, views[0].shape[1]
        with self._limited_threads(Work(2.0 * X.shape[0] * n_train * width, len(views))):
            for neighbors, view in zip(self.code_neighbors_, views):
                found, _ = neighbors.kneighbors(view, n_neighbors=self.n_neighbors_ + 1)
                # The nearest is left out, for training and new rows alike.
                distances.append(found[:, 1:].mean(axis=1))
        return np.column_stack(distances)

    def _anomaly(self, parts):
        """The error alone, or the largest part in training interquartile ranges above
        its training median."""
        if self.n_neighbors_ == 0:
            return parts[:, 0]
        return np.max((parts - self.part_center_) / self.part_spread_, axis=1)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The shifted scores; :meth:`predict` flags the negative ones.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Whether each row is an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
            +1 for inliers, -1 for outliers (``decision_function(X) < 0``).
        """
        decision = self.decision_function(X)
        is_inlier = np.ones(decision.shape[0], dtype=int)
        is_inlier[decision < 0] = -1
        return is_inlier


def _batch_errors(autoencoder, X):
    """Yield ``(rows, (x - D(E(x)))**2)`` for successive batches of rows of ``X``, so that
    memory stays bounded by one batch whatever the number of rows."""
    for start in range(0, X.shape[0], INFERENCE_BATCH_SIZE):
        rows = slice(start, start + INFERENCE_BATCH_SIZE)
        batch = X[rows]
        yield rows, np.square(batch - autoencoder.reconstruct(batch), dtype=np.float64)


def _feature_mean_squares(autoencoder, X):
    """The mean over rows of every feature's squared reconstruction error."""
    total = np.zeros(X.shape[1])
    for _, squared in _batch_errors(autoencoder, X):
        total += squared.sum(axis=0)
    return total / X.shape[0]


def _row_errors(autoencoder, X, scale):
    """``mean_j ((x_j - r_j) / scale_j)**2`` of every row, float64."""
    out = np.empty(X.shape[0])
    weights = 1.0 / np.square(scale) / X.shape[1]
    for rows, squared in _batch_errors(autoencoder, X):
        out[rows] = squared @ weights
    return out


def _code_views(codes):
    """The codes as they are, and scaled to unit length (their direction)."""
    codes = np.asarray(codes, dtype=np.float64)
    norms = np.linalg.norm(codes, axis=1, keepdims=True)
    return codes, codes / np.maximum(norms, np.finfo(np.float64).tiny)


def _robust_spread(parts):
    """Interquartile range of every column; its standard deviation where that range is
    zero (over half the rows alike), and 1 where that is zero too."""
    q1, q3 = np.percentile(parts, [25.0, 75.0], axis=0)
    spread = q3 - q1
    spread = np.where(spread > 0, spread, parts.std(axis=0))
    return np.where(spread > 0, spread, 1.0)


def _floored_spread(mean_squares, spread_floor):
    """Root mean squared error of every feature, at least ``spread_floor`` times its root
    mean over the features (and never zero)."""
    spread = np.sqrt(mean_squares)
    floor = spread_floor * np.sqrt(mean_squares.mean())
    # A model that reconstructs its training data exactly still gets a positive scale.
    floor = max(floor, np.finfo(np.float32).eps)
    return np.maximum(spread, floor)


def _with_neighbours(state):
    """``state`` with the neighbour indexes rebuilt from the training codes it holds (as
    arrays, or as tensors in a saved file); a state that holds the indexes themselves
    (pickles written before the codes replaced them) is returned as it is."""
    return _replaced(
        state,
        "_code_points",
        "code_neighbors_",
        lambda points: [NearestNeighbors().fit(np.asarray(p)) for p in points],
    )


def _replaced(state, old, new, convert):
    """``state`` with the entry ``old`` (when there, and not None) replaced by ``new``,
    holding its value converted, in the same place: the attributes keep their order."""
    if state.get(old) is None:
        return state
    return {
        (new if name == old else name): (convert(value) if name == old else value)
        for name, value in state.items()
    }
