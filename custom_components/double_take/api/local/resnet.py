"""dlib's 128-d face descriptor network (its ResNet) computed with numpy.

Why: the ``dlib-bin`` wheel is built without BLAS, so dlib's own forward pass of this
network takes about 100 ms per face (2-core x86-64 development machine). The same
network with the same weights, computed here with numpy's matrix product (OpenBLAS,
one thread), gives the same descriptor (float32 rounding: components within 1e-6) in
about 14 ms.

The model file, ``dlib_face_recognition_resnet_model_v1.dat``, is dlib's serialization
of ``anet_type`` from dlib's ``examples/dnn_face_recognition_ex.cpp``::

    residual      = add_prev1<block<N,BN,1,tag1<SUBNET>>>
    residual_down = add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,BN,2,tag1<SUBNET>>>>>>
    block         = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUBNET>>>>>
    ares          = relu<residual<block,N,affine,SUBNET>>
    ares_down     = relu<residual_down<block,N,affine,SUBNET>>
    level0 = ares_down<256>               level1 = ares<256,ares<256,ares_down<256>>>
    level2 = ares<128,ares<128,ares_down<128>>>
    level3 = ares<64,ares<64,ares<64,ares_down<64>>>>   level4 = ares<32,ares<32,ares<32>>>
    anet_type = loss_metric<fc_no_bias<128,avg_pool_everything<level0<level1<level2<
                level3<level4<max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,
                input_rgb_image_sized<150>>>>>>>>>>>>>

``load`` reads that file the way dlib's own code does (``dlib/serialize.h``,
``dlib/dnn/core.h``, ``layers.h``, ``input.h``, ``loss.h``, ``dlib/cuda/tensor.h``)
and checks every layer's kind and settings against this architecture: any other file
raises ModelFileError. The format:

- an integer is a control byte (bits 0–3: how many bytes follow, bit 7: negative)
  followed by its magnitude's bytes, least significant first; a scalar float is two
  integers, mantissa and exponent (mantissa · 2^exponent); a string is its length and
  its bytes; a bool is the character ``0`` or ``1``;
- a tensor is its version (2), four sizes (samples, channels, rows, columns) and its
  values as raw little-endian float32: read with one ``numpy.frombuffer`` each;
- a network is written from its loss layer inwards, each layer wrapper writing its
  version and then the network below it before its own layer: the file holds every
  wrapper's version (outermost first), then the input layer, then each layer's
  settings and parameters from the input upwards.

What the layers compute (dlib's CPU code, ``dlib/cuda/cpu_dlib.cpp``): the input is
``(pixel - channel mean) / 256``; ``con`` is a cross-correlation with zero padding of
``size // 2`` at stride 1 and none otherwise, ``1 + (n + 2·padding - size) // stride``
outputs per axis, plus a bias; pools use the same sizes (no padding here);
``affine`` is ``gamma · x + beta`` per channel; ``add_prev`` adds its input and the
tagged layer's output into a tensor of the larger size of each, both placed at the
origin and zero elsewhere: it adds channels (32 → 64 at level 3) and, at level 1, adds
the 3 × 3 output of the strided block to the 4 × 4 pooled shortcut;
``avg_pool_everything`` averages each channel; ``fc_no_bias`` is a matrix product; the
loss layer passes the 128 values through.

The forward pass keeps activations as rows × columns × channels float32 arrays: a
convolution is one matrix product of the strided windows (im2col) with the filters,
each ``affine`` folded into the convolution before it at load time.
"""

from __future__ import annotations

from dataclasses import dataclass
import importlib
import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    type Floats = NDArray[np.float32]
    type Descriptor = NDArray[np.float64]

CHIP_SIZE = 150
"""The network's input: a 150 × 150 RGB face chip (``dlib.get_face_chip``'s default)."""
DESCRIPTOR_SIZE = 128

_ADD_LAYER_VERSIONS = (1, 2)
_INPUT_ADD_LAYER_VERSIONS = (2, 3)
_TAG_VERSION = 1
_TENSOR_VERSION = 2
_ALIAS_VERSION = 1
_CONV_MODE = 0  # dlib's layer_mode: affine per channel
_FC_NO_BIAS = 1  # dlib's fc_bias_mode
# float_details exponents marking special values (dlib/float_details.h)
_FLOAT_SPECIALS = {32000: math.inf, 32001: -math.inf, 32002: math.nan}


