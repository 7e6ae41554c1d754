/* CORAL colour transfer (METHOD.md §6), all in double:
 *     X = (x - mean) / std per channel (unbiased std),  Sigma = X X^T + I
 *     x' = Sigma_c^{1/2} Sigma_s^{-1/2} X_s,  out = x' * std_c + mean_c
 * The whole map is affine in the style pixel, so it is folded into one 3x3 matrix and an offset.
 * A channel with std 0 (a constant colour plane) standardises to 0 rather than 0/0: METHOD.md is
 * silent there, and this keeps Sigma = I on that axis and the result finite. */
#include "internal.h"

#include <math.h>
#include <stdint.h>

typedef double mat3[3][3];

typedef struct colour_stats {
    double mean[3];
    double std[3];
    mat3 sigma; /* X X^T + I of the standardised pixels */
} colour_stats;

static const int64_t max_pixels = (int64_t)(PTRDIFF_MAX / (3 * sizeof(float)));

/* Means, unbiased stds and Sigma of a 3 x n image in two passes.  Returns 0 on a non-finite value
 * (finite floats cannot overflow these double sums). */
static int colour_statistics(const float *img, int64_t n, colour_stats *s) {
    double sum[3] = {0, 0, 0};
    for (int c = 0; c < 3; ++c)
        for (int64_t i = 0; i < n; ++i) sum[c] += img[c * n + i];
    for (int c = 0; c < 3; ++c) {
        if (!isfinite(sum[c])) return 0;
        s->mean[c] = sum[c] / (double)n;
    }
    double cross[3][3] = {{0}};
    for (int64_t i = 0; i < n; ++i) {
        double d[3];
        for (int c = 0; c < 3; ++c) d[c] = img[c * n + i] - s->mean[c];
        for (int a = 0; a < 3; ++a)
            for (int b = a; b < 3; ++b) cross[a][b] += d[a] * d[b];
    }
    for (int c = 0; c < 3; ++c) s->std[c] = sqrt(cross[c][c] / (double)(n - 1));
    for (int a = 0; a < 3; ++a)
        for (int b = a; b < 3; ++b) {
            double denom = s->std[a] * s->std[b];
            double x = denom > 0 ? cross[a][b] / denom : 0.0;
            s->sigma[a][b] = s->sigma[b][a] = x + (a == b ? 1.0 : 0.0);
        }
    return 1;
}

/* One Jacobi rotation zeroing a[p][q] (Numerical Recipes' formulation); v accumulates the
 * eigenvectors as columns. */
static void jacobi_rotate(mat3 a, mat3 v, int p, int q) {
    double theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
    /* For huge theta, theta^2 would overflow; t ~ 1/(2 theta) is then exact to double precision. */
    double t = fabs(theta) > 1e150 ? 0.5 / theta : copysign(1.0, theta) / (fabs(theta) + sqrt(theta * theta + 1.0));
    double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
    for (int k = 0; k < 3; ++k) { /* columns p, q: A P */
        double akp = a[k][p], akq = a[k][q];
        a[k][p] = c * akp - s * akq;
        a[k][q] = s * akp + c * akq;
    }
    for (int k = 0; k < 3; ++k) { /* rows p, q: P^T A */
        double apk = a[p][k], aqk = a[q][k];
        a[p][k] = c * apk - s * aqk;
        a[q][k] = s * apk + c * aqk;
    }
    for (int k = 0; k < 3; ++k) {
        double vkp = v[k][p], vkq = v[k][q];
        v[k][p] = c * vkp - s * vkq;
        v[k][q] = s * vkp + c * vkq;
    }
    a[p][q] = a[q][p] = 0.0; /* exact in theory; removes the rounding residue */
}

/* Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi sweeps: a = v diag(w) v^T.
 * Converges quadratically; 50 sweeps is far more than double precision ever needs. */
static void symmetric_eigen3(const mat3 m, double w[3], mat3 v) {
    mat3 a;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            a[i][j] = m[i][j];
            v[i][j] = i == j ? 1.0 : 0.0;
        }
    for (int sweep = 0; sweep < 50; ++sweep) {
        double off = fabs(a[0][1]) + fabs(a[0][2]) + fabs(a[1][2]);
        double diag = fabs(a[0][0]) + fabs(a[1][1]) + fabs(a[2][2]);
        if (off <= 1e-17 * diag || off == 0.0) break;
        for (int p = 0; p < 2; ++p)
            for (int q = p + 1; q < 3; ++q)
                if (a[p][q] != 0.0) jacobi_rotate(a, v, p, q);
    }
    for (int i = 0; i < 3; ++i) w[i] = a[i][i];
}

