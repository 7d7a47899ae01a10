"""A small interpreter that runs a TensorFlow.js graph model (model.json + weight shards) as a
``torch.nn.Module``: parse the graph, dequantise the weights, and evaluate the nodes needed for
the requested outputs with torch ops. Traceable (``torch.onnx.export``) and trainable: conv
kernels, biases and every other float constant with more than one element are ``nn.Parameter``s.

Layout. TF graphs are NHWC; torch convolutions want NCHW. Every 4-D value carries a tag: a value
tagged ``nhwc`` is *logically* NHWC (what the TF node computes) but *stored* NCHW. Convolutions,
pools and resizes produce tagged values; a ``Transpose`` with perm [0,3,1,2] of a tagged value is
free (it only drops the tag) and [0,2,3,1] of an untagged 4-D value is free too (it adds one).
So graphs converted from PyTorch via onnx-tf (NCHW with a transpose around every conv, as
NanoDet's) and native NHWC graphs (CenterNet) both run without a single real permute in the body.
Axis attributes (ConcatV2, Mean, SplitV, Pad) are mapped through the tag.

Conversion details that matter for exactness (see tests/test_detectors.py):
- TF 'SAME' padding is asymmetric when the total is odd (extra row/column at the bottom/right):
  stride 2 on an even input pads (0, 1) for 3x3 and (1, 2) for 5x5.
- ResizeBilinear with align_corners=False, half_pixel_centers=False (TF1 legacy) maps
  src = dst * in / out; for 2x that is ``out[2i] = in[i]``, ``out[2i+1] = (in[i] + in[i+1]) / 2``
  (last row repeats): not torch's align_corners=False. half_pixel_centers=True is torch's
  align_corners=False. Resize targets are constants for the native input size; the interpreter
  probes the graph once at that size and keeps the *scale* (2x or 0.5x), so the module runs at
  any size that is a multiple of the graph's total stride.
- Weights quantised to float16 in the manifest are decoded as IEEE half (little endian), uint8 /
  uint16 affine quantisation as q * scale + min.

Under tracing, SAME padding is computed as if every input were divisible by the stride (true for
H, W multiples of 32 in these detectors); eager mode computes it from the actual size.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


# ----------------------------------------------------------------------------- weights

def decode_weights(manifest: list, read_shard) -> dict[str, np.ndarray]:
    """Decode a tfjs ``weightsManifest`` into arrays (float32 for dequantised floats).

    ``read_shard(path) -> bytes``. Groups are independent buffers (their shards concatenated in
    order); weights follow each other in a group without padding.
    """
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        buf = b"".join(read_shard(p) for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q:
                qd = q["dtype"]
                if qd == "float16":
                    a = np.frombuffer(buf, dtype="<f2", count=n, offset=off).astype(np.float32)
                    off += 2 * n
                elif qd in ("uint8", "uint16"):
                    dt, sz = ("<u1", 1) if qd == "uint8" else ("<u2", 2)
                    qa = np.frombuffer(buf, dtype=dt, count=n, offset=off).astype(np.float32)
                    off += sz * n
                    a = qa * np.float32(q["scale"]) + np.float32(q["min"])
                    if w["dtype"] == "int32":
                        a = np.round(a).astype(np.int32)
                else:
                    raise NotImplementedError(f"weight {w['name']}: quantisation {qd}")
            else:
                dt = {"float32": "<f4", "int32": "<i4", "bool": "<u1"}.get(w["dtype"])
                if dt is None:
                    raise NotImplementedError(f"weight {w['name']}: dtype {w['dtype']}")
                a = np.frombuffer(buf, dtype=dt, count=n, offset=off).copy()
                off += np.dtype(dt).itemsize * n
                if w["dtype"] == "bool":
                    a = a.astype(bool)
            out[w["name"]] = a.reshape(shape)
        if off != len(buf):
            raise ValueError(f"weights manifest covers {off} of {len(buf)} bytes")
    return out


# ----------------------------------------------------------------------------- helpers

def tf_same_pads(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TF 'SAME' padding (before, after) along one spatial dim of size n."""
    ke = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + ke - n, 0)
    return total // 2, total - total // 2


