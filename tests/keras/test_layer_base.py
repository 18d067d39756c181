"""keras.layers.Layer: build on first call, weights, training flag, specs, symbolic calls."""
import numpy as np
import pytest

import ember
from ember import keras, nn
from ember.keras import _naming
from ember.keras.keras_tensor import KerasTensor
from ember.keras.layers import InputSpec, Layer


class Affine(Layer):
    """y = x @ w + b, with the last input size learnt at build time."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.build_calls = []

    def build(self, input_shape):
        self.build_calls.append(input_shape)
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w",
                                 regularizer="l2")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_shape[-1]})

    def call(self, x):
        return x @ self.w + self.b


class Flagged(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(training)
        return x


class Outer(Layer):
    def __init__(self):
        super().__init__()
        self.inner = Flagged()
        self.affine = Affine(2)

    def call(self, x):
        return self.affine(self.inner(x))


def test_build_runs_once_on_the_first_call_with_the_input_shape():
    layer = Affine(3)
    assert not layer.built
    out = layer(np.ones((4, 5)))
    layer(np.ones((2, 5)))
    assert layer.built and layer.build_calls == [(4, 5)]
    assert isinstance(out, ember.Tensor) and out.shape == (4, 3) and out.dtype == ember.float32
    assert [tuple(w.shape) for w in layer.weights] == [(5, 3), (3,)]
    np.testing.assert_allclose(out.detach().numpy(),
                               np.ones((4, 5), np.float32) @ layer.get_weights()[0], rtol=1e-6)


def test_a_keras_layer_is_an_ember_module_that_ember_optim_can_train():
    layer = Affine(1)
    layer(np.zeros((1, 2)))
    assert [p is w for p, w in zip(layer.parameters(), layer.weights)] == [True, True]
    opt = ember.optim.SGD(layer.parameters(), lr=0.1)
    x, y = ember.tensor([[1.0, 2.0]]), ember.tensor([[3.0]])
    before = ((layer(x) - y) ** 2).sum().item()
    for _ in range(20):
        opt.zero_grad()
        ((layer(x) - y) ** 2).sum().backward()
        opt.step()
    assert ((layer(x) - y) ** 2).sum().item() < 1e-3 * max(before, 1.0)


def test_training_flag_reaches_inner_layers_and_defaults_to_false():
    outer = Outer()
    outer(np.ones((1, 3)))
    outer(np.ones((1, 3)), training=True)
    outer.inner(np.ones((1, 3)))
    outer.inner(np.ones((1, 3)), training=True)
    assert outer.inner.seen == [False, True, False, True]


def test_float64_numpy_inputs_are_cast_to_the_layer_dtype_and_ints_are_kept():
    flagged = Flagged()
    assert flagged(np.ones((2, 2))).dtype == ember.float32
    assert flagged(np.ones((2, 2), np.int64)).dtype == ember.int64
    assert Flagged(dtype="float64")(np.ones(2, np.float32)).dtype == ember.float64


def test_trainable_freezes_recursively_and_keeps_non_trainable_weights_frozen():
    class WithStat(Layer):
        def build(self, input_shape):
            self.k = self.add_weight(shape=(2,), name="k")
            self.stat = self.add_weight(shape=(2,), initializer="zeros", trainable=False,
                                        name="stat")

        def call(self, x):
            return x * self.k + self.stat

    outer = Outer()
    outer.stat_layer = WithStat()
    outer(np.ones((1, 2)))
    outer.stat_layer(np.ones((1, 2)))
    assert len(outer.trainable_weights) == 3 and len(outer.non_trainable_weights) == 1
    outer.trainable = False
    assert outer.trainable_weights == [] and len(outer.non_trainable_weights) == 4
    assert not any(w.requires_grad for w in outer.weights)
    outer.trainable = True
    assert len(outer.trainable_weights) == 3
    assert outer.non_trainable_weights[0] is outer.stat_layer.stat


def test_get_and_set_weights_round_trip_and_refuse_wrong_lists():
    a, b = Affine(2), Affine(2)
    a(np.ones((1, 3)))
    b(np.ones((1, 3)))
    b.set_weights(a.get_weights())
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    with pytest.raises(ValueError, match='layer "affine.*" with a weight list of length 1, '
                                         "but the layer was expecting 2 weights"):
        b.set_weights(a.get_weights()[:1])
    with pytest.raises(ValueError, match=r"weight shape \(3, 2\) is not compatible with "
                                         r"provided weight shape \(2, 2\)"):
        b.set_weights([np.zeros((2, 2)), np.zeros(2)])


def test_count_params_needs_a_built_layer():
    layer = Affine(4, name="head")
    with pytest.raises(ValueError, match="count_params` on layer 'head', but the layer "
                                         "isn't built"):
        layer.count_params()
    layer(np.ones((1, 3)))
    assert layer.count_params() == 3 * 4 + 4


def test_losses_hold_regularizers_and_add_loss_values_of_the_last_call():
    class Penalised(Affine):
        def call(self, x):
            self.add_loss(x.sum())
            return super().call(x)

    layer = Penalised(2)
    layer(np.ones((1, 3)))
    layer(np.full((1, 3), 2.0))
    w = layer.get_weights()[0]
    values = [float(v) for v in layer.losses]
    assert values == pytest.approx([0.01 * (w ** 2).sum(), 6.0], rel=1e-5)


def test_input_spec_errors_name_the_layer_and_the_shapes():
    layer = Affine(2, name="proj")
    layer(np.ones((4, 3)))
    with pytest.raises(ValueError, match='Input 0 of layer "proj" is incompatible with the '
                                         "layer: expected axis -1 of input shape to have "
                                         r"value 3, but received input with shape \(4, 5\)"):
        layer(np.ones((4, 5)))
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        layer(np.ones(3))
    spec = InputSpec(shape=(None, 2, 2))
    with pytest.raises(ValueError, match=r"expected shape=\(None, 2, 2\), found "
                                         r"shape=\(1, 2, 3\)"):
        spec.check("x", 0, (1, 2, 3))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        spec.check("x", 0, (1, 2))


def test_unknown_keyword_arguments_are_refused():
    with pytest.raises(ValueError, match="Unrecognized keyword arguments passed to Affine: "
                                         "{'unit': 3}"):
        Affine(2, unit=3)


def test_default_names_are_unique_snake_case_and_clear_session_resets_them():
    _naming.clear_session()
    names = [Affine(1).name, Affine(1).name, keras.layers.InputLayer(shape=(2,)).name]
    assert names == ["affine", "affine_1", "input_layer"]
    assert _naming.snake_case("Conv2DTranspose") == "conv2d_transpose"
    assert _naming.snake_case("LSTM") == "lstm"
    _naming.clear_session()
    assert Affine(1).name == "affine"


def test_symbolic_call_builds_and_infers_output_shapes():
    x = keras.Input(shape=(7,))
    layer = Affine(3)
    y = layer(x)
    assert isinstance(y, KerasTensor) and y.shape == (None, 3) and y.dtype == "float32"
    assert layer.built and layer.build_calls == [(None, 7)]
    assert y._keras_history[0] is layer and layer.output is y and layer.input is x


def test_unknown_inner_dimensions_stay_unknown_and_known_ones_are_inferred():
    class SumTime(Layer):
        def call(self, x):
            return x.sum(1)

    seq = keras.Input(shape=(None, 4))
    assert SumTime()(seq).shape == (None, 4)
    assert Flagged()(seq).shape == (None, None, 4)


def test_compute_output_shape_override_is_used_for_symbolic_calls():
    class Declared(Layer):
        def compute_output_shape(self, input_shape):
            return (input_shape[0], 9)

        def call(self, x):
            raise AssertionError("not run symbolically when the shape is declared")

    assert Declared()(keras.Input(shape=(2,))).shape == (None, 9)


def test_keras_tensors_refuse_python_operators_with_a_pointer_to_layers():
    x = keras.Input(shape=(2,))
    with pytest.raises(TypeError, match="keras.layers.Add"):
        x + x


def test_build_with_several_inputs_receives_each_shape_by_name():
    class Pair(Layer):
        def build(self, query_shape, value_shape):
            self.shapes = (query_shape, value_shape)

        def call(self, query, value):
            return query + value.sum()

    layer = Pair()
    layer(np.ones((2, 3)), np.ones((2, 5)))
    assert layer.shapes == ((2, 3), (2, 5))


def test_input_layer_arguments():
    assert keras.Input(shape=(3,), batch_size=8, dtype="int32").shape == (8, 3)
    assert keras.Input(batch_shape=(None, 2, 2)).shape == (None, 2, 2)
    assert keras.Input(shape=(3,), dtype="int32").dtype == "int32"
    with pytest.raises(ValueError, match="cannot pass both `shape` and `batch_shape`"):
        keras.layers.InputLayer(shape=(2,), batch_shape=(None, 2))
    with pytest.raises(ValueError, match="must pass a `shape` argument"):
        keras.Input()


def test_plain_ember_modules_inside_a_layer_count_as_weights():
    class Wrapper(Layer):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 3)

        def call(self, x):
            return self.linear(x)

    layer = Wrapper()
    layer(np.ones((1, 2)))
    assert len(layer.weights) == 2 and layer.count_params() == 9


def test_calling_build_directly_marks_the_layer_built_so_weights_are_made_once():
    layer = Affine(2)
    layer.build((None, 3))
    assert layer.built
    layer(np.ones((1, 3)))
    assert len(layer.weights) == 2 and layer.build_calls == [(None, 3)]


def test_layers_held_in_lists_and_dicts_are_tracked():
    class Stack(Layer):
        def __init__(self):
            super().__init__()
            self.blocks = [Affine(2), Affine(2)]
            self.heads = {"a": Affine(1)}

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return self.heads["a"](x)

    stack = Stack()
    stack(np.ones((1, 2)))
    assert len(stack.weights) == 6 and stack.count_params() == 6 + 6 + 3


def test_compute_output_shape_works_for_layers_that_do_not_declare_it():
    class Double(Layer):
        def call(self, x):
            return ember.cat([x, x], dim=-1)

    assert Double().compute_output_shape((None, 4)) == (None, 8)
