"""pancake: a small deep learning framework in NumPy, built to be read and rebuilt.

Sub-packages: ``pancake.nn`` (layers, losses), ``pancake.init``, ``pancake.optim``,
``pancake.data``, ``pancake.datasets``, ``pancake.train``, ``pancake.testing`` (gradient
checks), ``pancake.autograd`` (define-by-run tensors) and ``pancake.stax``
(stax-style ``(init_fun, apply_fun)`` layers).
"""

__version__ = "0.1.0"
