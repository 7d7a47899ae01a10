"""Networks for dmvjnd: five CAM-capable CIFAR-10 classifiers and the DMV-JND-NET E-D.

Every classifier is ``features -> last conv block (+BN+ReLU) -> global average
pool -> linear`` and fully convolutional (any H, W >= 32; global pooling is a
mean over H, W), so the class activation map (Zhou et al. 2016) is exact:
``cam_k(h, w) = sum_c W[k, c] * F_c(h, w)`` where F are the (post-ReLU)
last-conv maps that the global pool averages and W the linear weights.

Inputs everywhere: NCHW float32 RGB normalised with mean 0.5 / std 0.5,
i.e. x = pixel/127.5 - 1 in [-1, 1].
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 10
CLASSIFIERS = ["resnet", "vgg", "densenet", "alexnet", "mobilenet"]
JND_CLASSIFIERS = ["alexnet", "vgg", "resnet", "densenet"]  # used by the generator
HELDOUT = "mobilenet"  # never used when training the generator


def cbr(cin, cout, k=3, s=1, groups=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class CamNet(nn.Module):
    """Base: subclasses set ``self.features`` (ending in the last conv block)
    and ``self.fc`` (Linear from the last conv's channels to 10)."""

    def forward_features(self, x):
        return self.features(x)

    def forward(self, x):
        f = self.forward_features(x)
        return self.fc(f.mean((2, 3)))

    def logits_and_maps(self, x):
        f = self.forward_features(x)
        return self.fc(f.mean((2, 3))), f


# ------------------------------------------------------------------ ResNet
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout))

    def forward(self, x):
        o = F.relu(self.b1(self.c1(x)), inplace=True)
        o = self.b2(self.c2(o))
        s = x if self.short is None else self.short(x)
        return F.relu(o + s, inplace=True)


class ResNetCifar(CamNet):
    """Compact ResNet ("ResNet-9 style", Page 2018 / Myrtle): conv stem, then
    conv+pool stages each followed by a residual block; width w, 2w, 4w, 8w."""

    def __init__(self, widths=(16, 32, 64, 128)):
        super().__init__()
        a, b, c, d = widths

        class Res(nn.Module):
            def __init__(s, c):
                super().__init__()
                s.a = cbr(c, c)
                s.b = cbr(c, c)

            def forward(s, x):
                return x + s.b(s.a(x))

        self.features = nn.Sequential(
            cbr(3, a),
            cbr(a, b), nn.MaxPool2d(2), Res(b),          # 16x16
            cbr(b, c), nn.MaxPool2d(2),                  # 8x8
            cbr(c, d), nn.MaxPool2d(2), Res(d),          # 4x4
        )
        self.fc = nn.Linear(d, NUM_CLASSES)


# --------------------------------------------------------------------- VGG
class VGGCifar(CamNet):
    """VGG-style plain 3x3 conv stacks with BN, max-pool between stages, no FC
    hidden layers (CAM variant: last conv -> GAP -> linear, as in Zhou et al.)."""

    def __init__(self, cfg=(32, "M", 64, "M", 128, 128, "M", 256, 256)):
        super().__init__()
        layers, c = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers.append(cbr(c, v))
                c = v
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(c, NUM_CLASSES)


# ---------------------------------------------------------------- DenseNet
class DenseLayer(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv(F.relu(self.bn(x)))], 1)


class DenseNetCifar(CamNet):
    """DenseNet-style (pre-activation BN-ReLU-conv layers, concatenation,
    1x1 transition + avg-pool). The stem downsamples once so the dense blocks
    run at 16/8/4 px (CPU budget)."""

    def __init__(self, growth=16, layers=(4, 4, 4), stem=32):
        super().__init__()
        mods = [cbr(3, stem), cbr(stem, stem), nn.MaxPool2d(2)]
        c = stem
        for i, n in enumerate(layers):
            for _ in range(n):
                mods.append(DenseLayer(c, growth))
                c += growth
            if i < len(layers) - 1:
                co = c // 2
                mods += [nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                         nn.Conv2d(c, co, 1, bias=False), nn.AvgPool2d(2)]
                c = co
        mods += [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*mods)
        self.fc = nn.Linear(c, NUM_CLASSES)


