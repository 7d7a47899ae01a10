"""Detector-JND: the block-DCT codec proxy, the losses on tiny tensors, decoding/matching, export
contract. No data and no detector cache needed (the stand-in detector is used where one is)."""
import math

import numpy as np
import pytest
import torch

from training.detector_jnd import losses as L
from training.detector_jnd import metrics as MT
from training.detector_jnd.model import (DZ, DetJNDGenerator, JNDExport, block_dct, codec_proxy, content_cost,
                                         dct_matrix, distort, mb_pool, rgb_to_ycc, ycc_to_rgb)
from training.detector_jnd.stub import StubCenterNet


@pytest.mark.parametrize("n", [4, 8])
def test_dct_orthonormal_roundtrip(n):
    d = dct_matrix(n)
    assert torch.allclose(d @ d.t(), torch.eye(n), atol=1e-6)
    x = torch.randn(2, 3, 16, 24)
    y = block_dct(x, n)
    assert torch.allclose(block_dct(y, n, inverse=True), x, atol=1e-5)
    assert math.isclose(y.pow(2).sum().item(), x.pow(2).sum().item(), rel_tol=1e-5)  # Parseval
    # a flat block has only a DC coefficient = n * value
    f = torch.full((1, 1, n, n), 3.0)
    c = block_dct(f, n)
    assert abs(c[0, 0, 0, 0].item() - 3.0 * n) < 1e-5 and c.abs().sum().item() - 3.0 * n < 1e-4


def test_ycc_roundtrip():
    x = torch.rand(1, 3, 8, 8) * 255
    assert torch.allclose(ycc_to_rgb(rgb_to_ycc(x)), x, atol=1e-3)


def test_noise_width_matches_step():
    """Uniform coefficient noise of width step: pixel error variance step^2 / 12 (orthonormal DCT)."""
    x = torch.full((1, 3, 64, 64), 128.0)  # mid-grey: no clamping
    for s in (4.0, 16.0):
        step = torch.full((1, 1, 64, 64), s)
        e = codec_proxy(x, step, "noise", generator=torch.Generator().manual_seed(0)) - x
        ycc = rgb_to_ycc(e)
        assert abs(ycc.var().item() / (s * s / 12) - 1) < 0.05
        assert ycc.abs().max().item() <= s / 2 * 4 + 1e-3  # 16 coefficients of |u| <= s/2, orthonormal


def test_quant_deadzone_and_round():
    x = torch.rand(1, 3, 32, 32) * 200 + 20
    step = torch.full((1, 1, 32, 32), 8.0)
    y = block_dct(rgb_to_ycc(x), 4)
    for mode in ("round", "quant"):
        yq = block_dct(rgb_to_ycc(codec_proxy(x, step, mode)), 4)
        err = (yq - y).abs()
        assert err.max().item() <= (0.5 if mode == "round" else DZ) * 8 + 1e-2
    # huge step: everything but large DCs is zeroed by the dead zone
    big = torch.full((1, 1, 32, 32), 1000.0)
    assert torch.allclose(codec_proxy(x, big, "quant"), torch.zeros_like(x).clamp(0, 255) + ycc_to_rgb(
        block_dct(torch.zeros_like(y), 4, inverse=True)).clamp(0, 255), atol=1e-3)


def test_deadzone_proxy_differentiable_in_step():
    x = torch.rand(1, 3, 16, 16) * 255
    j = torch.full((1, 1, 16, 16), 10.0, requires_grad=True)
    e = codec_proxy(x, 2 * mb_pool(j), "deadzone", generator=torch.Generator().manual_seed(1)) - x
    e.pow(2).mean().backward()
    assert j.grad is not None and j.grad.abs().sum() > 0


def test_mb_pool_constant_per_macroblock():
    j = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 1, 32, 32)
    p = mb_pool(j)
    assert p.shape == j.shape
    assert torch.allclose(p[0, 0, :16, :16], j[0, 0, :16, :16].mean().expand(16, 16))


def test_content_cost_textured_mb_costlier():
    x = torch.full((1, 3, 32, 32), 100.0)
    x[..., :16, :16] += torch.randn(1, 3, 16, 16) * 40
    w = content_cost(x)
    assert w.shape == (1, 1, 2, 2) and w[0, 0, 0, 0] > w[0, 0, 1, 1]


def _ref(n=2, k=80, h=8, w=8):
    hm = torch.full((n, k, h, w), 0.02)
    hm[0, 3, 4, 4] = 0.6
    hm[0, 3, 4, 3] = 0.4
    wh = torch.full((n, 4, h, w), 10.0)
    return hm, wh


def test_loss1_zero_when_equal():
    hm, wh = _ref()
    tot, parts = L.loss1(hm.clone(), wh.clone(), hm, wh)
    assert tot.item() == pytest.approx(0.0, abs=1e-7)
    assert all(v.item() == pytest.approx(0.0, abs=1e-7) for v in parts.values())


