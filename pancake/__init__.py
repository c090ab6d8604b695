"""pancake: a small deep learning framework in NumPy, built to be read and rebuilt.

Sub-packages: ``pancake.nn`` (layers, losses), ``pancake.init``, ``pancake.optim``,
``pancake.data``, ``pancake.datasets``, ``pancake.train``, ``pancake.testing``.
"""

__version__ = "0.1.0"