# ----------------------------------------------------------------- AlexNet
class AlexNetCifar(CamNet):
    """AlexNet-style: large first kernel, 5 convs, max-pools (BN added)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            cbr(3, 32, k=5), nn.MaxPool2d(2),       # 16
            cbr(32, 64, k=5), nn.MaxPool2d(2),      # 8
            cbr(64, 128), cbr(128, 128), cbr(128, 128),
        )
        self.fc = nn.Linear(128, NUM_CLASSES)


# --------------------------------------------------------------- MobileNet
class InvRes(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        h = cin * expand
        self.use_res = stride == 1 and cin == cout
        self.body = nn.Sequential(
            cbr(cin, h, k=1), cbr(h, h, k=3, s=stride, groups=h),
            nn.Conv2d(h, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        o = self.body(x)
        return x + o if self.use_res else o


class MobileNetV2Cifar(CamNet):
    """Held-out family: MobileNetV2-style inverted residuals with depthwise
    convolutions (expansion 2, early downsampling: sized for the CPU budget)."""

    def __init__(self):
        super().__init__()
        cfg = [  # (expand, cout, n, stride); downsample early for the CPU budget
            (1, 16, 1, 2), (2, 32, 2, 1), (2, 64, 2, 2), (2, 128, 2, 2)]
        mods, c = [cbr(3, 32)], 32
        for t, co, n, s in cfg:
            for i in range(n):
                mods.append(InvRes(c, co, s if i == 0 else 1, t))
                c = co
        mods.append(cbr(c, 256, k=1))
        self.features = nn.Sequential(*mods)
        self.fc = nn.Linear(256, NUM_CLASSES)


def build_classifier(name: str) -> CamNet:
    return {"resnet": ResNetCifar, "vgg": VGGCifar, "densenet": DenseNetCifar,
            "alexnet": AlexNetCifar, "mobilenet": MobileNetV2Cifar}[name]()


# --------------------------------------------------------------------- CAM
def cam_from_maps(logits, fmaps, fc_weight, size, eps: float = 1e-6):
    """Top-1-class CAM, bilinearly upsampled to ``size`` and min-max normalised
    per image to [0, 1]. No ReLU is applied before normalisation (the minimum
    maps to 0 whatever its sign; a flat map gives all zeros thanks to eps)."""
    top = logits.argmax(1)
    w = fc_weight[top]                                   # [N, C]
    cam = (fmaps * w[:, :, None, None]).sum(1, keepdim=True)
    cam = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
    mn = cam.amin(dim=(2, 3), keepdim=True)
    mx = cam.amax(dim=(2, 3), keepdim=True)
    return (cam - mn) / (mx - mn + eps)


class ClassifierWithCam(nn.Module):
    """Export wrapper: input ``x`` [N,3,H,W] normalised -> (logits [N,10], cam [N,1,H,W])."""

    def __init__(self, net: CamNet):
        super().__init__()
        self.net = net

    def forward(self, x):
        logits, f = self.net.logits_and_maps(x)
        cam = cam_from_maps(logits, f, self.net.fc.weight, x.shape[-2:])
        return logits, cam


# --------------------------------------------------------------- generator
class JNDGenerator(nn.Module):
    """DMV-JND-NET E-D (paper Fig. 4 description): conv+BN+ReLU+maxpool encoder
    (three 2x pools, total stride 8), large-stride transposed-conv decoder
    (x4 then x2), 3-channel output bounded as ``amp * tanh``.

    Input: x [N,3,H,W] in [-1,1] and merged CAM c [N,1,H,W] in [0,1], stacked to
    4 channels. H and W must be multiples of STRIDE (8); pad otherwise.
    ``amp`` is the max |e| in normalised units (2.0 = the full [-1,1] range).
    Our addition (not in the paper): the decoder's last conv also sees the
    4-channel input (a skip), so the noise can follow pixel-level detail.
    """
    STRIDE = 8

    def __init__(self, w=32, amp=2.0):
        super().__init__()
        self.amp = amp
        self.enc = nn.Sequential(
            cbr(4, w), cbr(w, w), nn.MaxPool2d(2),              # /2
            cbr(w, 2 * w), nn.MaxPool2d(2),                     # /4
            cbr(2 * w, 4 * w), nn.MaxPool2d(2),                 # /8
            cbr(4 * w, 4 * w))
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(4 * w, 2 * w, 4, stride=4, bias=False),
            nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * w, w, 2, stride=2, bias=False),
            nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        self.out = nn.Sequential(cbr(w + 4, w), nn.Conv2d(w, 3, 3, 1, 1))

    def forward(self, x, c):
        z = torch.cat([x, c], 1)
        h = self.dec(self.enc(z))
        return self.amp * torch.tanh(self.out(torch.cat([h, z], 1)))


def apply_jnd(x, e):
    """x_hat = clamp(x + e, -1, 1) and the effective noise x_hat - x."""
    xh = torch.clamp(x + e, -1.0, 1.0)
    return xh, xh - x


class GeneratorExport(nn.Module):
    """Export wrapper: (x [N,3,H,W] in [-1,1], cam [N,1,H,W] in [0,1]) ->
    (x_hat [N,3,H,W] in [-1,1], e [N,3,H,W] = x_hat - x, effective JND after clamping)."""

    def __init__(self, g: JNDGenerator):
        super().__init__()
        self.g = g

    def forward(self, x, cam):
        return apply_jnd(x, self.g(x, cam))


def count_params(m):
    return sum(p.numel() for p in m.parameters())
