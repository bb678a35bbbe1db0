"""PyTorch reference for `npm run bench`: the same networks, weights and data as Feature Lens.

Reads a TF.js Layers `model.json` + `.bin` written by Feature Lens and builds the same network in PyTorch
(activations NHWC -> NCHW, conv kernels HWIO -> OIHW, the dense layer after a flatten has its rows
permuted from (h, w, c) to (c, h, w) order). Run with Debian's /usr/bin/python3 (python3-torch 1.13).

Usage: reference.py '{"measure": "check", "model": ".../model.json", "data": ".../x.npy", ...}'
Prints one JSON object on stdout. Every timed measure reports the median of `runs` runs after `warmup`.
"""
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get('BENCH_TORCH_THREADS', '2')))
torch.manual_seed(0)


# ---------------------------------------------------------------------------------------------- model

def read_weights(model_path):
    """{weight name: np.float32 array} from a TF.js model.json and its shards."""
    with open(model_path) as f:
        mj = json.load(f)
    folder = os.path.dirname(model_path)
    out = {}
    for group in mj['weightsManifest']:
        data = b''.join(open(os.path.join(folder, p), 'rb').read() for p in group['paths'])
        offset = 0
        for w in group['weights']:
            assert w['dtype'] == 'float32' and 'quantization' not in w, f'{w["name"]}: only float32 weights'
            n = int(np.prod(w['shape'])) if w['shape'] else 1
            out[w['name']] = np.frombuffer(data, np.float32, n, offset).reshape(w['shape']).copy()
            offset += 4 * n
    return mj, out


def layer_weights(weights, name):
    kernel = bias = None
    for k, v in weights.items():
        if k.rsplit('/', 1)[0] == name:
            if k.endswith('/kernel'):
                kernel = v
            elif k.endswith('/bias'):
                bias = v
    return kernel, bias


ACTS = {'relu': torch.relu, 'linear': None, None: None, 'sigmoid': torch.sigmoid,
        'softmax': lambda x: torch.softmax(x, dim=1), 'tanh': torch.tanh}


class Layer(torch.nn.Module):
    """One TF.js layer: `forward` returns its output in NCHW (or [N, units])."""

    def __init__(self, cfg, class_name, weights, shape):
        super().__init__()
        self.kind = class_name
        self.name = cfg['name']
        self.act_name = cfg.get('activation')
        self.act = ACTS[self.act_name]
        c, h, w = shape if len(shape) == 3 else (None, None, None)
        if class_name == 'Conv2D':
            kernel, bias = layer_weights(weights, self.name)
            kh, kw, cin, cout = kernel.shape
            self.stride = tuple(cfg['strides'])
            assert tuple(cfg.get('dilation_rate', [1, 1])) in ((1, 1), 1), 'dilated conv not supported'
            if cfg['padding'] == 'valid':
                self.padding = 0
            else:
                assert kh % 2 == 1 and kw % 2 == 1 and self.stride == (1, 1), 'same padding: odd kernel, stride 1'
                self.padding = (kh // 2, kw // 2)
            self.weight = torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
            self.bias = torch.nn.Parameter(torch.from_numpy(bias)) if bias is not None else None
            pad = 0 if self.padding == 0 else self.padding[0]
            oh = (h + 2 * pad - kh) // self.stride[0] + 1
            ow = (w + 2 * (0 if self.padding == 0 else self.padding[1]) - kw) // self.stride[1] + 1
            self.out_shape = (cout, oh, ow)
        elif class_name == 'MaxPooling2D':
            self.pool = tuple(cfg['pool_size'])
            self.stride = tuple(cfg['strides'] or cfg['pool_size'])
            assert cfg['padding'] == 'valid', 'max-pool: valid padding only'
            self.out_shape = (c, (h - self.pool[0]) // self.stride[0] + 1, (w - self.pool[1]) // self.stride[1] + 1)
        elif class_name == 'AveragePooling2D':
            self.pool = tuple(cfg['pool_size'])
            self.stride = tuple(cfg['strides'] or cfg['pool_size'])
            assert cfg['padding'] == 'valid', 'average pool: valid padding only'
            self.out_shape = (c, (h - self.pool[0]) // self.stride[0] + 1, (w - self.pool[1]) // self.stride[1] + 1)
        elif class_name == 'Flatten':
            self.in_shape = shape
            self.out_shape = (int(np.prod(shape)),)
        elif class_name == 'Dense':
            kernel, bias = layer_weights(weights, self.name)
            if getattr(shape, 'from_hwc', None) is not None:
                ih, iw, ic = shape.from_hwc
                kernel = kernel.reshape(ih, iw, ic, -1).transpose(2, 0, 1, 3).reshape(ih * iw * ic, -1)
            self.weight = torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(kernel.T)))
            self.bias = torch.nn.Parameter(torch.from_numpy(bias)) if bias is not None else None
            self.out_shape = (kernel.shape[1],)
        elif class_name in ('Activation', 'ReLU'):
            self.act_name = cfg.get('activation', 'relu')
            self.act = ACTS[self.act_name]
            self.out_shape = tuple(shape)
        elif class_name == 'Dropout':
            self.rate = cfg['rate']
            self.out_shape = tuple(shape)
        else:
            raise ValueError(f'layer {self.name}: {class_name} is not supported by the reference')

    def pre(self, x):
        """The layer's output before its activation (what the activation is applied to)."""
        if self.kind == 'Conv2D':
            return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)
        if self.kind == 'MaxPooling2D':
            return F.max_pool2d(x, self.pool, self.stride)
        if self.kind == 'AveragePooling2D':
            return F.avg_pool2d(x, self.pool, self.stride)
        if self.kind == 'Flatten':
            return x.reshape(x.shape[0], -1)
        if self.kind == 'Dense':
            return F.linear(x, self.weight, self.bias)
        return x

    def forward(self, x):
        if self.kind == 'Dropout':
            return F.dropout(x, self.rate, self.training)
        y = self.pre(x)
        return self.act(y) if self.act is not None else y