def test_loss1_new_peak_penalised():
    hm, wh = _ref()
    hat = hm.clone()
    hat[1, 7, 2, 2] = 0.5  # a peak where the reference has none
    tot, parts = L.loss1(hat, wh, hm, wh)
    assert parts["new"].item() > 0 and tot.item() > 0
    # a rise that stays below 0.25 is not a new peak (only the dense term sees it)
    hat2 = hm.clone()
    hat2[1, 7, 2, 2] = 0.2
    _, p2 = L.loss1(hat2, wh, hm, wh)
    assert p2["new"].item() == 0 and p2["dense"].item() > 0


def test_loss1_peak_drop_and_box_change():
    hm, wh = _ref()
    hat = hm.clone()
    hat[0, 3, 4, 4] = 0.1
    _, p = L.loss1(hat, wh, hm, wh)
    assert p["peak"].item() > 0.5
    wh2 = wh.clone()
    wh2[0, :, 4, 4] = 20.0
    _, p = L.loss1(hm, wh2, hm, wh)
    assert p["wh"].item() > 0 and p["peak"].item() == 0
    assert L.reference_peaks(hm).sum().item() == 1  # 0.4 next to 0.6 is no local max


def test_loss2_loss3():
    c = torch.zeros(2, 1, 8, 8)
    e = torch.full((2, 3, 8, 8), 0.25)
    assert L.loss2(c, e, 0.25).item() == pytest.approx(0.0, abs=1e-6)  # N0 == N
    assert L.loss2(c, e * 0.5, 0.25).item() > 0 and L.loss2(c, e * 2, 0.25).item() > 0
    c2 = torch.zeros(1, 1, 8, 8)
    c2[..., :4, :] = 1.0
    e_obj = torch.zeros(1, 3, 8, 8)
    e_obj[..., :4, :] = 0.1
    e_bg = torch.zeros(1, 3, 8, 8)
    e_bg[..., 4:, :] = 0.1
    assert L.loss3(c2, e_obj).item() > L.loss3(c2, e_bg).item()  # noise on objects costs more
    assert L.rate_term(torch.full((1, 1, 2, 2), 8.0), torch.ones(1, 1, 2, 2)).item() == pytest.approx(-3 / 8)


def test_decode_and_match():
    hm = torch.zeros(80, 16, 16)
    hm[1, 5, 5] = 0.5
    hm[2, 10, 10] = 0.3
    wh = torch.full((4, 16, 16), 8.0)
    ref = MT.decode(hm, wh)
    assert len(ref) == 2 and ref[0][0] == 1 and ref[0][2:].tolist() == [12.0, 12.0, 28.0, 28.0]
    assert MT.match_frame(ref, ref) == (1, 0, 0)  # the 0.3 one is uncertain: neither TP nor FN
    test = MT.decode(hm * torch.tensor(0.6), wh)  # 0.30 still matches (>= 0.25), 0.18 gone
    assert MT.match_frame(ref, test) == (1, 0, 0)
    hm2 = hm.clone()
    hm2[1, 5, 5] = 0.2
    hm2[7, 2, 2] = 0.9
    assert MT.match_frame(ref, MT.decode(hm2, wh)) == (0, 1, 1)
    assert MT.f1([(1, 0, 0), (0, 1, 1)]) == pytest.approx(0.5)


@pytest.mark.parametrize("variant", ["additive", "codec"])
def test_generator_contract_and_training_step(variant):
    g = DetJNDGenerator(variant)
    x = torch.rand(2, 3, 64, 96)
    c = torch.rand(2, 1, 64, 96)
    det = StubCenterNet()
    xh, jnd, step = distort(g, x, c, "deadzone" if variant == "codec" else "noise")
    assert xh.shape == x.shape and jnd.shape == (2, 1, 64, 96) and (jnd >= 0).all()
    assert float(xh.min()) >= 0 and float(xh.max()) <= 1
    hm, wh = det(xh * 255)
    assert hm.shape == (2, 80, 16, 24) and wh.shape == (2, 4, 16, 24)
    with torch.no_grad():
        hr, wr = det(x * 255)
    loss = L.loss1(hm, wh, hr, wr)[0] + L.loss2(c, (xh - x) * 2) + L.loss3(c, (xh - x) * 2)
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    out = JNDExport(g.eval())(x[:1], c[:1])
    assert out.shape == (1, 1, 64, 96) and (out >= 0).all() and (out <= 255).all()


def test_onnx_export_dynamic(tmp_path):
    onnx = pytest.importorskip("onnx")
    from training.detector_jnd.export import export_one
    g = DetJNDGenerator("codec").eval()
    p = tmp_path / "g.onnx"
    export_one(g, p)
    m = onnx.load(str(p))
    assert [i.name for i in m.graph.input] == ["x", "guidance"] and m.graph.output[0].name == "jnd"
    dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, "H", "W"]
