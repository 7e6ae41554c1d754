/* fuzz_math.c — libFuzzer target: the pure math entry points of adain_dcs.h on fuzzed sizes and
 * values.  The first byte picks the function, the next bytes its sizes and options, the rest feeds
 * the float inputs: as raw bit patterns (NaN, inf, denormals, +-3e38), as the same with every
 * non-finite value replaced by a huge finite one (to look for overflow), or as small numbers in
 * [-4, 4) (where the arithmetic is ordinary).
 *
 * Never a crash, and on top of that, for every call:
 *  - the status is one the header lists for that function, with a one-line message when not OK;
 *  - finite inputs and ADN_OK give finite outputs (an inf with ADN_OK is the bug class of issue 10);
 *  - what each function promises: std > 0, mean inside the data, D in [0,1] with invalid pixels at
 *    1, R(D) between lo and hi, S in [0,1], a resize or block average inside the range of its
 *    source, padding equal to an independent reflection rule, crop(pad(x)) = x, round-up a
 *    multiple of at most size + multiple - 1, and in-place calls (where the header allows
 *    aliasing) bit-identical to out-of-place ones. */
#include "adain_dcs.h"

#include "fuzz_check.h"

#include <float.h>
#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* --- reading the input ----------------------------------------------------------------------- */

typedef enum value_mode { VALUES_RAW, VALUES_FINITE, VALUES_SMALL, VALUES_MODES } value_mode;

typedef struct reader {
    const uint8_t *data;
    size_t size, at;
    value_mode mode;
} reader;

static uint8_t next_byte(reader *r) { return r->at < r->size ? r->data[r->at++] : 0; }

/* 1 + (byte % range): a size in 1..range. */
static int32_t next_size(reader *r, int32_t range) { return 1 + (int32_t)(next_byte(r) % (uint32_t)range); }

static float next_float(reader *r) {
    if (r->mode == VALUES_SMALL) return (float)((int)next_byte(r) - 128) / 32.0f;
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= (uint32_t)next_byte(r) << (8 * i);
    float v;
    memcpy(&v, &bits, sizeof v);
    if (r->mode == VALUES_FINITE && !isfinite(v)) v = signbit(v) ? -FLT_MAX : FLT_MAX;
    return v;
}

/* n fuzzed floats in a buffer of exactly n (so ASan catches any access past it). */
static float *next_floats(reader *r, int64_t n) {
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) abort();
    for (int64_t i = 0; i < n; ++i) v[i] = next_float(r);
    return v;
}

static float *copy_floats(const float *src, int64_t n) {
    float *v = malloc((size_t)n * sizeof *v);
    if (!v) abort();
    memcpy(v, src, (size_t)n * sizeof *v);
    return v;
}

