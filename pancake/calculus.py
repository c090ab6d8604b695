"""The chain rule by hand (chapter 1): E = (k·v)² and its partial derivatives.

The computation is the composition ``M = k·v`` then ``E = M²``. Backpropagation
reuses the intermediate ``M`` and the shared factor ``dE/dM``; the modules of
``pancake.nn`` (``Mul`` then ``Square``) do the same thing one layer at a time.
"""

from __future__ import annotations


def chain_rule_gradients(k: float, v: float) -> tuple[float, float, float]:
    """E = (k·v)², dE/dk and dE/dv, by the chain rule through M = k·v.

    Scalars in, ``(E, dE_dk, dE_dv)`` out; NumPy arrays of one shape work element-wise.
    """
    ### BEGIN SOLUTION
    m = k * v
    e = m * m
    de_dm = 2 * m  # d(M²)/dM
    de_dk = de_dm * v  # dM/dk = v
    de_dv = de_dm * k  # dM/dv = k
    return e, de_dk, de_dv
    ### END SOLUTION
