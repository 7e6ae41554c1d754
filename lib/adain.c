/* AdaIN (METHOD.md §2): channel statistics, single-style AdaIN, style interpolation and region
 * multi-style.  Statistics accumulate in double with two passes (mean, then squared deviations),
 * so feature maps with large offsets do not lose their variance to cancellation. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct channel_moments {
    double mean;
    double std;
    float min, max; /* of the selected values: where an affine map of them is largest */
} channel_moments;

/* Largest element count we accept for one buffer: every index and byte count then fits ptrdiff_t. */
static const int64_t max_elements = (int64_t)(PTRDIFF_MAX / sizeof(float));

static adn_status check_feature_map(const char *fn, const float *x, int32_t channels, int64_t n) {
    if (!x) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: feature map is NULL", fn);
    if (channels < 1 || n < 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: channels (%d) and pixels (%lld) must be >= 1", fn,
                        (int)channels, (long long)n);
    if (n > max_elements / channels)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %d x %lld values overflow the address space", fn,
                        (int)channels, (long long)n);
    return ADN_OK;
}

static adn_status check_eps(const char *fn, float eps) {
    if (!isfinite(eps)) return adn_fail(ADN_ERR_NON_FINITE, "%s: eps is not finite", fn);
    /* eps > 0 keeps a constant channel (std 0) from dividing by zero. */
    if (eps <= 0) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: eps (%g) must be > 0", fn, (double)eps);
    return ADN_OK;
}

/* Style statistics come from the caller (cached per style), so they are checked like any input. */
static adn_status check_style_stats(const char *fn, const float *style_mean, const float *style_std,
                                    int64_t count) {
    if (!style_mean || !style_std)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: style mean/std is NULL", fn);
    if (!adn_all_finite(style_mean, count) || !adn_all_finite(style_std, count))
        return adn_fail(ADN_ERR_NON_FINITE, "%s: style statistics contain NaN or infinity", fn);
    return ADN_OK;
}

/* Compared as integers: relational operators on pointers into different objects are undefined. */
static int buffers_overlap(const void *a, int64_t a_count, const void *b, int64_t b_count) {
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    uintptr_t a1 = a0 + (uintptr_t)a_count * sizeof(float), b1 = b0 + (uintptr_t)b_count * sizeof(float);
    return a0 < b1 && b0 < a1;
}

static int is_selected(const float *weight, int64_t i) { return !weight || weight[i] > 0.5f; }

/* Mean and std of one channel over the pixels with weight > 0.5 (all pixels when weight is NULL).
 * No selected pixel gives mean 0, std sqrt(eps); one pixel gives variance 0 (no N-1 = 0 division).
 * Returns 0 when a selected value is not finite (the double sum cannot overflow from finite floats:
 * 2^63 * FLT_MAX is far below DBL_MAX). */
/* 1 if no pixel of the region mask is selected (weight > 0.5). */
static int region_is_empty(const float *mask, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        if (is_selected(mask, i)) return 0;
    return 1;
}

static int row_moments(const float *row, const float *weight, int64_t n, double eps, channel_moments *out) {
    double sum = 0;
    int64_t count = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; ++i) {
        if (!is_selected(weight, i)) continue;
        sum += row[i];
        lo = row[i] < lo ? row[i] : lo;
        hi = row[i] > hi ? row[i] : hi;
        ++count;
    }
    if (!isfinite(sum)) return 0;
    out->min = lo;
    out->max = hi;
    if (count == 0) {
        out->mean = 0;
        out->std = sqrt(eps);
        return 1;
    }
    double mean = sum / (double)count;
    double squares = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (!is_selected(weight, i)) continue;
        double d = row[i] - mean;
        squares += d * d;
    }
    double variance = count > 1 ? squares / (double)(count - 1) : 0.0;
    out->mean = mean;
    out->std = sqrt(variance + eps);
    return 1;
}

/* Statistics of every channel; fails (before anything is written by the caller) on non-finite input. */
static adn_status all_moments(const char *fn, const float *x, int32_t channels, int64_t n, const float *weight,
                              double eps, channel_moments *moments) {
    for (int32_t c = 0; c < channels; ++c)
        if (!row_moments(x + (int64_t)c * n, weight, n, eps, &moments[c]))
            return adn_fail(ADN_ERR_NON_FINITE, "%s: channel %d contains NaN or infinity", fn, (int)c);
    return ADN_OK;
}

