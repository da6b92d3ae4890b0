#!/usr/bin/env python3
"""vkcnn's model zoo in PyTorch, with the state_dict names vkcnn uses.

  make(arch, channels=3, classes=10, image=32) -> nn.Module
  NORMALIZATION[arch] -> (mean, std) per channel, or None: the input is
                         pixels / 255, then (x - mean) / std
  ARCHES -> the names, in order

The networks (--arch NAME of vkcnn train/eval/predict/bench train):

  seed           the PyTorch CIFAR-10 tutorial's CNN: conv1 (3->32, 3x3, pad 1),
                 ReLU, dropout 0.3, conv2 (32->32), ReLU, max-pool 2, fc3 (8192->512),
                 ReLU, dropout 0.5, fc4 (512->classes). No normalization.
  airbench94     the network of Keller Jordan's airbench94 (legacy/airbench94.py):
                 whiten (2x2 conv, 24 channels, bias, no padding), GELU, three blocks of
                 conv1 (3x3, no bias), max-pool 2, norm1, GELU, conv2, norm2, GELU
                 (widths 64, 256, 256), max-pool 3, head (linear, no bias), times 1/9.
                 BatchNorm eps 1e-12, momentum 0.4 (PyTorch's convention), weight
                 frozen at 1, bias trained.
  airbench-tiny  the same at widths 16, 32, 32.
  resnet18       the CIFAR ResNet-18 of kuangliu/pytorch-cifar (3x3 stem, four stages
                 of two BasicBlocks, 64-512 channels, average pool 4, linear).

Initialization is PyTorch's default for every module (airbench's own script
re-initializes its convolutions as partial identities and its whitening layer
from data; vkcnn's zoo starts from the defaults).

Only torch; Python 3.7+, PyTorch 1.13+.
"""

import torch
from torch import nn
import torch.nn.functional as F

ARCHES = ("seed", "airbench94", "airbench-tiny", "resnet18")

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
NORMALIZATION = {
    "seed": None,
    "airbench94": (CIFAR_MEAN, (0.2470, 0.2435, 0.2616)),
    "airbench-tiny": (CIFAR_MEAN, (0.2470, 0.2435, 0.2616)),
    "resnet18": (CIFAR_MEAN, (0.2023, 0.1994, 0.2010)),
}

AIRBENCH_WIDTHS = {"airbench94": (64, 256, 256), "airbench-tiny": (16, 32, 32)}


class Seed(nn.Module):
    """The PyTorch CIFAR-10 tutorial's network (vkcnn's default model)."""

    def __init__(self, channels=3, classes=10, image=32):
        super().__init__()
        if image % 2:
            raise ValueError("seed: the image side must be even, not %d" % image)
        self.conv1 = nn.Conv2d(channels, 32, 3, padding=1)
        self.drop1 = nn.Dropout(0.3)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc3 = nn.Linear(32 * (image // 2) ** 2, 512)
        self.drop2 = nn.Dropout(0.5)
        self.fc4 = nn.Linear(512, classes)

    def forward(self, x):
        x = self.drop1(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.drop2(F.relu(self.fc3(x)))
        return self.fc4(x)


class AirbenchNorm(nn.BatchNorm2d):
    """airbench's BatchNorm: eps 1e-12, momentum 0.4, weight frozen at 1, bias trained."""

    def __init__(self, features):
        super().__init__(features, eps=1e-12, momentum=0.4)
        self.weight.requires_grad = False
        self.bias.requires_grad = True


class AirbenchBlock(nn.Module):
    """conv1 -> max-pool 2 -> norm1 -> GELU -> conv2 -> norm2 -> GELU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = AirbenchNorm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.norm2 = AirbenchNorm(cout)
        self.activ = nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class Airbench(nn.Module):
    """airbench94's network at the given block widths."""

    SCALE = 1 / 9

    def __init__(self, widths=(64, 256, 256), channels=3, classes=10, image=32):
        super().__init__()
        whiten_width = 2 * channels * 2 * 2  # 24 for RGB, as airbench94
        self.whiten = nn.Conv2d(channels, whiten_width, 2, padding=0, bias=True)
        self.activ = nn.GELU()
        self.block1 = AirbenchBlock(whiten_width, widths[0])
        self.block2 = AirbenchBlock(widths[0], widths[1])
        self.block3 = AirbenchBlock(widths[1], widths[2])
        self.pool = nn.MaxPool2d(3)
        side = (((image - 1) // 2 // 2 // 2) // 3)  # 32 -> 31 -> 15 -> 7 -> 3 -> 1
        if side < 1:
            raise ValueError("airbench: images of side %d are too small (at least 25)" % image)
        self.head = nn.Linear(widths[2] * side * side, classes, bias=False)

    def forward(self, x):
        x = self.activ(self.whiten(x))
        x = self.block3(self.block2(self.block1(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.head(x) * self.SCALE


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 convolutions with BatchNorm, and a shortcut."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """The CIFAR ResNet-18 (kuangliu/pytorch-cifar's models/resnet.py)."""

    def __init__(self, channels=3, classes=10, image=32):
        super().__init__()
        if image % 32:
            raise ValueError("resnet18: the image side must be a multiple of 32, not %d" % image)
        self.conv1 = nn.Conv2d(channels, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        cin = 64
        for i, (cout, stride) in enumerate(((64, 1), (128, 2), (256, 2), (512, 2)), 1):
            setattr(self, "layer%d" % i, nn.Sequential(BasicBlock(cin, cout, stride),
                                                       BasicBlock(cout, cout, 1)))
            cin = cout
        side = image // 8 // 4
        self.linear = nn.Linear(512 * side * side, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.avg_pool2d(out, 4)
        return self.linear(torch.flatten(out, 1))


def make(arch, channels=3, classes=10, image=32):
    """A new network of the named architecture, PyTorch's default initialization."""
    if arch == "seed":
        return Seed(channels, classes, image)
    if arch in AIRBENCH_WIDTHS:
        return Airbench(AIRBENCH_WIDTHS[arch], channels, classes, image)
    if arch == "resnet18":
        return ResNet18(channels, classes, image)
    raise ValueError("unknown arch %r (one of %s)" % (arch, ", ".join(ARCHES)))


def has_dropout(arch):
    """Whether the network's training forward is random (dropout)."""
    return arch == "seed"


def normalize(images, arch):
    """images: float [N,C,H,W] in [0,1] -> the network's input."""
    norm = NORMALIZATION[arch]
    if norm is None:
        return images
    c = images.shape[1]
    mean = torch.tensor(norm[0][:c], dtype=images.dtype).view(1, c, 1, 1)
    std = torch.tensor(norm[1][:c], dtype=images.dtype).view(1, c, 1, 1)
    return (images - mean) / std
