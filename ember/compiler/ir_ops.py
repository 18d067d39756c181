"""Ops that exist only in graphs: effects the tracer makes explicit."""
from __future__ import annotations

from typing import Any

from ember.ops.registry import Op

__all__ = ["CopyInto", "copy_into"]


class CopyInto(Op):
    """``dst[...] = src``: an in-place write into a capture or an input, as traced."""

    name = "copy_into"
    mutates = (0,)
    differentiable = False

    def forward(self, xp: Any, dst: Any, src: Any) -> None:
        dst[...] = src


copy_into = CopyInto()
