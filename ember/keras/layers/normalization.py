"""Keras 3's BatchNormalization and LayerNormalization.

Weights keep Keras's names and order (``gamma``, ``beta``, then BatchNormalization's
non-trainable ``moving_mean`` and ``moving_variance``), and Keras's rules: moving
statistics follow ``moving = momentum * moving + (1 - momentum) * batch`` with the batch's
biased variance, and a BatchNormalization layer whose ``trainable`` is False runs in
inference mode even during ``fit``. The normalisation itself is Ember's fused
``batch_norm`` / ``layer_norm`` op.

>>> import ember
>>> from ember.keras.layers import BatchNormalization
>>> BatchNormalization()(ember.ones(4, 3), training=True).shape
ember.Size([4, 3])
"""
from __future__ import annotations

from typing import Any

import ember
import ember.nn.functional as F
from ember import Tensor
from ember.keras import constraints, initializers, regularizers
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer

__all__ = ["BatchNormalization", "LayerNormalization"]


def _axes(layer: Layer, axis: Any, rank: int) -> list[int]:
    axes = [axis] if isinstance(axis, int) else list(axis)
    out = []
    for a in axes:
        if not isinstance(a, int) or not -rank <= a < rank:
            raise ValueError(f'Layer "{layer.name}" ({type(layer).__name__}): invalid axis '
                             f"{axis!r} for an input of rank {rank}")
        out.append(a % rank)
    return sorted(set(out))


class _AffineNorm(Layer):
    """Shared arguments: the optional learnt scale ``gamma`` and offset ``beta``."""

    def __init__(self, axis: Any, epsilon: float, center: bool, scale: bool,
                 beta_initializer: Any, gamma_initializer: Any, beta_regularizer: Any,
                 gamma_regularizer: Any, beta_constraint: Any, gamma_constraint: Any,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = axis if isinstance(axis, int) else list(axis)
        if epsilon <= 0:
            raise ValueError(f"{type(self).__name__}: epsilon must be positive, got "
                             f"{epsilon}")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _make_affine(self, shape: tuple, scale: bool, center: bool) -> None:
        self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer,
                                     regularizer=self.gamma_regularizer,
                                     constraint=self.gamma_constraint,
                                     name="gamma") if scale else None
        self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer,
                                    regularizer=self.beta_regularizer,
                                    constraint=self.beta_constraint,
                                    name="beta") if center else None

    def _check_sizes(self, input_shape: tuple, axes: list[int]) -> tuple:
        sizes = tuple(input_shape[a] for a in axes)
        if any(s is None for s in sizes):
            raise ValueError(f'Layer "{self.name}" ({type(self).__name__}): axis {self.axis} '
                             f"of the input must be defined; got input shape "
                             f"{tuple(input_shape)}")
        return sizes

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


