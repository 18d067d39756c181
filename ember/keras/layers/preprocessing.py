"""Keras 3's preprocessing layers: Normalization and the random image augmentations
RandomFlip, RandomRotation, RandomZoom and RandomTranslation.

Images are channels-last, batched ``(N, H, W, C)`` or single ``(H, W, C)``. The random
layers transform only when called with ``training=True`` (as inside ``fit``) and are the
identity otherwise; each image in a batch gets its own random transform. Randomness comes
from Ember's default generator (so ``ember.manual_seed`` reproduces a run) unless the
layer is given ``seed=``, which gives it a private, reproducible generator. Warps are
gathers through Ember ops, so gradients flow back to the input.

>>> import ember
>>> from ember.keras.layers.preprocessing import Normalization
>>> norm = Normalization()
>>> norm.adapt([[0.0], [2.0]])
>>> norm(ember.tensor([[4.0]])).tolist()
[[3.0]]
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

import ember
from ember import Tensor
from ember.keras import backend
from ember.keras.layers.input_spec import InputSpec
from ember.keras.layers.layer import Layer

__all__ = ["Normalization", "RandomFlip", "RandomRotation", "RandomZoom",
           "RandomTranslation"]


def _as_array(data: Any) -> np.ndarray:
    if isinstance(data, Tensor):
        return data.detach().numpy()
    return np.asarray(data)


class Normalization(Layer):
    """``(x - mean) / sqrt(variance)`` per index of the kept ``axis`` (``None``: one
    scalar mean and variance); the square root is floored at ``keras.backend.epsilon()``.
    ``mean``/``variance`` fix the statistics; otherwise ``adapt(data)`` learns them
    (until then the layer is the identity). ``invert=True`` maps back: ``mean + x * std``.

    >>> import numpy as np
    >>> layer = Normalization(mean=[1.0, 2.0], variance=[4.0, 1.0])
    >>> layer(np.array([[3.0, 3.0]])).tolist()
    [[1.0, 1.0]]
    """

    def __init__(self, axis: Any = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, (int, np.integer)):
            axis = (int(axis),)
        else:
            axis = tuple(int(a) for a in axis)
        if 0 in axis:
            raise ValueError("The argument 'axis' may not be 0.")
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError("When setting values directly, both `mean` and `variance` must "
                             f"be set. Received: mean={mean} and variance={variance}")
        self.input_mean = None if mean is None else _as_array(mean).astype(np.float64)
        self.input_variance = None if variance is None else \
            _as_array(variance).astype(np.float64)
        self.invert = bool(invert)
        self.mean = self.variance = None

    # -- shapes --------------------------------------------------------------------------
    def _keep_axes(self, rank: int) -> tuple[int, ...]:
        for a in self.axis:
            if not -rank <= a < rank:
                raise ValueError(f'Layer "{self.name}" (Normalization): axis {a} is out of '
                                 f"range for inputs of rank {rank} (axis={self.axis})")
        return tuple(sorted(a % rank for a in self.axis))

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        keep = self._keep_axes(rank)
        for d in keep:
            if input_shape[d] is None:
                raise ValueError("All `axis` values to be kept must have a known shape. "
                                 f"Received axis={self.axis}, inputs.shape={tuple(input_shape)}"
                                 f", with unknown axis at index {d}")
        self._keep = keep
        self._stat_shape = tuple(input_shape[d] for d in keep)
        self._broadcast_shape = tuple(input_shape[d] if d in keep else 1 for d in range(rank))
        self.input_spec = InputSpec(ndim=rank, axes={d: input_shape[d] for d in keep})
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(shape=self._stat_shape, initializer="zeros",
                                              trainable=False, name="mean")
            self.adapt_variance = self.add_weight(shape=self._stat_shape, initializer="ones",
                                                  trainable=False, name="variance")
            self.mean = self.adapt_mean.reshape(self._broadcast_shape)
            self.variance = self.adapt_variance.reshape(self._broadcast_shape)
            return
        try:
            mean = np.broadcast_to(self.input_mean, self._stat_shape)
            variance = np.broadcast_to(self.input_variance, self._stat_shape)
        except ValueError:
            raise ValueError(f'Layer "{self.name}" (Normalization): `mean` of shape '
                             f"{self.input_mean.shape} and `variance` of shape "
                             f"{self.input_variance.shape} must broadcast to the kept axes' "
                             f"shape {self._stat_shape} (inputs {tuple(input_shape)}, "
                             f"axis={self.axis})") from None
        self.mean = ember.tensor(mean.reshape(self._broadcast_shape)).to(self.dtype)
        self.variance = ember.tensor(variance.reshape(self._broadcast_shape)).to(self.dtype)

    # -- statistics ----------------------------------------------------------------------
    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Set the mean and variance to those of ``data`` over all but the kept axes.

        ``data``: an array, an Ember tensor, a nested list, or an iterable of such batches
        (e.g. an ``ember.data.DataLoader`` of inputs); ``steps`` limits how many batches
        are read. The variance is the biased one (divided by the count), as in Keras.
        """
        if self.input_mean is not None:
            raise ValueError(f'Layer "{self.name}" (Normalization): cannot adapt a layer '
                             "whose `mean` and `variance` were passed to the constructor.")
        count, mean, m2 = 0, None, None
        for batch in self._batches(data, steps):
            if not self.built:
                self.build(tuple(batch.shape))
                self.built = True
            self._check_input_spec(batch)
            flat = np.moveaxis(batch.astype(np.float64), self._keep,
                               tuple(range(-len(self._keep), 0)))
            flat = flat.reshape((-1,) + self._stat_shape)
            n = flat.shape[0]
            if n == 0:
                continue
            b_mean, b_m2 = flat.mean(0), ((flat - flat.mean(0)) ** 2).sum(0)
            if mean is None:
                count, mean, m2 = n, b_mean, b_m2
                continue
            delta = b_mean - mean                    # Chan et al.'s pairwise update
            total = count + n
            mean = mean + delta * (n / total)
            m2 = m2 + b_m2 + delta ** 2 * (count * n / total)
            count = total
        if mean is None:
            raise ValueError(f'Layer "{self.name}" (Normalization): `adapt()` received no '
                             "data (an empty array or iterable).")
        self.set_weights([mean, m2 / count])

    def _batches(self, data: Any, steps: int | None) -> Iterable[np.ndarray]:
        if isinstance(data, (np.ndarray, Tensor, list, tuple, float, int)):
            yield _as_array(data)
            return
        if not hasattr(data, "__iter__"):
            raise TypeError(f'Layer "{self.name}" (Normalization): `adapt()` expects an '
                            f"array, a tensor or an iterable of batches; received "
                            f"{type(data).__name__}")
        for i, batch in enumerate(data):
            if steps is not None and i >= steps:
                break
            yield _as_array(batch)

    # -- computation ---------------------------------------------------------------------
    def call(self, inputs: Tensor) -> Tensor:
        if not inputs.is_floating_point():
            inputs = inputs.to(self.dtype)
        mean, variance = self.mean.to(inputs.dtype), self.variance.to(inputs.dtype)
        std = ember.clamp(ember.sqrt(variance), min=backend.epsilon())
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        def listed(a: Any) -> Any:
            return None if a is None else a.tolist()
        axis = self.axis[0] if len(self.axis) == 1 else (list(self.axis) or None)
        return {**super().get_config(), "axis": axis, "invert": self.invert,
                "mean": listed(self.input_mean), "variance": listed(self.input_variance)}


