"""``ember.utils``: PyTorch's ``torch.utils`` names. ``ember.utils.data`` is
:mod:`ember.data` itself (the same module object), so ``from ember.utils.data import
DataLoader`` ports ``torch.utils.data`` code by changing the import."""
import sys

import ember.data as data

# Make `import ember.utils.data` find the same module rather than a second copy.
sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
