"""Benchmarks: speed of pancake against hand-written NumPy and PyTorch, and a digits training run."""
