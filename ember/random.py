"""Random number generation: ``ember.Generator`` and the default generator that
``ember.manual_seed`` seeds. Every random op takes ``generator=`` and falls back to the
default one, so a seed makes a whole program reproducible."""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from ember.tensor import trace_observers

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state"]


class Generator:
    """A source of random numbers (PCG64 underneath): ``g = ember.Generator().manual_seed(0)``."""

    def __init__(self, device: Any = "cpu"):
        self.device = device
        self._seed = 67280421310721
        self._rng = np.random.Generator(np.random.PCG64(self._seed))

    def manual_seed(self, seed: int) -> "Generator":
        """Reset to a fixed seed; returns the generator."""
        seed = int(seed)
        if seed < 0:
            seed &= (1 << 64) - 1
        self._seed = seed
        self._rng = np.random.Generator(np.random.PCG64(seed))
        return self

    def seed(self) -> int:
        """Re-seed from the operating system's entropy; returns the new seed."""
        s = int(np.random.SeedSequence().entropy) & ((1 << 63) - 1)
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        """The full state as a uint8 tensor (JSON of the bit generator's state)."""
        from ember.ops.creation import tensor
        raw = json.dumps({"seed": self._seed,
                          "state": self._rng.bit_generator.state}).encode()
        return tensor(list(raw), dtype="uint8")

    def set_state(self, new_state: Any) -> "Generator":
        try:
            obj = json.loads(bytes(np.asarray(new_state, dtype=np.uint8).tolist()).decode())
            bg = np.random.PCG64()
            bg.state = obj["state"]
        except (ValueError, KeyError, TypeError) as e:
            raise RuntimeError(f"Generator.set_state: not a state from get_state(): {e}") \
                from None
        self._seed = obj["seed"]
        self._rng = np.random.Generator(bg)
        return self

    @property
    def numpy(self) -> np.random.Generator:
        """The NumPy generator behind this one (what the random ops draw from)."""
        return self._rng


default_generator = Generator()


def get(generator: Generator | None) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s or the default one."""
    if trace_observers:
        trace_observers[-1].random_draw()
    return (generator or default_generator)._rng


def manual_seed(seed: int) -> Generator:
    """Seed the default generator; returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state() -> Any:
    return default_generator.get_state()


def set_rng_state(state: Any) -> None:
    default_generator.set_state(state)
