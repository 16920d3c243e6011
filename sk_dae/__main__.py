"""``python -m sk_dae``: the ``sk-dae`` command line of :mod:`sk_dae._experiment`."""

from ._experiment.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
