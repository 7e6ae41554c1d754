"""The pure math wrappers against direct PyTorch / numpy computations of METHOD.md."""
from array import array

import pytest

import adain_dcs as adn

np = pytest.importorskip("numpy")

EPS = 1e-5
TOL = 1e-5


def torch_stats(torch, x, eps=EPS):
    """METHOD.md §2: mean and sqrt(unbiased var + eps) per channel of C x N."""
    t = torch.from_numpy(x).double()
    var = t.var(dim=1, unbiased=True) if t.shape[1] > 1 else torch.zeros(t.shape[0]).double()
    return t.mean(dim=1), torch.sqrt(var + eps)


def torch_adain(torch, x, style_mean, style_std, eps=EPS):
    mean, std = torch_stats(torch, x, eps)
    t = torch.from_numpy(x).double()
    out = (torch.from_numpy(style_std).double()[:, None] * (t - mean[:, None]) / std[:, None]
           + torch.from_numpy(style_mean).double()[:, None])
    return out.numpy()


def test_channel_stats_vs_torch(torch, rng):
    x = rng.normal(2.0, 3.0, size=(6, 50)).astype(np.float32)
    mean, std = adn.channel_stats(x)
    ref_mean, ref_std = torch_stats(torch, x)
    assert np.max(np.abs(mean - ref_mean.numpy())) < TOL
    assert np.max(np.abs(std - ref_std.numpy())) < TOL


def test_channel_stats_single_pixel_has_zero_variance(rng):
    x = rng.normal(size=(3, 1)).astype(np.float32)
    mean, std = adn.channel_stats(x)
    assert np.array_equal(mean, x[:, 0])
    assert np.allclose(std, np.sqrt(np.float32(EPS)), rtol=1e-6)


def test_masked_stats_vs_torch(torch, rng):
    x = rng.normal(size=(4, 40)).astype(np.float32)
    mask = (rng.uniform(size=40) > 0.4).astype(np.float32)
    mean, std = adn.channel_stats(x, mask=mask)
    ref_mean, ref_std = torch_stats(torch, x[:, mask > 0.5])
    assert np.max(np.abs(mean - ref_mean.numpy())) < TOL
    assert np.max(np.abs(std - ref_std.numpy())) < TOL


def test_adain_vs_torch_formula(torch, rng):
    x = rng.normal(0.5, 2.0, size=(8, 5, 7)).astype(np.float32)
    style_mean = rng.normal(size=8).astype(np.float32)
    style_std = rng.uniform(0.1, 3.0, size=8).astype(np.float32)
    out = adn.adain(x, style_mean, style_std)
    assert out.shape == x.shape and out.dtype == np.float32
    ref = torch_adain(torch, x.reshape(8, -1), style_mean, style_std).reshape(x.shape)
    assert np.max(np.abs(out - ref)) < 1e-4


def test_adain_flat_sequences_without_numpy_types(torch, rng):
    x = rng.normal(size=(2, 6)).astype(np.float32)
    out = adn.adain(array("f", x.ravel()), [1.0, -1.0], [2.0, 0.5], shape=(2, 6))
    assert isinstance(out, array) and len(out) == 12
    ref = torch_adain(torch, x, np.array([1.0, -1.0], np.float32), np.array([2.0, 0.5], np.float32))
    assert np.max(np.abs(np.array(out).reshape(2, 6) - ref)) < 1e-5


def test_adain_interpolate_vs_torch(torch, rng):
    x = rng.normal(size=(5, 30)).astype(np.float32)
    means = rng.normal(size=(3, 5)).astype(np.float32)
    stds = rng.uniform(0.2, 2.0, size=(3, 5)).astype(np.float32)
    weights = np.array([1.0, 2.0, 5.0], np.float32)
    out = adn.adain_interpolate(x, weights, means, stds)
    w = weights / weights.sum()
    ref = sum(w[k] * torch_adain(torch, x, means[k], stds[k]) for k in range(3))
    assert np.max(np.abs(out - ref)) < 1e-4


def test_adain_regions_vs_torch(torch, rng):
    x = rng.normal(size=(4, 6, 6)).astype(np.float32)
    left = np.zeros((6, 6), np.float32)
    left[:, :3] = 1.0
    masks = np.stack([left, 1.0 - left])
    means = rng.normal(size=(2, 4)).astype(np.float32)
    stds = rng.uniform(0.5, 2.0, size=(2, 4)).astype(np.float32)
    out = adn.adain_regions(x, masks, means, stds)
    flat, ref = x.reshape(4, -1), np.zeros((4, 36))
    for k in range(2):
        m = masks[k].ravel()
        mean, std = torch_stats(torch, flat[:, m > 0.5])
        t = (stds[k][:, None] * (flat - mean.numpy()[:, None]) / std.numpy()[:, None]
             + means[k][:, None])
        ref += m[None, :] * t
    assert np.max(np.abs(out.reshape(4, -1) - ref)) < 1e-4


def test_depth_normalize_vs_numpy(rng):
    d = rng.uniform(1.0, 9.0, size=(7, 9)).astype(np.float32)
    ref = (d.astype(np.float64) - d.min()) / (d.max() - d.min())
    assert np.max(np.abs(adn.depth_normalize(d) - ref)) < 1e-6
    assert np.max(np.abs(adn.depth_normalize(d, is_disparity=True) - (1.0 - ref))) < 1e-6
    assert np.array_equal(adn.depth_normalize(np.full(5, 3.0, np.float32)), np.zeros(5, np.float32))


