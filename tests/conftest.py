"""Shared test settings: modest hypothesis example counts, no deadlines (no flaky timing).

On a developer's machine hypothesis explores new examples on every run; in CI (``CI`` set)
it is derandomized, so a run's result depends only on the code under test.
"""

import os

from hypothesis import HealthCheck, settings

IN_CI = bool(os.environ.get("CI"))

settings.register_profile(
    "pancake",
    max_examples=25,
    deadline=None,
    derandomize=IN_CI,
    database=None if IN_CI else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("pancake")
