"""Data loading (official python batches) and augmentation, no dataset needed."""
import pickle

import numpy as np
import torch

from training import data as D


def _fake_batches(tmp_path, n=4):
    rng = np.random.RandomState(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = {b"data": rng.randint(0, 256, (n, 3072)).astype(np.uint8), b"labels": list(range(n))}
        with open(tmp_path / name, "wb") as f:
            pickle.dump(d, f)
    return d


def test_official_python_batches(tmp_path):
    last = _fake_batches(tmp_path)
    xtr, ytr, xte, yte = D.load_cifar10(str(tmp_path))
    assert xtr.shape == (20, 32, 32, 3) and xtr.dtype == np.uint8
    assert xte.shape == (4, 32, 32, 3) and list(yte) == [0, 1, 2, 3]
    # channel-planar rows -> HWC
    assert xte[1, 0, 0, 1] == last[b"data"][1][1024]


def test_normalisation_and_augment():
    x = np.zeros((3, 32, 32, 3), np.uint8)
    x[..., 0] = 255
    t = D.to_tensor(x)
    assert t.shape == (3, 3, 32, 32)
    assert torch.allclose(t[:, 0], torch.ones(3, 32, 32)) and torch.allclose(t[:, 1], -torch.ones(3, 32, 32))
    a = D.augment_crop_flip(torch.randn(5, 3, 32, 32))
    assert a.shape == (5, 3, 32, 32)
    f = torch.tensor([True, False, True, False, False])
    xb = torch.randn(5, 3, 8, 8)
    out, _ = D.augment_flip(xb, f)
    assert torch.equal(out[0], xb[0].flip(2)) and torch.equal(out[1], xb[1])


def test_crop_flip_is_a_crop():
    xb = torch.arange(2 * 1 * 32 * 32, dtype=torch.float32).reshape(2, 1, 32, 32)
    torch.manual_seed(0)
    out = D.augment_crop_flip(xb, pad=0)
    for i in range(2):
        assert torch.equal(out[i], xb[i]) or torch.equal(out[i], xb[i].flip(2))


def test_official_binary_batches(tmp_path):
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    rng = np.random.RandomState(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        rec = rng.randint(0, 256, (3, 3073)).astype(np.uint8)
        rec[:, 0] = [7, 8, 9]
        rec.tofile(d / f"{name}.bin")
    xtr, ytr, xte, yte = D.load_cifar10(str(tmp_path))
    assert xtr.shape == (15, 32, 32, 3) and list(yte) == [7, 8, 9]
    assert xte[2, 0, 1, 2] == rec[2, 1 + 2048 + 1]
