"""``ember.nn``: neural-network building blocks. ``functional`` holds the functional API."""
from ember.nn import functional  # noqa: F401
