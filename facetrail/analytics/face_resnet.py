"""dlib's face-recognition ResNet, run in OpenCV's DNN engine with dlib's own weights.

The dlib-bin wheel is built without BLAS, so its ResNet spends ~60-80 ms a face in
naive matrix products. This module reads the same network from
``dlib_face_recognition_resnet_model_v1.dat``, folds each affine layer into the
convolution before it, and writes the graph as ONNX for ``cv2.dnn`` (no onnx
package: the few protobuf messages are written by hand). The descriptors equal
dlib's to float32 rounding.

Parsing is quick because dlib stores tensors as raw little-endian float32 (only
scalars use its float_details encoding), but building the graph still costs a few
hundred ms a process, so the ONNX bytes are cached per user, keyed by the model
file's size and hash; later loads read the cache.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CHIP_SIZE = 150
"""Side of the aligned face chip the network takes (dlib's input_rgb_image_sized<150>)."""
CHIP_PADDING = 0.25
"""Padding around the landmarks that dlib's compute_face_descriptor uses for the chip."""

# Bump when the graph written for the same .dat changes, so stale caches are not read.
_CONVERTER_VERSION = 1


class FaceResNetError(Exception):
    """dlib's model file cannot be converted; the message says why."""


# ----------------------------------------------------------------------------------------
# Reading dlib's serialisation


@dataclass(frozen=True)
class Conv:
    weights: np.ndarray
    """(out, in, rows, cols), applied as cross-correlation like ONNX's Conv."""
    bias: np.ndarray
    stride: int
    padding: int


@dataclass(frozen=True)
class Affine:
    gamma: np.ndarray
    beta: np.ndarray


@dataclass(frozen=True)
class Pool:
    kind: str
    """"max" or "avg"."""
    size: int
    """Window side; 0 means the whole map (dlib's avg_pool_everything)."""
    stride: int
    padding: int


@dataclass(frozen=True)
class FullyConnected:
    weights: np.ndarray
    """(inputs, outputs): output = input @ weights, dlib's fc_ layout."""


@dataclass(frozen=True)
class InputMeans:
    rgb: tuple[float, float, float]
    """Subtracted from each channel before dividing by 256."""


@dataclass(frozen=True)
class Marker:
    """A layer with no parameters: relu_ or add_prev_."""

    kind: str


Layer = Conv | Affine | Pool | FullyConnected | InputMeans | Marker


class _DlibReader:
    """dlib's stream primitives (dlib/serialize.h, dlib/dnn/tensor.h)."""

    def __init__(self, data: bytes, position: int = 0):
        self.data, self.pos = data, position

    def integer(self) -> int:
        """Control byte (low 4 bits: byte count, 0x80: negative), then the bytes little-endian."""
        control = self.data[self.pos]
        size = control & 0x0F
        value = int.from_bytes(self.data[self.pos + 1 : self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if control & 0x80 else value

    def real(self) -> float:
        """A scalar float or double: dlib's float_details, mantissa * 2**exponent."""
        mantissa, exponent = self.integer(), self.integer()
        return math.ldexp(mantissa, exponent)

    def string(self) -> str:
        size = self.integer()
        text = self.data[self.pos : self.pos + size].decode("ascii")
        self.pos += size
        return text

    def flag(self) -> bool:
        """dlib writes a bool as the character '0' or '1'."""
        char = self.data[self.pos : self.pos + 1]
        if char not in (b"0", b"1"):
            raise FaceResNetError(f"expected a bool at byte {self.pos}, found {char!r}")
        self.pos += 1
        return char == b"1"

    def tensor(self) -> np.ndarray:
        """A resizable_tensor; version 2 stores little-endian float32 values, not float_details."""
        version = self.integer()
        if version != 2:
            raise FaceResNetError(f"tensor at byte {self.pos} has serialisation version {version}; only 2 is supported")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        values = np.frombuffer(self.data, "<f4", count, self.pos).reshape(shape)
        self.pos += 4 * count
        return values.astype(np.float32)

    def alias_shape(self) -> tuple[int, ...]:
        """An alias_tensor: the shape of a view into a layer's params."""
        if self.integer() != 1:
            raise FaceResNetError(f"unexpected alias_tensor version before byte {self.pos}")
        return tuple(self.integer() for _ in range(4))


def _read_conv(r: _DlibReader) -> Conv:
    params = r.tensor().ravel()
    filters, rows, cols = r.integer(), r.integer(), r.integer()
    stride_y, stride_x, padding_y, padding_x = (r.integer() for _ in range(4))
    weight_shape, bias_shape = r.alias_shape(), r.alias_shape()
    for _ in range(4):  # learning-rate and weight-decay multipliers
        r.real()
    weight_count = int(np.prod(weight_shape))
    if (stride_y, padding_y) != (stride_x, padding_x) or rows != cols or weight_shape[0] != filters:
        raise FaceResNetError(f"con_ layer {filters}x{rows}x{cols} stride {stride_y},{stride_x} is not square")
    weights = params[:weight_count].reshape(weight_shape)
    bias = params[weight_count : weight_count + int(np.prod(bias_shape))]
    return Conv(weights, bias, stride_y, padding_y)


def _read_affine(r: _DlibReader) -> Affine:
    params = r.tensor().ravel()
    gamma_shape, beta_shape = r.alias_shape(), r.alias_shape()
    mode = r.integer()
    if mode != 0 or gamma_shape != beta_shape:  # 0: CONV_MODE, one gamma and beta per channel
        raise FaceResNetError(f"affine_ layer in mode {mode} with {gamma_shape} gammas is not per-channel")
    half = int(np.prod(gamma_shape))
    return Affine(params[:half].copy(), params[half : 2 * half].copy())


def _read_pool(r: _DlibReader, kind: str) -> Pool:
    rows, cols, stride_y, stride_x, padding_y, padding_x = (r.integer() for _ in range(6))
    if (rows, stride_y, padding_y) != (cols, stride_x, padding_x):
        raise FaceResNetError(f"{kind} pool {rows}x{cols} stride {stride_y},{stride_x} is not square")
    return Pool(kind, rows, stride_y, padding_y)


def _read_fc(r: _DlibReader) -> FullyConnected:
    outputs, inputs = r.integer(), r.integer()
    params = r.tensor()
    r.alias_shape(), r.alias_shape()
    bias_mode = r.integer()
    for _ in range(4):
        r.real()
    if bias_mode != 1 or params.size != inputs * outputs:  # 1: FC_NO_BIAS
        raise FaceResNetError(f"fc_ layer has bias mode {bias_mode}; dlib's face model has no bias")
    return FullyConnected(params.reshape(inputs, outputs))


def _read_input(r: _DlibReader) -> InputMeans:
    means = (r.real(), r.real(), r.real())
    rows, cols = r.integer(), r.integer()
    if (rows, cols) != (CHIP_SIZE, CHIP_SIZE):
        raise FaceResNetError(f"the network takes {rows}x{cols} chips, not {CHIP_SIZE}x{CHIP_SIZE}")
    return InputMeans(means)


def _read_details(r: _DlibReader, name: str) -> Layer:
    if name == "con_4":
        return _read_conv(r)
    if name == "affine_":
        return _read_affine(r)
    if name in ("max_pool_2", "avg_pool_2"):
        return _read_pool(r, name[:3])
    if name == "fc_2":
        return _read_fc(r)
    if name in ("relu_", "add_prev_"):
        return Marker(name.rstrip("_"))
    raise FaceResNetError(f"unknown dlib layer {name!r}")


def _skip_layer_state(r: _DlibReader) -> None:
    """What add_layer writes after its details: three flags and three cached tensors (empty in a saved net)."""
    for _ in range(3):
        r.flag()
    for _ in range(3):
        r.tensor()


def read_layers(data: bytes) -> list[Layer]:
    """The computational layers of a serialised dlib net, from the input outwards.

    dlib writes each add_layer as its version, then its subnetwork, then its own
    details, so after the nested version numbers the details come input-first. Tag and
    skip layers write nothing after their subnetwork: the wiring comes from the known
    architecture (see _build_graph), which checks the order of layer kinds.
    """
    start = data.find(b"\x15input_rgb_image_sized")
    if start < 1 or data[start - 1] != 0x01:
        raise FaceResNetError("no input_rgb_image_sized layer: not dlib's face recognition ResNet")
    r = _DlibReader(data, start - 1)
    r.string()
    layers: list[Layer] = [_read_input(r)]
    while r.pos < len(data):
        layers.append(_read_details(r, r.string()))
        _skip_layer_state(r)
        if len(layers) == 2:
            r.integer()  # the add_layer right above the input also writes its sample expansion factor
    return layers


# ----------------------------------------------------------------------------------------
# Writing ONNX: just the protobuf messages the graph needs (onnx/onnx.proto field numbers)


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 fields: negatives as 64-bit two's complement
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _bytes_field(number: int, payload: bytes | str) -> bytes:
    raw = payload.encode() if isinstance(payload, str) else payload
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ATTR_INT, _ATTR_INTS = 2, 7  # AttributeProto.AttributeType


def _tensor(name: str, array: np.ndarray) -> bytes:
    dtype = _FLOAT if array.dtype == np.float32 else _INT64
    dims = b"".join(_int_field(1, d) for d in array.shape)
    raw = np.ascontiguousarray(array, "<f4" if dtype == _FLOAT else "<i8").tobytes()
    return dims + _int_field(2, dtype) + _bytes_field(8, name) + _bytes_field(9, raw)


def _attribute(name: str, value: int | list[int]) -> bytes:
    if isinstance(value, int):
        return _bytes_field(1, name) + _int_field(3, value) + _int_field(20, _ATTR_INT)
    return _bytes_field(1, name) + b"".join(_int_field(8, v) for v in value) + _int_field(20, _ATTR_INTS)


def _value_info(name: str, dims: list[int | str]) -> bytes:
    """A float tensor's name and shape; a str dim is symbolic (the batch)."""
    shape = b"".join(_bytes_field(1, _bytes_field(2, d) if isinstance(d, str) else _int_field(1, d)) for d in dims)
    tensor_type = _int_field(1, _FLOAT) + _bytes_field(2, shape)
    return _bytes_field(1, name) + _bytes_field(2, _bytes_field(1, tensor_type))


@dataclass
class _Graph:
    """ONNX nodes and initialisers, with each value's static (channels, rows, cols)."""

    nodes: list[bytes]
    weights: list[bytes]
    shapes: dict[str, tuple[int, int, int]]

    def _add(self, op: str, inputs: list[str], shape: tuple[int, int, int], **attributes: int | list[int]) -> str:
        output = f"{op.lower()}{len(self.nodes)}"
        body = b"".join(_bytes_field(1, i) for i in inputs) + _bytes_field(2, output) + _bytes_field(3, output)
        body += _bytes_field(4, op) + b"".join(_bytes_field(5, _attribute(k, v)) for k, v in attributes.items())
        self.nodes.append(body)
        self.shapes[output] = shape
        return output

    def _constant(self, name: str, array: np.ndarray) -> str:
        self.weights.append(_tensor(name, array))
        return name

    def conv(self, x: str, conv: Conv, affine: Affine) -> str:
        """Conv with the affine layer after it folded in: (w*x + b)*gamma + beta."""
        weights = conv.weights * affine.gamma[:, None, None, None]
        bias = conv.bias * affine.gamma + affine.beta
        n = len(self.nodes)
        w = self._constant(f"w{n}", weights.astype(np.float32))
        b = self._constant(f"b{n}", bias.astype(np.float32))
        channels, rows, cols = self.shapes[x]
        if weights.shape[1] != channels:
            raise FaceResNetError(f"a {weights.shape[1]}-channel conv follows a {channels}-channel layer")
        size = weights.shape[2]
        out = (weights.shape[0], _pooled(rows, size, conv.stride, conv.padding), _pooled(cols, size, conv.stride, conv.padding))
        return self._add("Conv", [x, w, b], out, kernel_shape=[size, size], strides=[conv.stride] * 2, pads=[conv.padding] * 4)

    def normalise(self, x: str, means: InputMeans) -> str:
        """dlib's input layer: (pixel - channel mean) / 256."""
        mean = self._constant("rgb_means", np.array(means.rgb, np.float32).reshape(1, 3, 1, 1))
        scale = self._constant("scale", np.array(1 / 256, np.float32))
        return self._add("Mul", [self._add("Sub", [x, mean], self.shapes[x]), scale], self.shapes[x])

    def relu(self, x: str) -> str:
        return self._add("Relu", [x], self.shapes[x])

    def pool(self, x: str, pool: Pool) -> str:
        channels, rows, cols = self.shapes[x]
        if pool.size == 0:  # avg_pool_everything
            return self._add("GlobalAveragePool", [x], (channels, 1, 1))
        op = "MaxPool" if pool.kind == "max" else "AveragePool"
        out = (channels, _pooled(rows, pool.size, pool.stride, pool.padding), _pooled(cols, pool.size, pool.stride, pool.padding))
        return self._add(op, [x], out, kernel_shape=[pool.size] * 2, strides=[pool.stride] * 2, pads=[pool.padding] * 4)

    def add(self, a: str, b: str) -> str:
        """dlib's add_prev: the output has the larger size of each dimension and the
        smaller input counts as zero outside itself, so zero-pad both up to it first."""
        target = tuple(max(p, q) for p, q in zip(self.shapes[a], self.shapes[b]))
        return self._add("Add", [self._zero_pad(a, target), self._zero_pad(b, target)], target)

    def _zero_pad(self, x: str, target: tuple[int, ...]) -> str:
        missing = [t - s for t, s in zip(target, self.shapes[x])]
        if not any(missing):
            return x
        pads = self._constant(f"pads{len(self.nodes)}", np.array([0, 0, 0, 0, 0, *missing], np.int64))
        return self._add("Pad", [x, pads], target)

    def fully_connected(self, x: str, fc: FullyConnected) -> str:
        flat = self._add("Flatten", [x], (int(np.prod(self.shapes[x])), 1, 1))
        weights = self._constant(f"fc{len(self.nodes)}", fc.weights.astype(np.float32))
        return self._add("MatMul", [flat, weights], (fc.weights.shape[1], 1, 1))


def _pooled(size: int, window: int, stride: int, padding: int) -> int:
    """Output side of a conv or pool, dlib's (and ONNX's floor-mode) formula."""
    return 1 + (size + 2 * padding - window) // stride


class _Layers:
    """Hands out the layers in order, checking each is of the kind the architecture expects."""

    def __init__(self, layers: list[Layer]):
        self._layers, self._next = layers, 0

    def take(self, kind: type, marker: str | None = None):
        layer = self._layers[self._next] if self._next < len(self._layers) else None
        if not isinstance(layer, kind) or (marker is not None and layer.kind != marker):
            raise FaceResNetError(f"layer {self._next} is {layer!r:.60}, expected {marker or kind.__name__}: "
                                  "not the architecture of dlib's face recognition ResNet")
        self._next += 1
        return layer

    def peek(self) -> Layer | None:
        return self._layers[self._next] if self._next < len(self._layers) else None


def _residual(graph: _Graph, x: str, layers: _Layers) -> str:
    """dlib's ares / ares_down: relu(block(x) + shortcut(x)). block is conv-affine-relu-
    conv-affine; the shortcut is x itself, or for a stride-2 block x average-pooled 2x2."""
    first = layers.take(Conv)
    y = graph.relu(graph.conv(x, first, layers.take(Affine)))
    layers.take(Marker, "relu")
    y = graph.conv(y, layers.take(Conv), layers.take(Affine))
    shortcut = graph.pool(x, layers.take(Pool)) if first.stride != 1 else x
    layers.take(Marker, "add_prev")
    layers.take(Marker, "relu")
    return graph.relu(graph.add(y, shortcut))


def _build_graph(layers: list[Layer]) -> tuple[_Graph, str]:
    """The network as ONNX nodes, from RGB chips (0-255 floats, NCHW) to descriptors."""
    graph = _Graph([], [], {"chips": (3, CHIP_SIZE, CHIP_SIZE)})
    queue = _Layers(layers)
    x = graph.normalise("chips", queue.take(InputMeans))
    x = graph.relu(graph.conv(x, queue.take(Conv), queue.take(Affine)))
    queue.take(Marker, "relu")
    x = graph.pool(x, queue.take(Pool))
    while isinstance(queue.peek(), Conv):
        x = _residual(graph, x, queue)
    x = graph.pool(x, queue.take(Pool))
    x = graph.fully_connected(x, queue.take(FullyConnected))
    if queue.peek() is not None:
        raise FaceResNetError(f"unexpected layers after the fc layer: {queue.peek()!r:.60}")
    return graph, x


def _onnx_model(graph: _Graph, output: str) -> bytes:
    descriptor_size = graph.shapes[output][0]
    body = b"".join(_bytes_field(1, node) for node in graph.nodes) + _bytes_field(2, "dlib_face_recognition_resnet_v1")
    body += b"".join(_bytes_field(5, weight) for weight in graph.weights)
    body += _bytes_field(11, _value_info("chips", ["batch", 3, CHIP_SIZE, CHIP_SIZE]))
    body += _bytes_field(12, _value_info(output, ["batch", descriptor_size]))
    opset = _bytes_field(1, "") + _int_field(2, 13)
    return _int_field(1, 7) + _bytes_field(2, "facetrail") + _bytes_field(7, body) + _bytes_field(8, opset)


def convert(model: bytes) -> bytes:
    """dlib's serialised face recognition net as an ONNX model taking RGB chips."""
    return _onnx_model(*_build_graph(read_layers(model)))


# ----------------------------------------------------------------------------------------
# Loading, with the converted model cached per user


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "facetrail"


def _cache_path(model: bytes) -> Path:
    """Where the ONNX for this exact model file is cached; the name changes with the file's bytes."""
    digest = hashlib.sha256(model).hexdigest()[:16]
    return _cache_dir() / f"dlib-face-resnet-{len(model)}-{digest}-c{_CONVERTER_VERSION}.onnx"


def _write_atomically(path: Path, data: bytes) -> None:
    """Parallel processes may convert at once: each writes its own temp file and renames it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=path.name, suffix=".tmp", delete=False) as temp:
        temp.write(data)
    os.replace(temp.name, path)


def _read_net(onnx: bytes) -> cv2.dnn.Net:
    return cv2.dnn.readNetFromONNX(np.frombuffer(onnx, np.uint8))


def _load_net(model_path: Path) -> cv2.dnn.Net:
    """dlib's face recognition ResNet as a cv2.dnn net: from the cache, or converted (~0.3 s) and cached."""
    model = model_path.read_bytes()
    cached = _cache_path(model)
    if cached.is_file():
        try:
            return _read_net(cached.read_bytes())
        except cv2.error:
            pass  # a damaged cache file: convert again and replace it
    try:
        onnx = convert(model)
        net = _read_net(onnx)
    except (FaceResNetError, cv2.error, ValueError, IndexError) as exc:
        raise FaceResNetError(f"cannot convert dlib's face recognition model {model_path} for OpenCV: {exc}") from exc
    try:
        _write_atomically(cached, onnx)
    except OSError:
        pass  # an unwritable cache only costs the next process the conversion again
    return net


class FaceResNet:
    """128-d face descriptors from aligned 150x150 RGB chips, equal to dlib's
    compute_face_descriptor (num_jitters=0) on the same chips."""

    def __init__(self, model_path: str | Path):
        self._net = _load_net(Path(model_path))
        self._lock = threading.Lock()  # a cv2.dnn.Net must not run two forwards at once

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """(n, 128) float32 for (n, 150, 150, 3) uint8 RGB chips from dlib.get_face_chip(s)."""
        blob = np.ascontiguousarray(chips.transpose(0, 3, 1, 2), dtype=np.float32)
        with self._lock:
            self._net.setInput(blob)
            # copied: the returned array may share the net's output buffer, which the next forward overwrites
            return self._net.forward().reshape(len(chips), -1).copy()
