"""The tfjs-graph interpreter's tricky parts on tiny hand-made graphs (no package cache needed)."""
import base64
import json

import numpy as np
import torch

from training.detectors.tfjs_graph import (TfjsGraph, decode_weights, resize_bilinear_2x_legacy,
                                           resize_bilinear_legacy_ref, tf_same_pads)


def _b64(s):
    return base64.b64encode(s.encode()).decode()


def _ilist(v):
    return {"list": {"i": [str(i) for i in v]}}


def _write_graph(tmp_path, nodes, weights, quantise_floats=True):
    """nodes: tfjs node dicts (Const nodes added for every weight); weights: name -> array."""
    specs, blobs = [], []
    for name, a in weights.items():
        a = np.asarray(a)
        if a.dtype.kind == "f":
            if quantise_floats:
                specs.append({"name": name, "shape": list(a.shape), "dtype": "float32",
                              "quantization": {"dtype": "float16", "original_dtype": "float32"}})
                blobs.append(a.astype("<f2").tobytes())
            else:
                specs.append({"name": name, "shape": list(a.shape), "dtype": "float32"})
                blobs.append(a.astype("<f4").tobytes())
        else:
            specs.append({"name": name, "shape": list(a.shape), "dtype": "int32"})
            blobs.append(a.astype("<i4").tobytes())
    consts = [{"name": n, "op": "Const", "attr": {}} for n in weights]
    (tmp_path / "g.bin").write_bytes(b"".join(blobs))
    j = {"format": "graph-model", "modelTopology": {"node": consts + nodes},
         "weightsManifest": [{"paths": ["g.bin"], "weights": specs}]}
    p = tmp_path / "model.json"
    p.write_text(json.dumps(j))
    return p


def _conv_nhwc_ref(x, w, stride, pads):
    """Plain VALID conv after explicit padding, NHWC x, HWIO w (float64 numpy)."""
    (pt, pb), (pl, pr) = pads
    x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    kh, kw, ci, co = w.shape
    oh = (x.shape[1] - kh) // stride + 1
    ow = (x.shape[2] - kw) // stride + 1
    out = np.zeros((1, oh, ow, co))
    for i in range(oh):
        for j in range(ow):
            patch = x[0, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            out[0, i, j] = np.tensordot(patch, w, axes=([0, 1, 2], [0, 1, 2]))
    return out


def _dw_nhwc_ref(x, w, stride, pads):
    kh, kw, c, m = w.shape
    assert m == 1
    outs = [_conv_nhwc_ref(x[..., k:k + 1], w[:, :, k:k + 1, :], stride, pads) for k in range(c)]
    return np.concatenate(outs, -1)


def test_tf_same_padding_is_asymmetric_on_stride_2():
    assert tf_same_pads(8, 3, 2) == (0, 1)
    assert tf_same_pads(8, 5, 2) == (1, 2)
    assert tf_same_pads(7, 3, 2) == (1, 1)
    assert tf_same_pads(8, 3, 1) == (1, 1)
    assert tf_same_pads(8, 1, 2) == (0, 0)


def test_legacy_bilinear_2x_is_src_equals_dst_over_2():
    x = torch.tensor([0.0, 2.0, 4.0]).view(1, 1, 1, 3)
    got = resize_bilinear_2x_legacy(x.expand(1, 1, 2, 3).contiguous())[0, 0, 0]
    assert got.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 4.0]  # last column repeats (no half-pixel shift)
    rng = np.random.RandomState(0)
    a = rng.randn(1, 2, 5, 4).astype(np.float32)
    ref = resize_bilinear_legacy_ref(a, 10, 8)
    np.testing.assert_allclose(resize_bilinear_2x_legacy(torch.from_numpy(a)).numpy(), ref, atol=1e-6)
    # and it is not torch's align_corners=False
    tv = torch.nn.functional.interpolate(torch.from_numpy(a), scale_factor=2, mode="bilinear", align_corners=False)
    assert np.abs(tv.numpy() - ref).max() > 1e-2


