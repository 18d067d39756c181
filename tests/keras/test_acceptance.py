"""Keras programs that must run unchanged on Ember: the only Ember line in each model's
code is ``from ember import keras`` (the data comes from ember.data's offline datasets)."""
import numpy as np

from ember import keras
from ember.data.datasets import MNIST, Digits


def test_mlp_on_mnist_5k():
    train, test = MNIST(subset="5k", train=True), MNIST(subset="5k", train=False)
    x_train = train.data.reshape(-1, 784).astype("float32") / 255.0
    x_test = test.data.reshape(-1, 784).astype("float32") / 255.0
    y_train, y_test = train.targets, test.targets

    model = keras.Sequential([
        keras.layers.Dense(64, activation="relu", input_shape=(784,)),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=64, epochs=3,
                        validation_data=(x_test, y_test), verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)

    assert history.history["loss"][-1] < history.history["loss"][0]
    assert accuracy > 0.85, accuracy
    assert history.history["val_accuracy"][-1] == accuracy
    predicted = model.predict(x_test[:100], verbose=0).argmax(axis=1)
    assert (predicted == y_test[:100]).mean() > 0.8


def test_cnn_with_logits_on_digits():
    digits = Digits()
    x = (digits.data.astype("float32") / 16.0)[..., None]       # (1797, 8, 8, 1)
    x = np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)             # upsampled to 16x16
    y = digits.targets
    x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

    model = keras.Sequential([
        keras.Input(shape=(16, 16, 1)),
        keras.layers.Conv2D(8, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=4, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.85, accuracy


def test_functional_model_with_residual_add():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (np.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]).astype("float32")

    inputs = keras.Input(shape=(8,))
    h = keras.layers.Dense(32, activation="relu")(inputs)
    r = keras.layers.Dense(32, activation="relu")(h)
    h = keras.layers.Add()([h, r])
    outputs = keras.layers.Dense(1)(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    baseline = float(np.mean((y - y.mean()) ** 2))
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0, validation_split=0.2)
    assert history.history["val_loss"][-1] < 0.5 * baseline
    assert model.layers[3].name.startswith("add")


def test_two_tower_recommender():
    rng = np.random.default_rng(1)
    n_users, n_items, dim = 50, 40, 4
    user_f = rng.normal(size=(n_users, dim))
    item_f = rng.normal(size=(n_items, dim))
    users = rng.integers(0, n_users, size=(3000, 1))
    items = rng.integers(0, n_items, size=(3000, 1))
    ratings = np.sum(user_f[users[:, 0]] * item_f[items[:, 0]], axis=1,
                     keepdims=True).astype("float32")

    user_in = keras.Input(shape=(1,), dtype="int64", name="user")
    item_in = keras.Input(shape=(1,), dtype="int64", name="item")
    user_vec = keras.layers.GlobalAveragePooling1D()(
        keras.layers.Embedding(n_users, 8)(user_in))
    item_vec = keras.layers.GlobalAveragePooling1D()(
        keras.layers.Embedding(n_items, 8)(item_in))
    score = keras.layers.Dot(axes=1)([user_vec, item_vec])
    model = keras.Model(inputs=[user_in, item_in], outputs=score)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.02), loss="mse")
    history = model.fit([users, items], ratings, batch_size=64, epochs=12, verbose=0)
    assert history.history["loss"][-1] < 0.3 * float(np.mean(ratings ** 2))
