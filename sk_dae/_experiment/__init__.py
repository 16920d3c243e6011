"""The ``sk-dae`` experiment: the command line, the comparison with PCA, the clustering
report and their presets.

It uses the library as a user would; nothing in the library imports it.
"""
