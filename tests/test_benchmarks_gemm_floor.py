"""benchmarks/gemm_floor.py records the matrix products of an Ember step and replays them."""
import numpy as np
import pytest

import ember
import ember.nn.functional as F
from benchmarks import gemm_floor


def _shapes(calls):
    return [tuple(np.shape(a) for a in args) for args, _ in calls]


def test_records_every_matmul_of_a_step_and_replays_them():
    real = np.matmul
    x = ember.randn(4, 3)
    w = ember.randn(5, 3, requires_grad=True)

    def step():
        w.grad = None
        F.linear(x, w).sum().backward()         # forward GEMM, weight-gradient GEMM

    calls = gemm_floor.record_matmuls(step)
    assert np.matmul is real
    assert _shapes(calls) == [((4, 3), (3, 5)), ((5, 4), (4, 3))]
    assert _shapes(gemm_floor.record_matmuls(gemm_floor.replay(calls))) == _shapes(calls)


def test_numpy_matmul_is_restored_when_the_step_fails():
    real = np.matmul

    def step():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        gemm_floor.record_matmuls(step)
    assert np.matmul is real


def test_unknown_workload_is_refused():
    with pytest.raises(SystemExit, match="unknown workload 'nope'"):
        gemm_floor._steps("nope", ember, None)