static adn_status stats_impl(const char *fn, const float *x, int32_t channels, int64_t n, const float *weight,
                             float eps, float *mean, float *std) {
    if (!mean || !std) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: mean/std output is NULL", fn);
    for (int32_t c = 0; c < channels; ++c) {
        channel_moments m = {.mean = 0.0, .std = 1.0};
        if (!row_moments(x + (int64_t)c * n, weight, n, eps, &m))
            return adn_fail(ADN_ERR_NON_FINITE, "%s: channel %d contains NaN or infinity", fn, (int)c);
        /* The mean lies between finite floats, but the std of values near +-FLT_MAX can exceed
         * FLT_MAX (values +-3e38 have a std above 3.4e38): refused rather than returned as inf. */
        if (!isfinite((float)m.std))
            return adn_fail(ADN_ERR_NON_FINITE, "%s: channel %d: its std (%g) overflows float", fn, (int)c, m.std);
        mean[c] = (float)m.mean;
        std[c] = (float)m.std;
    }
    return ADN_OK;
}

adn_status adn_channel_stats(const float *x, int32_t channels, int64_t n, float eps, float *mean, float *std) {
    static const char fn[] = "adn_channel_stats";
    adn_status st = check_feature_map(fn, x, channels, n);
    if (st == ADN_OK) st = check_eps(fn, eps);
    if (st != ADN_OK) return st;
    return stats_impl(fn, x, channels, n, NULL, eps, mean, std);
}

adn_status adn_channel_stats_masked(const float *x, int32_t channels, int64_t n, const float *weight, float eps,
                                    float *mean, float *std) {
    static const char fn[] = "adn_channel_stats_masked";
    adn_status st = check_feature_map(fn, x, channels, n);
    if (st == ADN_OK) st = check_eps(fn, eps);
    if (st != ADN_OK) return st;
    if (!weight) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: weight is NULL", fn);
    /* A NaN weight would silently count as "outside the region". */
    if (!adn_all_finite(weight, n)) return adn_fail(ADN_ERR_NON_FINITE, "%s: weight contains NaN or infinity", fn);
    return stats_impl(fn, x, channels, n, weight, eps, mean, std);
}

/* One output value, exactly as apply_adain computes it. */
static float adain_value(float x, double shift, double scale, double style_mean) {
    return (float)((x - shift) * scale + style_mean);
}

/* Finite statistics can still give an output beyond FLT_MAX (a style std of 3.4e38 times a
 * standardised value above 1).  adain_value is non-decreasing in x (scale >= 0, and every double
 * operation and the rounding to float are monotonic), so its extremes over a channel are at the
 * channel's min and max: checking those two finds any overflow before a byte is written, which
 * matters because out may alias x. */
static adn_status check_adain_range(const char *fn, int32_t channels, const channel_moments *content,
                                    const double *style_mean, const double *style_std) {
    for (int32_t c = 0; c < channels; ++c) {
        const double scale = style_std[c] / content[c].std, shift = content[c].mean;
        if (!isfinite(adain_value(content[c].min, shift, scale, style_mean[c])) ||
            !isfinite(adain_value(content[c].max, shift, scale, style_mean[c])))
            return adn_fail(ADN_ERR_NON_FINITE, "%s: channel %d of the result overflows float (style std %g, mean %g)", fn,
                            (int)c, style_std[c], style_mean[c]);
    }
    return ADN_OK;
}

/* out_c = style_std_c * (x_c - content_mean_c) / content_std_c + style_mean_c for every channel,
 * with the per-channel factor computed once in double. */
static void apply_adain(const float *x, int32_t channels, int64_t n, const channel_moments *content,
                        const double *style_mean, const double *style_std, float *out) {
    for (int32_t c = 0; c < channels; ++c) {
        const float *row = x + (int64_t)c * n;
        float *dst = out + (int64_t)c * n;
        double scale = style_std[c] / content[c].std, shift = content[c].mean;
        for (int64_t i = 0; i < n; ++i) dst[i] = adain_value(row[i], shift, scale, style_mean[c]);
    }
}

