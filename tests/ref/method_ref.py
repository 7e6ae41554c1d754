"""Independent PyTorch reference of the pure math in METHOD.md (§2 AdaIN, §3 depth, §5 sizes,
§6 CORAL, §1 strength and blend).

Written from METHOD.md, not from lib/*.c, and deliberately computed differently where the C code
takes shortcuts: AdaIN interpolation sums K full AdaIN maps, padding gathers indices, CORAL takes
its square roots from torch.linalg.eigh, resizing is F.interpolate itself.

Every function takes torch tensors (any float dtype), computes in float64 and returns float64
tensors (bool for masks).  Layouts: feature maps are C x N, images C x H x W.
"""
import math

import torch
import torch.nn.functional as F

ADAIN_EPS = 1e-5


def _f64(x):
    return torch.as_tensor(x).to(torch.float64)


# ---- §2 AdaIN ---------------------------------------------------------------------------------

def channel_stats(x, eps=ADAIN_EPS):
    """Per-channel mean and sqrt(unbiased variance + eps) of x[C, N]; N = 1 has variance 0."""
    x = _f64(x)
    mean = x.mean(dim=1)
    if x.shape[1] > 1:
        var = x.var(dim=1, unbiased=True)
    else:
        var = torch.zeros_like(mean)
    return mean, torch.sqrt(var + eps)


def channel_stats_masked(x, weight, eps=ADAIN_EPS):
    """channel_stats over the pixels with weight > 0.5; an empty region gives mean 0, std sqrt(eps)."""
    x = _f64(x)
    selected = _f64(weight) > 0.5
    if not bool(selected.any()):
        return torch.zeros(x.shape[0], dtype=torch.float64), torch.full((x.shape[0],), math.sqrt(eps),
                                                                       dtype=torch.float64)
    return channel_stats(x[:, selected], eps)


def _adain_with(x, mean, std, style_mean, style_std):
    return _f64(style_std)[:, None] * (x - mean[:, None]) / std[:, None] + _f64(style_mean)[:, None]