class Shape(tuple):
    from_hwc = None


def build(model_path):
    mj, weights = read_weights(model_path)
    topo = mj['modelTopology']
    cfg = topo.get('model_config', topo)
    assert cfg['class_name'] == 'Sequential', 'the reference reads Sequential models'
    layers_cfg = cfg['config']['layers'] if isinstance(cfg['config'], dict) else cfg['config']
    first = layers_cfg[0]['config']
    bis = first.get('batch_input_shape') or first.get('batchInputShape')
    h, w, c = bis[1:]
    shape = Shape((c, h, w))
    layers = []
    for lc in layers_cfg:
        if lc['class_name'] == 'InputLayer':
            continue
        layer = Layer(lc['config'], lc['class_name'], weights, shape)
        layers.append(layer)
        new = Shape(layer.out_shape)
        if lc['class_name'] == 'Flatten' and len(shape) == 3:
            new.from_hwc = (shape[1], shape[2], shape[0])
        shape = new
    return torch.nn.ModuleList(layers).eval()


def forward_all(layers, x):
    """Every layer's output, NCHW."""
    outs = []
    for layer in layers:
        x = layer(x)
        outs.append(x)
    return outs


def forward(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def to_nhwc(t):
    return t.permute(0, 2, 3, 1) if t.dim() == 4 else t


def load_x(path, n=None):
    x = np.load(path, mmap_mode='r')
    if n is not None:
        x = x[:n]
    return torch.from_numpy(np.array(np.asarray(x, np.float32).transpose(0, 3, 1, 2), order='C'))


# -------------------------------------------------------------------------------------------- timing

GIVE_UP = None


def timed(fn, runs, warmup):
    """Median seconds of `runs` calls after `warmup` calls. With GIVE_UP set (seconds), a configuration
    whose first call already takes longer stops there: it has lost to the other thread count anyway."""
    for _ in range(warmup):
        t0 = time.perf_counter()
        fn()
        if GIVE_UP is not None and time.perf_counter() - t0 > GIVE_UP:
            return time.perf_counter() - t0, [time.perf_counter() - t0]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -------------------------------------------------------------------------------------------- measures

def layer_scores(t, flatten_from=None):
    """Frobenius, max (+ argmax), mean and dead flags of every node's map, each [batch, nodes].

    `t` is NCHW or [N, units]; for a Flatten layer, `flatten_from` is its NCHW input, flattened in (h, w, c)
    order as TF.js does so node numbers match Feature Lens's.
    """
    if flatten_from is not None:
        t = flatten_from.permute(0, 2, 3, 1).reshape(flatten_from.shape[0], -1)
    if t.dim() == 2:
        a = t.abs()
        return a, t, torch.zeros_like(t, dtype=torch.long), t, a == 0
    m = t.reshape(t.shape[0], t.shape[1], -1)
    mx, arg = m.max(dim=2)
    return m.square().sum(dim=2).sqrt(), mx, arg, m.mean(dim=2), m.abs().amax(dim=2) == 0


METRICS = ('frobenius', 'max', 'mean')


def scan(layers, x, y, batch, k, classes=10):
    """What Feature Lens's scan computes, over x in batches: for every node of every layer, the top-k images
    by each of the three scores (with the max's location), dead counts, per-class sums of the Frobenius
    score and per-class sums of each layer's Frobenius norm. Returns {metric: [(scores, indices) per layer]}."""
    n_layers = len(layers)
    top = {m: [None] * n_layers for m in METRICS}
    dead = [None] * n_layers
    class_sums = [None] * n_layers
    layer_norms = torch.zeros(n_layers, classes, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, x.shape[0], batch):
            xb = x[start:start + batch]
            yb = y[start:start + batch]
            idx = torch.arange(start, start + xb.shape[0])
            outs = forward_all(layers, xb)
            for li, layer in enumerate(layers):
                frob, mx, arg, mean, is_dead = layer_scores(outs[li], outs[li - 1] if layer.kind == 'Flatten' and li > 0 and outs[li - 1].dim() == 4 else None)
                for m, s in zip(METRICS, (frob, mx, mean)):
                    s = s.t()  # [nodes, batch]
                    i = idx.unsqueeze(0).expand(s.shape[0], -1)
                    if m == 'max':
                        i = i * 100000 + arg.t()  # carry the location with the image index
                    if top[m][li] is not None:
                        ps, pi = top[m][li]
                        s, i = torch.cat([ps, s], 1), torch.cat([pi, i], 1)
                    v, j = torch.topk(s, min(k, s.shape[1]), dim=1)
                    top[m][li] = (v, torch.gather(i, 1, j))
                d = is_dead.sum(0, dtype=torch.float64)
                dead[li] = d if dead[li] is None else dead[li] + d
                cs = torch.zeros(frob.shape[1], classes, dtype=torch.float64).index_add_(1, yb, frob.t().double())
                class_sums[li] = cs if class_sums[li] is None else class_sums[li] + cs
                layer_norms[li].index_add_(0, yb, frob.square().sum(1).sqrt().double())
    for m in ('max',):
        top[m] = [(v, i // 100000) for v, i in top[m]]
    return top


def deconvolve(layers, x, layer, node, switches=True):
    """Zeiler & Fergus deconvolution of `node` of `layer` for each image of x: [N, C, H, W] in pixel space.

    Keeps only the node's map at `layer`, then walks back: dense -> transposed matmul, max-pool -> unpool
    with the forward pass's switches, ReLU -> ReLU on the signal, conv -> transposed conv with the same filters.
    """
    with torch.no_grad():
        inputs, switch = [], {}
        h = x
        for i, l in enumerate(layers[:layer + 1]):
            inputs.append(h)
            if l.kind == 'MaxPooling2D':
                h, switch[i] = F.max_pool2d(h, l.pool, l.stride, return_indices=True)
            else:
                h = l(h)
        mask = torch.zeros_like(h)
        mask[:, node] = 1
        s = h * mask
        for i in range(layer, -1, -1):
            l = layers[i]
            if l.act_name == 'relu' and l.kind != 'Dropout':
                s = torch.relu(s)
            if l.kind == 'Conv2D':
                s = F.conv_transpose2d(s, l.weight, None, l.stride, l.padding,
                                       output_padding=0)
                ih, iw = inputs[i].shape[2:]
                if s.shape[2] != ih or s.shape[3] != iw:
                    s = F.pad(s, (0, iw - s.shape[3], 0, ih - s.shape[2]))
            elif l.kind == 'MaxPooling2D':
                if switches:
                    s = F.max_unpool2d(s, switch[i], l.pool, l.stride, output_size=inputs[i].shape[2:])
                else:
                    s = F.interpolate(s, scale_factor=l.pool, mode='nearest')
                    ih, iw = inputs[i].shape[2:]
                    s = F.pad(s, (0, iw - s.shape[3], 0, ih - s.shape[2]))
            elif l.kind == 'Flatten':
                s = s.reshape(inputs[i].shape)
            elif l.kind == 'Dense':
                s = s @ l.weight
        return s


def main():
    global GIVE_UP
    args = json.loads(sys.argv[1])
    GIVE_UP = args.get('giveUpAfter')
    measure = args['measure']
    layers = build(args['model'])
    runs, warmup = args.get('runs', 5), args.get('warmup', 1)
    result = {'measure': measure, 'torch': torch.__version__, 'threads': torch.get_num_threads()}

    if measure == 'check':
        # Compare every layer's output with the Feature Lens activations written by the bench.
        with open(args['activations'] + '.json') as f:
            manifest = json.load(f)
        blob = np.fromfile(args['activations'] + '.bin', np.float32)
        x = load_x(args['data'], manifest['images'])
        with torch.no_grad():
            outs = forward_all(layers, x)
        errors = []
        off = 0
        for li, entry in enumerate(manifest['layers']):
            n = int(np.prod(entry['shape']))
            theirs = blob[off:off + n].reshape(entry['shape'])
            off += n
            mine = to_nhwc(outs[li]).numpy()
            if layers[li].kind == 'Flatten':  # Feature Lens flattens NHWC in (h, w, c) order
                mine = to_nhwc(outs[li - 1]).reshape(x.shape[0], -1).numpy()
            assert mine.shape == theirs.shape, f'layer {li}: shape {mine.shape} vs {theirs.shape}'
            err = float(np.abs(mine - theirs).max())
            scale = float(max(1.0, np.abs(theirs).max()))
            errors.append({'layer': entry['name'], 'maxAbsError': err, 'scale': scale})
        result['layers'] = errors
        result['maxRelError'] = max(e['maxAbsError'] / e['scale'] for e in errors)

    elif measure == 'forward':
        x = load_x(args['data'], args['images'])
        batch = args['batch']

        def run():
            with torch.no_grad():
                for s in range(0, x.shape[0], batch):
                    forward(layers, x[s:s + batch])
        med, times = timed(run, runs, warmup)
        result.update(ips=x.shape[0] / med, seconds=times)

    elif measure in ('train', 'step'):
        # train: what Feature Lens's training does per epoch: shuffled batches, one optimizer step each, the
        # batch's loss and accuracy read back after every step. step: one plain SGD step on the first batch,
        # the updated weights compared with Feature Lens's (written in TF.js layouts).
        x = load_x(args['data'], args['images'])
        y = torch.from_numpy(np.load(args['labels'])[:args['images']].astype(np.int64))
        batch = args['batch']
        opt_name, lr = args.get('optimizer', 'adam'), args.get('learningRate', 0.001)
        loss_name = args.get('loss', 'categoricalCrossentropy')
        params = [p for l in layers for p in l.parameters()]
        last = layers[-1]
        fused = last.act_name == 'softmax' and loss_name == 'categoricalCrossentropy'
        if fused:
            last.act = None  # train on logits: log_softmax + NLL is the same loss as softmax + cross-entropy
        eps = 1e-7  # TF.js's epsilon, used by its losses and optimizers

        def loss_fn(out, yb):
            if fused:
                return F.cross_entropy(out, yb)
            oh = F.one_hot(yb, out.shape[1]).float()
            if loss_name == 'categoricalCrossentropy':  # TF.js normalises the outputs to sum to 1 first
                p = (out / out.sum(1, keepdim=True)).clamp(eps, 1 - eps)
                return -(oh * p.log()).sum(1).mean()
            if loss_name == 'binaryCrossentropy':
                return F.binary_cross_entropy(out.clamp(eps, 1 - eps), oh)
            return F.mse_loss(out, oh)

        if opt_name == 'adam':
            opt = torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=eps)
        elif opt_name == 'momentum':
            opt = torch.optim.SGD(params, lr=lr, momentum=args.get('momentum', 0.9))
        elif opt_name == 'rmsprop':
            opt = torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=eps)
        else:
            opt = torch.optim.SGD(params, lr=lr)
        gen = torch.Generator().manual_seed(1)

        def epoch(shuffle=True, limit=None):
            order = torch.randperm(x.shape[0], generator=gen) if shuffle else torch.arange(x.shape[0])
            for s in range(0, x.shape[0] if limit is None else limit, batch):
                j = order[s:s + batch]
                xb, yb = x[j], y[j]
                opt.zero_grad(set_to_none=True)
                out = forward(layers, xb)
                loss = loss_fn(out, yb)
                loss.backward()
                opt.step()
                loss.item(), (out.argmax(1) == yb).float().mean().item()

        if measure == 'train':
            layers.train()
            med, times = timed(epoch, runs, warmup)
            result.update(ips=x.shape[0] / med, seconds=times)
        else:
            epoch(shuffle=False, limit=batch)
            theirs = np.fromfile(args['weights'], np.float32)
            off, worst = 0, 0.0
            for l in layers:
                for name in ('weight', 'bias'):
                    p = getattr(l, name, None)
                    if p is None:
                        continue
                    mine = p.detach().numpy()
                    if l.kind == 'Conv2D' and name == 'weight':
                        mine = mine.transpose(2, 3, 1, 0)
                    elif l.kind == 'Dense' and name == 'weight':
                        mine = mine.T
                    t = theirs[off:off + mine.size]
                    off += mine.size
                    if l.kind == 'Dense' and name == 'weight' and t.size == mine.size:
                        t = t.reshape(-1, mine.shape[1])
                        src = [ll for ll in layers if ll.kind == 'Flatten']
                        if src and list(layers).index(l) == list(layers).index(src[0]) + 1 and len(src[0].in_shape) == 3:
                            c, h, w = src[0].in_shape
                            t = t.reshape(h, w, c, -1).transpose(2, 0, 1, 3).reshape(c * h * w, -1)
                    worst = max(worst, float(np.abs(mine.reshape(t.shape) - t).max()) / max(1e-6, float(np.abs(t).max())))
            result['maxRelError'] = worst

    elif measure == 'scan':
        x = load_x(args['data'], args.get('images'))
        y = torch.from_numpy(np.load(args['labels'])[:x.shape[0]].astype(np.int64))

        def run():
            return scan(layers, x, y, args['batch'], args.get('k', 9))
        med, times = timed(run, runs, warmup)
        result.update(ips=x.shape[0] / med, seconds=times)
        if 'compare' in args:
            # Every node's top-k from the Feature Lens index: the scores must agree to 1e-4 (relative to
            # the layer's largest score), the images wherever their scores are not tied.
            with open(args['compare']) as f:
                theirs = json.load(f)
            top = run()
            worst, index_mismatches, nodes = 0.0, 0, 0
            for m in METRICS:
                for entry in theirs[m]:
                    # By name: Feature Lens lists only inspectable layers (no Flatten), so positions differ.
                    v, i = top[m][[l.name for l in layers].index(entry['name'])]
                    ts = np.array(entry['scores'], np.float64)
                    ms = v.double().numpy()
                    scale = max(1e-6, float(np.abs(ts).max()))
                    worst = max(worst, float(np.abs(ms - ts).max()) / scale)
                    for node in range(entry['nodes']):
                        nodes += 1
                        row = ts[node]
                        tol = 1e-4 * scale
                        for r, (a_i, b_i) in enumerate(zip(i[node].tolist(), entry['indices'][node])):
                            # Images may differ where scores tie: with another score in the list, or with
                            # the list's last score (images beyond the k kept can tie with it).
                            tied = np.sum(np.abs(row - row[r]) <= tol) > 1 or row[r] <= row.min() + tol
                            if a_i != b_i and not tied:
                                index_mismatches += 1
                                break
            result.update(maxRelError=worst, indexMismatches=index_mismatches, nodesCompared=nodes)

    elif measure == 'deconv':
        x = load_x(args['data'], args.get('images', 9))
        layer, node = args['layer'], args['node']

        def run():
            return deconvolve(layers, x, layer, node, args.get('switches', True))
        med, times = timed(run, runs, warmup)
        result.update(ms=med * 1000, seconds=times)
        if 'projections' in args:
            theirs = np.fromfile(args['projections'], np.float32).reshape(to_nhwc(run()).shape)
            mine = to_nhwc(run()).numpy()
            result['maxAbsError'] = float(np.abs(mine - theirs).max())
            result['scale'] = float(max(1e-12, np.abs(theirs).max()))

    elif measure == 'maximize':
        # What Feature Lens's maximize does each step, written the PyTorch way: a Fourier-basis image
        # (irfft2 of a scaled spectrum, /4, sigmoid), a random robust view (pad 0.5, scale, rotate, jitter
        # crop), the node's mean activation (pre-softmax for a softmax layer), redirected ReLUs during the
        # warm-up, Adam at 0.05 on the spectrum, the objective read back every step.
        layer, node, steps = args['layer'], args['node'], args['steps']
        _, c, h, w = (1,) + tuple(load_x(args['data'], 1).shape[1:])
        sub = layers[:layer + 1]
        for p in sub.parameters():
            p.requires_grad_(False)
        wf = w // 2 + 1
        fy = torch.fft.fftfreq(h).unsqueeze(1)
        fx = torch.fft.rfftfreq(w).unsqueeze(0)
        scale = (h * w) ** 0.5 / torch.maximum((fy ** 2 + fx ** 2).sqrt(), torch.tensor(1.0 / max(h, w)))
        pad = max(2, -(-min(h, w) // 12))
        jitter = max(1, round(min(h, w) / 14))
        rnd = np.random.default_rng(1)

        def view(img):
            t = F.pad(img, (pad, pad, pad, pad), value=0.5)
            sc = 1 + (2 * rnd.random() - 1) * 0.1
            ph, pw = t.shape[2:]
            sh, sw = max(h, round(ph * sc)), max(w, round(pw * sc))
            if (sh, sw) != (ph, pw):
                t = F.interpolate(t, size=(sh, sw), mode='bilinear', align_corners=True)
            ang = (2 * rnd.random() - 1) * 10 / 180 * np.pi
            theta = torch.tensor([[[np.cos(ang), -np.sin(ang), 0.0], [np.sin(ang), np.cos(ang), 0.0]]], dtype=torch.float32)
            t = F.grid_sample(t, F.affine_grid(theta, t.shape, align_corners=False), align_corners=False)
            oy = int(np.clip(round((sh - h) / 2 + (2 * rnd.random() - 1) * jitter), 0, sh - h))
            ox = int(np.clip(round((sw - w) / 2 + (2 * rnd.random() - 1) * jitter), 0, sw - w))
            return t[:, :, oy:oy + h, ox:ox + w]

        class RedirectedRelu(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.clamp(min=0)

            @staticmethod
            def backward(ctx, g):
                x, = ctx.saved_tensors
                return torch.where((x > 0) | (g < 0), g, torch.zeros_like(g))

        def objective(x, warm):
            for i, l in enumerate(sub):
                last = i == len(sub) - 1
                y = l.pre(x)
                if last and l.act_name == 'softmax':
                    x = y
                elif l.act_name == 'relu' and l.kind != 'Dropout':
                    x = RedirectedRelu.apply(y) if warm else torch.relu(y)
                else:
                    x = l(x) if l.kind != 'Dropout' else y
            return x[:, node].mean()

        def run():
            a_ = (torch.randn(c, h, wf) * 0.01).requires_grad_(True)
            b_ = (torch.randn(c, h, wf) * 0.01).requires_grad_(True)
            opt = torch.optim.Adam([a_, b_], lr=args.get('learningRate', 0.05))
            for step in range(steps):
                opt.zero_grad(set_to_none=True)
                img = torch.sigmoid(torch.fft.irfft2(torch.complex(a_ * scale, b_ * scale), s=(h, w)) / 4).unsqueeze(0)
                obj = objective(view(img), step < 16)
                (-obj).backward()
                opt.step()
                obj.item()
        med, times = timed(run, runs, warmup)
        result.update(stepsPerSecond=steps / med, seconds=times)

    else:
        raise SystemExit(f'unknown measure {measure}')

    result['peakRss'] = peak_rss()
    print(json.dumps(result))


if __name__ == '__main__':
    main()
