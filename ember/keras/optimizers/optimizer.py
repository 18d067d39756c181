"""``keras.optimizers.Optimizer``: Keras 3's optimizer API over an ``ember.optim`` engine.

Each Keras optimizer builds an *engine* (an ``ember.optim.Optimizer``: PyTorch's where the
update rule is the same as Keras's, else a Keras-form rule made with
``ember.optim._functional.update_rule``) over its variables, with one param group whose
hyper-parameters it sets before each step. What Keras adds on top happens here, in
Keras's order: drop variables without a gradient, clip (``clipnorm``, ``global_clipnorm``
or ``clipvalue``), decoupled weight decay (``w -= lr * weight_decay * w``), the update,
``iterations += 1``. The learning rate is a float, a ``LearningRateSchedule`` (evaluated
at ``iterations``) or a zero-argument callable.
"""
from __future__ import annotations

import re
import warnings
from typing import Any, Iterable

import numpy as np

import ember
from ember.autograd.grad_mode import no_grad
from ember.keras.optimizers.schedules import LearningRateSchedule
from ember.optim.optimizer import Optimizer as EngineOptimizer
from ember.tensor import Tensor

__all__ = ["Optimizer"]

# Keras's optional features that Ember does not implement: accepted at their defaults
# only (so configs saved by Keras load), refused otherwise.
_UNSUPPORTED_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99,
                         "ema_overwrite_frequency": None, "loss_scale_factor": None,
                         "gradient_accumulation_steps": None}


