"""``ember.data.transforms``: image transforms with torchvision.transforms' names,
arguments and semantics, for NumPy arrays, PIL images and Ember tensors.

>>> import numpy as np
>>> from ember.data import transforms as T
>>> t = T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip(), T.ToTensor(),
...                T.Normalize((0.1307,), (0.3081,))])
>>> t(np.zeros((28, 28), np.uint8)).shape
ember.Size([1, 28, 28])
"""
from ember.data.transforms import functional
from ember.data.transforms._image import InterpolationMode
from ember.data.transforms.color import ColorJitter
from ember.data.transforms.compose import Compose, Lambda
from ember.data.transforms.conversion import Normalize, PILToTensor, ToPILImage, ToTensor
from ember.data.transforms.erasing import RandomErasing
from ember.data.transforms.geometry import CenterCrop, Pad, RandomCrop, \
    RandomHorizontalFlip, RandomResizedCrop, RandomRotation, RandomVerticalFlip, Resize

__all__ = ["functional", "InterpolationMode", "Compose", "Lambda", "ToTensor", "PILToTensor",
           "ToPILImage", "Normalize", "Resize", "CenterCrop", "Pad", "RandomCrop",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomRotation",
           "RandomResizedCrop", "ColorJitter", "RandomErasing"]