def test_float16_and_affine_weight_decoding():
    f16 = np.array([1.0, -2.5, 0.1666259765625, 65504.0, 2 ** -24], dtype="<f2")
    ints = np.array([3, -1], dtype="<i4")
    u8 = np.array([0, 10, 255], dtype="<u1")
    buf = f16.tobytes() + ints.tobytes() + u8.tobytes()
    man = [{"paths": ["a.bin"], "weights": [
        {"name": "h", "shape": [5], "dtype": "float32", "quantization": {"dtype": "float16", "original_dtype": "float32"}},
        {"name": "i", "shape": [2], "dtype": "int32"},
        {"name": "q", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
    ]}]
    w = decode_weights(man, lambda p: buf)
    assert w["h"].dtype == np.float32
    assert w["h"].tolist() == [1.0, -2.5, 0.1666259765625, 65504.0, 2 ** -24]
    assert w["i"].tolist() == [3, -1]
    assert w["q"].tolist() == [-1.0, 4.0, 126.5]


def test_nhwc_graph_same_padding_fused_conv_depthwise_and_legacy_resize(tmp_path):
    rng = np.random.RandomState(1)
    w1 = rng.randn(3, 3, 3, 4).astype(np.float32)
    b1 = rng.randn(4).astype(np.float32)
    w2 = rng.randn(5, 5, 4, 1).astype(np.float32)
    size = np.array([8, 8], dtype=np.int32)
    conv_attr = {"strides": _ilist([1, 2, 2, 1]), "padding": {"s": _b64("SAME")}, "data_format": {"s": _b64("NHWC")},
                 "dilations": _ilist([1, 1, 1, 1])}
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {}},
        {"name": "c1", "op": "_FusedConv2D", "input": ["x", "w1", "b1"],
         "attr": {**conv_attr, "fused_ops": {"list": {"s": [_b64("BiasAdd"), _b64("Relu")]}}, "num_args": {"i": "1"}}},
        {"name": "d2", "op": "DepthwiseConv2dNative", "input": ["c1", "w2"], "attr": conv_attr},
        {"name": "r", "op": "ResizeBilinear", "input": ["d2", "size"],
         "attr": {"align_corners": {"b": False}, "half_pixel_centers": {"b": False}}},
        {"name": "m", "op": "Mean", "input": ["r", "axes"], "attr": {"keep_dims": {"b": True}}},
        {"name": "y", "op": "Mul", "input": ["r", "m"], "attr": {}},
    ]
    p = _write_graph(tmp_path, nodes, {"w1": w1, "b1": b1, "w2": w2, "size": size,
                                       "axes": np.array([1, 2], dtype=np.int32)})
    g = TfjsGraph(p, ["y", "d2"], input_nhwc=True, native_hw=(16, 16))
    assert g.resize_scale == {"r": (2.0, 2.0)}
    x = rng.rand(1, 16, 16, 3).astype(np.float32) * 255
    with torch.no_grad():
        y, d2 = g(torch.from_numpy(x).permute(0, 3, 1, 2).contiguous())
    # reference with the float16-rounded weights and TF's asymmetric SAME padding
    w1h, b1h, w2h = (a.astype(np.float16).astype(np.float64) for a in (w1, b1, w2))
    c1 = np.maximum(_conv_nhwc_ref(x.astype(np.float64), w1h, 2, [(0, 1), (0, 1)]) + b1h, 0)
    d2_ref = _dw_nhwc_ref(c1, w2h, 2, [(1, 2), (1, 2)])
    np.testing.assert_allclose(d2.permute(0, 2, 3, 1).numpy(), d2_ref, rtol=1e-4, atol=1e-2)
    r_ref = resize_bilinear_legacy_ref(d2_ref.transpose(0, 3, 1, 2), 8, 8)
    y_ref = r_ref * r_ref.mean(axis=(2, 3), keepdims=True)
    np.testing.assert_allclose(y.numpy(), y_ref, rtol=1e-4, atol=1e-1)
    # symmetric padding would shift the result: the test above is sensitive to it
    d2_sym = _dw_nhwc_ref(np.maximum(_conv_nhwc_ref(x.astype(np.float64), w1h, 2, [(1, 1), (1, 1)])[:, :8, :8] + b1h, 0),
                          w2h, 2, [(2, 2), (2, 2)])[:, :4, :4]
    assert np.abs(d2_sym - d2_ref).max() > 1.0
    # and the module runs at another size (multiple of the total stride)
    with torch.no_grad():
        y2, _ = g(torch.rand(1, 3, 32, 24) * 255)
    assert tuple(y2.shape) == (1, 4, 16, 12)


def test_nchw_graph_transposes_are_free_and_half_pixel_half_resize_is_2x2_mean(tmp_path):
    """onnx-tf style: NCHW placeholder, Transpose to NHWC around each conv, reshape to [1, C, -1]."""
    rng = np.random.RandomState(2)
    w = rng.randn(1, 1, 3, 2).astype(np.float32)
    i32 = lambda v: np.array(v, dtype=np.int32)  # noqa: E731
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {}},
        {"name": "t1", "op": "Transpose", "input": ["x", "p_nhwc"], "attr": {}},
        {"name": "c", "op": "Conv2D", "input": ["t1", "w"],
         "attr": {"strides": _ilist([1, 1, 1, 1]), "padding": {"s": _b64("VALID")}, "data_format": {"s": _b64("NHWC")}}},
        {"name": "r", "op": "ResizeBilinear", "input": ["c", "half"],
         "attr": {"align_corners": {"b": False}, "half_pixel_centers": {"b": True}}},
        {"name": "t2", "op": "Transpose", "input": ["r", "p_nchw"], "attr": {}},
        {"name": "pad", "op": "Pad", "input": ["t2", "pads"], "attr": {}},
        {"name": "s", "op": "SplitV", "input": ["pad", "sizes", "axis"], "attr": {"num_split": {"i": "2"}}},
        {"name": "y", "op": "Reshape", "input": ["s:1", "shape"], "attr": {}},
    ]
    p = _write_graph(tmp_path, nodes, {"w": w, "p_nhwc": i32([0, 2, 3, 1]), "p_nchw": i32([0, 3, 1, 2]),
                                       "half": i32([4, 4]), "pads": i32([[0, 0], [0, 0], [1, 0], [0, 2]]),
                                       "sizes": i32([1, 1]), "axis": i32(1), "shape": i32([1, 1, -1])},
                     quantise_floats=False)
    g = TfjsGraph(p, ["y"], input_nhwc=False, native_hw=(8, 8))
    assert g.resize_scale == {"r": (0.5, 0.5)}
    x = rng.randn(1, 3, 8, 8).astype(np.float32)
    (y,) = g(torch.from_numpy(x))
    c = np.einsum("nchw,co->nohw", x, w[0, 0])
    r = c.reshape(1, 2, 4, 2, 4, 2).mean(axis=(3, 5))
    ref = np.pad(r, ((0, 0), (0, 0), (1, 0), (0, 2)))[:, 1:2].reshape(1, 1, -1)
    np.testing.assert_allclose(y.detach().numpy(), ref, atol=1e-5)
    assert y.shape == (1, 1, 5 * 6)
