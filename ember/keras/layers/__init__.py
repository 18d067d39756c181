"""``keras.layers``: Keras 3's layers, built on ``ember.nn``.

Layer classes live in files by family; this package exports them all under Keras's names.
"""
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer
from ember.keras.layers.input_layer import Input, InputLayer
from ember.keras.layers.core import *  # noqa: F401,F403
from ember.keras.layers.merging import *  # noqa: F401,F403
from ember.keras.layers.convolutional import *  # noqa: F401,F403
from ember.keras.layers.pooling import *  # noqa: F401,F403
from ember.keras.layers.embedding import *  # noqa: F401,F403
from ember.keras.layers.normalization import *  # noqa: F401,F403
from ember.keras.layers.convolutional_extra import *  # noqa: F401,F403
from ember.keras.layers.rnn import *  # noqa: F401,F403
from ember.keras.layers.wrappers import *  # noqa: F401,F403
from ember.keras.layers.attention import *  # noqa: F401,F403
from ember.keras.layers.preprocessing import *  # noqa: F401,F403