def resize_bilinear_2x_legacy(x: torch.Tensor) -> torch.Tensor:
    """TF ResizeBilinear, align_corners=False, half_pixel_centers=False, exactly 2x (NCHW)."""
    def up(t: torch.Tensor, dim: int) -> torch.Tensor:
        nxt = torch.cat([t.narrow(dim, 1, t.shape[dim] - 1), t.narrow(dim, t.shape[dim] - 1, 1)], dim)
        mid = (t + nxt) * 0.5
        return torch.stack([t, mid], dim + 1).flatten(dim, dim + 1)
    return up(up(x, 2), 3)


def resize_bilinear_legacy_ref(x: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """Reference TF legacy bilinear (NCHW numpy), any size: src = dst * in / out."""
    n, c, h, w = x.shape
    def coords(o, i):
        src = np.arange(o) * (i / o)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, i - 1)
        return lo, hi, (src - lo).astype(np.float32)
    y0, y1, fy = coords(oh, h)
    x0, x1, fx = coords(ow, w)
    top = x[:, :, y0][:, :, :, x0] * (1 - fx) + x[:, :, y0][:, :, :, x1] * fx
    bot = x[:, :, y1][:, :, :, x0] * (1 - fx) + x[:, :, y1][:, :, :, x1] * fx
    return top * (1 - fy[:, None]) + bot * fy[:, None]


def _b64(s: str) -> str:
    import base64
    return base64.b64decode(s).decode()


def _attr(node: dict, key: str, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return _b64(a["s"])
    if "b" in a:
        return bool(a["b"])
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(v) for v in lst["i"]]
        if "s" in lst:
            return [_b64(v) for v in lst["s"]]
        if "f" in lst:
            return [float(v) for v in lst["f"]]
        return []
    if "type" in a:
        return a["type"]
    return default


class V:
    """A runtime value: a tensor and whether it is a logical-NHWC value stored NCHW."""
    __slots__ = ("t", "nhwc")

    def __init__(self, t: torch.Tensor, nhwc: bool = False):
        self.t, self.nhwc = t, nhwc

    def logical(self) -> torch.Tensor:
        return self.t.permute(0, 2, 3, 1) if self.nhwc else self.t

    def nchw(self) -> torch.Tensor:
        """Physical NCHW of a logically NHWC 4-D value."""
        if self.nhwc:
            return self.t
        if self.t.dim() != 4:
            raise ValueError("expected a 4-D NHWC value")
        return self.t.permute(0, 3, 1, 2)