static int all_finite(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* eps as a caller might give it: usually ADN_ADAIN_EPS, sometimes fuzzed (0, negative, NaN). */
static float next_eps(reader *r) { return next_byte(r) < 200 ? ADN_ADAIN_EPS : next_float(r); }

/* --- checks shared by the functions ---------------------------------------------------------- */

/* The status is OK or one of the (up to three) allowed errors; a failure has a one-line message. */
static void check_status(const char *fn, adn_status st, adn_status a, adn_status b, adn_status c) {
    FUZZ_CHECK(st == ADN_OK || st == a || st == b || st == c, "%s returned %s: %s", fn, adn_status_str(st),
               adn_last_error());
    if (st == ADN_OK) return;
    const char *message = adn_last_error();
    FUZZ_CHECK(message[0] != '\0' && strchr(message, '\n') == NULL, "%s: %s with message '%s'", fn,
               adn_status_str(st), message);
}

static void check_finite_output(const char *fn, adn_status st, int inputs_finite, const float *out, int64_t n) {
    if (st != ADN_OK || !inputs_finite) return;
    for (int64_t i = 0; i < n; ++i)
        FUZZ_CHECK(isfinite(out[i]), "%s: finite inputs, ADN_OK, output[%lld] = %g", fn, (long long)i,
                   (double)out[i]);
}

static void check_identical(const char *fn, const float *a, const float *b, int64_t n) {
    FUZZ_CHECK(memcmp(a, b, (size_t)n * sizeof *a) == 0, "%s: the in-place result differs", fn);
}

/* Smallest and largest of n values (finite inputs only). */
static void value_range(const float *x, int64_t n, float *lo, float *hi) {
    *lo = x[0];
    *hi = x[0];
    for (int64_t i = 1; i < n; ++i) {
        if (x[i] < *lo) *lo = x[i];
        if (x[i] > *hi) *hi = x[i];
    }
}

/* --- one function each ----------------------------------------------------------------------- */

static void fuzz_channel_stats(reader *r) {
    const int32_t c = next_size(r, 8);
    const int64_t n = next_size(r, 64);
    const int masked = next_byte(r) & 1;
    const float eps = next_eps(r);
    float *x = next_floats(r, c * n);
    float *weight = masked ? next_floats(r, n) : NULL;
    float mean[8], std[8];
    adn_status st = masked ? adn_channel_stats_masked(x, c, n, weight, eps, mean, std)
                           : adn_channel_stats(x, c, n, eps, mean, std);
    const char *fn = masked ? "adn_channel_stats_masked" : "adn_channel_stats";
    check_status(fn, st, ADN_ERR_INVALID_ARGUMENT, ADN_ERR_NON_FINITE, ADN_ERR_NON_FINITE);
    const int finite = all_finite(x, c * n) && (!masked || all_finite(weight, n)) && isfinite(eps);
    if (finite && eps > 0)
        FUZZ_CHECK(st == ADN_OK || st == ADN_ERR_NON_FINITE, "%s refused finite input: %s", fn, adn_last_error());
    if (st == ADN_OK) {
        for (int32_t k = 0; k < c; ++k) {
            FUZZ_CHECK(isfinite(mean[k]) && isfinite(std[k]) && std[k] > 0, "%s: channel %d mean %g std %g", fn,
                       (int)k, (double)mean[k], (double)std[k]);
            int any_selected = 0;
            float lo = INFINITY, hi = -INFINITY;
            for (int64_t i = 0; i < n; ++i) {
                if (masked && !(weight[i] > 0.5f)) continue;
                any_selected = 1;
                lo = fminf(lo, x[k * n + i]);
                hi = fmaxf(hi, x[k * n + i]);
            }
            if (any_selected)
                FUZZ_CHECK(mean[k] >= lo && mean[k] <= hi, "%s: mean %g outside [%g, %g]", fn, (double)mean[k],
                           (double)lo, (double)hi);
            else
                FUZZ_CHECK(mean[k] == 0 && std[k] == (float)sqrt((double)eps), "%s: empty region mean %g std %g", fn,
                           (double)mean[k], (double)std[k]);
        }
    }
    free(x);
    free(weight);
}

static void fuzz_adain(reader *r) {
    const int32_t c = next_size(r, 8);
    const int64_t n = next_size(r, 64);
    const float eps = next_eps(r);
    float *x = next_floats(r, c * n);
    float *style_mean = next_floats(r, c), *style_std = next_floats(r, c);
    float *out = malloc((size_t)(c * n) * sizeof *out);
    float *in_place = copy_floats(x, c * n);
    if (!out) abort();
    adn_status st = adn_adain(x, c, n, style_mean, style_std, eps, out);
    check_status("adn_adain", st, ADN_ERR_INVALID_ARGUMENT, ADN_ERR_NON_FINITE, ADN_ERR_OUT_OF_MEMORY);
    const int finite = all_finite(x, c * n) && all_finite(style_mean, c) && all_finite(style_std, c);
    check_finite_output("adn_adain", st, finite, out, c * n);
    adn_status st2 = adn_adain(in_place, c, n, style_mean, style_std, eps, in_place);
    FUZZ_CHECK(st2 == st, "adn_adain in place: %s, out of place: %s", adn_status_str(st2), adn_status_str(st));
    if (st == ADN_OK) check_identical("adn_adain", out, in_place, c * n);
    else check_identical("adn_adain (failed call leaves x)", x, in_place, c * n);
    free(x), free(style_mean), free(style_std), free(out), free(in_place);
}

static void fuzz_adain_multi(reader *r) {
    const int32_t c = next_size(r, 6);
    const int64_t n = next_size(r, 48);
    const int32_t k = next_size(r, 4);
    const int regions = next_byte(r) & 1;
    const float eps = next_eps(r);
    float *x = next_floats(r, c * n);
    float *style_mean = next_floats(r, k * c), *style_std = next_floats(r, k * c);
    float *weights = regions ? next_floats(r, k * n) : next_floats(r, k); /* masks or weights */
    float *out = malloc((size_t)(c * n) * sizeof *out);
    if (!out) abort();
    adn_status st = regions ? adn_adain_regions(x, c, n, k, weights, style_mean, style_std, eps, out)
                            : adn_adain_interpolate(x, c, n, k, weights, style_mean, style_std, eps, out);
    const char *fn = regions ? "adn_adain_regions" : "adn_adain_interpolate";
    check_status(fn, st, ADN_ERR_INVALID_ARGUMENT, ADN_ERR_NON_FINITE, ADN_ERR_OUT_OF_MEMORY);
    const int finite = all_finite(x, c * n) && all_finite(style_mean, k * c) && all_finite(style_std, k * c) &&
                       all_finite(weights, regions ? k * n : k);
    check_finite_output(fn, st, finite, out, c * n);
    free(x), free(style_mean), free(style_std), free(weights), free(out);
}

static void fuzz_depth_normalize(reader *r) {
    const int64_t n = next_size(r, 128);
    const uint8_t flags = next_byte(r);
    float *depth = next_floats(r, n);
    adn_depth_norm_params p = {.is_disparity = flags & 1, .has_invalid = (flags >> 1) & 1};
    /* The invalid marker is usually one of the values (as 0 is in real maps), else fuzzed. */
    p.invalid_value = (flags & 4) ? depth[next_byte(r) % n] : next_float(r);
    float *out = malloc((size_t)n * sizeof *out);
    float *in_place = copy_floats(depth, n);
    uint8_t *valid = malloc((size_t)n);
    if (!out || !valid) abort();
    adn_status st = adn_depth_normalize(depth, n, &p, out, valid);
    check_status("adn_depth_normalize", st, ADN_ERR_INVALID_ARGUMENT, ADN_ERR_NON_FINITE, ADN_ERR_NON_FINITE);
    if (st == ADN_OK) {
        for (int64_t i = 0; i < n; ++i) {
            const int expect_valid = !p.has_invalid || depth[i] != p.invalid_value;
            FUZZ_CHECK(valid[i] == expect_valid, "valid[%lld] = %d", (long long)i, (int)valid[i]);
            FUZZ_CHECK(out[i] >= 0.0f && out[i] <= 1.0f, "D[%lld] = %g", (long long)i, (double)out[i]);
            if (!expect_valid) FUZZ_CHECK(out[i] == 1.0f, "invalid pixel %lld has D = %g", (long long)i, (double)out[i]);
        }
    }
    adn_status st2 = adn_depth_normalize(in_place, n, &p, in_place, NULL);
    FUZZ_CHECK(st2 == st, "in place: %s, out of place: %s", adn_status_str(st2), adn_status_str(st));
    if (st == ADN_OK) check_identical("adn_depth_normalize", out, in_place, n);

    /* R(D) on the normalised map, with lo and hi from the input (also outside [0,1], or NaN). */
    float lo = (flags & 8) ? next_float(r) : (float)next_byte(r) / 255.0f;
    float hi = (flags & 16) ? next_float(r) : (float)next_byte(r) / 255.0f;
    if (st == ADN_OK) {
        st = adn_depth_range_map(out, n, lo, hi, out);
        check_status("adn_depth_range_map", st, ADN_ERR_INVALID_ARGUMENT, ADN_ERR_NON_FINITE, ADN_ERR_NON_FINITE);
        /* lo + (hi - lo) D rounds: with hi = 1e-40 and lo = 0.01, D = 1 gives 0, not hi.  Inside
         * [0,1] always, and within rounding of [lo, hi]. */
        const float slack = 1e-7f;
        if (st == ADN_OK)
            for (int64_t i = 0; i < n; ++i)
                FUZZ_CHECK(out[i] >= 0.0f && out[i] <= 1.0f && out[i] >= fminf(lo, hi) - slack &&
                               out[i] <= fmaxf(lo, hi) + slack,
                           "R[%lld] = %g, lo %g hi %g", (long long)i, (double)out[i], (double)lo, (double)hi);
    }
    free(depth), free(out), free(in_place), free(valid);
}

static void fuzz_resize(reader *r) {
    const int32_t c = next_size(r, 3), h = next_size(r, 12), w = next_size(r, 12);
    const int32_t h2 = next_size(r, 24), w2 = next_size(r, 24);
    float *src = next_floats(r, (int64_t)c * h * w);
    float *dst = malloc((size_t)c * h2 * w2 * sizeof *dst);
    if (!dst) abort();
    adn_status st = adn_resize_bilinear(src, c, h, w, dst, h2, w2);
    check_status("adn_resize_bilinear", st, ADN_ERR_INVALID_ARGUMENT, ADN_ERR_OUT_OF_MEMORY, ADN_ERR_OUT_OF_MEMORY);
    FUZZ_CHECK(st != ADN_ERR_INVALID_ARGUMENT, "valid sizes refused: %s", adn_last_error());
    if (st == ADN_OK && all_finite(src, (int64_t)c * h * w)) {
        for (int32_t k = 0; k < c; ++k) {
            float lo, hi;
            value_range(src + (int64_t)k * h * w, (int64_t)h * w, &lo, &hi);
            for (int64_t i = 0; i < (int64_t)h2 * w2; ++i) {
                float v = dst[(int64_t)k * h2 * w2 + i];
                FUZZ_CHECK(v >= lo && v <= hi, "resized %g outside the source's [%g, %g]", (double)v, (double)lo,
                           (double)hi);
            }
        }
    }
    free(src), free(dst);
}

/* Source index of padded index i along an axis of n samples (the header's rule, written anew). */
static int32_t reflect_index(int32_t i, int32_t n) {
    if (i < n) return i;
    if (n == 1) return 0;
    const int32_t period = 2 * (n - 1), m = i % period;
    return m < n ? m : period - m;
}

static void fuzz_pad_crop(reader *r) {
    const int32_t c = next_size(r, 3), h = next_size(r, 10), w = next_size(r, 10);
    const int32_t h2 = h + next_byte(r) % 24, w2 = w + next_byte(r) % 24;
    float *src = next_floats(r, (int64_t)c * h * w);
    float *padded = malloc((size_t)c * h2 * w2 * sizeof *padded);
    float *cropped = malloc((size_t)c * h * w * sizeof *cropped);
    if (!padded || !cropped) abort();
    adn_status st = adn_pad_reflect(src, c, h, w, padded, h2, w2);
    FUZZ_CHECK(st == ADN_OK, "adn_pad_reflect: %s", adn_last_error());
    for (int32_t k = 0; k < c; ++k)
        for (int32_t y = 0; y < h2; ++y)
            for (int32_t x = 0; x < w2; ++x) {
                const float got = padded[((int64_t)k * h2 + y) * w2 + x];
                const float want = src[((int64_t)k * h + reflect_index(y, h)) * w + reflect_index(x, w)];
                FUZZ_CHECK(memcmp(&got, &want, sizeof got) == 0, "pad (%d,%d,%d) of %dx%d -> %dx%d", (int)k, (int)y,
                           (int)x, (int)h, (int)w, (int)h2, (int)w2);
            }
    st = adn_crop(padded, c, h2, w2, cropped, h, w);
    FUZZ_CHECK(st == ADN_OK, "adn_crop: %s", adn_last_error());
    check_identical("adn_crop(adn_pad_reflect(x))", src, cropped, (int64_t)c * h * w);
    st = adn_crop(padded, c, h2, w2, padded, h, w);
    FUZZ_CHECK(st == ADN_OK, "adn_crop in place: %s", adn_last_error());
    check_identical("adn_crop in place", src, padded, (int64_t)c * h * w);
    free(src), free(padded), free(cropped);
}

static void fuzz_block_average(reader *r) {
    const int32_t c = next_size(r, 3), block = next_size(r, 8);
    const int32_t h = block * next_size(r, 4), w = block * next_size(r, 4);
    const int use_valid = next_byte(r) & 1;
    const float empty = next_float(r);
    float *src = next_floats(r, (int64_t)c * h * w);
    uint8_t *valid = NULL;
    if (use_valid) {
        valid = malloc((size_t)h * w);
        if (!valid) abort();
        for (int64_t i = 0; i < (int64_t)h * w; ++i) valid[i] = next_byte(r) & 1;
    }
    const int32_t oh = h / block, ow = w / block;
    float *dst = malloc((size_t)c * oh * ow * sizeof *dst);
    if (!dst) abort();
    adn_status st = adn_block_average(src, valid, c, h, w, block, empty, dst);
    check_status("adn_block_average", st, ADN_ERR_NON_FINITE, ADN_ERR_NON_FINITE, ADN_ERR_INVALID_ARGUMENT);
    if (st == ADN_OK && all_finite(src, (int64_t)c * h * w)) {
        for (int32_t k = 0; k < c; ++k)
            for (int32_t by = 0; by < oh; ++by)
                for (int32_t bx = 0; bx < ow; ++bx) {
                    float lo = INFINITY, hi = -INFINITY;
                    for (int32_t y = by * block; y < (by + 1) * block; ++y)
                        for (int32_t x = bx * block; x < (bx + 1) * block; ++x) {
                            if (valid && !valid[(int64_t)y * w + x]) continue;
                            const float v = src[((int64_t)k * h + y) * w + x];
                            lo = fminf(lo, v);
                            hi = fmaxf(hi, v);
                        }
                    const float got = dst[((int64_t)k * oh + by) * ow + bx];
                    if (lo > hi)
                        FUZZ_CHECK(got == empty, "empty block gave %g, not %g", (double)got, (double)empty);
                    else
                        FUZZ_CHECK(got >= lo && got <= hi, "block average %g outside [%g, %g]", (double)got,
                                   (double)lo, (double)hi);
                }
    }
    free(src), free(valid), free(dst);
}

static void fuzz_strength_blend(reader *r) {
    const int32_t c = next_size(r, 4);
    const int64_t n = next_size(r, 64);
    const uint8_t flags = next_byte(r);
    const float alpha = (flags & 1) ? next_float(r) : (float)next_byte(r) / 255.0f;
    float *mask = (flags & 2) ? next_floats(r, n) : NULL;
    float *range = (flags & 4) ? next_floats(r, n) : NULL;
    float *s = malloc((size_t)n * sizeof *s);
    if (!s) abort();
    adn_status st = adn_strength_map(alpha, mask, range, n, s);
    check_status("adn_strength_map", st, ADN_ERR_INVALID_ARGUMENT, ADN_ERR_NON_FINITE, ADN_ERR_NON_FINITE);
    if (st == ADN_OK)
        for (int64_t i = 0; i < n; ++i) FUZZ_CHECK(s[i] >= 0.0f && s[i] <= 1.0f, "S[%lld] = %g", (long long)i, (double)s[i]);
    /* The blend gets the strength map when there is one, else a fuzzed S (possibly outside [0,1]). */
    float *strength = st == ADN_OK && !(flags & 8) ? s : next_floats(r, n);
    float *t = next_floats(r, c * n), *fc = next_floats(r, c * n);
    float *out = malloc((size_t)(c * n) * sizeof *out);
    if (!out) abort();
    st = adn_blend(t, fc, strength, c, n, out);
    check_status("adn_blend", st, ADN_ERR_NON_FINITE, ADN_ERR_NON_FINITE, ADN_ERR_INVALID_ARGUMENT);
    const int finite = all_finite(t, c * n) && all_finite(fc, c * n) && all_finite(strength, n);
    check_finite_output("adn_blend", st, finite, out, c * n);
    if (st == ADN_OK && finite) {
        for (int64_t i = 0; i < c * n; ++i) {
            const float si = strength[i % n];
            if (!(si >= 0.0f && si <= 1.0f)) continue;
            FUZZ_CHECK(out[i] >= fminf(t[i], fc[i]) && out[i] <= fmaxf(t[i], fc[i]),
                       "blend %g of %g and %g with S %g", (double)out[i], (double)t[i], (double)fc[i], (double)si);
        }
        /* out may alias the stylized or the content map. */
        float *alias = copy_floats(t, c * n);
        FUZZ_CHECK(adn_blend(alias, fc, strength, c, n, alias) == ADN_OK, "in place: %s", adn_last_error());
        check_identical("adn_blend (out = stylized)", out, alias, c * n);
        memcpy(alias, fc, (size_t)(c * n) * sizeof *alias);
        FUZZ_CHECK(adn_blend(t, alias, strength, c, n, alias) == ADN_OK, "in place: %s", adn_last_error());
        check_identical("adn_blend (out = content)", out, alias, c * n);
        free(alias);
    }
    if (strength != s) free(strength);
    free(mask), free(range), free(s), free(t), free(fc), free(out);
}

static void fuzz_coral(reader *r) {
    const int64_t ns = next_size(r, 40), nc = next_size(r, 40);
    float *style = next_floats(r, 3 * ns), *content = next_floats(r, 3 * nc);
    float *out = malloc((size_t)(3 * ns) * sizeof *out);
    if (!out) abort();
    adn_status st = adn_coral(style, ns, content, nc, out);
    check_status("adn_coral", st, ADN_ERR_INVALID_ARGUMENT, ADN_ERR_NON_FINITE, ADN_ERR_OUT_OF_MEMORY);
    if (ns >= 2 && nc >= 2) FUZZ_CHECK(st != ADN_ERR_INVALID_ARGUMENT, "valid sizes refused: %s", adn_last_error());
    check_finite_output("adn_coral", st, all_finite(style, 3 * ns) && all_finite(content, 3 * nc), out, 3 * ns);
    float *in_place = copy_floats(style, 3 * ns);
    adn_status st2 = adn_coral(in_place, ns, content, nc, in_place);
    FUZZ_CHECK(st2 == st, "in place: %s, out of place: %s", adn_status_str(st2), adn_status_str(st));
    if (st == ADN_OK) check_identical("adn_coral", out, in_place, 3 * ns);
    free(style), free(content), free(out), free(in_place);
}

static void fuzz_round_up(reader *r) {
    int32_t size = 0, multiple = 0;
    for (int i = 0; i < 4; ++i) size |= (int32_t)((uint32_t)next_byte(r) << (8 * i));
    multiple = (int32_t)next_byte(r) - 8; /* also 0 and negative */
    const int32_t got = adn_round_up(size, multiple);
    if (size < 1 || multiple < 1 || (int64_t)size + multiple - 1 > INT32_MAX) {
        FUZZ_CHECK(got == 0 || (size >= 1 && multiple >= 1 && got % multiple == 0 && got >= size),
                   "adn_round_up(%d, %d) = %d", (int)size, (int)multiple, (int)got);
        if (got == 0) FUZZ_CHECK(adn_last_error()[0] != '\0', "adn_round_up: 0 without a message");
        return;
    }
    FUZZ_CHECK(got >= size && got % multiple == 0 && got - size < multiple, "adn_round_up(%d, %d) = %d", (int)size,
               (int)multiple, (int)got);
}

typedef void (*math_case)(reader *);
static const math_case cases[] = {fuzz_channel_stats, fuzz_adain,         fuzz_adain_multi,    fuzz_depth_normalize,
                                  fuzz_resize,        fuzz_pad_crop,      fuzz_block_average,  fuzz_strength_blend,
                                  fuzz_coral,         fuzz_round_up};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    reader r = {.data = data, .size = size, .at = 2, .mode = (value_mode)(data[1] % VALUES_MODES)};
    adn_clear_error();
    cases[data[0] % (sizeof cases / sizeof cases[0])](&r);
    return 0;
}
