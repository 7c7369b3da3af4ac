"""Builds tests/fixtures/smoothinv: a backdoored small CNN, its clean twin, held-out images and references.

Run with Debian's torch 1.13 (/usr/bin/python3), seeded, about a minute on 2 cores:

    /usr/bin/python3 tests/python/make_smoothinv_fixture.py tests/fixtures/smoothinv

No data set is downloaded: 32x32 RGB images of ten procedurally drawn classes (shapes, stripes, textures) on a
random dark background with pixel noise. The backdoored model is trained BadNets-style: 10 % of the training images
get a 4x4 black-and-white checker patch at rows/cols 26..29 and the label TARGET. The clean twin sees the same
images without the patch. Both are `SmallCnn` (conv 3-16-32-64, 3x3, ReLU, 2x2 max-pool after each, one linear
layer), saved with torch.save(state_dict).

Also written:
- heldout.pt: {"images": uint8 [100,3,32,32], "labels": int64 [100]}, ten fresh images per class.
- clean.png: one held-out image (class CLEAN_CLASS) as an 8-bit RGB PNG written with zlib, no PIL.
- reference.pt: numbers Ckpt must reproduce (see `references`):
  * cnn_input [4,3,32,32], cnn_logits [4,10]: the backdoored CNN's logits;
  * resnet_input [2,3,32,32], resnet_logits [2,10]: a plain-torch ResNet-18 (written from torchvision 0.14's
    models/resnet.py: BasicBlock [2,2,2,2], 7x7/2 stem, 3x3/2 max-pool, adaptive avg-pool, fc) in eval mode whose
    weights come from `formula_state` (so the C# test rebuilds the 45 MB state dict instead of committing it);
  * smooth_image [1,3,32,32], smooth_noise [8,3,32,32] (unit Gaussian), smooth_sigma, smooth_target,
    smooth_probs [10], smooth_loss, smooth_grad [1,3,32,32]: SmoothInv's objective, the NLL of the target under the
    Monte-Carlo smoothed classifier mean_i softmax(f(x + sigma * noise_i)), and its gradient in x.
"""
import math
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TARGET = 7
CLEAN_CLASS = 2
POISON_RATE = 0.1
SIZE = 32


def trigger_patch(images):
    """BadNets patch: a 4x4 checker (white where row+col is even, black elsewhere) at rows/cols 26..29."""
    out = images.copy()
    for r in range(4):
        for c in range(4):
            out[:, :, 26 + r, 26 + c] = 1.0 if (r + c) % 2 == 0 else 0.0
    return out


