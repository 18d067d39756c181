"""``ember.nn.functional`` (imported as ``F``): PyTorch's functional API.

Primitive ops live in ``ember.ops``; the functions here give them PyTorch's signatures
and compose them (a loss is a few ops, not a new op).
"""
from ember.nn.functional._activation import *  # noqa: F401,F403
from ember.nn.functional._linear import *  # noqa: F401,F403
from ember.nn.functional._loss import *  # noqa: F401,F403
from ember.nn.functional._embedding import *  # noqa: F401,F403
from ember.nn.functional._norm import *  # noqa: F401,F403
from ember.nn.functional._attention import *  # noqa: F401,F403
from ember.nn.functional._distance import *  # noqa: F401,F403
from ember.nn.functional._conv import *  # noqa: F401,F403
from ember.nn.functional._pool import *  # noqa: F401,F403
from ember.nn.functional._misc import *  # noqa: F401,F403
