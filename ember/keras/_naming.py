"""Unique default names for layers and models ("dense", "dense_1", ...), as Keras gives them."""
from __future__ import annotations

import re
from collections import defaultdict

_uids: defaultdict[str, int] = defaultdict(int)


def snake_case(name: str) -> str:
    """``"Conv2DTranspose"`` -> ``"conv2d_transpose"``, ``"LSTM"`` -> ``"lstm"``."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(prefix: str) -> str:
    """The first use of ``prefix`` returns it as is, later ones append ``_1``, ``_2``, ..."""
    n = _uids[prefix]
    _uids[prefix] += 1
    return prefix if n == 0 else f"{prefix}_{n}"


def clear_session() -> None:
    """Forget the names handed out so far (``keras.backend.clear_session()``)."""
    _uids.clear()
