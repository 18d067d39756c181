"""PyTorch twins of ``ember.models``: the same class names, constructor arguments, module
trees and parameter names, written directly against ``torch.nn`` (torchvision is not a
dependency). The tests of ``ember.models`` copy these models' state_dicts into Ember and
compare outputs and gradients; the benchmarks time both sides.

``ResNet`` here follows torchvision's published architecture (v1.5 bottleneck, Kaiming
fan_out init for convolutions, BN weight 1 / bias 0), so its ``repr`` and state_dict keys
are torchvision's.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

__all__ = ["MLP", "LeNet5", "ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34",
           "resnet50", "TransformerClassifier"]


class MLP(nn.Module):
    """Flatten, ``Linear -> activation -> Dropout`` per hidden width, then ``head``."""

    _acts = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
             "silu": nn.SiLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU}

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (128, 64),
                 num_classes: int = 10, activation: str = "relu", dropout: float = 0.0) -> None:
        super().__init__()
        sizes = [in_features, *hidden]
        self.layers = nn.ModuleList([nn.Linear(sizes[i], sizes[i + 1])
                                     for i in range(len(hidden))])
        self.activation = self._acts[activation]()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.head = nn.Linear(sizes[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.flatten(x, 1)
        for lin in self.layers:
            h = self.dropout(self.activation(lin(h)))
        return self.head(h)


class LeNet5(nn.Module):
    """The tutorial LeNet-5 (ReLU, max-pool) for 28x28 inputs."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.relu(self.conv1(x)))
        x = self.pool(self.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc3(self.relu(self.fc2(self.relu(self.fc1(x)))))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN pairs plus the shortcut."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 norm_layer: Any = None) -> None:
        super().__init__()
        norm = norm_layer or nn.BatchNorm2d
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = norm(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = norm(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride here, v1.5) -> 1x1 x4, each with BN, plus the shortcut."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 norm_layer: Any = None) -> None:
        super().__init__()
        norm = norm_layer or nn.BatchNorm2d
        width = int(planes * base_width / 64) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = norm(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = norm(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = norm(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)


class ResNet(nn.Module):
    """torchvision's ResNet; ``cifar=True`` swaps the stem for a 3x3 stride-1 conv and an
    ``Identity`` max-pool."""

    def __init__(self, block: Any, layers: Sequence[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, groups: int = 1, width_per_group: int = 64,
                 norm_layer: Any = None, cifar: bool = False) -> None:
        super().__init__()
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        stem = dict(kernel_size=3, stride=1, padding=1) if cifar else \
            dict(kernel_size=7, stride=2, padding=3)
        self.conv1 = nn.Conv2d(3, 64, bias=False, **stem)
        self.bn1 = self._norm_layer(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._stage(block, 64, layers[0], 1)
        self.layer2 = self._stage(block, 128, layers[1], 2)
        self.layer3 = self._stage(block, 256, layers[2], 2)
        self.layer4 = self._stage(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _stage(self, block: Any, planes: int, blocks: int, stride: int) -> nn.Sequential:
        out = planes * block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, out, 1, stride, bias=False),
                                       self._norm_layer(out))
        extra = dict(groups=self.groups, base_width=self.base_width,
                     norm_layer=self._norm_layer)
        mods = [block(self.inplanes, planes, stride, downsample, **extra)]
        self.inplanes = out
        for _ in range(1, blocks):
            mods.append(block(out, planes, **extra))
        return nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _resnet(block: Any, layers: list, weights: Any, kwargs: dict) -> ResNet:
    if weights is not None:
        raise ValueError("the reference models build without pretrained weights")
    return ResNet(block, layers, **kwargs)


def resnet18(*, weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-18; ``weights`` must be None."""
    return _resnet(BasicBlock, [2, 2, 2, 2], weights, kwargs)


def resnet34(*, weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-34; ``weights`` must be None."""
    return _resnet(BasicBlock, [3, 4, 6, 3], weights, kwargs)


def resnet50(*, weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-50 (v1.5); ``weights`` must be None."""
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, kwargs)


class TransformerClassifier(nn.Module):
    """Token + learned position embeddings, a batch-first TransformerEncoder, the mean over
    non-padding positions and a linear head."""

    def __init__(self, vocab_size: int, d_model: int = 64, nhead: int = 4, num_layers: int = 2,
                 dim_feedforward: int = 128, num_classes: int = 2, max_len: int = 512,
                 dropout: float = 0.1, padding_idx: int | None = 0) -> None:
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=padding_idx)
        self.pos_embedding = nn.Embedding(max_len, d_model)
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                       batch_first=True),
            num_layers, enable_nested_tensor=False)
        self.fc = nn.Linear(d_model, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(tokens.shape[1])
        x = self.embedding(tokens) + self.pos_embedding(pos)[None]
        if self.padding_idx is None:
            return self.fc(self.encoder(x).mean(dim=1))
        mask = tokens.eq(self.padding_idx)
        x = self.encoder(x, src_key_padding_mask=mask)
        weights = (~mask).float()[..., None]
        return self.fc((x * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1))
