"""The base of the estimators that train a DenoisingAutoencoder for another task."""

from __future__ import annotations

from sklearn.base import clone

from ._autoencoder import DenoisingAutoencoder


def wrapped_autoencoder(wrapper, defaults):
    """The unfitted autoencoder that ``wrapper`` (a detector or an imputer) trains: a
    clone of its ``autoencoder`` parameter, or a new one with ``defaults`` when that is
    None, given the wrapper's ``random_state`` and ``n_threads`` when they are set."""
    template = wrapper.autoencoder
    if template is None:
        template = DenoisingAutoencoder(**defaults)
    autoencoder = clone(template)
    for name in ("random_state", "n_threads"):
        if getattr(wrapper, name) is not None:
            autoencoder.set_params(**{name: getattr(wrapper, name)})
    return autoencoder
