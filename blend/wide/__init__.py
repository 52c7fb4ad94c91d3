"""The wide part of the wide-and-deep members: sparse linear features and their Keras layer.

:mod:`blend.wide.crosses` hashes and proposes feature crosses, :mod:`blend.wide.encoder` turns
a DataFrame into the integer ids of the wide features, and :mod:`blend.wide.layers` holds the
Keras layer that sums one weight per id. The estimators live in :mod:`blend.wide_deep`.
Importing this package does not import Keras.
"""