def adain(x, style_mean, style_std, eps=ADAIN_EPS):
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y), with the style statistics given."""
    x = _f64(x)
    mean, std = channel_stats(x, eps)
    return _adain_with(x, mean, std, style_mean, style_std)


def adain_interpolate(x, weights, style_means, style_stds, eps=ADAIN_EPS):
    """sum_k w_k AdaIN(x, style_k) with w normalised to sum 1 (style_means/stds are K x C)."""
    w = _f64(weights)
    w = w / w.sum()
    out = torch.zeros_like(_f64(x))
    for k in range(w.shape[0]):
        out = out + w[k] * adain(x, style_means[k], style_stds[k], eps)
    return out


def adain_regions(x, masks, style_means, style_stds, eps=ADAIN_EPS):
    """sum_k m_k * AdaIN_k(x, style_k), region k's content statistics over pixels with m_k > 0.5
    (over all pixels when the region has none)."""
    x = _f64(x)
    masks = _f64(masks)
    out = torch.zeros_like(x)
    for k in range(masks.shape[0]):
        # A region with no pixel above 0.5 takes the whole map's statistics (plain AdaIN).
        region = masks[k] if bool((masks[k] > 0.5).any()) else torch.ones_like(masks[k])
        mean, std = channel_stats_masked(x, region, eps)
        out = out + masks[k][None, :] * _adain_with(x, mean, std, style_means[k], style_stds[k])
    return out


# ---- §3 depth ---------------------------------------------------------------------------------

def depth_normalize(d, is_disparity=False, invalid=None):
    """D = (d - min) / (max - min) over valid pixels (constant -> 0), D = 1 - D for disparity;
    invalid pixels (d == invalid) get D = 1.  Returns (D[N], valid[N] bool)."""
    d = _f64(d)
    valid = torch.ones_like(d, dtype=torch.bool) if invalid is None else d != float(invalid)
    if not bool(torch.isfinite(d[valid]).all()):
        raise ValueError("non-finite depth value")
    out = torch.ones_like(d)
    if bool(valid.any()):
        v = d[valid]
        lo, hi = v.min(), v.max()
        dv = (v - lo) / (hi - lo) if bool(hi > lo) else torch.zeros_like(v)
        if is_disparity:
            dv = 1.0 - dv
        out[valid] = dv
    return out, valid


def range_map(D, lo, hi):
    """R(D) = lo + (hi - lo) D."""
    return float(lo) + (float(hi) - float(lo)) * _f64(D)


# ---- §5 sizes ---------------------------------------------------------------------------------

def resize_bilinear(x, H2, W2):
    """x[C, H, W] -> [C, H2, W2], F.interpolate bilinear with half-pixel centres."""
    return F.interpolate(_f64(x)[None], size=(int(H2), int(W2)), mode="bilinear", align_corners=False)[0]


def _reflect_indices(n, n2):
    """Source index of each padded index 0..n2-1: mirror without repeating the edge, period 2(n-1)."""
    i = torch.arange(n2, dtype=torch.int64)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    p = torch.remainder(i, period)
    return torch.where(p < n, p, period - p)


def pad_reflect(x, H2, W2):
    """Reflection pad at the bottom/right of x[C, H, W] to [C, H2, W2], for any pad length."""
    x = _f64(x)
    rows = _reflect_indices(x.shape[1], int(H2))
    cols = _reflect_indices(x.shape[2], int(W2))
    return x[:, rows][:, :, cols]


def crop(x, H2, W2):
    """Top-left [C, H2, W2] of x[C, H, W]."""
    return _f64(x)[:, :int(H2), :int(W2)].clone()


def block_average(x, block, valid=None, empty_value=0.0):
    """x[C, H, W] -> [C, H/block, W/block]: F.avg_pool2d, or with valid[H, W] the mean of the valid
    pixels of each block (empty_value where a block has none)."""
    x = _f64(x)
    if valid is None:
        return F.avg_pool2d(x[None], block)[0]
    C, H, W = x.shape
    h, w = H // block, W // block
    v = torch.as_tensor(valid).to(torch.float64)
    sums = (x * v[None]).reshape(C, h, block, w, block).sum(dim=(2, 4))
    counts = v.reshape(h, block, w, block).sum(dim=(1, 3))
    mean = sums / torch.clamp(counts, min=1.0)[None]
    return torch.where(counts[None] > 0, mean, torch.full_like(mean, float(empty_value)))


# ---- §1 strength and blend --------------------------------------------------------------------

def strength_map(alpha, mask=None, range=None, n=None):
    """S = clamp(alpha * M * R, 0, 1); a missing mask or range counts as 1 (n sizes S when both are
    missing)."""
    s = torch.full((n,), float(alpha), dtype=torch.float64) if n is not None else torch.tensor(float(alpha),
                                                                                                dtype=torch.float64)
    if mask is not None:
        s = s * _f64(mask)
    if range is not None:
        s = s * _f64(range)
    return torch.clamp(s, 0.0, 1.0)


def blend(t, fc, S):
    """f = S t + (1 - S) fc, S[N] broadcast over the C channels of t, fc [C, N]."""
    S = _f64(S)[None, :]
    return S * _f64(t) + (1.0 - S) * _f64(fc)


# ---- §6 CORAL ---------------------------------------------------------------------------------

def _standardize(x):
    """(x - mean) / unbiased std per channel.  A constant channel (std 0) becomes 0: METHOD.md is
    silent there and the library defines it so (no 0/0)."""
    mean = x.mean(dim=1, keepdim=True)
    std = x.std(dim=1, unbiased=True, keepdim=True)
    safe = torch.where(std > 0, std, torch.ones_like(std))
    z = torch.where(std > 0, (x - mean) / safe, torch.zeros_like(x))
    return z, mean, std


def _sym_power(m, power):
    w, v = torch.linalg.eigh(m)
    return v @ torch.diag(w ** power) @ v.T


def coral(style, content):
    """Style pixels style[3, Ns] recoloured to the colour statistics of content[3, Nc]:
    x' = Sigma_c^{1/2} Sigma_s^{-1/2} X_s with Sigma = X X^T + I, then content std and mean."""
    zs, _, _ = _standardize(_f64(style))
    zc, mean_c, std_c = _standardize(_f64(content))
    eye = torch.eye(3, dtype=torch.float64)
    sigma_s = zs @ zs.T + eye
    sigma_c = zc @ zc.T + eye
    transferred = _sym_power(sigma_c, 0.5) @ _sym_power(sigma_s, -0.5) @ zs
    return transferred * std_c + mean_c