/* v diag(w^power) v^T for a symmetric positive definite matrix (power = 1/2 or -1/2). */
static void symmetric_power(const mat3 m, double power, mat3 out) {
    double w[3];
    mat3 v;
    symmetric_eigen3(m, w, v);
    for (int k = 0; k < 3; ++k) w[k] = pow(w[k] > 1e-300 ? w[k] : 1e-300, power); /* Sigma >= I: never hit */
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
            double x = 0;
            for (int k = 0; k < 3; ++k) x += v[i][k] * w[k] * v[j][k];
            out[i][j] = x;
        }
}

static void mat3_mul(const mat3 a, const mat3 b, mat3 out) {
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) out[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
}

static adn_status check_image3(const char *fn, const char *what, const float *img, int64_t n) {
    if (!img) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %s is NULL", fn, what);
    if (n < 2)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %s has %lld pixel(s); an unbiased std needs >= 2", fn, what,
                        (long long)n);
    if (n > max_pixels) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %s is too large", fn, what);
    return ADN_OK;
}

/* out = M (x - mean_s) + mean_c for style pixel p. */
static void coral_pixel(const float *style, int64_t n_style, int64_t p, const double style_mean[3], const mat3 m,
                        const double content_mean[3], float v[3]) {
    double d[3];
    for (int k = 0; k < 3; ++k) d[k] = style[k * n_style + p] - style_mean[k];
    for (int i = 0; i < 3; ++i) v[i] = (float)(m[i][0] * d[0] + m[i][1] * d[1] + m[i][2] * d[2] + content_mean[i]);
}

adn_status adn_coral(const float *style, int64_t n_style, const float *content, int64_t n_content, float *out) {
    static const char fn[] = "adn_coral";
    adn_status st = check_image3(fn, "style", style, n_style);
    if (st == ADN_OK) st = check_image3(fn, "content", content, n_content);
    if (st != ADN_OK) return st;
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    colour_stats s, c;
    if (!colour_statistics(style, n_style, &s))
        return adn_fail(ADN_ERR_NON_FINITE, "%s: style contains NaN or infinity", fn);
    if (!colour_statistics(content, n_content, &c))
        return adn_fail(ADN_ERR_NON_FINITE, "%s: content contains NaN or infinity", fn);

    mat3 content_root, style_inv_root, transfer;
    symmetric_power(c.sigma, 0.5, content_root);
    symmetric_power(s.sigma, -0.5, style_inv_root);
    mat3_mul(content_root, style_inv_root, transfer);
    /* out = diag(std_c) T diag(1/std_s) (x - mean_s) + mean_c */
    mat3 m;
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) m[i][j] = s.std[j] > 0 ? c.std[i] * transfer[i][j] / s.std[j] : 0.0;

    /* Finite inputs can still map beyond FLT_MAX (content values of +-3e38 have a std to match).
     * out may alias style, so every value is checked in a first pass before any is written. */
    for (int64_t p = 0; p < n_style; ++p) {
        float v[3];
        coral_pixel(style, n_style, p, s.mean, m, c.mean, v);
        if (!isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]))
            return adn_fail(ADN_ERR_NON_FINITE, "%s: the re-coloured style overflows float (content std %g, %g, %g)", fn,
                            c.std[0], c.std[1], c.std[2]);
    }
    for (int64_t p = 0; p < n_style; ++p) {
        float v[3]; /* all three read before writing: out may alias style */
        coral_pixel(style, n_style, p, s.mean, m, c.mean, v);
        for (int i = 0; i < 3; ++i) out[i * n_style + p] = v[i];
    }
    return ADN_OK;
}

void adn_match_mean_colour(const float *style, int64_t ns, const float *content, int64_t nc, float *out) {
    for (int c = 0; c < 3; ++c) {
        double style_sum = 0, content_sum = 0;
        for (int64_t i = 0; i < ns; ++i) style_sum += style[c * ns + i];
        for (int64_t i = 0; i < nc; ++i) content_sum += content[c * nc + i];
        const double shift = content_sum / (double)nc - style_sum / (double)ns;
        for (int64_t i = 0; i < ns; ++i) out[c * ns + i] = (float)(style[c * ns + i] + shift);
    }
}
