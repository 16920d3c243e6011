"""DeepClustering: DEC and IDEC as a scikit-learn clusterer, on KMeans's interface.

The torch side (soft assignment, target distribution, fine-tuning loop) is
:mod:`sk_dae._core.dec`; this module pretrains the autoencoder, initialises the centres,
turns the parameters into the loop's arguments and its result into fitted attributes.
"""

from __future__ import annotations

import copy
import os
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.base import ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, clone
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .._autoencoder import DenoisingAutoencoder, fit_fingerprint
from .._core import checkpoint as _checkpoints
from .._core import threads as _threads
from .._core.augment import AUGMENT_KINDS, Augmenter
from .._core.checkpoint import Checkpoint, as_checkpoint
from .._core.conv import resolve_image_shape
from .._core.data import as_tensor
from .._core.dec import (
    ClusteringModule,
    FineTuningDivergedError,
    fine_tune,
    log_soft_assignment,
    make_fine_tuning_optimizer,
)
from .._core.seeds import seeds
from .._core.threads import Work
from .._core.training import PRECISIONS
from .._validation import caller_stacklevel, warn_if_precision_emulated
from .._wrapper import AutoencoderWrapper, shared_parameter_docs
from ._embedding import make_embedding, require_umap
from ._pipeline import PRETRAINING_RECIPES, default_pretraining_params

#: ``max_iter="auto"``: this many passes, or as many as make ``AUTO_STEPS`` steps.
AUTO_PASSES, AUTO_STEPS = 20, 1000

#: The autoencoder of ``autoencoder=None`` on most data: the clustering recipe's (a
#: (500, 500, 2000) encoder trained by Adam to undo masking noise, as in the DEC papers)
#: with 10 codes and a linear output, as the DEC papers' autoencoders have; on images of
#: 20,000 rows and more, DEC-keras's SGD instead
#: (:func:`~sk_dae.clustering.default_pretraining_recipe`).
DEFAULT_AUTOENCODER_PARAMS = PRETRAINING_RECIPES["adam"]


