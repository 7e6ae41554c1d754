/* Strength map S = alpha * M * R(D) and the feature blend f = S t + (1 - S) fc (METHOD.md §1). */
#include "internal.h"

#include <math.h>
#include <stdint.h>

static const int64_t max_elements = (int64_t)(PTRDIFF_MAX / sizeof(float));

adn_status adn_strength_map(float alpha, const float *mask, const float *range, int64_t n, float *strength) {
    static const char fn[] = "adn_strength_map";
    if (!strength) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: strength is NULL", fn);
    if (n < 1 || n > max_elements)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: n (%lld) out of range", fn, (long long)n);
    if (isnan(alpha)) return adn_fail(ADN_ERR_NON_FINITE, "%s: alpha is NaN", fn);
    if (alpha < 0 || alpha > 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: alpha (%g) must be in [0,1]", fn, (double)alpha);
    /* Checked before writing, since strength may alias mask or range; clamping NaN has no meaning. */
    if (mask && !adn_all_finite(mask, n)) return adn_fail(ADN_ERR_NON_FINITE, "%s: mask contains NaN or infinity", fn);
    if (range && !adn_all_finite(range, n))
        return adn_fail(ADN_ERR_NON_FINITE, "%s: range contains NaN or infinity", fn);
    for (int64_t i = 0; i < n; ++i) {
        double s = alpha;
        if (mask) s *= mask[i];
        if (range) s *= range[i];
        strength[i] = (float)(s < 0 ? 0 : s > 1 ? 1 : s);
    }
    return ADN_OK;
}

adn_status adn_blend(const float *stylized, const float *content, const float *strength, int32_t channels, int64_t n,
                     float *out) {
    static const char fn[] = "adn_blend";
    if (!stylized || !content || !strength || !out)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: stylized/content/strength/out is NULL", fn);
    if (channels < 1 || n < 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: channels (%d) and pixels (%lld) must be >= 1", fn,
                        (int)channels, (long long)n);
    if (n > max_elements / channels)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %d x %lld values is too large", fn, (int)channels,
                        (long long)n);
    /* S is n values (cheap to check).  With S in [0,1] each output is a convex combination of two
     * floats, so finite inputs give finite outputs; an S outside it could overflow (S = 1e30). */
    if (!adn_all_finite(strength, n)) return adn_fail(ADN_ERR_NON_FINITE, "%s: strength contains NaN or infinity", fn);
    for (int64_t i = 0; i < n; ++i)
        if (strength[i] < 0.0f || strength[i] > 1.0f)
            return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: strength[%lld] = %g is outside [0,1]", fn, (long long)i,
                            (double)strength[i]);
    for (int32_t c = 0; c < channels; ++c) {
        const float *t = stylized + (int64_t)c * n, *fc = content + (int64_t)c * n;
        float *dst = out + (int64_t)c * n;
        for (int64_t i = 0; i < n; ++i) {
            double s = strength[i];
            dst[i] = (float)(s * t[i] + (1.0 - s) * fc[i]);
        }
    }
    return ADN_OK;
}