class BatchNormalization(_AffineNorm):
    """Normalise each feature of ``axis`` over the batch (and the other axes) in
    training; by the moving statistics in inference."""

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False,
                 **kwargs: Any) -> None:
        if not isinstance(axis, int):
            raise ValueError(f"BatchNormalization: `axis` must be an int, got {axis!r}")
        if synchronized:
            raise ValueError("BatchNormalization: synchronized=True needs distributed "
                             "training, which Ember's keras does not run")
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                         beta_regularizer, gamma_regularizer, beta_constraint,
                         gamma_constraint, **kwargs)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: momentum must lie in [0, 1], got "
                             f"{momentum}")
        self.momentum = float(momentum)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape: tuple) -> None:
        axis = _axes(self, self.axis, len(input_shape))[0]
        (size,) = self._check_sizes(input_shape, [axis])
        self._make_affine((size,), self.scale, self.center)
        self.moving_mean = self.add_weight(shape=(size,), trainable=False,
                                           initializer=self.moving_mean_initializer,
                                           name="moving_mean")
        self.moving_variance = self.add_weight(shape=(size,), trainable=False,
                                               initializer=self.moving_variance_initializer,
                                               name="moving_variance")
        self.input_spec = InputSpec(ndim=len(input_shape), axes={axis: size})

    def call(self, inputs: Tensor, training: bool | None = None) -> Tensor:
        axis = self.axis % inputs.ndim
        # F.batch_norm wants the features on axis 1. A dense channels-last input becomes an
        # (N*H*W, C) view (no copy); otherwise move the axis (a view, dense when the input
        # is a channels-first array seen channels-last, as a Conv2D output is)
        flat = axis == inputs.ndim - 1 and inputs.ndim > 2 and inputs.is_contiguous()
        x = inputs.reshape(-1, inputs.shape[-1]) if flat else inputs.movedim(axis, 1)
        if training and self.trainable and x.numel():     # an empty batch changes nothing
            out = self._normalize_by_batch(x)
        else:
            out = F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma,
                               self.beta, training=False, eps=self.epsilon)
        return out.reshape(inputs.shape) if flat else out.movedim(1, axis)

    def _normalize_by_batch(self, x: Tensor) -> Tensor:
        """Normalise ``x`` (features on axis 1) by its batch statistics and blend them into
        the moving ones: ``moving = momentum * moving + (1 - momentum) * batch``, with
        the biased variance."""
        count = x.numel() // x.shape[1]
        if count == 1:
            # one value per feature: Keras normalises it to 0 (variance 0); F.batch_norm's
            # training mode refuses, so use the batch itself as the statistics
            mean, variance = x.reshape(-1), ember.zeros(x.shape[1], dtype=x.dtype)
            out = F.batch_norm(x, mean, variance, self.gamma, self.beta, training=False,
                               eps=self.epsilon)
        else:
            # momentum 1 makes the fused op write the batch mean and the unbiased batch
            # variance into these buffers: no second pass over x for the statistics
            mean = ember.zeros(x.shape[1], dtype=x.dtype)
            variance = ember.ones(x.shape[1], dtype=x.dtype)
            out = F.batch_norm(x, mean, variance, self.gamma, self.beta, training=True,
                               momentum=1.0, eps=self.epsilon)
            variance = variance * ((count - 1) / count)
        keep = self.momentum
        with ember.no_grad():
            self.moving_mean.copy_(self.moving_mean * keep + mean.detach() * (1.0 - keep))
            self.moving_variance.copy_(self.moving_variance * keep + variance * (1.0 - keep))
        return out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum,
                "moving_mean_initializer":
                    initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer":
                    initializers.serialize(self.moving_variance_initializer),
                "synchronized": False}


class LayerNormalization(_AffineNorm):
    """Normalise each sample over ``axis`` (the last by default); ``rms_scaling=True``
    divides by the root mean square instead and, as in Keras, always has ``gamma`` and
    never ``beta`` (``center`` and ``scale`` are then ignored)."""

    def __init__(self, axis: Any = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, rms_scaling: bool = False,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None,
                 beta_constraint: Any = None, gamma_constraint: Any = None,
                 **kwargs: Any) -> None:
        self.rms_scaling = bool(rms_scaling)
        super().__init__(axis, epsilon, center, scale, beta_initializer,
                         gamma_initializer, beta_regularizer, gamma_regularizer,
                         beta_constraint, gamma_constraint, **kwargs)

    def build(self, input_shape: tuple) -> None:
        axes = _axes(self, self.axis, len(input_shape))
        sizes = self._check_sizes(input_shape, axes)
        self._norm_axes = axes
        # weights span the normalised axes; stored with size-1 axes between them removed
        self._make_affine(sizes, self.scale or self.rms_scaling,
                          self.center and not self.rms_scaling)
        self.input_spec = InputSpec(ndim=len(input_shape),
                                    axes=dict(zip(axes, sizes)))

    def call(self, inputs: Tensor) -> Tensor:
        axes, rank = self._norm_axes, inputs.ndim
        trailing = axes == list(range(rank - len(axes), rank))
        shape = tuple(inputs.shape[a] for a in axes)
        if trailing and self.rms_scaling:
            return F.rms_norm(inputs, shape, self.gamma, self.epsilon)
        if trailing:
            return F.layer_norm(inputs, shape, self.gamma, self.beta, self.epsilon)
        # normalised axes that are not the trailing ones: broadcast the statistics
        mean = None if self.rms_scaling else inputs.mean(dim=axes, keepdim=True)
        centred = inputs if mean is None else inputs - mean
        spread = (centred * centred).mean(dim=axes, keepdim=True)
        out = centred * ember.rsqrt(spread + self.epsilon)
        view = [inputs.shape[d] if d in axes else 1 for d in range(rank)]
        if self.gamma is not None:
            out = out * self.gamma.reshape(view)
        if self.beta is not None:
            out = out + self.beta.reshape(view)
        return out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "rms_scaling": self.rms_scaling}