/* One allocation per call: C content moments plus 2C style values in double. */
typedef struct adain_scratch {
    channel_moments *content;
    double *style_mean;
    double *style_std;
} adain_scratch;

static adn_status scratch_alloc(const char *fn, int32_t channels, adain_scratch *s) {
    size_t bytes = (size_t)channels * (sizeof(channel_moments) + 2 * sizeof(double));
    char *block = malloc(bytes);
    if (!block) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %zu bytes of scratch", fn, bytes);
    s->content = (channel_moments *)(void *)block;
    s->style_mean = (double *)(void *)(block + (size_t)channels * sizeof(channel_moments));
    s->style_std = s->style_mean + channels;
    return ADN_OK;
}

static void scratch_free(adain_scratch *s) { free(s->content); }

adn_status adn_adain(const float *x, int32_t channels, int64_t n, const float *style_mean, const float *style_std,
                     float eps, float *out) {
    static const char fn[] = "adn_adain";
    adn_status st = check_feature_map(fn, x, channels, n);
    if (st == ADN_OK) st = check_eps(fn, eps);
    if (st == ADN_OK) st = check_style_stats(fn, style_mean, style_std, channels);
    if (st != ADN_OK) return st;
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    adain_scratch s = {NULL, NULL, NULL};
    if ((st = scratch_alloc(fn, channels, &s)) != ADN_OK) return st;
    /* All statistics first: out may alias x, and a failure must leave x untouched. */
    st = all_moments(fn, x, channels, n, NULL, eps, s.content);
    if (st == ADN_OK) {
        for (int32_t c = 0; c < channels; ++c) {
            s.style_mean[c] = style_mean[c];
            s.style_std[c] = style_std[c];
        }
        st = check_adain_range(fn, channels, s.content, s.style_mean, s.style_std);
        if (st == ADN_OK) apply_adain(x, channels, n, s.content, s.style_mean, s.style_std, out);
    }
    scratch_free(&s);
    return st;
}

/* Weights must be finite, >= 0, with a positive sum; *total receives the sum. */
adn_status adn_check_style_weights(const char *fn, const float *weights, int32_t n_styles, double *total) {
    if (!weights) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: weights is NULL", fn);
    double sum = 0;
    for (int32_t k = 0; k < n_styles; ++k) {
        if (!isfinite(weights[k])) return adn_fail(ADN_ERR_NON_FINITE, "%s: weight %d is not finite", fn, (int)k);
        if (weights[k] < 0)
            return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: weight %d is negative (%g)", fn, (int)k,
                            (double)weights[k]);
        sum += weights[k];
    }
    if (!(sum > 0)) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: weights sum to 0", fn);
    *total = sum;
    return ADN_OK;
}

static adn_status check_styles(const char *fn, int32_t channels, int32_t n_styles) {
    if (n_styles < 1) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: n_styles (%d) must be >= 1", fn, (int)n_styles);
    if ((int64_t)n_styles > max_elements / channels)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %d styles x %d channels is too large", fn, (int)n_styles,
                        (int)channels);
    return ADN_OK;
}

