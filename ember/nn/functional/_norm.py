"""Normalization functions of ``ember.nn.functional`` (implemented in
``ember.ops.normalization``)."""
from ember.ops.normalization import (batch_norm, group_norm, instance_norm, layer_norm,
                                     local_response_norm, normalize, rms_norm)

__all__ = ["batch_norm", "group_norm", "instance_norm", "layer_norm", "local_response_norm",
           "normalize", "rms_norm"]