class Optimizer:
    """Base class of Keras optimizers.

    Subclasses implement ``_make_engine(variables)`` (an ``ember.optim`` optimizer over the
    variables, one param group) and may override ``_prepare_step(group, t)`` to set
    per-step hyper-parameters (``t`` is the 1-based step number); ``_config()`` gives
    their own config entries.

    >>> from ember import nn
    >>> from ember.keras import optimizers
    >>> w = nn.Parameter(ember.ones(2))
    >>> opt = optimizers.SGD(learning_rate=0.1)
    >>> opt.apply_gradients([(ember.ones(2), w)])
    1
    >>> w
    Parameter containing:
    tensor([0.9000, 0.9000], requires_grad=True)
    """

    #: engine state entries counting the steps a variable was updated; Keras counts the
    #: optimizer's iterations instead, so they are re-synchronized when a step skipped one
    _step_counters: tuple[str, ...] = ()

    def __init__(self, learning_rate: Any, weight_decay: float | None = None,
                 clipnorm: float | None = None, clipvalue: float | None = None,
                 global_clipnorm: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        who = type(self).__name__
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          stacklevel=3)
        for key, default in _UNSUPPORTED_DEFAULTS.items():
            value = kwargs.pop(key, default)
            if value != default:
                raise ValueError(f"{who}: `{key}={value!r}` is not supported by Ember's "
                                 f"Keras optimizers (only the default {default!r})")
        if kwargs:
            raise ValueError(f"{who}: argument(s) not recognized: {kwargs}")
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can "
                             f"be set. Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm),
                           ("weight_decay", weight_decay)):
            if value is not None and not (_is_number(value) and value >= 0):
                raise ValueError(f"{who}: `{arg}` must be a non-negative float or None, "
                                 f"got {arg}={value!r}")
        self.name = name if name is not None else who.lower()
        self.weight_decay, self.clipnorm = weight_decay, clipnorm
        self.clipvalue, self.global_clipnorm = clipvalue, global_clipnorm
        self.iterations = 0
        self.built = False
        self._variables: list[Tensor] = []
        self._index: dict[int, int] = {}
        self._engine: EngineOptimizer | None = None
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
        self._skipped = False
        self._learning_rate: Any = None
        self.learning_rate = learning_rate

    # -- learning rate --------------------------------------------------------------------
    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step, as a float (a schedule is evaluated at
        ``iterations``). Set it to a float, a ``LearningRateSchedule`` or a callable."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self.iterations))
        if callable(lr):
            return float(lr())
        return lr

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if isinstance(value, LearningRateSchedule) or callable(value):
            self._learning_rate = value
            return
        if isinstance(value, Tensor) and value.numel() == 1:
            value = value.item()
        if not _is_number(value):
            raise ValueError(f"{type(self).__name__}: argument `learning_rate` should be a "
                             "float, a LearningRateSchedule or a callable returning the "
                             f"learning rate. Received instead: learning_rate={value!r}")
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object "
                            "as its `learning_rate` constructor argument, hence its learning "
                            "rate is not settable. If you need the learning rate to be "
                            "settable, you should instantiate the optimizer with a float "
                            "`learning_rate` argument.")
        self._learning_rate = float(value)

    # -- building ---------------------------------------------------------------------------
    def build(self, variables: Iterable[Tensor]) -> None:
        """Create the optimizer state for ``variables`` (a list of ``ember.nn.Parameter``);
        later calls do nothing."""
        if self.built:
            return
        variables = list(variables)
        for v in variables:
            if not isinstance(v, Tensor):
                raise TypeError(f"{type(self).__name__}.build: variables must be tensors "
                                f"(ember.nn.Parameter), got {type(v).__name__}")
        self._variables = variables
        self._index = {id(v): i for i, v in enumerate(variables)}
        if variables:
            self._engine = self._make_engine(variables)
            group = self._engine.param_groups[0]
            for v in variables:       # create every slot now, so `variables` lists them
                state = self._engine.state[v]
                if not state:
                    state.update(self._engine.init_state(v, group))
        self.built = True

    def _make_engine(self, variables: list[Tensor]) -> EngineOptimizer:
        raise NotImplementedError(f"{type(self).__name__} must implement _make_engine")

    def _prepare_step(self, group: dict, t: int) -> None:
        """Set the engine group's per-step hyper-parameters for step ``t`` (1-based)."""

    @property
    def variables(self) -> list[Tensor]:
        """The optimizer's state tensors (moments, accumulators, ...), variable by
        variable, in the order the variables were built."""
        if self._engine is None:
            return []
        out = []
        for v in self._variables:
            out.extend(s for s in self._engine.state[v].values() if isinstance(s, Tensor))
        return out

    def exclude_from_weight_decay(self, var_list: Iterable[Tensor] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Leave out of weight decay the variables in ``var_list`` and those whose name
        contains one of ``var_names`` (call before :meth:`build`)."""
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before "
                             "the optimizer is built.")
        self._exclude_ids = {id(v) for v in var_list or ()}
        names = list(var_names or ())
        self._exclude_pattern = re.compile("|".join(map(re.escape, names))) if names else None

    # -- applying gradients ---------------------------------------------------------------
    def apply_gradients(self, grads_and_vars: Iterable[tuple[Any, Tensor]]) -> int:
        """Update each variable from its gradient (pairs ``(grad or None, variable)``);
        builds on first use. Returns ``iterations``."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return self.iterations

    def apply(self, grads: list, variables: list | None = None) -> None:
        """Update ``variables`` (default: those the optimizer was built with) from
        ``grads``, one per variable; ``None`` gradients leave their variable alone."""
        who = type(self).__name__
        if len(grads) == 0:
            return
        if variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer "
                                 "must already be built on a list of variables. Call "
                                 "`optimizer.build(trainable_variables)` first.")
            if len(grads) != len(self._variables):
                raise ValueError(f"{who}.apply: got {len(grads)} gradients but the optimizer "
                                 f"tracks {len(self._variables)} variables")
            variables = self._variables
        else:
            variables = list(variables)
            if len(grads) != len(variables):
                raise ValueError(f"{who}.apply: got {len(grads)} gradients for "
                                 f"{len(variables)} variables")
            self.build(variables)
            for v in variables:
                if id(v) not in self._index:
                    raise ValueError(f"Unknown variable: {_var_name(v)}. This optimizer can "
                                     "only be called for the variables it was originally "
                                     "built with. When working with a new set of variables, "
                                     "you should recreate a new optimizer instance.")
        kept = [(self._as_grad(g, v), v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError("No gradients provided for any variable.")
        if len(kept) < len(variables):
            missing = [_var_name(v) for g, v in zip(grads, variables) if g is None]
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing "
                          "the loss. If using `model.compile()`, did you forget to provide a "
                          "`loss` argument?", stacklevel=3)
        self._step([g for g, _ in kept], [v for _, v in kept])

    def step_from_grads(self) -> None:
        """Update every built variable from its ``.grad`` (set by ``loss.backward()``);
        variables whose ``.grad`` is None are left alone. The trainer's fast path: it
        skips the pairing and checks of :meth:`apply_gradients`.

        >>> from ember import nn
        >>> from ember.keras import optimizers
        >>> w = nn.Parameter(ember.ones(2))
        >>> opt = optimizers.SGD(learning_rate=0.5)
        >>> opt.build([w])
        >>> (w * w).sum().backward()
        >>> opt.step_from_grads()
        >>> w.detach()
        tensor([0., 0.])
        """
        if not self.built:
            raise ValueError(f"{type(self).__name__}.step_from_grads: call "
                             "`optimizer.build(variables)` first")
        variables = [v for v in self._variables if v.grad is not None]
        if not variables:
            raise ValueError("No gradients provided for any variable.")
        self._step([v.grad for v in variables], variables)

    def _as_grad(self, grad: Any, var: Tensor) -> Tensor:
        if not isinstance(grad, Tensor):
            grad = ember.as_tensor(np.asarray(grad), dtype=var.dtype)
        if tuple(grad.shape) != tuple(var.shape):
            raise ValueError(f"{type(self).__name__}: the gradient of variable "
                             f"{_var_name(var)} has shape {tuple(grad.shape)}, expected the "
                             f"variable's shape {tuple(var.shape)}")
        return grad

    def _step(self, grads: list[Tensor], variables: list[Tensor]) -> None:
        lr = self.learning_rate
        t = self.iterations + 1
        with no_grad():
            grads = self._clip(grads)
            if self.weight_decay:
                factor = 1.0 - lr * self.weight_decay
                for v in variables:
                    if self._decays(v):
                        v.mul_(factor)
            engine = self._engine
            group = engine.param_groups[0]
            group["lr"] = lr
            self._prepare_step(group, t)
            if len(variables) < len(self._variables):
                self._skipped = True
            if self._skipped and self._step_counters:
                self._sync_counters(variables, t - 1)
            saved = [v.grad for v in self._variables]
            for v in self._variables:
                v.grad = None
            for g, v in zip(grads, variables):
                v.grad = g
            try:
                engine.step()
            finally:
                for v, g in zip(self._variables, saved):
                    v.grad = g
        self.iterations = t

    def _sync_counters(self, variables: list[Tensor], done: int) -> None:
        """Make each updated variable's step counters say ``done`` steps were taken (the
        engine adds the current one), as Keras's global step count does."""
        for v in variables:
            state = self._engine.state[v]
            for key in self._step_counters:
                state[key]._data[...] = self._counter_value(key, done)

    def _counter_value(self, key: str, done: int) -> float:
        return float(done)

    def _decays(self, v: Tensor) -> bool:
        if id(v) in self._exclude_ids:
            return False
        return self._exclude_pattern is None or \
            self._exclude_pattern.search(_var_name(v)) is None

    def _clip(self, grads: list[Tensor]) -> list[Tensor]:
        """Keras's clipping: ``g * c / max(||g||, c)`` per gradient (``clipnorm``) or with
        the norm of all gradients together (``global_clipnorm``), or ``clip(g, -c, c)``."""
        if self.clipnorm:
            return [g * (self.clipnorm / max(_norm(g), self.clipnorm)) for g in grads]
        if self.global_clipnorm:
            total = float(np.sqrt(sum(_norm(g) ** 2 for g in grads)))
            scale = self.global_clipnorm / max(total, self.global_clipnorm)
            return [g * scale for g in grads]
        if self.clipvalue:
            return [g.clamp(-self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # -- config -----------------------------------------------------------------------------
    def _config(self) -> dict:
        return {}

    def get_config(self) -> dict:
        """The constructor arguments (a schedule or callable learning rate serialized)."""
        lr = self._learning_rate
        if not isinstance(lr, float):
            from ember.keras.saving.serialization import serialize_keras_object
            lr = serialize_keras_object(lr)
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, **_UNSUPPORTED_DEFAULTS, **self._config()}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Optimizer":
        """An optimizer from :meth:`get_config`'s output."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            from ember.keras.saving.serialization import deserialize_keras_object
            config["learning_rate"] = deserialize_keras_object(config["learning_rate"],
                                                               custom_objects)
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} iterations={self.iterations}>"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, bool)


def _norm(g: Tensor) -> float:
    return float(np.sqrt(np.sum(np.square(g._data, dtype=np.float64))))


def _var_name(v: Tensor) -> str:
    return str(getattr(v, "path", None) or getattr(v, "name", None) or
               f"<tensor of shape {tuple(v.shape)}>")
