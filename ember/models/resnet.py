"""ResNet (He et al. 2015) with torchvision's architecture and parameter names.

The module tree (``conv1``, ``bn1``, ``relu``, ``maxpool``, ``layer1`` .. ``layer4``,
``avgpool``, ``fc``; blocks with ``conv1``, ``bn1``, ``conv2``, ``bn2``, [``conv3``, ``bn3``],
``relu``, ``downsample``), the shapes and the initialization are torchvision's, so a
torchvision ``state_dict`` (saved as a safetensors file) loads with ``load_state_dict``.
``Bottleneck`` is "ResNet v1.5": the stride sits on its 3x3 convolution.

``cifar=True`` gives the usual CIFAR stem for 32x32 images: a 3x3 stride-1 ``conv1`` with
padding 1 and ``maxpool`` an ``Identity`` (kept so that parameter names stay the same).

>>> model = resnet18(num_classes=10, cifar=True)
>>> model(ember.randn(2, 3, 32, 32)).shape
ember.Size([2, 10])
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ember import nn
from ember.nn import init
from ember.tensor import Tensor

__all__ = ["ResNet", "BasicBlock", "Bottleneck", "resnet18", "resnet34", "resnet50"]

NormLayer = Callable[[int], nn.Module]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1,
                     groups=groups, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual connection (ResNet-18/34).

    ``downsample`` maps the input to the output's shape when the stride or width changes.

    >>> BasicBlock(64, 64)(ember.randn(1, 64, 8, 8)).shape
    ember.Size([1, 64, 8, 8])
    """

    expansion = 1
    last_norm = "bn2"  # the norm before the residual sum (zeroed by zero_init_residual)

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 norm_layer: NormLayer | None = None) -> None:
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64, got "
                             f"groups={groups}, base_width={base_width}")
        norm_layer = norm_layer or nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, possibly grouped), 1x1 expand by 4, each with batch norm,
    plus a residual connection (ResNet-50 and deeper).

    >>> Bottleneck(256, 64)(ember.randn(1, 256, 8, 8)).shape
    ember.Size([1, 256, 8, 8])
    """

    expansion = 4
    last_norm = "bn3"

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None, groups: int = 1, base_width: int = 64,
                 norm_layer: NormLayer | None = None) -> None:
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    """A ResNet: stem, four stages of ``block`` (``layers[i]`` blocks each, widths 64, 128,
    256, 512 times ``block.expansion``, stages 2-4 halving the resolution), global average
    pooling and a linear classifier.

    Convolutions are initialized with Kaiming normal (fan_out, ReLU gain), batch norms with
    weight 1 and bias 0, ``fc`` as ``nn.Linear`` does. ``zero_init_residual`` zeroes the last
    batch norm weight of every block, so each block starts as the identity.

    >>> ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10)(ember.randn(1, 3, 64, 64)).shape
    ember.Size([1, 10])
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int],
                 num_classes: int = 1000, zero_init_residual: bool = False, groups: int = 1,
                 width_per_group: int = 64, norm_layer: NormLayer | None = None,
                 cifar: bool = False) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet: layers must give the number of blocks of 4 stages, got "
                             f"{list(layers)}")
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 64
        self.groups = groups
        self.base_width = width_per_group
        if cifar:
            self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(kernel_size=3, stride=2,
                                                                padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _make_layer(self, block: type[BasicBlock] | type[Bottleneck], planes: int,
                    blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       self._norm_layer(planes * block.expansion))
        common = dict(groups=self.groups, base_width=self.base_width,
                      norm_layer=self._norm_layer)
        stage = [block(self.inplanes, planes, stride, downsample, **common)]
        self.inplanes = planes * block.expansion
        stage += [block(self.inplanes, planes, **common) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                init.constant_(m.weight, 1)
                init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    last = getattr(m, m.last_norm)
                    if last.weight is not None:
                        init.constant_(last.weight, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _resnet(block: type[BasicBlock] | type[Bottleneck], layers: list, weights: Any,
            kwargs: dict) -> ResNet:
    if weights is not None:
        raise ValueError(f"weights={weights!r}: ember does not download pretrained weights; "
                         "build the model with weights=None and load a state_dict file: "
                         "model.load_state_dict(ember.load('resnet.safetensors'))")
    return ResNet(block, layers, **kwargs)


def resnet18(*, weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-18 (BasicBlock, [2, 2, 2, 2]); ``kwargs`` go to ``ResNet`` (``num_classes``,
    ``cifar``, ``zero_init_residual`` ...). ``weights`` must be None (nothing downloads).

    >>> resnet18(num_classes=10, cifar=True)(ember.randn(1, 3, 32, 32)).shape
    ember.Size([1, 10])
    """
    return _resnet(BasicBlock, [2, 2, 2, 2], weights, kwargs)


def resnet34(*, weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-34 (BasicBlock, [3, 4, 6, 3]); arguments as ``resnet18``.

    >>> resnet34().fc.out_features
    1000
    """
    return _resnet(BasicBlock, [3, 4, 6, 3], weights, kwargs)


def resnet50(*, weights: Any = None, **kwargs: Any) -> ResNet:
    """ResNet-50 (Bottleneck v1.5, [3, 4, 6, 3]); arguments as ``resnet18``.

    >>> resnet50().fc.in_features
    2048
    """
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, kwargs)