class ModelFileError(Exception):
    """The file is not dlib's face descriptor ResNet (truncated, damaged or another)."""


class _Reader:
    """dlib's serialized values, read one after another from a file's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def skip(self, size: int, what: str) -> int:
        """Move past the next ``size`` bytes; return where they start."""
        start, end = self.offset, self.offset + size
        if size < 0 or end > len(self.data):
            raise ModelFileError(f"the file ends inside {what} (byte {start})")
        self.offset = end
        return start

    def take(self, size: int, what: str) -> bytes:
        """Return the next ``size`` bytes."""
        start = self.skip(size, what)
        return self.data[start : self.offset]

    def integer(self, what: str) -> int:
        """Read an integer (dlib's ``pack_int``)."""
        control = self.take(1, what)[0]
        size = control & 0x0F
        if not 1 <= size <= 8 or control & 0x70:
            raise ModelFileError(f"{what}: not an integer at byte {self.offset - 1}")
        value = int.from_bytes(self.take(size, what), "little")
        return -value if control & 0x80 else value

    def expect(self, what: str, wanted: int | tuple[int, ...]) -> int:
        """Read an integer that must be ``wanted`` (or one of them)."""
        value = self.integer(what)
        allowed = wanted if isinstance(wanted, tuple) else (wanted,)
        if value not in allowed:
            raise ModelFileError(f"{what} is {value}, expected {wanted}")
        return value

    def floating(self, what: str) -> float:
        """Read a scalar float or double (dlib's ``float_details``)."""
        if self.offset < len(self.data) and self.data[self.offset] & 0x70:
            raise ModelFileError(f"{what}: not a binary float at byte {self.offset}")
        mantissa = self.integer(what)
        exponent = self.integer(what)
        if exponent in _FLOAT_SPECIALS:
            return _FLOAT_SPECIALS[exponent]
        if not -(2**15) <= exponent < min(_FLOAT_SPECIALS):
            raise ModelFileError(f"{what}: exponent {exponent} out of range")
        try:
            return math.ldexp(mantissa, exponent)
        except OverflowError:
            return math.copysign(math.inf, mantissa)

    def boolean(self, what: str) -> bool:
        """Read a bool (the character ``0`` or ``1``)."""
        char = self.take(1, what)
        if char not in (b"0", b"1"):
            raise ModelFileError(f"{what}: not a bool at byte {self.offset - 1}")
        return char == b"1"

    def version(self, what: str, *accepted: str) -> str:
        """Read a layer's version string, which must be one of ``accepted``."""
        size = self.integer(what)
        if size > 64:
            raise ModelFileError(f"{what}: no version string at byte {self.offset}")
        found = self.take(size, what).decode("latin-1")
        if found not in accepted:
            raise ModelFileError(f"expected {what} ({accepted[0]}), found {found!r}")
        return found

    def sizes(self, what: str) -> tuple[int, int, int, int]:
        """Read the four sizes of a tensor."""
        samples, channels, rows, columns = (self.integer(what) for _ in range(4))
        return samples, channels, rows, columns

    def tensor(self, what: str) -> Floats:
        """Read a tensor: its values as a flat float32 array (a copy)."""
        np = importlib.import_module("numpy")
        self.expect(f"{what}'s version", _TENSOR_VERSION)
        sizes = self.sizes(what)
        if min(sizes) < 0:
            raise ModelFileError(f"{what} has a negative size {sizes}")
        count = math.prod(sizes)
        start = self.skip(4 * count, what)
        values: Floats = np.frombuffer(
            self.data, dtype="<f4", count=count, offset=start
        ).astype(np.float32)
        return values

    def alias(self, what: str) -> tuple[int, int, int, int]:
        """Read an alias tensor (the shape of a part of a layer's parameters)."""
        self.expect(f"{what}'s version", _ALIAS_VERSION)
        return self.sizes(what)


# -- the architecture ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Spec:
    """One wrapper of ``anet_type``: a layer, a tag or a skip, and its settings."""

    kind: str  # con, affine, relu, max_pool, avg_pool, add_prev, fc, tag, skip
    size: int = 0  # filters / outputs (con, fc) or tag id (add_prev, tag, skip)
    window: int = 0  # con, max_pool, avg_pool (0: the whole input)
    stride: int = 1


def _block(filters: int, stride: int, below: list[_Spec]) -> list[_Spec]:
    """Return the ``block`` of dlib's example, outermost layer first."""
    return [
        _Spec("affine"),
        _Spec("con", filters, 3, 1),
        _Spec("relu"),
        _Spec("affine"),
        _Spec("con", filters, 3, stride),
        *below,
    ]


def _ares(filters: int, below: list[_Spec]) -> list[_Spec]:
    """``relu<add_prev1<block<N,affine,1,tag1<SUBNET>>>>``."""
    return [
        _Spec("relu"),
        _Spec("add_prev", 1),
        *_block(filters, 1, [_Spec("tag", 1), *below]),
    ]


def _ares_down(filters: int, below: list[_Spec]) -> list[_Spec]:
    """``relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<…>>>>>>>``."""
    return [
        _Spec("relu"),
        _Spec("add_prev", 2),
        _Spec("avg_pool", 0, 2, 2),
        _Spec("skip", 1),
        _Spec("tag", 2),
        *_block(filters, 2, [_Spec("tag", 1), *below]),
    ]


def _architecture() -> list[_Spec]:
    """``anet_type`` below its loss layer, outermost first (the input layer excluded)."""
    layers = [
        _Spec("max_pool", 0, 3, 2),
        _Spec("relu"),
        _Spec("affine"),
        _Spec("con", 32, 7, 2),
    ]
    for filters, repeats in ((32, 3), (64, 3), (128, 2), (256, 2)):
        if filters != 32:
            layers = _ares_down(filters, layers)
        for _ in range(repeats):
            layers = _ares(filters, layers)
    layers = _ares_down(256, layers)
    return [_Spec("fc", DESCRIPTOR_SIZE), _Spec("avg_pool", 0, 0, 1), *layers]


# -- the operations of the forward pass ------------------------------------------------


@dataclass(slots=True)
class _Conv:
    """A convolution, with the ``affine`` after it folded in and an optional ReLU.

    ``weights`` is filters × (window · window · channels), each filter's values in the
    order of the im2col windows (row, column, channel).
    """

    weights: Floats
    bias: Floats
    window: int
    stride: int
    padding: int
    relu: bool = False

    def run(self, x: Floats, tags: dict[int, Floats]) -> Floats:
        np = importlib.import_module("numpy")
        if self.padding:
            pad = self.padding
            rows, columns, channels = x.shape
            padded = np.zeros(
                (rows + 2 * pad, columns + 2 * pad, channels), dtype=np.float32
            )
            padded[pad:-pad, pad:-pad] = x
            x = padded
        rows, columns, channels = x.shape
        out_rows = 1 + (rows - self.window) // self.stride
        out_columns = 1 + (columns - self.window) // self.stride
        row_step, column_step, channel_step = x.strides
        windows = np.lib.stride_tricks.as_strided(
            x,
            shape=(out_rows, out_columns, self.window, self.window, channels),
            strides=(
                row_step * self.stride,
                column_step * self.stride,
                row_step,
                column_step,
                channel_step,
            ),
            writeable=False,
        )
        positions = out_rows * out_columns
        cols = windows.reshape(positions, -1)
        out: Floats
        if positions < len(self.weights):
            # Few positions, many filters (the last levels): OpenBLAS is up to twice
            # as fast with the product transposed.
            out = (self.weights @ cols.T).T
        else:
            out = cols @ self.weights.T
        out += self.bias
        if self.relu:
            np.maximum(out, 0, out=out)
        return out.reshape(out_rows, out_columns, -1)


@dataclass(frozen=True, slots=True)
class _Relu:
    """A ReLU after an addition (after a convolution it is the convolution's)."""

    def run(self, x: Floats, tags: dict[int, Floats]) -> Floats:
        np = importlib.import_module("numpy")
        out: Floats = np.maximum(x, 0)
        return out


def _windows(x: Floats, window: int, stride: int) -> list[Floats]:
    """For each position in a pooling window, its values over every window (views).

    Combining them element-wise (maximum, sum) pools the whole input at once: a few
    array operations instead of one per output value.
    """
    rows = 1 + (x.shape[0] - window) // stride
    columns = 1 + (x.shape[1] - window) // stride
    return [
        x[dy : dy + stride * rows : stride, dx : dx + stride * columns : stride]
        for dy in range(window)
        for dx in range(window)
    ]


@dataclass(frozen=True, slots=True)
class _MaxPool:
    """Maximum of each window."""

    window: int
    stride: int

    def run(self, x: Floats, tags: dict[int, Floats]) -> Floats:
        np = importlib.import_module("numpy")
        first, *others = _windows(x, self.window, self.stride)
        out = first.copy()
        for part in others:
            np.maximum(out, part, out=out)
        return out


@dataclass(frozen=True, slots=True)
class _AvgPool:
    """Mean of each window; window 0 averages each channel over the whole input."""

    window: int
    stride: int

    def run(self, x: Floats, tags: dict[int, Floats]) -> Floats:
        if not self.window:
            mean: Floats = x.mean(axis=(0, 1), keepdims=True, dtype=x.dtype)
            return mean
        first, *others = _windows(x, self.window, self.stride)
        out = first.copy()
        for part in others:
            out += part
        out *= 1 / self.window**2
        return out


@dataclass(frozen=True, slots=True)
class _Tag:
    """Remember the output, for a later skip or add_prev."""

    tag: int

    def run(self, x: Floats, tags: dict[int, Floats]) -> Floats:
        tags[self.tag] = x
        return x


@dataclass(frozen=True, slots=True)
class _Skip:
    """Go on from a remembered output (the shortcut of a strided block)."""

    tag: int

    def run(self, x: Floats, tags: dict[int, Floats]) -> Floats:
        return tags[self.tag]


@dataclass(frozen=True, slots=True)
class _AddPrev:
    """Add the tagged output; different sizes add at the origin into the larger one."""

    tag: int

    def run(self, x: Floats, tags: dict[int, Floats]) -> Floats:
        other = tags[self.tag]
        if x.shape == other.shape:
            same: Floats = x + other
            return same
        np = importlib.import_module("numpy")
        shape = tuple(max(a, b) for a, b in zip(x.shape, other.shape, strict=True))
        out: Floats = np.zeros(shape, dtype=np.float32)
        for part in (x, other):
            rows, columns, channels = part.shape
            out[:rows, :columns, :channels] += part
        return out


@dataclass(frozen=True, slots=True)
class _Fc:
    """The final fully connected layer, without bias: ``weights`` is inputs × outputs."""

    weights: Floats

    def run(self, x: Floats, tags: dict[int, Floats]) -> Floats:
        out: Floats = x.reshape(-1) @ self.weights
        return out


type _Op = _Conv | _Relu | _MaxPool | _AvgPool | _Tag | _Skip | _AddPrev | _Fc


class FaceDescriptorNet:
    """dlib's face descriptor ResNet with its weights, run with numpy.

    The forward pass keeps no state between calls: any thread may run it.
    """

    def __init__(self, means: tuple[float, float, float], ops: list[_Op]) -> None:
        """Use the input's channel ``means`` (RGB) and the operations, input first."""
        np = importlib.import_module("numpy")
        self._means: Floats = np.array(means, dtype=np.float32)
        self._ops = ops

    def descriptor(self, chip: NDArray[np.uint8]) -> Descriptor:
        """Return the 128-d descriptor of a 150 × 150 RGB face chip (uint8)."""
        np = importlib.import_module("numpy")
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"expected a 150×150 RGB chip, got shape {chip.shape}")
        # dlib: (pixel - mean) in float32, then / 256 (exact)
        x: Floats = (chip.astype(np.float32) - self._means) / np.float32(256)
        tags: dict[int, Floats] = {}
        for op in self._ops:
            x = op.run(x, tags)
        descriptor: Descriptor = x.astype(np.float64)
        return descriptor


