"""The layers of ``ember.nn``, one family per file; each file's ``__all__`` is exported."""
from ember.nn.modules import (activation, attention, batchnorm, container, conv, distance,
                              dropout, flatten, fold, instancenorm, linear, loss, module,
                              normalization, padding, pixelshuffle, pooling, rnn, sparse,
                              transformer, upsampling)
from ember.nn.modules.activation import *  # noqa: F401,F403
from ember.nn.modules.attention import *  # noqa: F401,F403
from ember.nn.modules.batchnorm import *  # noqa: F401,F403
from ember.nn.modules.container import *  # noqa: F401,F403
from ember.nn.modules.conv import *  # noqa: F401,F403
from ember.nn.modules.distance import *  # noqa: F401,F403
from ember.nn.modules.dropout import *  # noqa: F401,F403
from ember.nn.modules.flatten import *  # noqa: F401,F403
from ember.nn.modules.fold import *  # noqa: F401,F403
from ember.nn.modules.instancenorm import *  # noqa: F401,F403
from ember.nn.modules.linear import *  # noqa: F401,F403
from ember.nn.modules.loss import *  # noqa: F401,F403
from ember.nn.modules.module import *  # noqa: F401,F403
from ember.nn.modules.normalization import *  # noqa: F401,F403
from ember.nn.modules.padding import *  # noqa: F401,F403
from ember.nn.modules.pixelshuffle import *  # noqa: F401,F403
from ember.nn.modules.pooling import *  # noqa: F401,F403
from ember.nn.modules.rnn import *  # noqa: F401,F403
from ember.nn.modules.sparse import *  # noqa: F401,F403
from ember.nn.modules.transformer import *  # noqa: F401,F403
from ember.nn.modules.upsampling import *  # noqa: F401,F403

__all__ = [name for mod in (activation, attention, batchnorm, container, conv, distance,
                            dropout, flatten, fold, instancenorm, linear, loss, module,
                            normalization, padding, pixelshuffle, pooling, rnn, sparse,
                            transformer, upsampling)
           for name in mod.__all__]