# -- random image augmentation -----------------------------------------------------------
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


def _factor_range(value: Any, name: str, layer: str) -> tuple[float, float]:
    """A number ``f`` means ``(-f, f)``; a pair is ``(lower, upper)``; both in [-1, 1]."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{layer}: the `{name}` argument should be a number or a list "
                             f"of two numbers. Received: {name}={value!r}")
        lower, upper = float(value[0]), float(value[1])
    elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        lower, upper = -float(abs(value)), float(abs(value))
    else:
        raise ValueError(f"{layer}: the `{name}` argument should be a number or a list of "
                         f"two numbers. Received: {name}={value!r}")
    if not (-1.0 <= lower <= 1.0 and -1.0 <= upper <= 1.0):
        raise ValueError(f"{layer}: the `{name}` argument should be a number (or a list of "
                         f"two numbers) in the range [-1.0, 1.0]. Received: {name}={value!r}")
    if upper < lower:
        raise ValueError(f"{layer}: the `{name}` argument cannot have an upper bound less "
                         f"than the lower bound. Received: {name}={value!r}")
    return lower, upper


class _RandomImageLayer(Layer):
    """Shared by the augmentations: seeding, rank checks, the training switch."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = seed
        self._rng = None if seed is None else np.random.default_rng(seed)
        self.input_spec = InputSpec(min_ndim=3, max_ndim=4)

    def _generator(self) -> np.random.Generator:
        return self._rng if self._rng is not None else ember.random.get(None)

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if not inputs.is_floating_point():
            inputs = inputs.to(self.dtype)
        if not training:
            return inputs
        batched = inputs.ndim == 4
        images = inputs if batched else inputs.unsqueeze(0)
        out = self._transform(images, self._generator())
        return out if batched else out.squeeze(0)

    def _transform(self, images: Tensor, rng: np.random.Generator) -> Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed}


