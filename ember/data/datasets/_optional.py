"""Lazy imports of the optional packages behind the ``datasets`` extra."""
from __future__ import annotations

import importlib
from types import ModuleType


def require(module: str, user: str) -> ModuleType:
    """Import ``module`` for ``user`` (e.g. ``"ImageFolder"``), or raise an ImportError
    saying which pip packages provide it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        package = {"PIL": "pillow", "sklearn": "scikit-learn"}.get(top, top)
        raise ImportError(f"{user} needs the {package!r} package: pip install {package} "
                          f"or pip install 'ember[datasets]'") from None