def load(path: Path) -> FaceDescriptorNet:
    """Read dlib's face descriptor model file; ModelFileError if it is not one.

    OSError when the file cannot be read.
    """
    return parse(path.read_bytes())


def parse(data: bytes) -> FaceDescriptorNet:
    """Build the network from the bytes of its model file (see the module docstring)."""
    reader = _Reader(data)
    reader.expect("the loss layer wrapper's version", 1)
    if reader.version("the loss layer", "loss_metric_", "loss_metric_2").endswith("2"):
        reader.floating("the loss margin")
        reader.floating("the loss distance threshold")
    specs = _architecture()
    versions = [
        reader.expect(
            f"layer {index + 1} ({spec.kind})'s wrapper version",
            _TAG_VERSION if spec.kind in ("tag", "skip") else _ADD_LAYER_VERSIONS,
        )
        for index, spec in enumerate(specs[:-1])
    ]
    # the innermost layer's wrapper holds the input layer too
    versions.append(
        reader.expect(
            f"layer {len(specs)} (con)'s wrapper version", _INPUT_ADD_LAYER_VERSIONS
        )
    )
    means = _input_layer(reader)
    builder = _Builder()
    for index in range(len(specs) - 1, -1, -1):
        spec = specs[index]
        if spec.kind in ("tag", "skip"):
            builder.mark(spec)
            continue
        what = f"layer {index + 1} ({spec.kind})"
        builder.layer(reader, spec, what)
        for flag in ("setup", "gradient stale", "output disabled"):
            reader.boolean(f"{what}'s {flag} flag")
        reader.tensor(f"{what}'s input gradient")
        reader.tensor(f"{what}'s cached output")
        if index == len(specs) - 1:
            reader.tensor(f"{what}'s final gradient")
            if versions[index] == 3:
                reader.integer(f"{what}'s sample expansion factor")
        elif versions[index] == 2:
            reader.tensor(f"{what}'s parameter gradient")
    if reader.offset != len(data):
        raise ModelFileError(
            f"{len(data) - reader.offset} unexpected bytes after the network"
        )
    return FaceDescriptorNet(means, builder.ops)


