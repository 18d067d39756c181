import os
import sys

import pytest
import torch
from hypothesis import HealthCheck, settings

import ember

sys.path.insert(0, os.path.dirname(__file__))
torch.set_num_threads(1)   # the oracle's threads only fight pytest for the 2 cores

settings.register_profile("ember", max_examples=20, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ember"))


@pytest.fixture
def default_float64():
    """Ember's and torch's default float dtype set to float64 for one test."""
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    yield
    ember.set_default_dtype(ember.float32)
    torch.set_default_dtype(torch.float32)
