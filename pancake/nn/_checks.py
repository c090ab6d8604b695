"""Input validation shared by the layers: clear errors instead of broadcasting surprises."""

from __future__ import annotations

import numpy as np


def as_float_array(module, x) -> np.ndarray:
    """Return ``x`` as a floating-point array (integers become float64); ``module`` names the caller."""
    x = np.asarray(x)
    if x.dtype.kind == "f":
        return x
    if x.dtype.kind in "iub":  # signed, unsigned, bool
        return x.astype(np.float64)
    raise TypeError(f"{module!r} expects a real-valued array, got dtype {x.dtype}")
