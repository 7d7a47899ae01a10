"""Model shapes, CAM range, fully-convolutional behaviour, generator bounds."""
import pytest
import torch

from training.models import (CLASSIFIERS, ClassifierWithCam, GeneratorExport, JNDGenerator,
                             apply_jnd, build_classifier, cam_from_maps)


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("hw", [(32, 32), (48, 64)])
def test_classifier_cam_shape_and_range(name, hw):
    torch.manual_seed(0)
    m = ClassifierWithCam(build_classifier(name).eval()).eval()
    x = torch.rand(2, 3, *hw) * 2 - 1
    with torch.no_grad():
        logits, cam = m(x)
    assert logits.shape == (2, 10)
    assert cam.shape == (2, 1) + hw
    assert cam.min() >= 0 and cam.max() <= 1
    # max is 1 up to the eps guard (untrained nets can have nearly flat maps)
    assert (cam.amax((2, 3)) > 0.5).all()


def test_cam_is_weighted_sum_of_last_conv_maps():
    torch.manual_seed(0)
    net = build_classifier("resnet").eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        logits, f = net.logits_and_maps(x)
        # logits == GAP(f) @ W^T + b : CAM is exact
        assert torch.allclose(logits, net.fc(f.mean((2, 3))), atol=1e-5)
        k = logits.argmax(1).item()
        raw = (f[0] * net.fc.weight[k][:, None, None]).sum(0)
        assert torch.allclose(raw.mean() + net.fc.bias[k], logits[0, k], atol=1e-4)
        cam = cam_from_maps(logits, f, net.fc.weight, (f.shape[-2], f.shape[-1]))
        want = (raw - raw.min()) / (raw.max() - raw.min() + 1e-6)
        assert torch.allclose(cam[0, 0], want, atol=1e-5)


def test_flat_cam_is_safe():
    logits = torch.zeros(1, 10)
    f = torch.ones(1, 4, 2, 2)
    cam = cam_from_maps(logits, f, torch.ones(10, 4), (8, 8))
    assert torch.isfinite(cam).all() and cam.abs().max() == 0


@pytest.mark.parametrize("hw", [(32, 32), (48, 64)])
def test_generator_bounded(hw):
    torch.manual_seed(0)
    g = JNDGenerator(amp=2.0).eval()
    x = torch.rand(2, 3, *hw) * 2 - 1
    c = torch.rand(2, 1, *hw)
    with torch.no_grad():
        e = g(x, c)
        xh, e_eff = GeneratorExport(g)(x, c)
    assert e.shape == (2, 3) + hw
    assert e.abs().max() <= 2.0
    assert xh.min() >= -1 and xh.max() <= 1
    assert torch.allclose(xh - x, e_eff)
    xh2, _ = apply_jnd(x, e)
    assert torch.allclose(xh, xh2)


def test_generator_needs_stride_multiple():
    assert JNDGenerator.STRIDE == 8