adn_status adn_adain_interpolate(const float *x, int32_t channels, int64_t n, int32_t n_styles, const float *weights,
                                 const float *style_mean, const float *style_std, float eps, float *out) {
    static const char fn[] = "adn_adain_interpolate";
    adn_status st = check_feature_map(fn, x, channels, n);
    if (st == ADN_OK) st = check_eps(fn, eps);
    if (st == ADN_OK) st = check_styles(fn, channels, n_styles);
    if (st == ADN_OK) st = check_style_stats(fn, style_mean, style_std, (int64_t)n_styles * channels);
    double total = 0;
    if (st == ADN_OK) st = adn_check_style_weights(fn, weights, n_styles, &total);
    if (st != ADN_OK) return st;
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: out is NULL", fn);
    if (buffers_overlap(out, (int64_t)channels * n, x, (int64_t)channels * n))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: out must not overlap x", fn);
    adain_scratch s = {NULL, NULL, NULL};
    if ((st = scratch_alloc(fn, channels, &s)) != ADN_OK) return st;
    st = all_moments(fn, x, channels, n, NULL, eps, s.content);
    if (st == ADN_OK) {
        /* AdaIN is affine in the style statistics, so sum_k w_k AdaIN(x, s_k) is one AdaIN with the
         * weighted mean and std: one pass over the map instead of K. */
        for (int32_t c = 0; c < channels; ++c) {
            double mean = 0, std = 0;
            for (int32_t k = 0; k < n_styles; ++k) {
                double w = weights[k] / total;
                mean += w * style_mean[(int64_t)k * channels + c];
                std += w * style_std[(int64_t)k * channels + c];
            }
            s.style_mean[c] = mean;
            s.style_std[c] = std;
        }
        st = check_adain_range(fn, channels, s.content, s.style_mean, s.style_std);
        if (st == ADN_OK) apply_adain(x, channels, n, s.content, s.style_mean, s.style_std, out);
    }
    scratch_free(&s);
    return st;
}

adn_status adn_adain_regions(const float *x, int32_t channels, int64_t n, int32_t n_styles, const float *masks,
                             const float *style_mean, const float *style_std, float eps, float *out) {
    static const char fn[] = "adn_adain_regions";
    adn_status st = check_feature_map(fn, x, channels, n);
    if (st == ADN_OK) st = check_eps(fn, eps);
    if (st == ADN_OK) st = check_styles(fn, channels, n_styles);
    if (st == ADN_OK && n > max_elements / n_styles)
        st = adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %d masks x %lld pixels is too large", fn, (int)n_styles,
                      (long long)n);
    if (st == ADN_OK) st = check_style_stats(fn, style_mean, style_std, (int64_t)n_styles * channels);
    if (st != ADN_OK) return st;
    if (!masks || !out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: masks/out is NULL", fn);
    int64_t map_size = (int64_t)channels * n, mask_size = (int64_t)n_styles * n;
    if (buffers_overlap(out, map_size, x, map_size) || buffers_overlap(out, map_size, masks, mask_size))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: out must not overlap x or masks", fn);
    /* Region statistics only look at their own pixels, but every pixel reaches the output. */
    if (!adn_all_finite(x, map_size)) return adn_fail(ADN_ERR_NON_FINITE, "%s: x contains NaN or infinity", fn);
    if (!adn_all_finite(masks, mask_size))
        return adn_fail(ADN_ERR_NON_FINITE, "%s: masks contain NaN or infinity", fn);

    /* A region with no pixel above 0.5 (two 0.5/0.5 masks, a sliver lost in the 8x8 averaging)
     * has no statistics of its own; it takes those of the whole map, i.e. plain AdaIN, instead of
     * dividing by sqrt(eps). */
    uint8_t *empty = malloc((size_t)n_styles);
    if (!empty) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %d region flags", fn, (int)n_styles);
    for (int32_t k = 0; k < n_styles; ++k) empty[k] = region_is_empty(masks + (int64_t)k * n, n);
    for (int32_t c = 0; c < channels; ++c) {
        const float *row = x + (int64_t)c * n;
        float *dst = out + (int64_t)c * n;
        for (int64_t i = 0; i < n; ++i) dst[i] = 0.0f;
        for (int32_t k = 0; k < n_styles; ++k) {
            const float *mask = masks + (int64_t)k * n;
            channel_moments m = {.mean = 0.0, .std = 1.0};
            row_moments(row, empty[k] ? NULL : mask, n, eps, &m); /* cannot fail: x was checked above */
            double scale = style_std[(int64_t)k * channels + c] / m.std;
            double shift = style_mean[(int64_t)k * channels + c];
            for (int64_t i = 0; i < n; ++i) dst[i] += (float)(mask[i] * ((row[i] - m.mean) * scale + shift));
        }
    }
    free(empty);
    /* A sum of K terms has no single extreme to check first; out aliases nothing, so look after. */
    if (!adn_all_finite(out, map_size))
        return adn_fail(ADN_ERR_NON_FINITE, "%s: the result overflows float (style statistics too large)", fn);
    return ADN_OK;
}