@shared_parameter_docs(
    autoencoder={
        "default": "the clustering recipe's with a linear output "
        "(``DenoisingAutoencoder(n_components=10, hidden_layer_sizes=(500, 500, 2000), "
        'output_activation="identity", noise="masking", noise_level=0.2, batch_size=256)``, '
        "see ``sk_dae.clustering._deep_clustering.DEFAULT_AUTOENCODER_PARAMS``), trained "
        "by Adam 20 epochs, or from 1,000 rows on as many as make 1,500 steps, at most 200 "
        "(:func:`~sk_dae.clustering.default_pretraining_passes`: 20 below 1,000 rows, "
        "200 on 1,000, 38 on 10,000, 20 from 18,946 on). On images (20,000 rows or more "
        "of at least 256 features, none negative, "
        ":func:`~sk_dae.clustering.default_pretraining_recipe`) it is DEC-keras's "
        "pretraining instead: no noise, SGD at 1.0 with momentum 0.9, 150 epochs (at most "
        "41,100 steps), :func:`~sk_dae.clustering.make_pretraining_autoencoder`'s "
        '``"dec-keras"`` recipe, which starts far better there (all 70,000 MNIST digits: '
        "KMeans on the codes 0.88 to 0.91 against Adam's 0.78) at about twice the time. "
        "With "
        "``prefit=True`` it must be fitted, and is copied instead of trained. "
        "Fine-tuning runs in its ``precision``"
    },
    random_state={"more": ", and of KMeans, UMAP and the shuffling of fine-tuning"},
)
class DeepClustering(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, ClusterMixin, AutoencoderWrapper
):
    """Deep embedded clustering (DEC, IDEC): KMeans on autoencoder codes, then fine-tuned.

    :meth:`fit` pretrains a denoising autoencoder on ``X``, runs KMeans on its codes to
    place ``n_clusters`` centres in the code space, then trains the encoder and the
    centres together (Xie et al., 2016). Each row's soft assignment ``q`` to the centres
    is a Student's t kernel of its distance to them; every ``update_interval`` the target
    ``p`` is computed from ``q`` by squaring it and dividing by each cluster's size,
    which sharpens confident assignments, and the training minimises ``KL(P || Q)``.
    ``method="idec"`` adds the reconstruction loss, so that the codes keep the structure
    the autoencoder learnt (Guo et al., 2017). Fine-tuning stops when fewer than ``tol``
    of the labels change between two refreshes of the target.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters.

    {autoencoder}

    method : {"idec", "dec"}, default="idec"
        ``"dec"``: the clustering loss ``KL(P || Q)`` alone, which trains the encoder
        only. ``"idec"``: plus ``reconstruction_weight`` times the autoencoder's
        reconstruction loss of the clean rows, which also trains the decoder.

    reconstruction_weight : float, default=10.0
        Weight of the reconstruction loss with ``method="idec"``. IDEC's loss is
        ``L_r + 0.1 * KL``; Adam's steps do not depend on the scale of the loss, so the
        default ``KL + 10 * L_r`` trains the same way.

    degrees_of_freedom : float, default=1.0
        Of the Student's t kernel of the soft assignment (DEC's alpha).

    update_interval : int or "epoch", default="epoch"
        Optimizer steps (batches) between two refreshes of the target distribution, or
        one pass over the data. Each refresh encodes all rows.

    max_iter : int or "auto", default="auto"
        Maximum number of passes over the data in fine-tuning. ``"auto"``: 20 passes, or
        as many as make 1,000 optimizer steps where a pass is shorter (the 1,797 8x8
        digits: 125 passes of 8 steps; 10,000 rows: 25 of 40; 20,000 rows and more:
        20). ``tol`` ends fine-tuning sooner. 0 skips fine-tuning: the model is then
        KMeans on the pretrained codes.

    tol : float, default=1e-3
        Fine-tuning stops when the share of labels that changed between two refreshes
        falls below ``tol`` (0.1% in the papers).

    batch_size : int, default=256
        Rows per fine-tuning step (at most the number of rows).

    learning_rate_init : float, default=1e-3
        Adam's learning rate in fine-tuning, reached after a linear warm-up over the
        first 100 steps (a fresh Adam's first steps are about this size on every
        weight, whatever the gradient; without the warm-up they scattered the
        clusters of small data sets).

    init : {"kmeans", "gmm"} or array-like of shape (n_clusters, n_components), \
            default="kmeans"
        Initial centres in the code space. ``"kmeans"``: KMeans with ``n_init``
        restarts on the pretrained codes (or on their manifold embedding, see
        ``manifold``). ``"gmm"``: a
        :class:`~sklearn.mixture.GaussianMixture` with full covariances and ``n_init``
        restarts there instead, N2D's last step (McConville et al., 2020); the initial
        centres are then the means of each component's codes, and fine-tuning starts by
        pulling every code towards its component's centre. An array gives the centres.

    n_init : int, default=10
        Restarts of KMeans (``init="kmeans"``) or of the mixture (``init="gmm"``).

    manifold : {"umap", "normalize"}, transformer or None, default=None
        A step between the pretrained codes and the KMeans that finds the initial
        clusters; the initial centres are then the means of each cluster's codes.
        ``"umap"``: a UMAP embedding into ``n_clusters`` dimensions (the N2D recipe,
        McConville et al., 2020; needs umap-learn). ``"normalize"``: the codes scaled
        to unit length, so that KMeans groups them by direction (see
        :func:`sk_dae.clustering.make_embedding` for both). A transformer (anything
        with ``fit_transform``, e.g. ``PCA(5)`` or a ``umap.UMAP`` of your own
        settings) is cloned and fitted on the codes. None: KMeans on the codes.

    augment : {"shift", "affine"} or None, default=None
        Random geometric changes of every fine-tuning batch of pictures, as DEC-DA does
        (Guo et al., 2018): ``"shift"`` moves each image by whole pixels, up to a tenth
        of its side; ``"affine"`` also rotates it by up to 10 degrees and scales it by
        up to 10% (as ``DenoisingAutoencoder``'s ``augment``). The target ``p``
        of a row is computed on the row itself; both loss terms see the changed row.
        The rows are images of the autoencoder's ``image_shape``, else square grey
        images; other rows raise a ValueError. Augmenting the pretraining too is the
        autoencoder's own ``augment``:
        ``DeepClustering(autoencoder=DenoisingAutoencoder(..., augment="affine"),
        augment="affine")``.

    prefit : bool, default=False
        Whether ``autoencoder`` is already fitted. Then it is copied and fine-tuned
        without pretraining: one pretraining can serve several clusterings.

    {random_state}

    verbose : int, default=0
        Report the pretraining's epochs and, after every refresh of the target, the
        fine-tuning loss and the share of labels that changed.

    {n_threads}

    {device}

    {checkpoint}

    Attributes
    ----------
    autoencoder_ : DenoisingAutoencoder
        The pretrained and fine-tuned autoencoder, trained on the rows divided by
        ``scale_``: ``autoencoder_.transform(X / scale_)`` gives the fine-tuned codes,
        as :meth:`transform` does (its ``loss_curve_`` is the pretraining's).

    scale_ : float
        The largest absolute value in the training ``X`` (1.0 with ``prefit=True``,
        whose autoencoder was trained on ``X`` as it is): every row is divided by it
        before it reaches the autoencoder, so the model does not depend on the units of
        ``X`` as a whole, as KMeans does not. Images scaled to [0, 1] keep their values
        (``scale_`` is 1). Features keep their relative sizes: standardize them first
        (e.g. :class:`~sklearn.preprocessing.StandardScaler` in a Pipeline) when they
        should weigh alike.

    cluster_centers_ : ndarray of shape (n_clusters, n_components)
        The centres in the fine-tuned code space.

    kernel_scale_ : float
        The length in which the Student's t kernel of the soft assignment measures
        distances in the code space: the root mean squared distance, per code
        dimension, of the pretrained codes to their initial centres. Codes can be of
        any size; in these units every cluster has about unit spread, and the kernel
        sharpens assignments on any data as it does on MNIST's codes.

    labels_ : ndarray of shape (n_samples,)
        The cluster of every training row, as :meth:`predict` assigns it.

    initial_labels_ : ndarray of shape (n_samples,)
        The clusters of the initialisation (KMeans on the pretrained codes, or on their
        manifold embedding), before fine-tuning.

    n_iter_ : int
        Passes over the data in fine-tuning (a partial last one counts).

    label_changes_ : list of float
        The share of labels that changed at every refresh of the target.

    loss_curve_ : list of float
        The mean fine-tuning loss between two refreshes.

    interrupted_ : bool
        Whether the last :meth:`fit` was ended by a ``KeyboardInterrupt`` (Ctrl-C) in
        pretraining (``autoencoder_.interrupted_``) or in fine-tuning; the model then
        keeps the weights and centres it reached, and is usable.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.cluster.KMeans : KMeans; ``max_iter=0`` here is KMeans on the pretrained
        codes.
    sklearn.mixture.GaussianMixture : Whose ``predict_proba`` gives soft assignments,
        as here.
    sk_dae.clustering.make_clustering_pipeline : Autoencoder, an embedding step and
        KMeans as a Pipeline, without fine-tuning.

    Notes
    -----
    :meth:`transform` returns the fine-tuned codes, not the distances to the centres
    that :meth:`sklearn.cluster.KMeans.transform` returns: the codes are what a
    downstream step (a plot, a classifier) wants. :meth:`predict` assigns the nearest
    centre, which is also the highest soft assignment of :meth:`predict_proba`.

    On all 70,000 MNIST digits (seeds 0 to 4, see the "Clustering" page of the user
    guide), the defaults reach a median of 0.930 accuracy and 0.850 NMI (KMeans on the
    pretrained codes: 0.903), in 18 minutes on two cores; the guide has
    ``manifold="umap"`` and the other recipes. On iris as it comes the defaults reach
    a median of 0.973 over five seeds (KMeans: 0.893).

    There is no ``score``: the code space changes from fit to fit, so no distance in it
    compares two models. Score clusterings with an external metric, e.g.
    ``make_scorer(adjusted_rand_score)`` in :class:`~sklearn.model_selection.GridSearchCV`.

    References
    ----------
    J. Xie, R. Girshick and A. Farhadi. "Unsupervised deep embedding for clustering
    analysis", ICML 2016.

    X. Guo, L. Gao, X. Liu and J. Yin. "Improved deep embedded clustering with local
    structure preservation", IJCAI 2017.

    R. McConville, R. Santos-Rodriguez, R. J. Piechocki and I. Craddock. "N2D: (Not too)
    deep clustering via clustering the local manifold of an autoencoded embedding",
    ICPR 2020.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from sklearn.metrics import normalized_mutual_info_score
    >>> from sk_dae import DenoisingAutoencoder
    >>> from sk_dae.clustering import DeepClustering
    >>> from sk_dae.datasets import load_digits
    >>> digits = load_digits()
    >>> autoencoder = DenoisingAutoencoder(
    ...     n_components=10, hidden_layer_sizes=(64,), max_iter=30, batch_size=64
    ... )
    >>> model = DeepClustering(n_clusters=10, autoencoder=autoencoder, random_state=0)
    >>> with warnings.catch_warnings():
    ...     # A fixed budget of pretraining epochs warns that the loss still falls.
    ...     warnings.simplefilter("ignore", ConvergenceWarning)
    ...     labels = model.fit_predict(digits.X_train)
    >>> labels.shape, model.cluster_centers_.shape
    ((1437,), (10, 10))
    >>> model.predict_proba(digits.X_test).shape
    (360, 10)
    >>> normalized_mutual_info_score(digits.y_train, labels) > 0.7
    True
    """

    _parameter_constraints: dict = {
        **AutoencoderWrapper._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"idec", "dec"})],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "degrees_of_freedom": [Interval(Real, 0, None, closed="neither")],
        "update_interval": [Interval(Integral, 1, None, closed="left"), StrOptions({"epoch"})],
        "max_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "init": [StrOptions({"kmeans", "gmm"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "manifold": [StrOptions({"umap", "normalize"}), HasMethods(["fit_transform"]), None],
        "augment": [StrOptions(set(AUGMENT_KINDS)), None],
        "prefit": ["boolean"],
        "verbose": ["verbose"],
        "checkpoint": [str, os.PathLike, Checkpoint, None],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        autoencoder=None,
        method="idec",
        reconstruction_weight=10.0,
        degrees_of_freedom=1.0,
        update_interval="epoch",
        max_iter="auto",
        tol=1e-3,
        batch_size=256,
        learning_rate_init=1e-3,
        init="kmeans",
        n_init=10,
        manifold=None,
        augment=None,
        prefit=False,
        random_state=None,
        verbose=0,
        n_threads=None,
        device=None,
        checkpoint=None,
    ):
        self.n_clusters = n_clusters
        self.autoencoder = autoencoder
        self.method = method
        self.reconstruction_weight = reconstruction_weight
        self.degrees_of_freedom = degrees_of_freedom
        self.update_interval = update_interval
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.init = init
        self.n_init = n_init
        self.manifold = manifold
        self.augment = augment
        self.prefit = prefit
        self.random_state = random_state
        self.verbose = verbose
        self.n_threads = n_threads
        self.device = device
        self.checkpoint = checkpoint

    # ------------------------------------------------------------------ fitting

    def _fit(self, X, y):
        """Pretrain the autoencoder on ``X``, place the centres, fine-tune both."""
        with self._limited_threads():
            result = self._fit_model(X)
        return self._unfinished(result)

    def _fit_model(self, X):
        X = validate_data(self, X, dtype=[np.float32, np.float64])
        self._check_fit_params(X)
        scale = 1.0 if self.prefit else _input_scale(X)
        X = _divided(X, scale)
        checkpoint = as_checkpoint(self.checkpoint)
        key = saved = None
        if checkpoint is not None:
            key = fit_fingerprint(self, None, X)
            saved = _checkpoints.read(checkpoint.path, key)
        fit_seeds = saved["seeds"] if saved else seeds(self.random_state, 2, bits=32)
        shuffle_seed, cluster_seed = fit_seeds
        autoencoder = self._pretrained_autoencoder(X, checkpoint)
        interrupted = not self.prefit and autoencoder.interrupted_
        codes = autoencoder.transform(X)
        centers, initial_labels = self._initial_centers(codes, cluster_seed)
        kernel_scale = _kernel_scale(codes, centers, initial_labels)
        # A copy: a new module object, so that no cache of the pretrained network's
        # outputs (the float64 copy of DenoisingAutoencoder) survives fine-tuning.
        model = ClusteringModule(
            copy.deepcopy(autoencoder.module_),
            centers,
            degrees_of_freedom=self.degrees_of_freedom,
            scale=kernel_scale,
        )
        result = writer = None
        if not interrupted:
            start = torch.as_tensor(initial_labels) if self._carries_labels() else None
            if checkpoint is not None:
                device = autoencoder.device_.type
                header = {"fingerprint": key, "seeds": list(fit_seeds), "device": device}
                writer = _checkpoints.Writer(checkpoint, header)
                saved = _same_device(checkpoint, saved, device)
            resume = (writer, saved and saved["training"])
            result = self._fine_tune(model, X, autoencoder, shuffle_seed, start, resume)
        autoencoder.module_ = model.autoencoder.eval()
        self.autoencoder_ = autoencoder
        self.scale_ = scale
        self.cluster_centers_ = model.centers.detach().cpu().numpy().astype(np.float64)
        self.kernel_scale_ = kernel_scale
        self._n_features_out = self.cluster_centers_.shape[1]
        self.initial_labels_ = initial_labels
        self.n_iter_ = 0 if result is None else result.n_epochs
        self.label_changes_ = [] if result is None else result.label_changes
        self.loss_curve_ = [] if result is None else result.loss_curve
        self.labels_ = self._assign(X)
        self.interrupted_ = interrupted or (result is not None and result.interrupted)
        if writer is not None and not self.interrupted_ and not checkpoint.keep:
            writer.remove()
            _pretraining_checkpoint(checkpoint).unlink(missing_ok=True)
        return result

    def _check_fit_params(self, X):
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        if self.prefit:
            if self.autoencoder is None:
                raise ValueError("prefit=True needs a fitted autoencoder; got autoencoder=None.")
            check_is_fitted(self.autoencoder, msg="prefit=True needs a fitted autoencoder.")
        if self.autoencoder is not None and not isinstance(self.autoencoder, DenoisingAutoencoder):
            raise TypeError(
                "autoencoder must be a sk_dae.DenoisingAutoencoder; got "
                f"{type(self.autoencoder).__name__}."
            )
        if self.autoencoder is not None and self.autoencoder.transform_layers != "code":
            raise ValueError(
                "DeepClustering clusters codes: the autoencoder needs transform_layers='code'."
            )
        if isinstance(self.manifold, str) and self.manifold == "umap":
            require_umap()
        self._augmenter(X.shape[1])  # a clear error on rows that are no images, before pretraining

    def _augmenter(self, n_features):
        """The :class:`~sk_dae._core.augment.Augmenter` of ``augment`` (None without one),
        over images of the autoencoder's ``image_shape``, else square grey images."""
        if self.augment is None:
            return None
        given = None if self.autoencoder is None else self.autoencoder.image_shape
        # Without a given shape, rows are a square grey image or none at all: the one-row
        # "picture" the autoencoder falls back to cannot be shifted or rotated.
        shape = resolve_image_shape(given, n_features)
        if given is None and shape[0] != shape[1]:
            raise ValueError(
                f"augment={self.augment!r} shifts and rotates images, but rows of "
                f"{n_features} features are not square images; give the autoencoder "
                "the rows' image_shape (DenoisingAutoencoder(image_shape=(height, "
                "width)) or (height, width, channels)), or set augment=None."
            )
        return Augmenter(self.augment, shape)

    def _carries_labels(self):
        """Whether the initial labels are not simply the nearest initial centres (a
        manifold step or a mixture found them), so that the first target is their
        one-hot encoding, which pulls every code towards its given cluster."""
        return self.manifold is not None or (isinstance(self.init, str) and self.init == "gmm")

    def _pretrained_autoencoder(self, X, checkpoint=None):
        """The pretrained autoencoder, a new object; its ``interrupted_`` tells whether
        a Ctrl-C ended its training (it then keeps the weights it reached). With a
        ``checkpoint``, pretraining checkpoints beside it (unless the autoencoder has a
        checkpoint of its own), and keeps its file until fine-tuning completes."""
        if self.prefit:
            return self._configured(copy.deepcopy(self.autoencoder))
        if self.autoencoder is None:
            # The recipe depends on the values (images or not), not only on the shape.
            default = DenoisingAutoencoder(**default_pretraining_params(X))
            autoencoder = self._configured(default)
        else:
            autoencoder = self._new_autoencoder(*X.shape)
        if self.verbose:
            autoencoder.set_params(verbose=self.verbose)
        own = autoencoder.checkpoint
        if checkpoint is not None and own is None:
            autoencoder.set_params(checkpoint=_pretraining_checkpoint(checkpoint, as_path=False))
        return autoencoder.fit(X).set_params(checkpoint=own)

    def _initial_centers(self, codes, seed):
        """The initial centres in the code space and the initial labels."""
        if not isinstance(self.init, str):
            centers = np.asarray(self.init, dtype=np.float64)
            if centers.shape != (self.n_clusters, codes.shape[1]):
                raise ValueError(
                    f"init has shape {centers.shape}; the centres of {self.n_clusters} "
                    f"clusters in a code space of width {codes.shape[1]} have shape "
                    f"{(self.n_clusters, codes.shape[1])}."
                )
            return centers, _nearest(codes, centers, self.degrees_of_freedom)
        points = codes
        if self.manifold is not None:
            # A UMAP's first parallel call sets torch's thread count to every core; the
            # fine-tuning after it keeps the count the user set.
            with _threads.kept():
                points = self._manifold_step(seed).fit_transform(codes)
        if self.init == "gmm":
            labels = self._mixture_labels(points, seed)
        else:
            kmeans = KMeans(self.n_clusters, n_init=self.n_init, random_state=seed)
            with self._limited_threads(self._kmeans_work(points)):
                kmeans.fit(points)
            labels = kmeans.labels_.astype(np.int64)
            if self.manifold is None:
                return kmeans.cluster_centers_, labels
        centers = np.stack([codes[labels == k].mean(axis=0) for k in range(self.n_clusters)])
        return centers, labels

    def _mixture_labels(self, points, seed):
        """The components of a Gaussian mixture (full covariances, N2D's last step) fitted
        on ``points``, as labels. A component that is no row's most likely one gets the
        row it explains best, so that every cluster has a mean."""
        mixture = GaussianMixture(
            self.n_clusters, covariance_type="full", n_init=self.n_init, random_state=seed
        )
        with self._limited_threads(self._kmeans_work(points)):
            proba = mixture.fit(points).predict_proba(points)
        labels = proba.argmax(axis=1).astype(np.int64)
        for k in np.setdiff1d(np.arange(self.n_clusters), labels):
            labels[proba[:, k].argmax()] = k
        return labels

    def _manifold_step(self, seed):
        """The unfitted step of ``manifold``: a clone of a given transformer, else the
        named embedding into ``n_clusters`` dimensions."""
        if not isinstance(self.manifold, str):
            return clone(self.manifold)
        return make_embedding(self.manifold, n_components=self.n_clusters, random_state=seed)

    def _kmeans_work(self, points):
        """What KMeans computes, for the thread policy: its distance products, about 100
        iterations a restart (on a busy machine KMeans on small codes is far faster on
        one thread than on two)."""
        n_samples, width = points.shape
        per_iteration = 2.0 * n_samples * width * self.n_clusters
        return Work(per_iteration, 100 * self.n_init)

    def _fine_tune(self, model, X, autoencoder, seed, initial_labels=None, resume=(None, None)):
        device = autoencoder.device_
        if self.prefit:
            # A pretraining in this fit has already warned.
            warn_if_precision_emulated(autoencoder.precision, device)
        generator = torch.Generator(device=device).manual_seed(seed)
        weight = self.reconstruction_weight if self.method == "idec" else 0.0
        optimizer = make_fine_tuning_optimizer(
            model, self.learning_rate_init, reconstruction_weight=weight
        )
        interval = None if self.update_interval == "epoch" else self.update_interval
        batch_size = min(self.batch_size, X.shape[0])
        augmenter = self._augmenter(X.shape[1])
        augment_generator = None
        if augmenter is not None:
            # Its own stream, so that the batches drawn do not depend on augment.
            augment_generator = torch.Generator(device=device).manual_seed(seeds(seed, 1)[0])
        passes = _passes(self.max_iter, X.shape[0], batch_size)
        widths = model.autoencoder.widths
        work = Work.of_layers(
            widths + widths[-2::-1], batch_size, X.shape[0], passes=passes, training=True
        )
        try:
            with self._limited_threads(work):
                return fine_tune(
                    model,
                    as_tensor(X).to(device),
                    optimizer=optimizer,
                    generator=generator,
                    reconstruction_weight=weight,
                    loss=autoencoder.loss,
                    batch_size=batch_size,
                    max_iter=passes,
                    update_interval=interval,
                    tol=self.tol,
                    initial_labels=None if initial_labels is None else initial_labels.to(device),
                    augmenter=augmenter,
                    augment_generator=augment_generator,
                    # Fine-tuning keeps the arithmetic the autoencoder was trained in.
                    autocast_dtype=PRECISIONS[autoencoder.precision],
                    progress=(lambda r: self._progress(r, passes)) if self.verbose else None,
                    checkpoint=resume[0],
                    resume=resume[1],
                )
        except FineTuningDivergedError as exc:
            raise ValueError(
                f"Fine-tuning diverged: {exc}. Try a smaller learning_rate_init "
                f"(now {self.learning_rate_init})."
            ) from None

    def _progress(self, result, passes):
        loss = result.loss_curve[-1] if result.loss_curve else float("nan")
        print(
            f"DeepClustering: refresh {len(result.label_changes)}, epoch "
            f"{result.n_epochs}/{passes}, loss = {loss:.6g}, labels changed = "
            f"{100 * result.label_changes[-1]:.2f}%",
            flush=True,
        )

    def _unfinished(self, result):
        """The warnings of an interrupted or unconverged fit."""
        if self.interrupted_:
            where = "pretraining" if result is None else f"fine-tuning epoch {self.n_iter_}"
            message = (
                f"Fitting was interrupted in {where}; the model keeps the weights and "
                "centres it reached and is usable. Fit again to train it fully."
            )
            return [(message, UserWarning)]
        passes = _passes(self.max_iter, len(self.labels_), self.batch_size)
        if passes > 0 and not result.converged:
            last = result.label_changes[-1] if result.label_changes else 1.0
            message = (
                f"Fine-tuning stopped at max_iter={self.max_iter!r} ({passes} passes) before "
                f"fewer than tol={self.tol} of the labels changed between refreshes (last: "
                f"{last:.4g}); increase max_iter or tol."
            )
            return [(message, ConvergenceWarning)]
        return []

    # ------------------------------------------------------------------ inference

    def _validate(self, X):
        """``X`` checked and divided by ``scale_``: the rows the autoencoder sees."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return _divided(X, self.scale_)

    def _assign(self, X):
        return _nearest(self.autoencoder_.transform(X), self.cluster_centers_, 1.0)

    def transform(self, X):
        """The fine-tuned codes of ``X`` (not the distances to the centres).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes of the fine-tuned encoder, in the floating dtype of ``X``.
        """
        X = self._validate(X)
        return self.autoencoder_.transform(X)

    def predict(self, X):
        """The cluster of every row: its nearest centre in the fine-tuned code space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices in ``[0, n_clusters)``, also the highest soft assignment.
        """
        return self._assign(self._validate(X))

    def predict_proba(self, X):
        """The soft assignment of every row to every cluster (DEC's ``q``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_clusters)
            A Student's t kernel of the distance of each code to each centre, each row
            summing to 1.
        """
        codes = self.transform(X)
        return _soft_assignment(
            codes,
            self.cluster_centers_,
            self.degrees_of_freedom,
            self.kernel_scale_,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _passes(max_iter, n_samples, batch_size):
    """``max_iter`` as a number of passes over ``n_samples`` rows. The labels settle
    after some hundreds of optimizer steps, not passes: on small data a pass is a few
    steps, and 20 of them (160 on the 1,797 digits, the first 100 warming up) ended
    every default fit of the digits before the labels had settled."""
    if max_iter != "auto":
        return max_iter
    steps = -(-n_samples // min(batch_size, n_samples))
    return max(AUTO_PASSES, -(-AUTO_STEPS // steps))


def _input_scale(X):
    """The largest absolute value of ``X`` (1.0 for all zeros): the unit that rows are
    measured in before they reach the autoencoder. Data in [0, 1] with a maximum of 1
    (images) keep their values. In large units (raw tabular features in the hundreds)
    the network's activations and its reconstruction loss are large, and fine-tuning
    moves the codes by much more than their clusters' spread (wine and breast cancer as
    they come: see the clustering page of the user guide)."""
    largest = float(max(X.max(), -X.min())) if X.size else 0.0  # no copy of X
    return largest if largest > 0 else 1.0


def _divided(X, scale):
    """``X / scale`` in the dtype of ``X``; ``X`` itself when ``scale`` is 1."""
    return X if scale == 1.0 else X / X.dtype.type(scale)


def _soft_assignment(codes, centers, degrees_of_freedom, scale=1.0):
    """DEC's ``q`` in float64, computed by the same function as in fine-tuning."""
    with torch.no_grad():
        z = torch.from_numpy(np.asarray(codes, dtype=np.float64))
        c = torch.from_numpy(np.asarray(centers, dtype=np.float64))
        return log_soft_assignment(z, c, degrees_of_freedom, scale).exp().numpy()


