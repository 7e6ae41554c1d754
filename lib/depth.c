/* Depth normalization and the depth-range map R(D) (docs/METHOD.md §3). */
#include "internal.h"

#include <math.h>
#include <stdint.h>

static const int64_t max_elements = (int64_t)(PTRDIFF_MAX / sizeof(float));

static adn_status check_count(const char *fn, int64_t n) {
    if (n < 1) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: n (%lld) must be >= 1", fn, (long long)n);
    if (n > max_elements) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: n (%lld) is too large", fn, (long long)n);
    return ADN_OK;
}

static int is_valid_pixel(const adn_depth_norm_params *p, float v) { return !p->has_invalid || v != p->invalid_value; }

/* Smallest and largest valid value; fails on a non-finite valid value.  *n_valid may be 0. */
static adn_status valid_range(const char *fn, const float *depth, int64_t n, const adn_depth_norm_params *p,
                              double *lo, double *hi, int64_t *n_valid) {
    double min = INFINITY, max = -INFINITY;
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) {
        float v = depth[i];
        if (!is_valid_pixel(p, v)) continue;
        if (!isfinite(v))
            return adn_fail(ADN_ERR_NON_FINITE, "%s: depth[%lld] is %f", fn, (long long)i, (double)v);
        if (v < min) min = v;
        if (v > max) max = v;
        ++count;
    }
    *lo = min;
    *hi = max;
    *n_valid = count;
    return ADN_OK;
}

adn_status adn_depth_normalize(const float *depth, int64_t n, const adn_depth_norm_params *params, float *out,
                               uint8_t *valid) {
    static const char fn[] = "adn_depth_normalize";
    if (!depth || !out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: depth/out is NULL", fn);
    adn_status st = check_count(fn, n);
    if (st != ADN_OK) return st;
    adn_depth_norm_params p = {0, 0, 0.0f};
    if (params) p = *params;
    /* NaN == NaN is false, so a NaN marker would silently mark nothing invalid. */
    if (p.has_invalid && isnan(p.invalid_value))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: invalid_value is NaN (no pixel can equal it)", fn);

    double lo = 0.0, hi = 0.0;
    int64_t n_valid = 0;
    if ((st = valid_range(fn, depth, n, &p, &lo, &hi, &n_valid)) != ADN_OK) return st;
    /* In double: hi - lo of two finite floats can exceed FLT_MAX. */
    double span = hi - lo;
    for (int64_t i = 0; i < n; ++i) {
        float v = depth[i]; /* read before writing: out may alias depth */
        int ok = is_valid_pixel(&p, v);
        double d = 1.0; /* invalid pixels count as farthest */
        if (ok) {
            d = span > 0 ? (v - lo) / span : 0.0;
            if (p.is_disparity) d = 1.0 - d;
        }
        out[i] = (float)d;
        if (valid) valid[i] = (uint8_t)ok;
    }
    return ADN_OK;
}

adn_status adn_depth_range_map(const float *d, int64_t n, float lo, float hi, float *out) {
    static const char fn[] = "adn_depth_range_map";
    if (!d || !out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: d/out is NULL", fn);
    adn_status st = check_count(fn, n);
    if (st != ADN_OK) return st;
    if (isnan(lo) || isnan(hi)) return adn_fail(ADN_ERR_NON_FINITE, "%s: lo/hi is NaN", fn);
    if (lo < 0 || lo > 1 || hi < 0 || hi > 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: lo (%g) and hi (%g) must be in [0,1]", fn, (double)lo,
                        (double)hi);
    /* Checked first so that a failure leaves an aliased d untouched. */
    if (!adn_all_finite(d, n)) return adn_fail(ADN_ERR_NON_FINITE, "%s: d contains NaN or infinity", fn);
    double slope = (double)hi - (double)lo;
    for (int64_t i = 0; i < n; ++i) out[i] = (float)(lo + slope * d[i]);
    return ADN_OK;
}

adn_status adn_depth_valid_range(const float *depth, int64_t n, const adn_depth_norm_params *params, double *lo,
                                 double *hi, int64_t *n_valid) {
    static const adn_depth_norm_params plain = {0, 0, 0.0f};
    return valid_range("depth normalization", depth, n, params ? params : &plain, lo, hi, n_valid);
}

adn_status adn_depth_normalize_range(const float *depth, int64_t n, const adn_depth_norm_params *params, double lo,
                                     double hi, float *out, uint8_t *valid) {
    static const adn_depth_norm_params plain = {0, 0, 0.0f};
    const adn_depth_norm_params *p = params ? params : &plain;
    const double span = hi - lo;
    for (int64_t i = 0; i < n; ++i) {
        float v = depth[i];
        int ok = is_valid_pixel(p, v);
        double d = 1.0;
        if (ok) {
            d = span > 0 ? (v - lo) / span : 0.0;
            d = d < 0.0 ? 0.0 : d > 1.0 ? 1.0 : d; /* a smoothed range need not contain this frame */
            if (p->is_disparity) d = 1.0 - d;
        }
        out[i] = (float)d;
        if (valid) valid[i] = (uint8_t)ok;
    }
    return ADN_OK;
}
