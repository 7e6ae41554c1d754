"""adain_dcs.metrics: the depth-preservation scores of adn-stylize --report.

The expected numbers come from the definitions, written out here in plain Python (math, sorted;
no numpy or scipy), never from the module's code."""
import math

import pytest

np = pytest.importorskip("numpy")
import adain_dcs as adn  # noqa: E402


def plain_pearson(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def plain_ranks(x):
    """Fractional ranks: equal values share the mean of the ranks 1..n they occupy."""
    order = sorted(range(len(x)), key=lambda i: x[i])
    ranks = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + 1 + j + 1) / 2.0
        i = j + 1
    return ranks


def plain_si(content, output):
    g = [math.log(1 + b) - math.log(1 + a) for a, b in zip(content, output)]
    n = len(g)
    return sum(v * v for v in g) / n - (sum(g) / n) ** 2


def plain_scores(content, output):
    return (plain_pearson(content, output), plain_pearson(plain_ranks(content), plain_ranks(output)),
            plain_si(content, output))


def test_scores_match_the_definitions(rng):
    content = rng.random((17, 23)).astype(np.float32)
    # Ties on purpose (quantised values), and an output that keeps the order only partly.
    content[3:6] = 0.5
    output = np.clip(0.7 * content + 0.3 * rng.random((17, 23)), 0, 1).astype(np.float32)
    output[10:] = np.round(output[10:] * 8) / 8
    got = adn.depth_scores(content, output)
    want = plain_scores([float(v) for v in content.ravel()], [float(v) for v in output.ravel()])
    assert got.pearson == pytest.approx(want[0], abs=1e-12)
    assert got.spearman == pytest.approx(want[1], abs=1e-12)
    assert got.si_error == pytest.approx(want[2], abs=1e-12)
    assert 0.5 < got.spearman < 0.99   # the case is neither trivial nor degenerate


def test_identical_and_reversed_depth():
    d = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    same = adn.depth_scores(d, d)
    assert same.pearson == pytest.approx(1.0) and same.spearman == pytest.approx(1.0)
    assert same.si_error == pytest.approx(0.0, abs=1e-15)
    flipped = adn.depth_scores(d, 1 - d)
    assert flipped.pearson == pytest.approx(-1.0) and flipped.spearman == pytest.approx(-1.0)
    # A constant output has no depth order: the correlations are undefined.
    flat = adn.depth_scores(d, np.full_like(d, 0.3))
    assert math.isnan(flat.pearson) and math.isnan(flat.spearman)
    assert flat.si_error == pytest.approx(plain_si(list(d.ravel()), [0.3] * 64))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="differ in size"):
        adn.depth_scores(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        adn.depth_scores(np.array([0.0, float("nan")]), np.zeros(2))
    with pytest.raises(ValueError, match="empty"):
        adn.depth_scores([], [])


def test_depth_preservation_runs_the_depth_network(analytic_bundle, rng):
    """With the analytic bundle the depth network is the luma, normalised (0 = darkest)."""
    content = rng.random((24, 40, 3)).astype(np.float32)
    output = np.clip(content[:, ::-1] * 1.3 - 0.1, -0.5, 1.5).astype(np.float32)  # clamped inside

    def depth(rgb):
        rgb = np.clip(rgb.astype(np.float64), 0, 1)
        y = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
        return (y - y.min()) / (y.max() - y.min())

    with adn.Model(str(analytic_bundle)) as model, model.context() as ctx:
        got = adn.depth_preservation(ctx, content, output)
    want = plain_scores(list(depth(content).ravel()), list(depth(output).ravel()))
    assert got.pearson == pytest.approx(want[0], abs=1e-5)
    assert got.spearman == pytest.approx(want[1], abs=1e-3)
    assert got.si_error == pytest.approx(want[2], rel=1e-3, abs=1e-7)