def _safe(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", name)


_UNARY = {
    "Relu": F.relu, "Relu6": lambda t: torch.clamp(t, 0.0, 6.0), "Sigmoid": torch.sigmoid,
    "Tanh": torch.tanh, "Elu": F.elu, "Identity": lambda t: t, "Exp": torch.exp, "Neg": torch.neg,
    "Sqrt": torch.sqrt, "Rsqrt": torch.rsqrt, "Square": lambda t: t * t,
}
_BINARY = {
    "Add": torch.add, "AddV2": torch.add, "Mul": torch.mul, "Sub": torch.sub, "RealDiv": torch.div,
    "Maximum": torch.maximum, "Minimum": torch.minimum,
}
_NP_BINARY = {"Add": np.add, "AddV2": np.add, "Mul": np.multiply, "Sub": np.subtract}


class TfjsGraph(nn.Module):
    """Run a tfjs graph model in torch.

    Args:
      model_json: path of ``model.json`` (weights next to it, as listed in the manifest).
      outputs: node names to compute (``name`` or ``name:k``); nodes not needed are dropped.
      input_nhwc: the graph's placeholder is logically NHWC (then ``forward`` takes NCHW).
      native_hw: (H, W) used once to probe resize scales.
    ``forward(x)`` returns a tuple of tensors, one per output; logically NHWC 4-D outputs are
    returned NCHW, other outputs in the graph's own layout.
    """

    def __init__(self, model_json: str | Path, outputs: list[str], input_nhwc: bool,
                 native_hw: tuple[int, int]):
        super().__init__()
        model_json = Path(model_json)
        j = json.loads(model_json.read_text())
        self.source = j
        weights = decode_weights(j["weightsManifest"], lambda p: (model_json.parent / p).read_bytes())
        nodes = {n["name"]: n for n in j["modelTopology"]["node"]}
        self.input_nhwc = input_nhwc
        self.output_refs = [self._ref(o) for o in outputs]

        # topological order of the needed nodes; constant folding in numpy on the way
        consts: dict[str, np.ndarray] = {}
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(name: str):
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                raise ValueError(f"cycle at {name}")
            state[name] = 1
            node = nodes[name]
            ins = [self._ref(i)[0] for i in node.get("input", []) if not i.startswith("^")]
            for i in ins:
                visit(i)
            if node["op"] == "Const":
                consts[name] = weights[name]
            elif ins and all(i in consts for i in ins) and self._foldable(node):
                consts[name] = self._fold(node, [consts[self._ref(i)[0]] for i in node["input"]
                                                 if not i.startswith("^")])
            else:
                order.append(name)
            state[name] = 2

        for name, _ in self.output_refs:
            visit(name)
        self.plan = [(n, nodes[n]["op"], [i for i in nodes[n].get("input", []) if not i.startswith("^")],
                      nodes[n]) for n in order]
        self.ops_used = sorted({op for _, op, _, _ in self.plan})

        # constants needed at run time: float -> Parameter (size > 1) / buffer, others -> numpy
        self.pnames: dict[str, str] = {}
        self.np_consts: dict[str, np.ndarray] = {}
        conv_ops = {"Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"}
        used_as_kernel: dict[str, str] = {}
        for n, op, ins, node in self.plan:
            if op in conv_ops:
                used_as_kernel[self._ref(ins[1])[0]] = op
        needed = {self._ref(i)[0] for _, _, ins, _ in self.plan for i in ins}
        for c in sorted(needed & consts.keys()):
            a = consts[c]
            if a.dtype != np.float32:
                self.np_consts[c] = a
                continue
            if c in used_as_kernel:  # HWIO -> OIHW; depthwise HW(C)(M) -> (C*M)1HW
                if "Depthwise" in used_as_kernel[c]:
                    kh, kw, ci, m = a.shape
                    a = a.transpose(2, 3, 0, 1).reshape(ci * m, 1, kh, kw)
                else:
                    a = a.transpose(3, 2, 0, 1)
            pn = _safe(c)
            t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
            if t.numel() > 1:
                self.register_parameter(pn, nn.Parameter(t))
            else:
                self.register_buffer(pn, t)
            self.pnames[c] = pn

        # probe resize scales at the native size
        self.resize_scale: dict[str, tuple[float, float]] = {}
        self._probing = True
        h, w = native_hw
        with torch.no_grad():
            self.forward(torch.zeros(1, 3, h, w) if input_nhwc else torch.zeros(1, 3, h, w))
        self._probing = False

    # -- graph helpers
    @staticmethod
    def _ref(s: str) -> tuple[str, int]:
        if ":" in s:
            n, k = s.rsplit(":", 1)
            if k.isdigit():
                return n, int(k)
        return s, 0

    @staticmethod
    def _foldable(node) -> bool:
        return node["op"] in ("SparseToDense", "Cast", "Identity", *_NP_BINARY)

    @staticmethod
    def _fold(node, vals):
        op = node["op"]
        if op == "SparseToDense":
            idx, shape, values, default = vals
            out = np.full([int(s) for s in np.atleast_1d(shape)], default, dtype=np.asarray(values).dtype)
            idx = np.asarray(idx).reshape(-1, out.ndim) if np.asarray(idx).size else np.zeros((0, out.ndim), int)
            vals_b = np.broadcast_to(np.asarray(values), (idx.shape[0],))
            for i, v in zip(idx, vals_b):
                out[tuple(i)] = v
            return out
        if op == "Cast":
            dst = _attr(node, "DstT")
            return vals[0].astype({"DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_INT64": np.int64}[dst])
        if op == "Identity":
            return vals[0]
        r = _NP_BINARY[op](vals[0], vals[1])
        return r.astype(np.result_type(vals[0], vals[1]))

    def _const(self, name: str):
        if name in self.pnames:
            return getattr(self, self.pnames[name])
        return self.np_consts[name]

    def _get(self, env, ref: str):
        n, k = self._ref(ref)
        if n in env:
            v = env[n]
            return v[k] if isinstance(v, list) else v
        c = self._const(n)
        return c

    # -- forward
    def forward(self, x: torch.Tensor):
        env: dict[str, object] = {}
        for name, op, ins, node in self.plan:
            env[name] = self._run(name, op, ins, node, env, x)
        outs = []
        for n, k in self.output_refs:
            v = env[n]
            v = v[k] if isinstance(v, list) else v
            outs.append(v.t)
        return tuple(outs)

    def _run(self, name, op, ins, node, env, x):
        g = lambda i: self._get(env, ins[i])  # noqa: E731
        if op == "Placeholder":
            return V(x, nhwc=self.input_nhwc)
        if op in ("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            return self._conv(op, node, g(0), g(1), [g(i) for i in range(2, len(ins))])
        if op in _UNARY:
            v = g(0)
            return V(_UNARY[op](v.t), v.nhwc)
        if op == "LeakyRelu":
            v = g(0)
            return V(F.leaky_relu(v.t, _attr(node, "alpha", 0.2)), v.nhwc)
        if op in _BINARY:
            a, b = self._align(g(0), g(1))
            return V(_BINARY[op](a[0], b[0]), a[1])
        if op == "Mean":
            v, axes = g(0), [int(a) for a in np.atleast_1d(g(1))]
            keep = _attr(node, "keep_dims", False)
            if v.nhwc and keep:
                return V(v.t.mean(dim=[_NHWC_TO_NCHW_AXIS[a % 4] for a in axes], keepdim=True), True)
            return V(v.logical().mean(dim=axes, keepdim=keep))
        if op == "ConcatV2":
            vals = [g(i) for i in range(len(ins) - 1)]
            axis = int(g(len(ins) - 1))
            if all(isinstance(v, V) and v.nhwc for v in vals):
                return V(torch.cat([v.t for v in vals], _NHWC_TO_NCHW_AXIS[axis % 4]), True)
            return V(torch.cat([v.logical() for v in vals], axis))
        if op == "Transpose":
            v, perm = g(0), [int(p) for p in g(1)]
            if v.nhwc and perm == [0, 3, 1, 2]:
                return V(v.t, False)
            if not v.nhwc and v.t.dim() == 4 and perm == [0, 2, 3, 1]:
                return V(v.t, True)
            return V(v.logical().permute(*perm))
        if op in ("Pad", "PadV2"):
            v, pads = g(0), np.asarray(g(1)).reshape(-1, 2)
            value = float(np.asarray(g(2))) if op == "PadV2" else 0.0
            if v.nhwc:
                pads = pads[[0, 3, 1, 2]]
            flat = [int(p) for pair in pads[::-1] for p in pair]
            return V(F.pad(v.t, flat, value=value), v.nhwc)
        if op == "MaxPool":
            v = g(0)
            assert _attr(node, "data_format", "NHWC") == "NHWC"
            k, s = _attr(node, "ksize"), _attr(node, "strides")
            t = self._same_pad(v.nchw(), _attr(node, "padding"), k[1:3], s[1:3], [1, 1], float("-inf"))
            return V(F.max_pool2d(t, k[1:3], s[1:3]), True)
        if op == "ResizeBilinear":
            return self._resize(name, node, g(0), np.asarray(g(1)))
        if op == "SplitV":
            v, sizes, axis = g(0), [int(s) for s in g(1)], int(g(2))
            if v.nhwc:
                return [V(t, True) for t in torch.split(v.t, sizes, _NHWC_TO_NCHW_AXIS[axis % 4])]
            return [V(t) for t in torch.split(v.t, sizes, axis)]
        if op == "Reshape":
            v, shape = g(0), [int(s) for s in np.atleast_1d(g(1))]
            return V(v.logical().reshape(shape))
        raise NotImplementedError(f"op {op} (node {name})")

    def _align(self, a, b):
        """Bring two operands of an elementwise op to one physical layout: ((tensor, nhwc), ...)."""
        def as_tensor(c):
            return c if isinstance(c, torch.Tensor) else torch.from_numpy(np.asarray(c, dtype=np.float32))
        if isinstance(a, V) and isinstance(b, V):
            if a.nhwc == b.nhwc:
                return (a.t, a.nhwc), (b.t, b.nhwc)
            if a.nhwc and b.t.dim() == 4:
                return (a.t, True), (b.nchw(), True)
            if b.nhwc and a.t.dim() == 4:
                return (a.nchw(), True), (b.t, True)
            return (a.logical(), False), (b.logical(), False)
        if isinstance(a, V):
            v, c, swap = a, as_tensor(b), False
        else:
            v, c, swap = b, as_tensor(a), True
        if v.nhwc and c.dim() >= 1 and c.numel() > 1:
            # broadcast over the logical last axis (C); 4-D constants are logically NHWC too
            c = c.reshape(-1, 1, 1) if c.dim() == 1 else c.reshape([1] * (4 - c.dim()) + list(c.shape)).permute(0, 3, 1, 2)
        pair = ((v.t, v.nhwc), (c, v.nhwc))
        return (pair[1], pair[0]) if swap else pair

    def _same_pad(self, t, padding, k, s, d, value=0.0):
        if padding == "VALID":
            return t
        if padding != "SAME":
            raise NotImplementedError(f"padding {padding}")
        pads = []
        for dim, (kk, ss, dd) in zip((2, 3), zip(k, s, d)):
            if torch.jit.is_tracing():
                n = ss * 64  # traced graphs assume sizes divisible by the stride
            else:
                n = int(t.shape[dim])
            pads.append(tf_same_pads(n, kk, ss, dd))
        (pt, pb), (pl, pr) = pads
        if pt == pb == pl == pr == 0:
            return t
        return F.pad(t, [pl, pr, pt, pb], value=value)

    def _conv(self, op, node, xv, wname_val, extra):
        assert _attr(node, "data_format", "NHWC") == "NHWC", "only NHWC convolutions"
        w = wname_val
        s = _attr(node, "strides", [1, 1, 1, 1])[1:3]
        d = _attr(node, "dilations", [1, 1, 1, 1])[1:3]
        padding = _attr(node, "padding", "VALID")
        t = xv.nchw()
        groups = t.shape[1] if "Depthwise" in op else 1
        kh, kw = int(w.shape[2]), int(w.shape[3])
        if padding == "EXPLICIT":
            ep = _attr(node, "explicit_paddings")  # NHWC pairs
            t = F.pad(t, [ep[4], ep[5], ep[2], ep[3]])
        else:
            # symmetric SAME padding goes into the conv, asymmetric through F.pad
            pads = []
            for dim, kk, ss, dd in ((2, kh, s[0], d[0]), (3, kw, s[1], d[1])):
                n = ss * 64 if torch.jit.is_tracing() else int(t.shape[dim])
                pads.append(tf_same_pads(n, kk, ss, dd) if padding == "SAME" else (0, 0))
            (pt, pb), (pl, pr) = pads
            if pt != pb or pl != pr:
                t = F.pad(t, [pl, pr, pt, pb])
                pt = pl = 0
        bias = None
        fused = _attr(node, "fused_ops", []) if op.startswith(("_Fused", "Fused")) else []
        if fused and fused[0] == "BiasAdd":
            bias = extra[0]
            fused = fused[1:]
        elif fused:
            raise NotImplementedError(f"fused ops {fused}")
        if padding == "EXPLICIT":
            pt = pl = 0
        y = F.conv2d(t, w, bias, stride=tuple(s), padding=(pt, pl), dilation=tuple(d), groups=groups)
        for f in fused:
            if f == "Relu":
                y = F.relu(y)
            elif f == "Relu6":
                y = torch.clamp(y, 0.0, 6.0)
            elif f == "LeakyRelu":
                y = F.leaky_relu(y, _attr(node, "leakyrelu_alpha", 0.2))
            elif f == "Elu":
                y = F.elu(y)
            elif f == "Sigmoid":
                y = torch.sigmoid(y)
            else:
                raise NotImplementedError(f"fused activation {f}")
        return V(y, True)

    def _resize(self, name, node, v, size):
        t = v.nchw()
        legacy = not _attr(node, "align_corners", False) and not _attr(node, "half_pixel_centers", False)
        if _attr(node, "align_corners", False):
            raise NotImplementedError(f"{name}: align_corners=True")
        if self._probing:
            oh, ow = int(size[0]), int(size[1])
            sh, sw = oh / t.shape[2], ow / t.shape[3]
            ok = {2.0, 0.5} if not legacy else {2.0}
            if sh not in ok or sw not in ok:
                raise NotImplementedError(f"{name}: resize {tuple(t.shape[2:])} -> {(oh, ow)} (only 2x"
                                          f"{'' if legacy else ' and 0.5x'} is converted)")
            self.resize_scale[name] = (sh, sw)
        sh, sw = self.resize_scale[name]
        if legacy:
            return V(resize_bilinear_2x_legacy(t), True)
        return V(F.interpolate(t, scale_factor=(sh, sw), mode="bilinear", align_corners=False), True)
