"""LeNet-5 (LeCun et al. 1998) as in the PyTorch tutorials: ReLU and max-pooling in place of
the original's scaled tanh and trainable subsampling, and a padded first convolution so a
28x28 MNIST image gives the paper's 32x32 geometry.

>>> LeNet5()(ember.randn(4, 1, 28, 28)).shape
ember.Size([4, 10])
"""
from __future__ import annotations

from ember import nn
from ember.tensor import Tensor

__all__ = ["LeNet5"]


class LeNet5(nn.Module):
    """conv1(in_channels, 6, 5, padding=2) -> ReLU -> MaxPool2d(2) -> conv2(6, 16, 5) -> ReLU
    -> MaxPool2d(2) -> flatten -> fc1(400, 120) -> ReLU -> fc2(120, 84) -> ReLU
    -> fc3(84, num_classes), for ``(N, in_channels, 28, 28)`` input.

    Parameters: ``conv1``, ``conv2``, ``fc1``, ``fc2``, ``fc3`` (each ``.weight``, ``.bias``).

    >>> LeNet5(num_classes=3)(ember.randn(2, 1, 28, 28)).shape
    ember.Size([2, 3])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = self.relu(self.fc1(x.flatten(1)))
        x = self.relu(self.fc2(x))
        return self.fc3(x)