def _kernel_scale(codes, centers, labels):
    """The length in which DEC's kernel measures distances: the codes' root mean squared
    distance to their initial centres, per dimension. The kernel ``(1 + d**2) ** -1``
    only sharpens assignments when clusters span distances of about 1 or more. Codes can
    be of any size (per dimension about 0.02 on iris scaled to [0, 1], 1.5 on MNIST); in
    units much smaller than 1 every row is about as close to every centre, the target
    hardly differs from the assignment, and fine-tuning drifts."""
    spread = np.mean(np.sum((codes - centers[labels]) ** 2, axis=1)) / codes.shape[1]
    if not np.isfinite(spread) or spread <= np.finfo(np.float64).tiny:
        return 1.0
    return float(np.sqrt(spread))


def _nearest(codes, centers, degrees_of_freedom):
    """The nearest centre of every code (the highest soft assignment), int64."""
    return _soft_assignment(codes, centers, degrees_of_freedom).argmax(axis=1).astype(np.int64)


def _pretraining_checkpoint(checkpoint, *, as_path=True):
    """The checkpoint of the pretraining of a fit checkpointed at ``checkpoint``: a file
    beside it, kept until fine-tuning completes (or its path, with ``as_path``)."""
    path = Path(checkpoint.path)
    path = path.with_name(path.name + ".pretraining")
    if as_path:
        return path
    return Checkpoint(path, checkpoint.every_epochs, checkpoint.every_minutes, keep=True)


def _same_device(checkpoint, saved, device):
    """``saved`` as it can resume on ``device``: the state of a generator on another
    kind of device does not fit, so the shuffling restarts from the seed."""
    if saved is None or saved.get("device") == device:
        return saved
    warnings.warn(
        f"{str(checkpoint.path)!r} was written by a fit on {saved.get('device')}; it "
        f"resumes on {device} with a new shuffling stream, so the result differs from an "
        "uninterrupted fit's.",
        UserWarning,
        stacklevel=caller_stacklevel(),
    )
    saved["training"]["generator"] = None
    return saved
