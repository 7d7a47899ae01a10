"""Loss functions on hand-checkable tensors (paper Eqs. 8-15)."""
import math

import torch
import torch.nn.functional as F

from training.losses import loss1, loss2, loss3, magnitude_terms, total_loss


def test_loss2_zero_when_n_equals_n0():
    c = torch.full((2, 1, 4, 4), 0.25)           # N = 1 - 0.25 = 0.75
    e = torch.full((2, 3, 4, 4), 0.75)           # N0 = mean|e| = 0.75 (normalised units)
    e[1] = -0.75                                  # sign does not matter
    n, n0 = magnitude_terms(c, e)
    assert torch.allclose(n, torch.tensor([0.75, 0.75]))
    assert torch.allclose(n0, torch.tensor([0.75, 0.75]))
    assert abs(loss2(c, e).item()) < 1e-6


def test_loss2_hand_value_and_units():
    c = torch.zeros(1, 1, 2, 2)                  # N = 1
    e = torch.full((1, 3, 2, 2), 0.5)            # N0 = 0.5
    want = math.log((1 + 0.25) / (2 * 0.5))     # ln(1.25)
    assert abs(loss2(c, e, q=0.0).item() - want) < 1e-6
    # "unit" measures e in [0,1] pixel units: N0 = 0.25
    want_u = math.log((1 + 0.0625) / (2 * 0.25))
    assert abs(loss2(c, e, q=0.0, units="unit").item() - want_u) < 1e-6
    assert loss2(c, e).item() > 0


def test_loss3_is_softmax_weighted_mean_abs_e():
    c = torch.tensor([[[[0.0, 1.0]]]])           # 1x1x1x2
    e = torch.tensor([[[[1.0, -2.0]], [[1.0, -2.0]], [[1.0, -2.0]]]])  # |e| = [1, 2]
    v = torch.softmax(torch.tensor([0.0, 1.0]), 0)
    want = (v * torch.tensor([1.0, 2.0])).sum().item()
    assert abs(loss3(c, e).item() - want) < 1e-6


def test_loss3_moves_noise_away_from_salient_pixels():
    """A few optimisation steps on a toy case: |e| shrinks where c is high,
    relative to where c is low, when Loss2 holds the mean magnitude."""
    torch.manual_seed(0)
    c = torch.zeros(1, 1, 4, 4)
    c[..., :2, :] = 1.0                           # top half salient
    raw = torch.full((1, 3, 4, 4), 0.3, requires_grad=True)
    opt = torch.optim.SGD([raw], lr=0.5)
    for _ in range(50):
        e = raw
        loss = loss2(c, e) + loss3(c, e) * 5.0
        opt.zero_grad()
        loss.backward()
        opt.step()
    a = raw.detach().abs()
    hi, lo = a[..., :2, :].mean().item(), a[..., 2:, :].mean().item()
    assert hi < lo, (hi, lo)


def test_loss1_matches_mean_cross_entropy():
    torch.manual_seed(1)
    logits = [torch.randn(5, 10) for _ in range(4)]
    labels = [torch.randint(0, 10, (5,)) for _ in range(4)]
    want = sum(F.cross_entropy(lg, lb).item() for lg, lb in zip(logits, labels)) / 4
    assert abs(loss1(logits, labels).item() - want) < 1e-6
    # perfect, confident classifiers -> ~0
    lab = torch.arange(5)
    conf = [F.one_hot(lab, 10).float() * 100 for _ in range(4)]
    assert loss1(conf, [lab] * 4).item() < 1e-6


def test_total_loss_weights():
    torch.manual_seed(2)
    logits = [torch.randn(2, 10) for _ in range(4)]
    labels = [torch.randint(0, 10, (2,)) for _ in range(4)]
    c = torch.rand(2, 1, 8, 8)
    e = torch.randn(2, 3, 8, 8) * 0.3
    tot, (l1, l2, l3) = total_loss(logits, labels, c, e, alpha=2.0, beta=0.5)
    assert abs(tot.item() - (l1 + 2 * l2 + 0.5 * l3).item()) < 1e-5
