"""``ember.models``: reference models built from ``ember.nn`` layers.

``MLP``, ``LeNet5``, torchvision-compatible ``ResNet`` (``resnet18``/``34``/``50``, with a
CIFAR stem through ``cifar=True``) and ``TransformerClassifier``.

>>> from ember.models import resnet18
>>> resnet18(num_classes=10, cifar=True)(ember.randn(1, 3, 32, 32)).shape
ember.Size([1, 10])
"""
from ember.models.lenet import LeNet5
from ember.models.mlp import MLP
from ember.models.resnet import BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50
from ember.models.transformer import TransformerClassifier

__all__ = ["MLP", "LeNet5", "ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34",
           "resnet50", "TransformerClassifier"]
