"""The torch core: networks, corruption, the data path, training loops, DEC, threads.

Nothing here imports scikit-learn: functions take and return tensors (and numpy arrays
at the edges), so each piece is tested on tensors alone. The estimators one level up
turn user input into these functions' arguments and their results into fitted
attributes.
"""
