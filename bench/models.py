"""The PyTorch definitions of repro's networks, with the same state_dict names and layouts.

A checkpoint written by `repro train --save` loads into these with
load_state_dict(strict=True) (see tools/safetensors_torch.py). Inputs are images on the
[0, 1] pixel scale: each model normalizes them itself (Normalize below), as repro does, so
that adversarial attacks work in pixel space. Initialization is PyTorch's default, except
where the official TaylorGLO models set it, as repro does (official_init below).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Normalize(nn.Module):
    """(x - mean[c]) / std[c]; constants, not parameters (nothing in the state_dict)."""

    def __init__(self, mean, std):
        super().__init__()
        self.mean = tuple(mean)
        self.std = tuple(std)

    def forward(self, x):
        mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
        return (x - mean) / std


class MnistCNN(nn.Module):
    """conv5x5 32 (pad 2), max-pool 2, conv5x5 64 (pad 2), max-pool 2, fc 1024, dropout 0.4, fc;
    fc1 takes the 64 maps of side // 4 pixels a side that the two pools leave."""

    def __init__(self, mean, std, classes=10, in_channels=1, side=28):
        super().__init__()
        self.norm = Normalize(mean, std)
        self.conv1 = nn.Conv2d(in_channels, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.fc1 = nn.Linear(64 * (side // 4) ** 2, 1024)
        self.fc2 = nn.Linear(1024, classes)
        self.dropout = nn.Dropout(0.4)

    def forward(self, x):
        x = self.norm(x)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        return self.fc2(x)


class AllCNNC(nn.Module):
    """AllCNN-C as in the official TaylorGLO code: no batch norm, dropout 0.5 after each block."""

    LAYERS = [(96, 3, 1, 1, False), (96, 3, 1, 1, False), (96, 3, 2, 1, True),
              (192, 3, 1, 1, False), (192, 3, 1, 1, False), (192, 3, 2, 1, True),
              (192, 3, 1, 1, False), (192, 1, 1, 0, False), (None, 1, 1, 0, False)]

    def __init__(self, mean, std, classes=10, in_channels=3):
        super().__init__()
        self.norm = Normalize(mean, std)
        self.dropouts = []
        c = in_channels
        for i, (out, k, s, p, drop) in enumerate(self.LAYERS):
            out = out or classes
            setattr(self, f"conv{i + 1}", nn.Conv2d(c, out, k, stride=s, padding=p))
            self.dropouts.append(drop)
            c = out
        self.dropout = nn.Dropout(0.5)

    def forward(self, x):
        x = self.norm(x)
        for i, drop in enumerate(self.dropouts):
            x = F.relu(getattr(self, f"conv{i + 1}")(x))
            if drop:
                x = self.dropout(x)
        return F.adaptive_avg_pool2d(x, 1).flatten(1)


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False),
                                          nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class PreActBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.has_shortcut = stride != 1 or cin != planes
        if self.has_shortcut:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False))

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.has_shortcut else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class CifarResNet(nn.Module):
    """ResNet-(6n+2) / PreResNet-(6n+2) for CIFAR: 16, 32, 64 channels, n blocks per stage."""

    def __init__(self, depth, mean, std, classes=10, preact=False, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.preact = preact
        self.norm = Normalize(mean, std)
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        if not preact:
            self.bn1 = nn.BatchNorm2d(16)
        block = PreActBlock if preact else BasicBlock
        cin = 16
        for stage in range(3):
            planes = 16 << stage
            blocks = []
            for b in range(n):
                blocks.append(block(cin, planes, 2 if stage > 0 and b == 0 else 1))
                cin = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        if preact:
            self.bn = nn.BatchNorm2d(64)
        self.linear = nn.Linear(64, classes)

    def forward(self, x):
        x = self.conv1(self.norm(x))
        if not self.preact:
            x = F.relu(self.bn1(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        if self.preact:
            x = F.relu(self.bn(x))
        return self.linear(F.adaptive_avg_pool2d(x, 1).flatten(1))


class WideBasic(nn.Module):
    def __init__(self, cin, planes, stride, drop):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.drop = drop
        self.equal = cin == planes and stride == 1
        if not self.equal:
            self.convShortcut = nn.Conv2d(cin, planes, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = x if self.equal else self.convShortcut(out)
        out = F.relu(self.bn2(self.conv1(out)))
        out = F.dropout(out, p=self.drop, training=self.training)
        return self.conv2(out) + shortcut


class NetworkBlock(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layer = nn.Sequential(*layers)

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    """WRN-D-K (Zagoruyko & Komodakis), names as the common PyTorch port; dropout 0.3."""

    def __init__(self, depth, k, mean, std, classes=10, drop=0.3, in_channels=3):
        super().__init__()
        n = (depth - 4) // 6
        self.norm = Normalize(mean, std)
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        cin = 16
        for stage in range(3):
            planes = (16 * k) << stage
            layers = []
            for b in range(n):
                layers.append(WideBasic(cin, planes, 2 if stage > 0 and b == 0 else 1, drop))
                cin = planes
            setattr(self, f"block{stage + 1}", NetworkBlock(layers))
        self.bn1 = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.conv1(self.norm(x))
        x = self.block3(self.block2(self.block1(x)))
        x = F.relu(self.bn1(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def official_init(model, zero_linear_bias=False):
    """The official models/cifar/{resnet,preresnet,wrn}.py initialization: conv weights normal
    with std sqrt(2 / (k*k*out_channels)) (He et al. 2015, fan-out), and in wrn.py linear
    biases 0; the rest keeps PyTorch's defaults."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
            nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / n))
        elif isinstance(m, nn.Linear) and zero_linear_bias:
            nn.init.zeros_(m.bias)
    return model


def build(name, mean, std, classes=10, in_channels=3):
    """The model repro calls `name` (mnist_cnn, allcnn_c, resnetN, preresnetN, wrn-D-K) for
    images of `in_channels` channels, as repro builds any of them on any of its datasets: one
    channel of 28 x 28 pixels (MNIST, Fashion-MNIST) or three of 32 x 32 (CIFAR); only the MNIST
    CNN's fc1 depends on the size."""
    side = 28 if in_channels == 1 else 32
    if name == "mnist_cnn":
        return MnistCNN(mean, std, classes, in_channels, side)
    if name == "allcnn_c":
        return AllCNNC(mean, std, classes, in_channels)
    if name.startswith("preresnet"):
        return official_init(CifarResNet(int(name[9:]), mean, std, classes, preact=True,
                                         in_channels=in_channels))
    if name.startswith("resnet"):
        return official_init(CifarResNet(int(name[6:]), mean, std, classes,
                                         in_channels=in_channels))
    if name.startswith("wrn-"):
        depth, k = name[4:].split("-")
        return official_init(WideResNet(int(depth), int(k), mean, std, classes,
                                        in_channels=in_channels), True)
    raise ValueError(f"unknown model {name}")


MEAN_STD = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "mnist": ((0.1307,), (0.3081,)),
    "fashion-mnist": ((0.2860,), (0.3530,)),
}
