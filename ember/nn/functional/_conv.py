"""Convolution functions of ``ember.nn.functional``: conv1d/2d, their transposes, and
unfold/fold (im2col/col2im). The ops live in ``ember.ops.conv``."""
from ember.ops.conv import (conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold,
                            unfold)

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]
