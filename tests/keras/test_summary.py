"""model.summary(): Keras 3's table layout, parameter counts and sizes."""
import pytest

from ember import keras
from ember.keras.layers.core import Dense, Dropout
from ember.keras.layers.merging import Concatenate
from ember.keras.models.summary import readable_memory_size


def capture(model, **kwargs):
    out = []
    model.summary(print_fn=out.append, **kwargs)
    assert len(out) == 1
    return out[0]


def test_mlp_summary_matches_keras_layout():
    model = keras.Sequential([keras.Input(shape=(784,)), Dense(64, activation="relu",
                                                                name="hidden"),
                              Dropout(0.2, name="drop"), Dense(10, name="logits")],
                             name="mlp")
    hidden, logits = 784 * 64 + 64, 64 * 10 + 10           # kernel + bias
    total = hidden + logits
    kb = f"{total * 4 / 1024:.2f} KB"                      # float32 weights
    # line_length 88, positions (0.45, 0.80, 1.0): columns of 39, 31 and 18 characters,
    # each holding a border and two padding spaces (the last also the closing border).
    w = (36, 28, 14)

    def row(a, b, c, bar="│"):
        return f"{bar} {a:<{w[0]}} {bar} {b:<{w[1]}} {bar} {c:>{w[2]}} {bar}"

    def rule(left, fill, mid, right):
        return left + mid.join(fill * (n + 2) for n in w) + right

    expected = "\n".join([
        'Model: "mlp"',
        rule("┏", "━", "┳", "┓"),
        row("Layer (type)", "Output Shape", "Param #", bar="┃"),
        rule("┡", "━", "╇", "┩"),
        row("hidden (Dense)", "(None, 64)", f"{hidden:,}"),
        rule("├", "─", "┼", "┤"),
        row("drop (Dropout)", "(None, 64)", "0"),
        rule("├", "─", "┼", "┤"),
        row("logits (Dense)", "(None, 10)", f"{logits:,}"),
        rule("└", "─", "┴", "┘"),
        f" Total params: {total:,} ({kb})",
        f" Trainable params: {total:,} ({kb})",
        " Non-trainable params: 0 (0.00 B)",
    ])
    assert capture(model, line_length=88) == expected
    assert all(len(line) == 88 for line in expected.splitlines()[1:10])


def test_frozen_layers_and_show_trainable():
    model = keras.Sequential([keras.Input(shape=(3,)), Dense(2, name="a"), Dense(1, name="b")])
    model.get_layer("a").trainable = False
    text = capture(model, line_length=100, show_trainable=True)
    assert "Trainable" in text
    assert " Trainable params: 3 (12.00 B)" in text
    assert " Non-trainable params: 8 (32.00 B)" in text
    a_row = next(line for line in text.splitlines() if "a (Dense)" in line)
    assert a_row.rstrip("│ ").endswith("N")


def test_functional_summary_has_connected_to_and_unbuilt_layers_say_so():
    a, b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(3,), name="b")
    model = keras.Model([a, b], Dense(1, name="out")(Concatenate(name="cat")([a, b])))
    text = capture(model, line_length=120)
    assert "Connected to" in text
    cat_row = next(line for line in text.splitlines() if "cat (Concatenate)" in line)
    assert "a[0][0], b[0][0]" in cat_row and "(None, 5)" in cat_row
    lazy = keras.Sequential([Dense(2, name="lazy_dense")])
    assert "0 (unbuilt)" in capture(lazy, line_length=90)


def test_expand_nested_lists_inner_layers():
    inner = keras.Sequential([keras.Input(shape=(2,)), Dense(2, name="deep")], name="inner")
    x = keras.Input(shape=(2,))
    model = keras.Model(x, inner(x))
    assert "└ deep (Dense)" in capture(model, line_length=100, expand_nested=True)
    assert "deep" not in capture(model, line_length=100)


def test_readable_memory_size_and_narrow_lines():
    assert readable_memory_size(0) == "0.00 B"
    assert readable_memory_size(203600) == f"{203600 / 1024:.2f} KB"
    assert readable_memory_size(3 * 1024 ** 2) == "3.00 MB"
    model = keras.Sequential([keras.Input(shape=(2,)), Dense(1)])
    with pytest.raises(ValueError, match="Insufficient console width"):
        model.summary(line_length=6)
