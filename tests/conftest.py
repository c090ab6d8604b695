"""Shared test settings: modest hypothesis example counts, no deadlines (no flaky timing)."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "pancake",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("pancake")
