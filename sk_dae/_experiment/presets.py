"""Training budgets, defined once for the API, the command line and the clustering helpers.

:data:`PRESETS` are the budgets of ``sk-dae compare --preset NAME`` and of
``compare(data, preset=NAME)``: the same models for the same name. Each is a dict of
:class:`sk_dae._experiment.compare.Settings` fields plus the ``dataset`` it is meant for.
"""

from __future__ import annotations

from ..clustering._pipeline import CLUSTERING_DAE_PARAMS

#: DenoisingAutoencoder settings of the default comparison, on sklearn's 8x8 digits: the
#: estimator's defaults ((128,) hidden units, cosine schedule, 200 epochs) trained at the
#: noise level the comparison's test corruptions call for.
DIGITS_DAE_PARAMS = {
    "noise": "gaussian",
    "noise_level": 0.3,
}

#: The MNIST budget of the comparison: the defaults ((512, 256), about 5,000 steps), noise 0.3.
MNIST_DAE_PARAMS = {
    "noise": "gaussian",
    "noise_level": 0.3,
}

#: The reconstruction recipe: the default network ((512, 256) for MNIST) trained about
#: twice as long (40 epochs) with little noise, annealed by the default cosine schedule.
MNIST_QUALITY_DAE_PARAMS = {
    "noise": "gaussian",
    "noise_level": 0.1,
    "max_iter": 40,
}

#: ``validation_fraction``: the share of the training split held out to draw the
#: validation curve and keep the best epoch's weights (0: train on all of it).
PRESETS = {
    "digits": {
        "dataset": "digits",
        "widths": (2, 10, 32),
        "dae_params": DIGITS_DAE_PARAMS,
        "validation_fraction": 0.1,
    },
    "mnist": {
        "dataset": "mnist",
        "widths": (2, 10, 32),
        "dae_params": MNIST_DAE_PARAMS,
        "validation_fraction": 0.1,
    },
    "mnist-quality": {
        "dataset": "mnist",
        "widths": (32,),
        "dae_params": MNIST_QUALITY_DAE_PARAMS,
        "validation_fraction": 0.0,
        "embeddings": ("normalize",),
    },
    "mnist-cluster": {
        "dataset": "mnist",
        "widths": (10,),
        "dae_params": CLUSTERING_DAE_PARAMS,
        "validation_fraction": 0.0,
        "fit_on": "all",
    },
}