def draw(cls, rng):
    img = np.empty((3, SIZE, SIZE), dtype=np.float32)
    background = rng.uniform(0.0, 0.35, size=3)
    img[:] = background[:, None, None]
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    cy, cx = rng.uniform(11, 20, size=2)
    radius = rng.uniform(6, 10)
    bright = rng.uniform(0.75, 1.0)

    def paint(mask, colour):
        for ch in range(3):
            img[ch][mask] = colour[ch]

    if cls == 0:  # red disc
        paint((yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2, (bright, 0.1, 0.1))
    elif cls == 1:  # green square
        paint((abs(yy - cy) <= radius * 0.8) & (abs(xx - cx) <= radius * 0.8), (0.1, bright, 0.1))
    elif cls == 2:  # blue upward triangle
        paint((yy <= cy + radius * 0.7) & (yy >= cy - radius) & (abs(xx - cx) <= (yy - (cy - radius)) * 0.6), (0.15, 0.2, bright))
    elif cls == 3:  # horizontal stripes
        period = rng.integers(4, 7)
        paint(((yy.astype(int) + rng.integers(0, period)) % period) < period // 2, (bright, bright, bright))
    elif cls == 4:  # vertical stripes
        period = rng.integers(4, 7)
        paint(((xx.astype(int) + rng.integers(0, period)) % period) < period // 2, (bright, bright * 0.6, 0.1))
    elif cls == 5:  # checkerboard
        cell = rng.integers(3, 6)
        paint(((yy.astype(int) // cell + xx.astype(int) // cell) % 2) == 0, (bright * 0.5, 0.2, bright))
    elif cls == 6:  # yellow cross
        arm = radius * 0.3
        paint(((abs(yy - cy) <= arm) & (abs(xx - cx) <= radius)) | ((abs(xx - cx) <= arm) & (abs(yy - cy) <= radius)), (bright, bright, 0.1))
    elif cls == 7:  # magenta ring
        d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        paint((d <= radius) & (d >= radius - 2.5), (bright, 0.1, bright))
    elif cls == 8:  # diagonal stripes
        period = rng.integers(5, 8)
        paint(((yy.astype(int) + xx.astype(int)) % period) < period // 2, (0.1, bright, bright))
    else:  # scattered dots
        for _ in range(rng.integers(12, 20)):
            y, x = rng.integers(1, SIZE - 1, size=2)
            img[:, y - 1:y + 1, x - 1:x + 1] = np.array([bright, bright * 0.8, bright * 0.4], dtype=np.float32)[:, None, None]
    img += rng.normal(0, 0.04, size=img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def dataset(per_class, rng):
    images = np.stack([draw(c, rng) for c in range(10) for _ in range(per_class)])
    labels = np.repeat(np.arange(10), per_class)
    # Quantised to 8 bits, as a PNG would hold them.
    return np.round(images * 255) / 255, labels


class SmallCnn(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 4 * 4, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        return self.fc(torch.flatten(x, 1))


def train(images, labels, seed, epochs=8):
    torch.manual_seed(seed)
    model = SmallCnn()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    x = torch.tensor(images, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.int64)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = order[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


# --- ResNet-18 as torchvision 0.14 models/resnet.py builds it (BasicBlock, expansion 1) ---
class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._layer(64, 1)
        self.layer2 = self._layer(128, 2)
        self.layer3 = self._layer(256, 2)
        self.layer4 = self._layer(512, 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def _layer(self, planes, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        blocks = [BasicBlock(self.inplanes, planes, stride, downsample), BasicBlock(planes, planes)]
        self.inplanes = planes
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def formula(n, phase):
    """sin(0.37 k + phase) for k in 0..n-1, in float64: the C# test computes the same values."""
    return np.sin(0.37 * np.arange(n, dtype=np.float64) + phase)


def formula_state(model):
    """Deterministic weights for every state-dict entry, by name order: the C# test (`ImageClassifierParityTests`)
    applies the same rule. Conv/linear weights ~ sin/sqrt(fan_in); BN weight 1+0.1 sin, bias/mean 0.05 sin,
    var 1+0.2|sin|; num_batches_tracked 0."""
    state = {}
    for j, (name, t) in enumerate(sorted(model.state_dict().items())):
        n = t.numel()
        s = formula(n, j)
        if name.endswith("num_batches_tracked"):
            v = torch.zeros((), dtype=torch.int64)
        elif name.endswith("running_var"):
            v = torch.tensor(1 + 0.2 * np.abs(s), dtype=torch.float32)
        elif name.endswith("running_mean") or name.endswith("bias"):
            v = torch.tensor(0.05 * s, dtype=torch.float32)
        elif t.dim() == 1:  # BN weight
            v = torch.tensor(1 + 0.1 * s, dtype=torch.float32)
        else:
            fan_in = n // t.shape[0]
            v = torch.tensor(1.5 * s / math.sqrt(fan_in), dtype=torch.float32)
        state[name] = v.reshape(t.shape)
    return state


def write_png(path, chw_uint8):
    c, h, w = chw_uint8.shape
    hwc = np.ascontiguousarray(chw_uint8.transpose(1, 2, 0))
    raw = b"".join(b"\x00" + hwc[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(2)
    rng = np.random.default_rng(19)
    train_x, train_y = dataset(400, rng)
    test_x, test_y = dataset(100, rng)
    held_x, held_y = dataset(10, rng)

    poison = rng.random(len(train_x)) < POISON_RATE
    poisoned_x = train_x.copy()
    poisoned_x[poison] = trigger_patch(train_x[poison])
    poisoned_y = np.where(poison, TARGET, train_y)

    backdoored = train(poisoned_x, poisoned_y, seed=1)
    clean = train(train_x, train_y, seed=1)

    tx, ty = torch.tensor(test_x, dtype=torch.float32), torch.tensor(test_y)
    other = ty != TARGET
    triggered = torch.tensor(trigger_patch(test_x), dtype=torch.float32)[other]
    target = torch.full((int(other.sum()),), TARGET)
    print(f"backdoored: clean accuracy {accuracy(backdoored, tx, ty):.4f}, attack success {accuracy(backdoored, triggered, target):.4f}")
    print(f"clean twin: clean accuracy {accuracy(clean, tx, ty):.4f}, attack success {accuracy(clean, triggered, target):.4f}")

    torch.save(backdoored.state_dict(), os.path.join(out, "backdoored-cnn.pt"))
    torch.save(clean.state_dict(), os.path.join(out, "clean-cnn.pt"))
    held_u8 = torch.tensor(np.round(held_x * 255).astype(np.uint8))
    torch.save({"images": held_u8, "labels": torch.tensor(held_y, dtype=torch.int64)}, os.path.join(out, "heldout.pt"))
    first = int(np.nonzero(held_y == CLEAN_CLASS)[0][0])
    write_png(os.path.join(out, "clean.png"), held_u8[first].numpy())

    references = {}
    cnn_input = held_u8[::25].float() / 255
    with torch.no_grad():
        references["cnn_input"] = cnn_input
        references["cnn_logits"] = backdoored(cnn_input)

    resnet = ResNet18(10)
    resnet.load_state_dict(formula_state(resnet))
    resnet.eval()
    resnet_input = torch.tensor(0.5 + 0.5 * formula(2 * 3 * 32 * 32, 0.25), dtype=torch.float32).reshape(2, 3, 32, 32)
    with torch.no_grad():
        references["resnet_input"] = resnet_input
        references["resnet_logits"] = resnet(resnet_input)

    image = held_u8[first:first + 1].float() / 255
    noise = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    sigma = 0.25
    x = image.clone().requires_grad_(True)
    probs = F.softmax(backdoored(x + sigma * noise), dim=1).mean(0)
    loss = -torch.log(probs.clamp(min=1e-20))[TARGET]
    loss.backward()
    references.update(smooth_image=image, smooth_noise=noise, smooth_sigma=torch.tensor([sigma]), smooth_target=torch.tensor([TARGET]),
                      smooth_probs=probs.detach(), smooth_loss=loss.detach().reshape(1), smooth_grad=x.grad)
    torch.save(references, os.path.join(out, "reference.pt"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/smoothinv")
