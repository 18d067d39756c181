"""``Trainer``: the compile/fit/evaluate/predict half of ``keras.Model``.

A training step runs the model with ``training=True``, adds the compiled losses and the
model's regularization losses, calls ``loss.backward()``, lets the optimizer update the
trainable weights from their ``.grad``, applies weight constraints and clears the
gradients. Logs are running means over the epoch (the loss weighted by batch size), with
keys sorted like Keras 3's (``accuracy``, ``loss``, then ``val_accuracy``, ``val_loss``).

>>> import numpy as np
>>> from ember import keras
>>> from ember.keras.layers.core import Dense
>>> model = keras.Sequential([keras.Input(shape=(3,)), Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> history = model.fit(np.ones((8, 3)), np.zeros((8, 1)), epochs=2, verbose=0)
>>> sorted(history.history), history.epoch
(['loss'], [0, 1])
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

import ember
from ember.keras import _tree
from ember.keras.trainers import data_adapter
from ember.keras.trainers.compile_utils import CompiledLoss, CompiledMetrics, \
    output_names_of

__all__ = ["Trainer"]


def _to_float(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


def _pack(x: Any, y: Any, sample_weight: Any) -> tuple:
    """A batch as Keras hands it to ``train_step``: ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)``."""
    if sample_weight is not None:
        return x, y, sample_weight
    return (x,) if y is None else (x, y)


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _batch_size_of(x: Any) -> int:
    first = _tree.flatten(x)[0]
    return int(first.shape[0]) if hasattr(first, "shape") and len(first.shape) else 1


def _to_numpy_output(value: Any) -> np.ndarray:
    return value.detach().numpy() if isinstance(value, ember.Tensor) else np.asarray(value)


class Trainer:
    """Mixed into ``keras.Model``: ``compile``, ``fit``, ``evaluate``, ``predict`` and the
    single-batch variants, with Keras 3's arguments and semantics."""

    compiled = False
    optimizer: Any = None
    loss: Any = None
    stop_training = False
    history: Any = None
    _compile_config: dict | None = None
    _compiled_loss: CompiledLoss | None = None
    _compiled_metrics: CompiledMetrics | None = None
    _loss_tracker: Any = None
    _output_loss_trackers: list = []
    _output_names: list | None = None
    _train_vars: list | None = None
    _train_constraints: list | None = None
    _initial_epoch: int | None = None       # set by BackupAndRestore to resume a run

    # -- compile ---------------------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                metrics: Any = None, weighted_metrics: Any = None, run_eagerly: bool = False,
                steps_per_execution: int = 1, jit_compile: Any = "auto",
                auto_scale_loss: bool = True) -> None:
        """Configure the model for training.

        ``optimizer``, ``loss`` and ``metrics`` take Keras's string aliases ('adam',
        'sparse_categorical_crossentropy', 'accuracy', ...), objects or configs; for a
        multi-output model ``loss``/``metrics``/``loss_weights`` may be lists (by
        output position) or dicts (by output name). ``jit_compile`` ('auto', the default, or True) runs the
        train, test and predict steps as graphs traced by :func:`ember.compile`; steps a
        graph cannot hold run eagerly (with a warning when ``jit_compile=True``).
        ``run_eagerly=True`` or ``jit_compile=False`` keeps every step eager.

        >>> from ember import keras
        >>> from ember.keras.layers.core import Dense
        >>> model = keras.Sequential([keras.Input(shape=(4,)), Dense(3)])
        >>> model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        """
        from ember.keras import losses as losses_module
        from ember.keras import metrics as metrics_module
        from ember.keras import optimizers as optimizers_module
        self.optimizer = _resolve("optimizer", optimizers_module.get, optimizer)
        for leaf in _tree.flatten(loss):
            if leaf is not None:
                _resolve("loss", losses_module.get, leaf)
        for name, arg in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            for leaf in _tree.flatten(arg):
                if leaf is not None and not (isinstance(leaf, str)
                                             and leaf.lower() in ("accuracy", "acc")):
                    _resolve(name, metrics_module.get, leaf)
        for weight in _tree.flatten(loss_weights):
            if weight is not None and (isinstance(weight, bool)
                                       or not isinstance(weight, (int, float, np.number))):
                raise ValueError(f"compile(): `loss_weights` must be a number, or a list or "
                                 f"dict of numbers (one per output); got {loss_weights!r}")
        if not isinstance(steps_per_execution, int) or steps_per_execution < 1:
            raise ValueError(f"`steps_per_execution` must be a positive integer, got "
                             f"{steps_per_execution!r}")
        if jit_compile not in ("auto", True, False, None):
            raise ValueError(f"`jit_compile` must be 'auto', True or False, got "
                             f"{jit_compile!r}")
        self.loss = loss
        self._compiled_loss = CompiledLoss(loss, loss_weights) if loss is not None else None
        self._compiled_metrics = CompiledMetrics(metrics, weighted_metrics)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._output_loss_trackers = []
        self._output_names = None
        self._train_vars = None
        self.run_eagerly, self.steps_per_execution = bool(run_eagerly), steps_per_execution
        self.jit_compile = jit_compile in ("auto", True) and not run_eagerly
        self._jit_quiet = jit_compile == "auto"
        self._jit_steps: dict = {}
        self._compile_config = _serialized_compile_config(
            optimizer=self.optimizer, loss=loss, loss_weights=loss_weights, metrics=metrics,
            weighted_metrics=weighted_metrics, run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile if isinstance(jit_compile, (bool, str)) else "auto")
        self.compiled = True
        self.stop_training = False

    def get_compile_config(self) -> dict | None:
        """The serialized ``compile`` arguments (what ``model.save`` stores)."""
        return self._compile_config

    def compile_from_config(self, config: dict) -> None:
        """Compile with arguments saved by :meth:`get_compile_config`."""
        self.compile(**{key: _deserialize_nested(value) for key, value in config.items()})

    def _assert_compiled(self) -> None:
        if not self.compiled:
            raise ValueError("You must call `compile()` before using the model.")

    # -- metrics ---------------------------------------------------------------------------
    @property
    def metrics(self) -> list:
        """The loss tracker, the compiled metrics and (multi-output) per-output losses."""
        if not self.compiled:
            return []
        out = [self._loss_tracker]
        if self._compiled_metrics is not None:
            out += self._compiled_metrics.metrics
        return out + list(self._output_loss_trackers)

    @property
    def metrics_names(self) -> list[str]:
        """Names in the order ``evaluate`` returns values: 'loss', then the others
        sorted."""
        names = [m.name for m in self.metrics]
        return names[:1] + sorted(names[1:])

    def reset_metrics(self) -> None:
        for metric in self.metrics:
            metric.reset_state()

    def get_metrics_result(self) -> dict[str, float]:
        """The current value of every metric, keys sorted as in Keras 3's logs."""
        return {m.name: _to_float(m.result()) for m in sorted(self.metrics,
                                                              key=lambda m: m.name)}

    # -- steps -----------------------------------------------------------------------------
    def _build_compiled(self, y: Any, y_pred: Any) -> None:
        """Match the compiled losses and metrics to the outputs (on the first batch)."""
        if self._output_names is not None:
            return
        from ember.keras import metrics as metrics_module
        flat = _tree.flatten(y_pred)
        names = list(y_pred) if isinstance(y_pred, dict) else output_names_of(self, len(flat))
        if self._compiled_loss is not None:
            self._compiled_loss.build(names)
            if len(names) > 1:
                self._output_loss_trackers = [
                    metrics_module.Mean(name=f"{names[i]}_loss")
                    for i, _, _ in self._compiled_loss.entries]
        if y is not None:
            self._compiled_metrics.build(names, y, flat, self.loss)
        self._output_names = names

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> ember.Tensor:
        """The compiled losses (weighted) plus the model's regularization losses."""
        self._build_compiled(y, y_pred)
        total = None
        if self._compiled_loss is not None:
            if y is None:
                raise ValueError(f'Model "{self.name}" was compiled with a loss, but no '
                                 "targets `y` were given")
            total, parts = self._compiled_loss(y, _tree.flatten(y_pred), sample_weight)
            if self._output_loss_trackers:
                batch = _batch_size_of(y_pred)
                for tracker, part in zip(self._output_loss_trackers, parts):
                    tracker.update_state(_to_float(part), sample_weight=batch)
        for extra in self.losses:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`.")
        return total

    def compute_metrics(self, x: Any, y: Any, y_pred: Any,
                        sample_weight: Any = None) -> dict[str, float]:
        """Update the compiled metrics with a batch and return every metric's value."""
        self._build_compiled(y, y_pred)
        if y is not None:
            with ember.no_grad():
                detached = [t.detach() if isinstance(t, ember.Tensor) else t
                            for t in _tree.flatten(y_pred)]
                self._compiled_metrics.update_state(y, detached, sample_weight,
                                                    self._output_names)
        return self.get_metrics_result()

    def _jit(self, name: str, fn: Any) -> Any:
        """``fn`` compiled once per model and step kind, or ``fn`` when running eagerly."""
        if not getattr(self, "jit_compile", False) or self.run_eagerly:
            return fn
        compiled = self._jit_steps.get(name)
        if compiled is None:
            from ember.compiler import CompiledFunction
            compiled = self._jit_steps[name] = CompiledFunction(fn)
            compiled._quiet = self._jit_quiet
        return compiled

    def _forward_backward(self, x: Any, y: Any, sample_weight: Any) -> tuple:
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
        loss.backward()
        return loss, y_pred

    def _forward_loss(self, x: Any, y: Any, sample_weight: Any) -> tuple:
        with ember.no_grad():
            y_pred = self(x, training=False)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=False)
        return loss, y_pred

    def _forward(self, x: Any) -> Any:
        with ember.no_grad():
            return self(x, training=False)

    def train_step(self, data: tuple) -> dict[str, float]:
        """One optimizer step on ``data`` = ``(x, y, sample_weight)``; returns the logs."""
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        if self._train_vars is None:         # the first call builds the model
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight, training=True)
            self._train_vars = self.trainable_weights
            self._train_constraints = self._weight_constraints()
            self.optimizer.build(self._train_vars)
            loss.backward()
        else:
            loss, y_pred = self._jit("train", self._forward_backward)(x, y, sample_weight)
        self.optimizer.step_from_grads()
        for w in self._train_vars:
            w.grad = None
        if self._train_constraints:
            self._apply_constraints(self._train_constraints)
        self._loss_tracker.update_state(_to_float(loss), sample_weight=_batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data: tuple) -> dict[str, float]:
        """Loss and metrics of one batch, without training; returns the logs."""
        x, y, sample_weight = data_adapter.unpack_x_y_sample_weight(data)
        loss, y_pred = self._jit("test", self._forward_loss)(x, y, sample_weight)
        self._loss_tracker.update_state(_to_float(loss), sample_weight=_batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data: Any) -> Any:
        """The model's outputs for one batch (``data`` may carry targets: ignored)."""
        x, _, _ = data_adapter.unpack_x_y_sample_weight(data)
        return self._jit("predict", self._forward)(x)

    # -- fit -------------------------------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None,
            epochs: int = 1, verbose: Any = "auto", callbacks: Any = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: Any = True,
            class_weight: dict | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: Any = 1) -> Any:
        """Train for ``epochs`` epochs and return the ``History`` (see the module doc).

        >>> import numpy as np
        >>> from ember import keras
        >>> from ember.keras.layers.core import Dense
        >>> model = keras.Sequential([keras.Input(shape=(2,)), Dense(1)])
        >>> model.compile("sgd", "mse")
        >>> model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0).epoch
        [0, 1, 2]
        """
        from ember.keras.callbacks import CallbackList
        self._assert_compiled()
        verbose = _verbosity(verbose)
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"`validation_split` must be in [0, 1), got {validation_split}")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_adapter.train_validation_split(
                x, y, sample_weight, validation_split)
        train = data_adapter.make_batches(x, y, sample_weight, batch_size, shuffle,
                                          class_weight, who="fit")
        epoch_iterator = data_adapter.EpochIterator(train, steps_per_epoch)
        val_iterator = None
        if validation_data is not None:
            vx, vy, vsw = data_adapter.unpack_x_y_sample_weight(validation_data) \
                if isinstance(validation_data, (tuple, list)) else (validation_data, None, None)
            val_batch = validation_batch_size or (batch_size if data_adapter.is_array_data(vx)
                                                  else None)
            val_iterator = data_adapter.EpochIterator(
                data_adapter.make_batches(vx, vy, vsw, val_batch, False,
                                          who="fit (validation_data)"), validation_steps)
        params = {"verbose": verbose, "epochs": epochs, "steps": epoch_iterator.steps}
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0)
        callbacks.set_model(self)
        callbacks.set_params(params)      # one dict: ``steps`` is filled in once known
        self.stop_training = False
        self._train_vars = None
        self._initial_epoch = None
        callbacks.on_train_begin()
        start = self._initial_epoch if self._initial_epoch is not None else initial_epoch
        training_logs: dict = {}
        for epoch in range(start, epochs):
            self.reset_metrics()
            params["steps"] = epoch_iterator.steps
            callbacks.on_epoch_begin(epoch)
            ran = False
            for step, (bx, by, bsw) in epoch_iterator:
                ran = True
                callbacks.on_train_batch_begin(step)
                logs = self.train_step(_pack(bx, by, bsw))
                callbacks.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            if not ran:
                break
            epoch_logs = self.get_metrics_result()
            if val_iterator is not None and _should_validate(epoch, validation_freq):
                val_logs = self._evaluate_loop(val_iterator, callbacks)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training or epoch_iterator.exhausted:
                break
        callbacks.on_train_end(training_logs)
        self._initial_epoch = None
        return self.history

    # -- evaluate / predict ------------------------------------------------------------------
    def _evaluate_loop(self, iterator: Any, callbacks: Any) -> dict[str, float]:
        self.reset_metrics()
        callbacks.on_test_begin()
        for step, (bx, by, bsw) in iterator:
            callbacks.on_test_batch_begin(step)
            logs = self.test_step(_pack(bx, by, bsw))
            callbacks.on_test_batch_end(step, logs)
        logs = self.get_metrics_result()
        callbacks.on_test_end(logs)
        return logs

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Any = None, return_dict: bool = False) -> Any:
        """The loss and metrics on the given data: a float when there is only the loss,
        else a list in ``metrics_names`` order (a dict with ``return_dict=True``)."""
        from ember.keras.callbacks import CallbackList
        self._assert_compiled()
        verbose = _verbosity(verbose)
        iterator = data_adapter.EpochIterator(
            data_adapter.make_batches(x, y, sample_weight, batch_size, False,
                                      who="evaluate"), steps)
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=1, steps=iterator.steps)
        logs = self._evaluate_loop(iterator, callbacks)
        return logs if return_dict else self._in_metrics_order(logs)

    def _in_metrics_order(self, logs: dict) -> Any:
        values = [logs[name] for name in self.metrics_names if name in logs]
        return values[0] if len(values) == 1 else values

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: Any = None) -> Any:
        """The model's outputs for ``x`` as NumPy arrays (a list or dict of arrays for a
        model with several outputs)."""
        from ember.keras.callbacks import CallbackList
        verbose = _verbosity(verbose)
        iterator = data_adapter.EpochIterator(
            data_adapter.make_batches(x, None, None, batch_size, False, who="predict"), steps)
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=1, steps=iterator.steps)
        callbacks.on_predict_begin()
        outputs: list = []
        for step, (bx, by, bsw) in iterator:
            callbacks.on_predict_batch_begin(step)
            batch_out = _tree.map_structure(_to_numpy_output,
                                            self.predict_step(_pack(bx, by, bsw)))
            outputs.append(batch_out)
            callbacks.on_predict_batch_end(step, {"outputs": batch_out})
        callbacks.on_predict_end()
        if not outputs:
            raise ValueError("Unexpected result of `predict`: no batch was drawn from the "
                             "input data (is it empty?)")
        return _concatenate(outputs)

    # -- single batches ----------------------------------------------------------------------
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: dict | None = None, return_dict: bool = False) -> Any:
        """One training step on one batch; metrics keep accumulating across calls
        (``reset_metrics()`` clears them), as in Keras 3."""
        self._assert_compiled()
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError("Arguments `sample_weight` and `class_weight` cannot be "
                                 "specified at the same time.")
            sample_weight = data_adapter.class_weight_to_sample_weight(class_weight, y)
        data = data_adapter.as_numpy_batch(x, y, sample_weight)
        self._train_vars = None              # weights may have been frozen since
        logs = self.train_step(_pack(*data))
        return logs if return_dict else self._in_metrics_order(logs)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """Loss and metrics of one batch (metrics accumulate across calls)."""
        self._assert_compiled()
        logs = self.test_step(_pack(*data_adapter.as_numpy_batch(x, y, sample_weight)))
        return logs if return_dict else self._in_metrics_order(logs)

    def predict_on_batch(self, x: Any) -> Any:
        """The model's outputs for one batch, as NumPy arrays."""
        x, _, _ = data_adapter.as_numpy_batch(x, None, None)
        return _tree.map_structure(_to_numpy_output, self.predict_step((x,)))


def _resolve(argument: str, get: Any, identifier: Any) -> Any:
    try:
        return get(identifier)
    except ValueError as e:
        raise ValueError(f"compile(): invalid `{argument}` argument {identifier!r}: {e}") \
            from None


def _serialized_compile_config(**config: Any) -> dict | None:
    """The compile arguments as JSON-ready values, or None if one cannot be serialized
    (a plain lambda, say): the model then saves without its compile settings."""
    from ember.keras.saving.serialization import serialize_keras_object
    try:
        return {key: serialize_keras_object(value) for key, value in config.items()}
    except (TypeError, ValueError):
        return None


def _deserialize_nested(value: Any) -> Any:
    """A compile argument back from JSON: per-output dicts and lists are walked, objects
    (dicts with a ``class_name``) rebuilt, names kept."""
    from ember.keras.saving.serialization import deserialize_keras_object
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _deserialize_nested(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_nested(v) for v in value]
    return deserialize_keras_object(value)


def _should_validate(epoch: int, validation_freq: Any) -> bool:
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError(f"`validation_freq` must be a positive integer or a list of "
                             f"epochs, got {validation_freq}")
        return (epoch + 1) % validation_freq == 0
    if isinstance(validation_freq, (list, tuple, set)):
        return epoch + 1 in validation_freq
    raise ValueError(f"`validation_freq` must be an int or a list of epochs, got "
                     f"{validation_freq!r}")


def _concatenate(batches: list) -> Any:
    first = batches[0]
    if isinstance(first, dict):
        return {k: np.concatenate([b[k] for b in batches]) for k in first}
    if isinstance(first, (list, tuple)):
        return type(first)(np.concatenate([b[i] for b in batches]) for i in range(len(first)))
    return np.concatenate(batches)