def _input_layer(reader: _Reader) -> tuple[float, float, float]:
    """Read ``input_rgb_image_sized<150>``; return its channel means (RGB)."""
    reader.version("the input layer", "input_rgb_image_sized")
    means = (
        reader.floating("the input's red mean"),
        reader.floating("the input's green mean"),
        reader.floating("the input's blue mean"),
    )
    reader.expect("the input's rows", CHIP_SIZE)
    reader.expect("the input's columns", CHIP_SIZE)
    return means


def _window(reader: _Reader, spec: _Spec, what: str) -> int:
    """Read a convolution's or pool's window, strides and padding; return the padding.

    dlib pads by half the window at stride 1 and not at all otherwise, as here.
    """
    padding = spec.window // 2 if spec.stride == 1 else 0
    reader.expect(f"{what}'s rows", spec.window)
    reader.expect(f"{what}'s columns", spec.window)
    reader.expect(f"{what}'s row stride", spec.stride)
    reader.expect(f"{what}'s column stride", spec.stride)
    reader.expect(f"{what}'s row padding", padding)
    reader.expect(f"{what}'s column padding", padding)
    return padding


class _Builder:
    """Turns the layers read, input first, into the forward pass's operations.

    Tracks the number of channels (per tag too) to check each layer's parameters.
    """

    def __init__(self) -> None:
        self.ops: list[_Op] = []
        self.channels = 3
        self.tag_channels: dict[int, int] = {}

    def mark(self, spec: _Spec) -> None:
        """Add a tag (remember the output) or a skip (go on from a tagged output)."""
        if spec.kind == "tag":
            self.tag_channels[spec.size] = self.channels
            self.ops.append(_Tag(spec.size))
        else:
            self.channels = self.tag_channels[spec.size]
            self.ops.append(_Skip(spec.size))

    def layer(self, reader: _Reader, spec: _Spec, what: str) -> None:
        """Read one layer's settings and parameters."""
        match spec.kind:
            case "con":
                self._con(reader, spec, what)
            case "affine":
                self._affine(reader, what)
            case "relu":
                if reader.version(what, "relu_", "relu_2") == "relu_2":
                    if reader.boolean(f"{what}'s disabled flag"):
                        return
                last = self.ops[-1]
                if isinstance(last, _Conv) and not last.relu:
                    last.relu = True
                else:
                    self.ops.append(_Relu())
            case "max_pool" | "avg_pool":
                self._pool(reader, spec, what)
            case "add_prev":
                reader.version(what, "add_prev_")
                self.channels = max(self.channels, self.tag_channels[spec.size])
                self.ops.append(_AddPrev(spec.size))
            case _:
                self._fc(reader, spec, what)

    def _con(self, reader: _Reader, spec: _Spec, what: str) -> None:
        np = importlib.import_module("numpy")
        version = reader.version(what, "con_4", "con_5", "con_6")
        params = reader.tensor(f"{what}'s parameters")
        reader.expect(f"{what}'s filters", spec.size)
        padding = _window(reader, spec, what)
        filters = reader.alias(f"{what}'s filters")
        wanted = (spec.size, self.channels, spec.window, spec.window)
        if filters != wanted:
            raise ModelFileError(f"{what}'s filters are {filters}, expected {wanted}")
        biases = reader.alias(f"{what}'s biases")
        for setting in ("learning rate", "weight decay", "bias rate", "bias decay"):
            reader.floating(f"{what}'s {setting}")
        use_bias = version == "con_4" or reader.boolean(f"{what}'s bias flag")
        if version == "con_6" and reader.boolean(f"{what}'s relu flag"):
            raise ModelFileError(f"{what} has its ReLU enabled, not so in this network")
        weight_count = math.prod(filters)
        if use_bias and biases != (1, spec.size, 1, 1):
            raise ModelFileError(f"{what}'s biases are {biases}")
        if params.size != weight_count + (spec.size if use_bias else 0):
            raise ModelFileError(f"{what} has {params.size} parameters")
        # filters × channels × rows × columns → filters × (rows · columns · channels)
        weights = (
            params[:weight_count]
            .reshape(filters)
            .transpose(0, 2, 3, 1)
            .reshape(spec.size, -1)
        )
        bias = params[weight_count:] if use_bias else np.zeros(spec.size, np.float32)
        self.ops.append(
            _Conv(
                np.ascontiguousarray(weights),
                bias.copy(),
                spec.window,
                spec.stride,
                padding,
            )
        )
        self.channels = spec.size

    def _affine(self, reader: _Reader, what: str) -> None:
        version = reader.version(what, "affine_", "affine_2")
        params = reader.tensor(f"{what}'s parameters")
        shapes = (reader.alias(f"{what}'s gamma"), reader.alias(f"{what}'s beta"))
        reader.expect(f"{what}'s mode", _CONV_MODE)
        if version == "affine_2" and reader.boolean(f"{what}'s disabled flag"):
            return
        wanted = (1, self.channels, 1, 1)
        if shapes != (wanted, wanted) or params.size != 2 * self.channels:
            raise ModelFileError(f"{what} does not fit {self.channels} channels")
        conv = self.ops[-1]
        if not isinstance(conv, _Conv) or conv.relu:
            raise ModelFileError(f"{what} does not follow a convolution")
        gamma, beta = params[: self.channels], params[self.channels :]
        conv.weights *= gamma[:, None]
        conv.bias = conv.bias * gamma + beta

    def _pool(self, reader: _Reader, spec: _Spec, what: str) -> None:
        reader.version(what, f"{spec.kind}_2")
        _window(reader, spec, what)
        if spec.kind == "max_pool":
            self.ops.append(_MaxPool(spec.window, spec.stride))
        else:
            self.ops.append(_AvgPool(spec.window, spec.stride))

    def _fc(self, reader: _Reader, spec: _Spec, what: str) -> None:
        version = reader.version(what, "fc_2", "fc_3")
        reader.expect(f"{what}'s outputs", spec.size)
        reader.expect(f"{what}'s inputs", self.channels)
        params = reader.tensor(f"{what}'s parameters")
        reader.alias(f"{what}'s weights")
        reader.alias(f"{what}'s biases")
        reader.expect(f"{what}'s bias mode", _FC_NO_BIAS)
        for setting in ("learning rate", "weight decay", "bias rate", "bias decay"):
            reader.floating(f"{what}'s {setting}")
        if version == "fc_3":
            reader.boolean(f"{what}'s bias flag")
        if params.size != self.channels * spec.size:
            raise ModelFileError(f"{what} has {params.size} parameters")
        self.ops.append(_Fc(params.reshape(self.channels, spec.size)))
        self.channels = spec.size
