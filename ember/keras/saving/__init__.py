"""``keras.saving``: save and load models and weights; serialize objects to configs.

>>> from ember import keras
>>> from ember.keras.layers.core import Dense
>>> cfg = keras.saving.serialize_keras_object(Dense(3, name="d"))
>>> keras.saving.deserialize_keras_object(cfg).units
3
"""
from ember.keras.saving.model_file import load_model, save_model
from ember.keras.saving.object_registration import CustomObjectScope, custom_object_scope, \
    get_custom_objects, get_registered_name, get_registered_object, \
    register_keras_serializable
from ember.keras.saving.serialization import deserialize_keras_object, \
    serialize_keras_object
from ember.keras.saving.weights_file import load_weights, save_weights

__all__ = ["load_model", "save_model", "save_weights", "load_weights",
           "register_keras_serializable", "get_custom_objects", "get_registered_name",
           "get_registered_object", "CustomObjectScope", "custom_object_scope",
           "serialize_keras_object", "deserialize_keras_object"]