def test_depth_normalize_invalid_pixels(rng):
    d = rng.uniform(1.0, 9.0, size=20).astype(np.float32)
    d[[3, 11]] = 0.0
    out, valid = adn.depth_normalize(d, invalid=0.0, return_valid=True)
    good = d != 0.0
    ref = (d[good] - d[good].min()) / (d[good].max() - d[good].min())
    assert np.array_equal(valid, good.astype(np.uint8))
    assert np.max(np.abs(out[good] - ref)) < 1e-6
    assert np.all(out[~good] == 1.0)


def test_range_strength_blend_vs_numpy(rng):
    d = rng.uniform(size=30).astype(np.float32)
    r = adn.depth_range_map(d, 0.8, 0.2)
    assert np.max(np.abs(r - (0.8 + (0.2 - 0.8) * d))) < 1e-6
    mask = rng.uniform(size=30).astype(np.float32)
    s = adn.strength_map(0.7, mask, r)
    assert np.max(np.abs(s - np.clip(0.7 * mask * r, 0, 1))) < 1e-6
    assert np.allclose(adn.strength_map(0.25, n=4), 0.25)
    t = rng.normal(size=(3, 30)).astype(np.float32)
    fc = rng.normal(size=(3, 30)).astype(np.float32)
    f = adn.blend(t, fc, s)
    assert np.max(np.abs(f - (s * t + (1 - s) * fc))) < 1e-5


def test_resize_vs_torch_interpolate(torch, rng):
    import torch.nn.functional as F
    x = rng.uniform(size=(3, 11, 17)).astype(np.float32)
    for h, w in ((23, 9), (5, 40), (11, 17), (1, 1)):
        out = adn.resize_bilinear(x, h, w)
        ref = F.interpolate(torch.from_numpy(x)[None], size=(h, w), mode="bilinear",
                            align_corners=False)[0].numpy()
        assert out.shape == (3, h, w)
        assert np.max(np.abs(out - ref)) < 1e-5, (h, w)
    assert adn.resize_bilinear(x[0], 4, 4).shape == (4, 4)


def test_pad_reflect_vs_torch_and_crop(torch, rng):
    import torch.nn.functional as F
    x = rng.uniform(size=(2, 13, 21)).astype(np.float32)
    h, w = adn.round_up(13, 8), adn.round_up(21, 8)
    assert (h, w) == (16, 24)
    padded = adn.pad_reflect(x, h, w)
    ref = F.pad(torch.from_numpy(x)[None], (0, w - 21, 0, h - 13), mode="reflect")[0].numpy()
    assert np.array_equal(padded, ref)
    assert np.array_equal(adn.crop(padded, 13, 21), x)


def test_pad_reflect_beyond_the_image_is_periodic():
    x = np.array([[[1.0, 2.0, 3.0]]], np.float32)  # 1 x 1 x 3
    out = adn.pad_reflect(x, 1, 10)
    # period 2(n-1) = 4 over 1 2 3 2 | 1 2 3 2 ...
    assert out[0, 0].tolist() == [1, 2, 3, 2, 1, 2, 3, 2, 1, 2]
    one = adn.pad_reflect(np.array([[[7.0]]], np.float32), 3, 2)
    assert np.all(one == 7.0)


def test_block_average_vs_avg_pool(torch, rng):
    import torch.nn.functional as F
    x = rng.uniform(size=(3, 16, 24)).astype(np.float32)
    out = adn.block_average(x, 8)
    ref = F.avg_pool2d(torch.from_numpy(x)[None], 8)[0].numpy()
    assert out.shape == (3, 2, 3)
    assert np.max(np.abs(out - ref)) < 1e-6
    valid = np.ones((16, 24), np.uint8)
    valid[:8, :8] = 0          # one block without any valid pixel
    valid[8:, :4] = 0          # one block half valid
    out = adn.block_average(x[:1], 8, valid=valid, empty_value=-1.0)
    assert out[0, 0, 0] == -1.0
    assert abs(out[0, 1, 0] - x[0, 8:, 4:8].mean()) < 1e-6
    assert abs(out[0, 1, 1] - ref[0, 1, 1]) < 1e-6


def numpy_coral(style, content):
    """METHOD.md §6 in float64 with eigh-based symmetric square roots."""
    def standardise(x):
        mean, std = x.mean(axis=1, keepdims=True), x.std(axis=1, ddof=1, keepdims=True)
        return (x - mean) / std, mean, std

    def sqrtm(m, power):
        vals, vecs = np.linalg.eigh(m)
        return (vecs * vals ** power) @ vecs.T

    xs, _, _ = standardise(style.astype(np.float64))
    xc, mean_c, std_c = standardise(content.astype(np.float64))
    sigma_s, sigma_c = xs @ xs.T + np.eye(3), xc @ xc.T + np.eye(3)
    moved = sqrtm(sigma_c, 0.5) @ sqrtm(sigma_s, -0.5) @ xs
    return moved * std_c + mean_c


def test_coral_vs_numpy(rng):
    style = rng.uniform(size=(3, 200)).astype(np.float32)
    style[1] = 0.5 * style[0] + 0.2 * style[1]
    content = rng.normal([[0.3], [0.6], [0.5]], [[0.1], [0.2], [0.05]], size=(3, 150)).astype(np.float32)
    out = adn.coral(style, content)
    ref = numpy_coral(style, content)
    assert out.shape == style.shape
    assert np.max(np.abs(out - ref)) < 1e-4
