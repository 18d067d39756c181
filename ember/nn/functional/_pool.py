"""Pooling and resampling functions of ``ember.nn.functional``: max/avg/adaptive pooling,
max_unpool2d, interpolate/upsample and pixel (un)shuffle. The ops live in
``ember.ops.pooling`` and ``ember.ops.resize``."""
from ember.ops.pooling import (adaptive_avg_pool1d, adaptive_avg_pool2d,
                               adaptive_max_pool1d, adaptive_max_pool2d, avg_pool1d,
                               avg_pool2d, max_pool1d, max_pool2d, max_unpool2d)
from ember.ops.resize import interpolate, pixel_shuffle, pixel_unshuffle, upsample

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
           "max_unpool2d", "interpolate", "upsample", "pixel_shuffle", "pixel_unshuffle"]
