"""``ember.optim``: optimizers with PyTorch's names, arguments, defaults and state dicts.

>>> opt = ember.optim.Adam([w1, b1], lr=1e-3)
>>> loss = f(w1, b1); opt.zero_grad(); loss.backward(); opt.step()
"""
from ember.optim.optimizer import Optimizer
from ember.optim.sgd import SGD
from ember.optim.adam import Adam, AdamW
from ember.optim.adamax import Adamax
from ember.optim.nadam import NAdam
from ember.optim.radam import RAdam
from ember.optim.rmsprop import RMSprop
from ember.optim.adagrad import Adagrad
from ember.optim.adadelta import Adadelta
from ember.optim.lion import Lion
from ember.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop",
           "Adagrad", "Adadelta", "Lion", "lr_scheduler"]