class RandomFlip(_RandomImageLayer):
    """Flip each image left-right and/or top-bottom, each with probability 1/2.
    ``mode``: 'horizontal', 'vertical' or 'horizontal_and_vertical'.

    >>> import ember
    >>> RandomFlip("horizontal")(ember.ones(2, 4, 4, 3), training=True).shape
    ember.Size([2, 4, 4, 3])
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode "
                             f"argument {mode!r}; expected one of {self._MODES}")
        self.mode = mode

    def _transform(self, images: Tensor, rng: np.random.Generator) -> Tensor:
        n = images.shape[0]
        for wanted, axis in (("horizontal", 2), ("vertical", 1)):
            if wanted in self.mode:
                flip = ember.tensor((rng.random(n) < 0.5).reshape(n, 1, 1, 1))
                images = ember.where(flip, images.flip(axis), images)
        return images

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}


def _map_index(i: np.ndarray, n: int, fill_mode: str) -> np.ndarray:
    """Integer pixel indices outside ``[0, n)`` mapped back in by the fill mode
    ('constant' clamps; the caller masks those taps)."""
    if fill_mode == "reflect":                      # d c b a | a b c d | d c b a
        i = np.mod(i, 2 * n)
        return np.where(i >= n, 2 * n - 1 - i, i)
    if fill_mode == "wrap":                         # a b c d | a b c d | a b c d
        return np.mod(i, n)
    return np.clip(i, 0, n - 1)                     # nearest: a a a a | a b c d | d d d d


class _RandomAffine(_RandomImageLayer):
    """Inverse-mapped affine warps: each output pixel ``(x, y)`` (integer pixel centres)
    reads the input at ``A @ (x, y, 1)``, interpolated, with the fill mode outside."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        who = type(self).__name__
        if fill_mode not in _FILL_MODES:
            raise NotImplementedError(f"{who}: unknown `fill_mode` {fill_mode!r}. Expected "
                                      f"one of {_FILL_MODES}.")
        if interpolation not in _INTERPOLATIONS:
            raise NotImplementedError(f"{who}: unknown `interpolation` {interpolation!r}. "
                                      f"Expected one of {_INTERPOLATIONS}.")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def _matrices(self, n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 2, 3) maps from output (x, y) to input coordinates."""
        raise NotImplementedError

    def _transform(self, images: Tensor, rng: np.random.Generator) -> Tensor:
        n, h, w, c = images.shape
        m = self._matrices(n, h, w, rng)
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float64)
        xs = m[:, 0, 0, None, None] * gx + m[:, 0, 1, None, None] * gy + m[:, 0, 2, None, None]
        ys = m[:, 1, 0, None, None] * gx + m[:, 1, 1, None, None] * gy + m[:, 1, 2, None, None]
        if self.interpolation == "nearest":
            taps = [(np.floor(xs + 0.5), np.floor(ys + 0.5), np.ones_like(xs))]
        else:
            x0, y0 = np.floor(xs), np.floor(ys)
            fx, fy = xs - x0, ys - y0
            taps = [(x0 + dx, y0 + dy, (fx if dx else 1 - fx) * (fy if dy else 1 - fy))
                    for dy in (0, 1) for dx in (0, 1)]
        flat = images.reshape(n * h * w, c)
        base = (np.arange(n) * h * w)[:, None, None]
        out, outside = None, np.zeros_like(xs)
        for tx, ty, weight in taps:
            tx, ty = tx.astype(np.int64), ty.astype(np.int64)
            if self.fill_mode == "constant":
                off = (tx < 0) | (tx >= w) | (ty < 0) | (ty >= h)
                outside += np.where(off, weight, 0.0)
                weight = np.where(off, 0.0, weight)
            idx = base + _map_index(ty, h, self.fill_mode) * w + _map_index(tx, w, self.fill_mode)
            term = flat[ember.tensor(idx.reshape(-1))].reshape(n, h, w, c) * \
                ember.tensor(weight[..., None]).to(images.dtype)
            out = term if out is None else out + term
        if self.fill_mode == "constant" and self.fill_value != 0.0:
            out = out + ember.tensor(outside[..., None] * self.fill_value).to(images.dtype)
        return out

    def get_config(self) -> dict:
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "interpolation": self.interpolation, "fill_value": self.fill_value}


class RandomRotation(_RandomAffine):
    """Rotate each image about its centre by a random angle drawn from
    ``factor * 2 pi`` (a number ``f`` means ``[-f, f]``, a pair ``[lower, upper]``);
    positive angles turn the image counter-clockwise.

    >>> import ember
    >>> RandomRotation(0.1, seed=0)(ember.ones(2, 5, 5, 1), training=True).shape
    ember.Size([2, 5, 5, 1])
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.factor = factor
        self._lower, self._upper = _factor_range(factor, "factor", "RandomRotation")

    def _matrices(self, n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        angle = rng.uniform(self._lower, self._upper, n) * 2.0 * math.pi
        cos, sin = np.cos(angle), np.sin(angle)
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        return np.stack([np.stack([cos, -sin, cx - cos * cx + sin * cy], -1),
                         np.stack([sin, cos, cy - sin * cx - cos * cy], -1)], 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_RandomAffine):
    """Zoom each image about its centre: a height factor ``f`` drawn from
    ``height_factor`` (a number ``f`` means ``[-f, f]``) scales the sampled region by
    ``1 + f``, so positive values zoom out and negative ones zoom in. ``width_factor=None``
    reuses the height draw (the aspect ratio is kept).

    >>> import ember
    >>> RandomZoom(0.2, seed=0)(ember.ones(1, 6, 6, 3), training=True).shape
    ember.Size([1, 6, 6, 3])
    """

    def __init__(self, height_factor: Any, width_factor: Any = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height = _factor_range(height_factor, "height_factor", "RandomZoom")
        self._width = None if width_factor is None else \
            _factor_range(width_factor, "width_factor", "RandomZoom")

    def _matrices(self, n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        zy = 1.0 + rng.uniform(*self._height, n)
        zx = zy if self._width is None else 1.0 + rng.uniform(*self._width, n)
        zeros = np.zeros(n)
        return np.stack([np.stack([zx, zeros, (w - 1) / 2.0 * (1.0 - zx)], -1),
                         np.stack([zeros, zy, (h - 1) / 2.0 * (1.0 - zy)], -1)], 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomTranslation(_RandomAffine):
    """Shift each image by a random fraction of its height (positive: down) and width
    (positive: right), each factor a number ``f`` (``[-f, f]``) or a pair.

    >>> import ember
    >>> RandomTranslation(0.1, 0.1, seed=0)(ember.ones(1, 6, 6, 3), training=True).shape
    ember.Size([1, 6, 6, 3])
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._height = _factor_range(height_factor, "height_factor", "RandomTranslation")
        self._width = _factor_range(width_factor, "width_factor", "RandomTranslation")

    def _matrices(self, n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        dy = rng.uniform(*self._height, n) * h
        dx = rng.uniform(*self._width, n) * w
        ones, zeros = np.ones(n), np.zeros(n)
        return np.stack([np.stack([ones, zeros, -dx], -1),
                         np.stack([zeros, ones, -dy], -1)], 1)

    def get_config(self) -> dict:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}
