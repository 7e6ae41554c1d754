"""How well a stylization keeps the depth of its content (the numbers of ``adn-stylize --report``).

Both maps are normalised depths D in [0,1] (0 = near) of the same size, usually the depth
network's estimate of the content and of the output (:func:`depth_preservation` runs it):

- ``pearson``: the correlation of the values (1 = the same up to an affine map);
- ``spearman``: the correlation of their ranks, tied values sharing their mean rank (1 = the same
  depth order);
- ``si_error``: the scale-invariant error of Eigen, Puhrsch & Fergus 2014 (their eq. 1 with
  lambda = 1) on z = 1 + D, which keeps the logarithm finite at the nearest pixel (D = 0):
  g_i = ln z_output,i - ln z_content,i,  si = mean(g^2) - mean(g)^2  (0 = equal up to a scale).

A correlation is NaN when either map is constant.  Needs numpy.
"""
from __future__ import annotations

from typing import Any, NamedTuple

try:
    import numpy as np
except ImportError:  # pragma: no cover - the rest of the package works without numpy
    np = None  # type: ignore[assignment]


class DepthScore(NamedTuple):
    pearson: float
    spearman: float
    si_error: float


def _flat(depth: Any, name: str) -> Any:
    if np is None:
        raise ImportError("adain_dcs.metrics needs numpy")
    values = np.asarray(depth, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} has NaN or infinite values")
    return values


def _pearson(x: Any, y: Any) -> float:
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(np.dot(dx, dx)), float(np.dot(dy, dy))
    return float(np.dot(dx, dy)) / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else float("nan")


def _ranks(x: Any) -> Any:
    """Ranks 1..n; a group of equal values gets the mean of the ranks it spans."""
    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    starts_group = np.empty(x.size, dtype=bool)
    starts_group[0] = True
    starts_group[1:] = ordered[1:] != ordered[:-1]
    first = np.flatnonzero(starts_group)                # 0-based start of each group
    end = np.append(first[1:], x.size)                  # one past its end
    mean_rank = (first + 1 + end) / 2.0
    ranks = np.empty(x.size, dtype=np.float64)
    ranks[order] = mean_rank[np.cumsum(starts_group) - 1]
    return ranks


def depth_scores(content_depth: Any, output_depth: Any) -> DepthScore:
    """The three numbers for two normalised depth maps of the same size (any array-like)."""
    a, b = _flat(content_depth, "content_depth"), _flat(output_depth, "output_depth")
    if a.size != b.size:
        raise ValueError(f"the depth maps differ in size ({a.size} and {b.size} values)")
    g = np.log1p(b) - np.log1p(a)
    si = float(np.mean(g * g) - np.mean(g) ** 2)
    return DepthScore(_pearson(a, b), _pearson(_ranks(a), _ranks(b)), si)


def depth_preservation(model_or_context: Any, content: Any, output: Any) -> DepthScore:
    """Runs the depth network of a :class:`~adain_dcs.Model` or :class:`~adain_dcs.Context` on the
    content and on the output and scores them with :func:`depth_scores`.  Images follow the
    binding's dtype rules (uint8 0..255, uint16 0..65535, floats in [0,1]); a float output is
    clamped to [0,1] first, as it is when written to a file."""
    if np is None:
        raise ImportError("adain_dcs.metrics needs numpy")
    output = np.asarray(output)
    if output.dtype.kind == "f":
        output = np.clip(output.astype(np.float32), 0.0, 1.0)
    return depth_scores(model_or_context.estimate_depth(content), model_or_context.estimate_depth(output))
