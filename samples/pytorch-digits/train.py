#!/usr/bin/python3
"""A digits CNN in PyTorch, trained on the sample MNIST digits and exported to ONNX for Feature Lens.

    python3 samples/pytorch-digits/train.py      (after `node scripts/prepare-samples.mjs mnist`)

Writes model/digits.onnx beside this file; digits.lens.json opens it over the same digits. The module
names (conv1, relu1, pool1, ...) are the layer names Feature Lens shows.
"""
import gzip
import os

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, '..', 'mnist', 'data')


class Digits(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 5)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(16, 32, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(32 * 4 * 4, 64)
        self.relu3 = nn.ReLU()
        self.output = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.output(self.relu3(self.hidden(self.flatten(x))))


def idx(name):
    """An IDX file (MNIST's format): big-endian header, then uint8 values."""
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], 'big') for i in range(raw[3])]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def main():
    torch.manual_seed(1)
    x = torch.tensor(idx('train-images-idx3-ubyte.gz'), dtype=torch.float32)[:, None] / 255  # inputs in [0, 1]
    y = torch.tensor(idx('train-labels-idx1-ubyte.gz'), dtype=torch.long)
    model = Digits()
    opt = torch.optim.Adam(model.parameters(), lr=0.002)
    for epoch in range(3):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            batch = perm[i : i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            opt.step()
        print(f'epoch {epoch + 1}: loss {loss.item():.3f}')
    model.eval()
    tx = torch.tensor(idx('t10k-images-idx3-ubyte.gz'), dtype=torch.float32)[:, None] / 255
    ty = torch.tensor(idx('t10k-labels-idx1-ubyte.gz'), dtype=torch.long)
    with torch.no_grad():
        print(f'test accuracy {(model(tx).argmax(1) == ty).float().mean().item():.3f}')
    os.makedirs(os.path.join(HERE, 'model'), exist_ok=True)
    torch.onnx.export(model, tx[:1], os.path.join(HERE, 'model', 'digits.onnx'), input_names=['input'], output_names=['logits'], dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
    print('wrote model/digits.onnx')


if __name__ == '__main__':
    main()
