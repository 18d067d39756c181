"""``ember.nn``: neural-network building blocks, PyTorch's ``torch.nn``: ``Module`` and its
containers, the layers, ``functional``, ``init`` and ``utils``."""
from ember.nn import functional, init, utils  # noqa: F401
from ember.nn.modules import *  # noqa: F401,F403
from ember.nn.parameter import Buffer, Parameter, UninitializedParameter  # noqa: F401
