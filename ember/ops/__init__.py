"""The op library: every op defined once (see ``registry``), grouped by family.

Importing this package registers all ops and attaches their tensor methods.
"""
import warnings as _warnings

# NumPy reports inf/nan results (log(0), 0/0) as RuntimeWarnings attributed to the
# calling frame; PyTorch stays silent, so Ember's op files do too.
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"ember\.ops(\..*)?$")

from ember.ops import registry  # noqa: E402
from ember.ops.creation import *  # noqa: E402,F401,F403
from ember.ops.elementwise import *  # noqa: E402,F401,F403
from ember.ops.math import *  # noqa: E402,F401,F403
from ember.ops.reductions import *  # noqa: E402,F401,F403
from ember.ops.shape import *  # noqa: E402,F401,F403
from ember.ops.indexing import *  # noqa: E402,F401,F403
from ember.ops.linalg import *  # noqa: E402,F401,F403
from ember.ops.activations import *  # noqa: E402,F401,F403
from ember.ops.sorting import *  # noqa: E402,F401,F403
from ember.ops.joining import *  # noqa: E402,F401,F403
from ember.ops.scatter import *  # noqa: E402,F401,F403
from ember.ops.softmax import *  # noqa: E402,F401,F403
from ember.ops.normalization import *  # noqa: E402,F401,F403
from ember.ops.dropout import *  # noqa: E402,F401,F403
from ember.ops.padding import *  # noqa: E402,F401,F403
from ember.ops.conv import *  # noqa: E402,F401,F403
from ember.ops.pooling import *  # noqa: E402,F401,F403
from ember.ops.resize import *  # noqa: E402,F401,F403
from ember.ops.losses import *  # noqa: E402,F401,F403
from ember.ops.embedding import *  # noqa: E402,F401,F403
from ember.ops import inplace as _inplace  # noqa: E402

from ember.ops.registry import REGISTRY  # noqa: E402,F401

# the public op names only: family modules (ember.ops.linalg, ...) do not leak into the
# ember namespace, where torch has functions of some of those names (torch.embedding)
_FAMILIES = ("creation", "elementwise", "math", "reductions", "shape", "indexing", "linalg",
             "activations", "sorting", "joining", "scatter", "softmax", "normalization",
             "dropout", "padding", "conv", "pooling", "resize", "losses", "embedding")
__all__ = sorted({name for fam in _FAMILIES
                  for name in __import__(f"ember.ops.{fam}", fromlist=["__all__"]).__all__})
