"""What a model's `serve` cells computed for a request, sampled into the prediction log.

A model published with its notebook's serve cells (registry/served_model.py) keeps, per thread,
the features it last predicted on. For a share of the rows of each request, the prediction log
line gets them beside the raw inputs (``"features": {...}``): `nb2pipe watch --skew` compares
their distributions with the training features the model was published with. Columns of an
array are named by their position, as in the published reference.
"""

from __future__ import annotations

import random
from typing import Any

SHARE = 0.1  # of the rows of each request whose features are logged


def sampled(pyfunc: Any, count: int, share: float = SHARE, draw=random.random) -> list[Any]:
    """For each of a request's `count` rows, the features it was predicted on (a dict), for a
    sampled `share` of them, else None; all None for a model without serve cells."""
    nothing: list[Any] = [None] * count
    try:
        last = getattr(pyfunc.unwrap_python_model(), "last_features", None)
    except Exception:
        return nothing  # not a pyfunc of Python code: no serve cells
    features = last() if callable(last) else None
    if features is None or not hasattr(features, "__len__") or len(features) != count:
        return nothing
    picked = [i for i in range(count) if draw() < share]
    if not picked:
        return nothing
    from nb2pipe.fileio import plain

    if hasattr(features, "columns"):
        names = [str(c) for c in features.columns]
        values = features.iloc[picked].itertuples(index=False, name=None)
    else:
        import numpy as np

        array = np.asarray(features)
        array = array.reshape(len(array), -1)
        names = [str(i) for i in range(array.shape[1])]
        values = (tuple(row) for row in array[picked])
    for index, row in zip(picked, values, strict=True):
        nothing[index] = {n: plain(v) for n, v in zip(names, row, strict=True)}
    return nothing
