/* Check tests of the pure C math core (lib/adain.c, depth.c, resample.c, blend.c, coral.c).
 *
 * "reference" cases compare every function with tests/ref/method_ref.py (independent PyTorch, float64)
 * through the vectors written by tests/ref/make_core_vectors.py (env ADN_CORE_VECTORS); without
 * that file they skip and say why.  "logic" cases use small hand-computed examples and properties
 * that need no reference; "errors" cases check every failure path reports a status and a message. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adain_dcs.h"
#include "vectors.h"

/* max |got - ref| <= TOLERANCE * max(max |ref|, 1) */
#define TOLERANCE 1e-5

static adn_vec_file vectors;
static const char *skip_reason;   /* set when there is no vector file: reference cases skip */
static const char *load_failure;  /* set when the file is named but unreadable: reference cases fail */

/* ---- helpers ---------------------------------------------------------------------------------- */

static int have_vectors(const char *test) {
    ck_assert_msg(load_failure == NULL, "%s", load_failure ? load_failure : "");
    if (skip_reason) {
        printf("SKIP %s: %s\n", test, skip_reason);
        return 0;
    }
    return 1;
}

static const adn_vec *vec(const char *function, int index, const char *name) {
    return adn_vec_findf(&vectors, "%s/%d/%s", function, index, name);
}

static const adn_vec *need(const char *function, int index, const char *name) {
    const adn_vec *v = vec(function, index, name);
    ck_assert_msg(v != NULL, "reference vector %s/%d/%s is missing", function, index, name);
    return v;
}

/* Number of cases of a function (indices 0.. while `key` exists); at least `minimum` must exist so
 * that a generator that lost its cases cannot pass silently. */
static int case_count(const char *function, const char *key, int minimum) {
    int count = 0;
    while (vec(function, count, key)) ++count;
    ck_assert_msg(count >= minimum, "%s: %d reference cases, expected >= %d", function, count, minimum);
    return count;
}

static float scalar(const char *function, int index, const char *name) { return need(function, index, name)->data[0]; }

static float *buffer(size_t count) {
    float *p = calloc(count ? count : 1, sizeof *p);
    ck_assert_ptr_nonnull(p);
    return p;
}

static float *copy_of(const adn_vec *v) {
    float *p = buffer(v->count);
    memcpy(p, v->data, v->count * sizeof *p);
    return p;
}

static uint8_t *flags_of(const adn_vec *v) {
    uint8_t *p = malloc(v->count);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < v->count; ++i) p[i] = v->data[i] != 0.0f;
    return p;
}

static void expect_close(const float *got, const adn_vec *ref, const char *function, int index) {
    double scale = fmax(adn_max_abs(ref->data, ref->count), 1.0);
    double diff = adn_max_abs_diff(got, ref->data, ref->count);
    printf("%-14s case %d %-10s max|diff| = %.3g (scale %.3g)\n", function, index, ref->name + strlen(function) + 3,
           diff, scale);
    ck_assert_msg(diff <= TOLERANCE * scale, "%s: max |diff| %g > %g (scale %g)", ref->name, diff,
                  TOLERANCE * scale, scale);
}

#define EXPECT_OK(call) ck_assert_msg((call) == ADN_OK, "%s failed: %s", #call, adn_last_error())

/* A failing call must return `expected` and leave a message. */
#define EXPECT_FAIL(expected, call)                                                                    \
    do {                                                                                               \
        adn_clear_error();                                                                             \
        adn_status status_ = (call);                                                                   \
        ck_assert_msg(status_ == (expected), "%s returned %d (%s), expected %d", #call, (int)status_,  \
                      adn_status_str(status_), (int)(expected));                                       \
        ck_assert_msg(adn_last_error()[0] != '\0', "%s left no error message", #call);                 \
    } while (0)

static void expect_values(const float *got, const float *want, size_t n, double tol) {
    for (size_t i = 0; i < n; ++i)
        ck_assert_msg(fabs((double)got[i] - want[i]) <= tol, "value %zu: got %.9g, want %.9g", i, (double)got[i],
                      (double)want[i]);
}

/* ---- reference: AdaIN --------------------------------------------------------------------------- */

START_TEST(ref_channel_stats) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("stats", "x", 5); i < n; ++i) {
        const adn_vec *x = need("stats", i, "x");
        int32_t c = x->dims[0];
        float *mean = buffer((size_t)c), *std = buffer((size_t)c);
        EXPECT_OK(adn_channel_stats(x->data, c, x->dims[1], scalar("stats", i, "eps"), mean, std));
        expect_close(mean, need("stats", i, "mean"), "stats", i);
        expect_close(std, need("stats", i, "std"), "stats", i);
        free(mean);
        free(std);
    }
}
END_TEST

START_TEST(ref_channel_stats_masked) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("stats_masked", "x", 4); i < n; ++i) {
        const adn_vec *x = need("stats_masked", i, "x");
        int32_t c = x->dims[0];
        float *mean = buffer((size_t)c), *std = buffer((size_t)c);
        EXPECT_OK(adn_channel_stats_masked(x->data, c, x->dims[1], need("stats_masked", i, "weight")->data,
                                           scalar("stats_masked", i, "eps"), mean, std));
        expect_close(mean, need("stats_masked", i, "mean"), "stats_masked", i);
        expect_close(std, need("stats_masked", i, "std"), "stats_masked", i);
        free(mean);
        free(std);
    }
}
END_TEST

START_TEST(ref_adain) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("adain", "x", 4); i < n; ++i) {
        const adn_vec *x = need("adain", i, "x"), *ref = need("adain", i, "out");
        const float *sm = need("adain", i, "style_mean")->data, *ss = need("adain", i, "style_std")->data;
        float eps = scalar("adain", i, "eps");
        float *out = buffer(x->count);
        EXPECT_OK(adn_adain(x->data, x->dims[0], x->dims[1], sm, ss, eps, out));
        expect_close(out, ref, "adain", i);
        /* out may alias x */
        float *in_place = copy_of(x);
        EXPECT_OK(adn_adain(in_place, x->dims[0], x->dims[1], sm, ss, eps, in_place));
        expect_close(in_place, ref, "adain", i);
        free(out);
        free(in_place);
    }
}
END_TEST

START_TEST(ref_adain_interpolate) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("interp", "x", 4); i < n; ++i) {
        const adn_vec *x = need("interp", i, "x"), *w = need("interp", i, "weights");
        float *out = buffer(x->count);
        EXPECT_OK(adn_adain_interpolate(x->data, x->dims[0], x->dims[1], (int32_t)w->count, w->data,
                                        need("interp", i, "style_mean")->data, need("interp", i, "style_std")->data,
                                        scalar("interp", i, "eps"), out));
        expect_close(out, need("interp", i, "out"), "interp", i);
        free(out);
    }
}
END_TEST

START_TEST(ref_adain_regions) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("regions", "x", 3); i < n; ++i) {
        const adn_vec *x = need("regions", i, "x"), *masks = need("regions", i, "masks");
        float *out = buffer(x->count);
        EXPECT_OK(adn_adain_regions(x->data, x->dims[0], x->dims[1], masks->dims[0], masks->data,
                                    need("regions", i, "style_mean")->data, need("regions", i, "style_std")->data,
                                    scalar("regions", i, "eps"), out));
        expect_close(out, need("regions", i, "out"), "regions", i);
        free(out);
    }
}
END_TEST

/* ---- reference: depth ---------------------------------------------------------------------------- */

START_TEST(ref_depth_normalize) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("depth", "d", 10); i < n; ++i) {
        const adn_vec *d = need("depth", i, "d"), *ref = need("depth", i, "out");
        const float *prm = need("depth", i, "params")->data;
        adn_depth_norm_params params = {(int32_t)prm[0], (int32_t)prm[1], prm[2]};
        float *out = buffer(d->count);
        uint8_t *valid = malloc(d->count);
        ck_assert_ptr_nonnull(valid);
        EXPECT_OK(adn_depth_normalize(d->data, (int64_t)d->count, &params, out, valid));
        expect_close(out, ref, "depth", i);
        const adn_vec *ref_valid = need("depth", i, "valid");
        for (size_t k = 0; k < d->count; ++k)
            ck_assert_msg(valid[k] == (ref_valid->data[k] != 0.0f), "depth case %d: valid[%zu] = %d", i, k,
                          (int)valid[k]);
        /* out may alias depth */
        float *in_place = copy_of(d);
        EXPECT_OK(adn_depth_normalize(in_place, (int64_t)d->count, &params, in_place, NULL));
        expect_close(in_place, ref, "depth", i);
        free(out);
        free(valid);
        free(in_place);
    }
}
END_TEST

START_TEST(ref_depth_range_map) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("range", "d", 5); i < n; ++i) {
        const adn_vec *d = need("range", i, "d");
        const float *lohi = need("range", i, "lohi")->data;
        float *out = buffer(d->count);
        EXPECT_OK(adn_depth_range_map(d->data, (int64_t)d->count, lohi[0], lohi[1], out));
        expect_close(out, need("range", i, "out"), "range", i);
        free(out);
    }
}
END_TEST

/* ---- reference: resampling ------------------------------------------------------------------------ */

typedef adn_status (*resample_fn)(const float *, int32_t, int32_t, int32_t, float *, int32_t, int32_t);

/* x is C x H x W, out C x H2 x W2: the output size comes from the reference's shape. */
static void check_resample(const char *function, resample_fn fn, int minimum) {
    for (int i = 0, n = case_count(function, "x", minimum); i < n; ++i) {
        const adn_vec *x = need(function, i, "x"), *ref = need(function, i, "out");
        ck_assert_int_eq(x->ndim, 3);
        ck_assert_int_eq(ref->ndim, 3);
        float *out = buffer(ref->count);
        EXPECT_OK(fn(x->data, x->dims[0], x->dims[1], x->dims[2], out, ref->dims[1], ref->dims[2]));
        expect_close(out, ref, function, i);
        free(out);
    }
}

START_TEST(ref_resize_bilinear) {
    if (!have_vectors(__func__)) return;
    check_resample("resize", adn_resize_bilinear, 9);
}
END_TEST

START_TEST(ref_pad_reflect) {
    if (!have_vectors(__func__)) return;
    check_resample("pad", adn_pad_reflect, 8);
}
END_TEST

START_TEST(ref_crop) {
    if (!have_vectors(__func__)) return;
    check_resample("crop", adn_crop, 3);
}
END_TEST

START_TEST(ref_block_average) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("block", "x", 5); i < n; ++i) {
        const adn_vec *x = need("block", i, "x"), *ref = need("block", i, "out"), *v = vec("block", i, "valid");
        uint8_t *valid = v ? flags_of(v) : NULL;
        float *out = buffer(ref->count);
        EXPECT_OK(adn_block_average(x->data, valid, x->dims[0], x->dims[1], x->dims[2],
                                    (int32_t)scalar("block", i, "block"), scalar("block", i, "empty"), out));
        expect_close(out, ref, "block", i);
        free(out);
        free(valid);
    }
}
END_TEST

/* ---- reference: strength, blend, CORAL ----------------------------------------------------------- */

START_TEST(ref_strength_map) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("strength", "alpha", 5); i < n; ++i) {
        const adn_vec *mask = vec("strength", i, "mask"), *range = vec("strength", i, "range");
        const adn_vec *ref = need("strength", i, "out");
        int64_t count = (int64_t)scalar("strength", i, "n");
        ck_assert_int_eq((int64_t)ref->count, count);
        float *out = buffer(ref->count);
        EXPECT_OK(adn_strength_map(scalar("strength", i, "alpha"), mask ? mask->data : NULL,
                                   range ? range->data : NULL, count, out));
        expect_close(out, ref, "strength", i);
        free(out);
    }
}
END_TEST

START_TEST(ref_blend) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("blend", "t", 2); i < n; ++i) {
        const adn_vec *t = need("blend", i, "t"), *fc = need("blend", i, "fc"), *ref = need("blend", i, "out");
        const float *s = need("blend", i, "S")->data;
        float *out = buffer(t->count);
        EXPECT_OK(adn_blend(t->data, fc->data, s, t->dims[0], t->dims[1], out));
        expect_close(out, ref, "blend", i);
        /* out may alias either input */
        float *over_t = copy_of(t), *over_fc = copy_of(fc);
        EXPECT_OK(adn_blend(over_t, fc->data, s, t->dims[0], t->dims[1], over_t));
        EXPECT_OK(adn_blend(t->data, over_fc, s, t->dims[0], t->dims[1], over_fc));
        expect_close(over_t, ref, "blend", i);
        expect_close(over_fc, ref, "blend", i);
        free(out);
        free(over_t);
        free(over_fc);
    }
}
END_TEST

START_TEST(ref_coral) {
    if (!have_vectors(__func__)) return;
    for (int i = 0, n = case_count("coral", "style", 7); i < n; ++i) {
        const adn_vec *style = need("coral", i, "style"), *content = need("coral", i, "content");
        const adn_vec *ref = need("coral", i, "out");
        float *out = buffer(style->count);
        EXPECT_OK(adn_coral(style->data, style->dims[1], content->data, content->dims[1], out));
        expect_close(out, ref, "coral", i);
        float *in_place = copy_of(style);
        EXPECT_OK(adn_coral(in_place, style->dims[1], content->data, content->dims[1], in_place));
        expect_close(in_place, ref, "coral", i);
        free(out);
        free(in_place);
    }
}
END_TEST

/* ---- logic: hand-computed cases and properties ---------------------------------------------------- */

START_TEST(logic_round_up) {
    ck_assert_int_eq(adn_round_up(1, 8), 8);
    ck_assert_int_eq(adn_round_up(8, 8), 8);
    ck_assert_int_eq(adn_round_up(9, 8), 16);
    ck_assert_int_eq(adn_round_up(101, 8), 104);
    ck_assert_int_eq(adn_round_up(7, 1), 7);
    ck_assert_int_eq(adn_round_up(INT32_MAX - 7, 8), INT32_MAX - 7);
    adn_clear_error();
    ck_assert_int_eq(adn_round_up(INT32_MAX - 6, 8), 0); /* would exceed int32 */
    ck_assert_str_ne(adn_last_error(), "");
    adn_clear_error();
    ck_assert_int_eq(adn_round_up(0, 8), 0);
    ck_assert_str_ne(adn_last_error(), "");
    adn_clear_error();
    ck_assert_int_eq(adn_round_up(5, 0), 0);
    ck_assert_str_ne(adn_last_error(), "");
}
END_TEST

START_TEST(logic_pad_and_crop) {
    /* 1 x 3 -> 1 x 7: mirror without repeating the edge, period 4 */
    const float row[3] = {1, 2, 3};
    float padded[7];
    EXPECT_OK(adn_pad_reflect(row, 1, 1, 3, padded, 1, 7));
    expect_values(padded, (const float[]){1, 2, 3, 2, 1, 2, 3}, 7, 0);
    /* 2 x 2 -> 3 x 3 */
    const float square[4] = {1, 2, 3, 4};
    float grown[9];
    EXPECT_OK(adn_pad_reflect(square, 1, 2, 2, grown, 3, 3));
    expect_values(grown, (const float[]){1, 2, 1, 3, 4, 3, 1, 2, 1}, 9, 0);
    /* one pixel repeats; two channels stay apart */
    const float dots[2] = {5, -1};
    float tiles[2 * 2 * 3];
    EXPECT_OK(adn_pad_reflect(dots, 2, 1, 1, tiles, 2, 3));
    expect_values(tiles, (const float[]){5, 5, 5, 5, 5, 5, -1, -1, -1, -1, -1, -1}, 12, 0);
    /* crop is the inverse, also in place */
    float back[4];
    EXPECT_OK(adn_crop(grown, 1, 3, 3, back, 2, 2));
    expect_values(back, square, 4, 0);
    EXPECT_OK(adn_crop(grown, 1, 3, 3, grown, 2, 2));
    expect_values(grown, square, 4, 0);
}
END_TEST

START_TEST(logic_resize) {
    /* 1 x 2 -> 1 x 4: source x = (i + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped) */
    const float two[2] = {0, 1};
    float four[4];
    EXPECT_OK(adn_resize_bilinear(two, 1, 1, 2, four, 1, 4));
    expect_values(four, (const float[]){0, 0.25f, 0.75f, 1}, 4, 1e-7);
    /* 1 x 4 -> 1 x 2: source x = 0.5, 2.5 */
    const float ramp[4] = {0, 2, 4, 6};
    float half[2];
    EXPECT_OK(adn_resize_bilinear(ramp, 1, 1, 4, half, 1, 2));
    expect_values(half, (const float[]){1, 5}, 2, 1e-6);
    /* 1 x 1 -> 3 x 2 is a constant */
    const float one = 0.375f;
    float six[6];
    EXPECT_OK(adn_resize_bilinear(&one, 1, 1, 1, six, 3, 2));
    expect_values(six, (const float[]){0.375f, 0.375f, 0.375f, 0.375f, 0.375f, 0.375f}, 6, 0);
}
END_TEST

START_TEST(logic_block_average) {
    const float tile[4] = {1, 2, 3, 4};
    float mean;
    EXPECT_OK(adn_block_average(tile, NULL, 1, 2, 2, 2, 0, &mean));
    ck_assert_float_eq_tol(mean, 2.5f, 1e-7f);
    const uint8_t corners[4] = {1, 0, 0, 1};
    EXPECT_OK(adn_block_average(tile, corners, 1, 2, 2, 2, 0, &mean));
    ck_assert_float_eq_tol(mean, 2.5f, 1e-7f);
    const uint8_t one[4] = {0, 0, 1, 0};
    EXPECT_OK(adn_block_average(tile, one, 1, 2, 2, 2, 0, &mean));
    ck_assert_float_eq_tol(mean, 3.0f, 1e-7f);
    const uint8_t none[4] = {0, 0, 0, 0};
    EXPECT_OK(adn_block_average(tile, none, 1, 2, 2, 2, 0.625f, &mean));
    ck_assert_float_eq(mean, 0.625f);
}
END_TEST

START_TEST(logic_channel_stats) {
    const float x[5] = {1, 2, 3, 4, 7}; /* channel 0: 1..4; channel 1 has one pixel */
    float mean[2], std[2];
    EXPECT_OK(adn_channel_stats(x, 1, 4, ADN_ADAIN_EPS, mean, std));
    ck_assert_float_eq_tol(mean[0], 2.5f, 1e-7f);
    ck_assert_float_eq_tol(std[0], sqrtf(5.0f / 3.0f + 1e-5f), 1e-6f); /* unbiased: 5 / (4 - 1) */
    EXPECT_OK(adn_channel_stats(x + 4, 1, 1, ADN_ADAIN_EPS, mean, std));
    ck_assert_float_eq(mean[0], 7.0f);
    ck_assert_float_eq_tol(std[0], sqrtf(1e-5f), 1e-9f); /* N = 1: variance 0 */
    /* weight exactly 0.5 is outside; an empty region gives mean 0, std sqrt(eps) */
    const float weight[4] = {0.5f, 0.51f, 1.0f, 0.0f};
    EXPECT_OK(adn_channel_stats_masked(x, 1, 4, weight, ADN_ADAIN_EPS, mean, std));
    ck_assert_float_eq_tol(mean[0], 2.5f, 1e-7f);
    ck_assert_float_eq_tol(std[0], sqrtf(0.5f + 1e-5f), 1e-6f);
    const float nothing[4] = {0, 0.2f, 0.5f, 0};
    EXPECT_OK(adn_channel_stats_masked(x, 1, 4, nothing, ADN_ADAIN_EPS, mean, std));
    ck_assert_float_eq(mean[0], 0.0f);
    ck_assert_float_eq_tol(std[0], sqrtf(1e-5f), 1e-9f);
}
END_TEST

START_TEST(logic_adain_properties) {
    /* AdaIN with the map's own statistics returns the map; with style std ~0 it returns the mean */
    const float x[6] = {0, 3, 9, 1, 1, 2};
    float mean[2], std[2], out[6];
    EXPECT_OK(adn_channel_stats(x, 2, 3, ADN_ADAIN_EPS, mean, std));
    EXPECT_OK(adn_adain(x, 2, 3, mean, std, ADN_ADAIN_EPS, out));
    expect_values(out, x, 6, 1e-5);
    const float flat_mean[2] = {4, -2}, flat_std[2] = {0, 0};
    EXPECT_OK(adn_adain(x, 2, 3, flat_mean, flat_std, ADN_ADAIN_EPS, out));
    expect_values(out, (const float[]){4, 4, 4, -2, -2, -2}, 6, 0);
    /* a one-hot interpolation is that style's AdaIN; regions with one full mask is plain AdaIN */
    const float means[4] = {4, -2, 10, 20}, stds[4] = {1, 2, 3, 4}, one_hot[2] = {0, 5};
    float single[6];
    EXPECT_OK(adn_adain(x, 2, 3, means + 2, stds + 2, ADN_ADAIN_EPS, single));
    EXPECT_OK(adn_adain_interpolate(x, 2, 3, 2, one_hot, means, stds, ADN_ADAIN_EPS, out));
    expect_values(out, single, 6, 1e-5);
    const float masks[6] = {0, 0, 0, 1, 1, 1};
    EXPECT_OK(adn_adain_regions(x, 2, 3, 2, masks, means, stds, ADN_ADAIN_EPS, out));
    expect_values(out, single, 6, 1e-5);
}
END_TEST

START_TEST(logic_depth) {
    const float ramp[3] = {2, 4, 6};
    float d[5];
    EXPECT_OK(adn_depth_normalize(ramp, 3, NULL, d, NULL));
    expect_values(d, (const float[]){0, 0.5f, 1}, 3, 1e-7);
    adn_depth_norm_params disparity = {1, 0, 0};
    EXPECT_OK(adn_depth_normalize(ramp, 3, &disparity, d, NULL));
    expect_values(d, (const float[]){1, 0.5f, 0}, 3, 1e-7);
    const float flat[3] = {5, 5, 5};
    EXPECT_OK(adn_depth_normalize(flat, 3, NULL, d, NULL));
    expect_values(d, (const float[]){0, 0, 0}, 3, 0);
    /* 0 marks missing pixels (Middlebury): left out of min/max, D = 1, valid = 0 */
    const float holes[5] = {0, 2, 0, 4, 3};
    adn_depth_norm_params zero_invalid = {0, 1, 0};
    uint8_t valid[5];
    EXPECT_OK(adn_depth_normalize(holes, 5, &zero_invalid, d, valid));
    expect_values(d, (const float[]){1, 0, 1, 1, 0.5f}, 5, 1e-7);
    const uint8_t want_valid[5] = {0, 1, 0, 1, 1};
    ck_assert_mem_eq(valid, want_valid, 5);
    /* valid may be NULL even with an invalid value */
    EXPECT_OK(adn_depth_normalize(holes, 5, &zero_invalid, d, NULL));
    expect_values(d, (const float[]){1, 0, 1, 1, 0.5f}, 5, 1e-7);
    /* no valid pixel: D = 1 everywhere */
    const float empty[2] = {0, 0};
    EXPECT_OK(adn_depth_normalize(empty, 2, &zero_invalid, d, valid));
    expect_values(d, (const float[]){1, 1}, 2, 0);
    ck_assert_int_eq(valid[0] | valid[1], 0);
    /* range map, also reversed */
    const float D[3] = {0, 0.5f, 1};
    EXPECT_OK(adn_depth_range_map(D, 3, 0.2f, 0.8f, d));
    expect_values(d, (const float[]){0.2f, 0.5f, 0.8f}, 3, 1e-7);
    EXPECT_OK(adn_depth_range_map(D, 3, 1, 0, d));
    expect_values(d, (const float[]){1, 0.5f, 0}, 3, 1e-7);
}
END_TEST

START_TEST(logic_strength_and_blend) {
    const float mask[3] = {1, 0.5f, 2}, range[3] = {1, 1, -1};
    float s[3];
    EXPECT_OK(adn_strength_map(0.5f, mask, NULL, 3, s));
    expect_values(s, (const float[]){0.5f, 0.25f, 1}, 3, 1e-7); /* 0.5 * 2 = 1 */
    EXPECT_OK(adn_strength_map(0.8f, mask, range, 3, s));
    expect_values(s, (const float[]){0.8f, 0.4f, 0}, 3, 1e-7); /* clamped at both ends */
    EXPECT_OK(adn_strength_map(0.3f, NULL, NULL, 3, s));
    expect_values(s, (const float[]){0.3f, 0.3f, 0.3f}, 3, 0);
    const float t[4] = {10, 20, 30, 40}, fc[4] = {0, 0, 2, 2}, strength[2] = {0.25f, 1};
    float f[4];
    EXPECT_OK(adn_blend(t, fc, strength, 2, 2, f));
    expect_values(f, (const float[]){2.5f, 20, 9, 40}, 4, 1e-6);
}
END_TEST

START_TEST(logic_coral_properties) {
    enum { N = 64 };
    float style[3 * N], content[3 * N], out[3 * N];
    for (int i = 0; i < N; ++i) {
        float u = (float)((i * 37) % N) / N, v = (float)((i * 11) % N) / N;
        style[i] = u;
        style[N + i] = 0.5f * u + 0.3f * v;
        style[2 * N + i] = 1 - v;
        content[i] = 0.2f + 0.1f * v;
        content[N + i] = 0.9f * u;
        content[2 * N + i] = 0.4f;
    }
    /* matching an image to itself changes nothing */
    EXPECT_OK(adn_coral(style, N, style, N, out));
    expect_values(out, style, 3 * N, 1e-5);
    /* the result has the content's channel means (its constant blue plane stays constant) */
    EXPECT_OK(adn_coral(style, N, content, N, out));
    for (int c = 0; c < 3; ++c) {
        double got = 0, want = 0;
        for (int i = 0; i < N; ++i) {
            got += out[c * N + i];
            want += content[c * N + i];
        }
        ck_assert_double_eq_tol(got / N, want / N, 1e-6);
    }
    for (int i = 0; i < N; ++i) ck_assert_float_eq_tol(out[2 * N + i], 0.4f, 1e-6f);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------------------------- */

START_TEST(errors_adain) {
    /* style statistics sized for up to 2 styles x 2 channels */
    const float x[4] = {1, 2, 3, 4}, m[4] = {0, 0, 0, 0}, s[4] = {1, 1, 1, 1}, w[2] = {1, 1};
    const float nan_x[4] = {1, NAN, 3, 4}, inf_s[2] = {1, INFINITY};
    float out[4], mean[2], std[2];
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_channel_stats(NULL, 1, 4, ADN_ADAIN_EPS, mean, std));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_channel_stats(x, 1, 4, ADN_ADAIN_EPS, NULL, std));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_channel_stats(x, 0, 4, ADN_ADAIN_EPS, mean, std));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_channel_stats(x, 1, 0, ADN_ADAIN_EPS, mean, std));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_channel_stats(x, 1, 4, -1.0f, mean, std));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_channel_stats(x, 1, 4, NAN, mean, std));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_channel_stats(nan_x, 2, 2, ADN_ADAIN_EPS, mean, std));
    /* C * N beyond the address space is refused before any memory is touched */
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_channel_stats(x, INT32_MAX, INT64_MAX / 2, ADN_ADAIN_EPS, mean, std));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_channel_stats_masked(x, 1, 4, NULL, ADN_ADAIN_EPS, mean, std));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_channel_stats_masked(x, 1, 4, nan_x, ADN_ADAIN_EPS, mean, std));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain(x, 2, 2, m, s, ADN_ADAIN_EPS, NULL));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain(x, 2, 2, NULL, s, ADN_ADAIN_EPS, out));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain(x, 2, 2, m, inf_s, ADN_ADAIN_EPS, out));
    /* a failure leaves an aliased input untouched */
    float keep[4] = {1, 2, NAN, 4};
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain(keep, 2, 2, m, s, ADN_ADAIN_EPS, keep));
    ck_assert(keep[0] == 1 && keep[1] == 2 && keep[3] == 4);

    const float zero_w[2] = {0, 0}, neg_w[2] = {1, -0.5f}, nan_w[2] = {1, NAN};
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain_interpolate(x, 2, 2, 0, w, m, s, ADN_ADAIN_EPS, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain_interpolate(x, 2, 2, 2, zero_w, m, s, ADN_ADAIN_EPS, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain_interpolate(x, 2, 2, 2, neg_w, m, s, ADN_ADAIN_EPS, out));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain_interpolate(x, 2, 2, 2, nan_w, m, s, ADN_ADAIN_EPS, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain_interpolate(x, 2, 2, 1, NULL, m, s, ADN_ADAIN_EPS, out));
    float alias[4] = {1, 2, 3, 4};
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain_interpolate(alias, 2, 2, 1, w, m, s, ADN_ADAIN_EPS, alias));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain_regions(alias, 2, 2, 1, w, m, s, ADN_ADAIN_EPS, alias));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain_regions(x, 2, 2, 0, w, m, s, ADN_ADAIN_EPS, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain_regions(x, 2, 2, 1, NULL, m, s, ADN_ADAIN_EPS, out));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain_regions(x, 2, 2, 1, nan_w, m, s, ADN_ADAIN_EPS, out));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain_regions(nan_x, 2, 2, 1, w, m, s, ADN_ADAIN_EPS, out));
}
END_TEST

/* Review findings: eps must be > 0; a region with no pixel above 0.5 is plain AdaIN (not a
 * division by sqrt(eps)); only an exactly in-place crop may overlap. */
START_TEST(errors_and_fallbacks_found_in_review) {
    const float x[2 * 4] = {1, 2, 3, 4, 5, 5, 5, 5}; /* channel 1 is constant */
    float mean[2] = {0.5f, -1.0f}, std[2] = {2.0f, 3.0f}, out[8], plain[8];
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_adain(x, 2, 4, mean, std, 0.0f, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_channel_stats(x, 2, 4, -1e-5f, mean, std));

    const float halves[2 * 4] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f}; /* both regions empty */
    const float style_mean[2 * 2] = {0.5f, -1.0f, 0.5f, -1.0f}, style_std[2 * 2] = {2.0f, 3.0f, 2.0f, 3.0f};
    EXPECT_OK(adn_adain_regions(x, 2, 4, 2, halves, style_mean, style_std, ADN_ADAIN_EPS, out));
    EXPECT_OK(adn_adain(x, 2, 4, mean, std, ADN_ADAIN_EPS, plain));
    for (int i = 0; i < 8; ++i) ck_assert_float_eq_tol(out[i], plain[i], 1e-5f);

    float buffer[3 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_crop(buffer, 1, 2, 3, buffer + 1, 2, 2)); /* shifted overlap */
    EXPECT_OK(adn_crop(buffer, 1, 3, 3, buffer, 2, 2));                                 /* in place */
    const float want[4] = {1, 2, 4, 5};
    for (int i = 0; i < 4; ++i) ck_assert_float_eq(buffer[i], want[i]);
}
END_TEST

/* Finite inputs whose result is beyond FLT_MAX: ADN_ERR_NON_FINITE, never inf with ADN_OK, and
 * nothing written (out may alias the input).  Results just inside the range still pass. */
START_TEST(errors_overflow_is_non_finite) {
    const float x[2 * 4] = {1, 2, 3, 4, 5, 5, 5, 5}; /* channel 0 standardises to +-1.16, channel 1 to 0 */
    const float zero_mean[4] = {0, 0, 0, 0}, huge_std[4] = {3.4e38f, 1, 3.4e38f, 1}, w[2] = {1, 1};
    const float w4_all[4] = {1, 1, 1, 1};
    float out[8], alias[8];
    for (int i = 0; i < 8; ++i) out[i] = 7.0f, alias[i] = x[i];
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain(x, 2, 4, zero_mean, huge_std, ADN_ADAIN_EPS, out));
    for (int i = 0; i < 8; ++i) ck_assert_float_eq(out[i], 7.0f);
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain(alias, 2, 4, zero_mean, huge_std, ADN_ADAIN_EPS, alias));
    for (int i = 0; i < 8; ++i) ck_assert_float_eq(alias[i], x[i]);
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain_interpolate(x, 2, 4, 2, w, zero_mean, huge_std, ADN_ADAIN_EPS, out));
    const float regions[2 * 4] = {1, 1, 1, 1, 0, 0, 0, 0};
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_adain_regions(x, 2, 4, 2, regions, zero_mean, huge_std, ADN_ADAIN_EPS, out));

    /* A channel of +-3e38 has a std above FLT_MAX (found by the math fuzzer): refused, not inf;
     * +-1e38 has a std of 1.15e38 and comes through. */
    const float extreme[4] = {3e38f, -3e38f, 3e38f, -3e38f}, large[4] = {1e38f, -1e38f, 1e38f, -1e38f};
    float stats_mean[1] = {7.0f}, stats_std[1] = {7.0f};
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_channel_stats(extreme, 1, 4, ADN_ADAIN_EPS, stats_mean, stats_std));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_channel_stats_masked(extreme, 1, 4, w4_all, ADN_ADAIN_EPS, stats_mean, stats_std));
    ck_assert_float_eq(stats_mean[0], 7.0f); /* a refused channel writes nothing */
    ck_assert_float_eq(stats_std[0], 7.0f);
    EXPECT_OK(adn_channel_stats(large, 1, 4, ADN_ADAIN_EPS, stats_mean, stats_std));
    ck_assert_float_eq_tol(stats_std[0], (float)(1e38 * sqrt(4.0 / 3.0)), 1e32f);

    /* The same huge std on the constant channel only, and 1e38 on the other: finite and exact. */
    const float fits_std[2] = {1e38f, 3.4e38f};
    EXPECT_OK(adn_adain(x, 2, 4, zero_mean, fits_std, ADN_ADAIN_EPS, out));
    const double sd = sqrt(5.0 / 3.0 + (double)ADN_ADAIN_EPS);
    for (int i = 0; i < 4; ++i) {
        ck_assert_float_eq_tol(out[i], (float)(1e38 * (x[i] - 2.5) / sd), 1e32f);
        ck_assert_float_eq(out[4 + i], 0.0f);
    }

    enum { N = 8 };
    float style[3 * N], content[3 * N], coral_out[3 * N], coral_alias[3 * N];
    for (int i = 0; i < 3 * N; ++i) {
        style[i] = (float)((i * 7) % 5) / 5.0f + (float)(i % 3) * 0.1f;
        content[i] = (i % 2 ? 3e38f : -3e38f) * (i % 4 == 1 ? 1.0f : 0.9f);
        coral_out[i] = 7.0f;
        coral_alias[i] = style[i];
    }
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_coral(style, N, content, N, coral_out));
    for (int i = 0; i < 3 * N; ++i) ck_assert_float_eq(coral_out[i], 7.0f);
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_coral(coral_alias, N, content, N, coral_alias));
    for (int i = 0; i < 3 * N; ++i) ck_assert_float_eq(coral_alias[i], style[i]);
    /* +-1e37 content: large but representable, so the content's means come through */
    for (int i = 0; i < 3 * N; ++i) content[i] /= 30.0f;
    EXPECT_OK(adn_coral(style, N, content, N, coral_out));
    for (int c = 0; c < 3; ++c) {
        double got = 0, want = 0;
        for (int i = 0; i < N; ++i) {
            ck_assert(isfinite(coral_out[c * N + i]));
            got += coral_out[c * N + i];
            want += content[c * N + i];
        }
        ck_assert_double_eq_tol(got / N, want / N, 1e-5 * 1e37);
    }
}
END_TEST

START_TEST(errors_depth) {
    const float d[3] = {1, NAN, 2}, inf_d[2] = {1, INFINITY}, fine[2] = {1, 2};
    float out[3];
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_depth_normalize(d, 3, NULL, out, NULL));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_depth_normalize(inf_d, 2, NULL, out, NULL));
    adn_depth_norm_params zero_invalid = {0, 1, 0}, nan_invalid = {0, 1, NAN};
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_depth_normalize(d, 3, &zero_invalid, out, NULL)); /* NaN is not 0 */
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_depth_normalize(fine, 2, &nan_invalid, out, NULL));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_depth_normalize(NULL, 2, NULL, out, NULL));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_depth_normalize(fine, 2, NULL, NULL, NULL));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_depth_normalize(fine, 0, NULL, out, NULL));
    /* an infinity marked invalid is fine */
    adn_depth_norm_params inf_invalid = {0, 1, INFINITY};
    EXPECT_OK(adn_depth_normalize(inf_d, 2, &inf_invalid, out, NULL));
    expect_values(out, (const float[]){0, 1}, 2, 0);

    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_depth_range_map(fine, 2, -0.1f, 1, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_depth_range_map(fine, 2, 0, 1.5f, out));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_depth_range_map(fine, 2, NAN, 1, out));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_depth_range_map(d, 3, 0, 1, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_depth_range_map(NULL, 2, 0, 1, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_depth_range_map(fine, -1, 0, 1, out));
}
END_TEST

START_TEST(errors_resample) {
    const float x[4] = {1, 2, 3, 4};
    float out[16];
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_resize_bilinear(NULL, 1, 2, 2, out, 4, 4));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_resize_bilinear(x, 1, 2, 2, NULL, 4, 4));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_resize_bilinear(x, 1, 0, 2, out, 4, 4));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_resize_bilinear(x, 1, 2, 2, out, 4, 0));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_resize_bilinear(x, 0, 2, 2, out, 4, 4));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_resize_bilinear(x, 4096, INT32_MAX, INT32_MAX, out, 4, 4));
    float overlap[16] = {0};
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_resize_bilinear(overlap, 1, 2, 2, overlap + 2, 2, 2));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_pad_reflect(x, 1, 2, 2, out, 1, 4)); /* smaller */
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_pad_reflect(x, 1, 2, 2, out, 2, -3));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_pad_reflect(x, 1, 2, 2, NULL, 4, 4));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_pad_reflect(overlap, 1, 2, 2, overlap, 4, 4));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_crop(x, 1, 2, 2, out, 3, 2)); /* larger */
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_crop(x, 1, 2, 2, out, 0, 2));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_block_average(x, NULL, 1, 2, 2, 0, 0, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_block_average(x, NULL, 1, 2, 2, 3, 0, out)); /* 2 % 3 */
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_block_average(NULL, NULL, 1, 2, 2, 2, 0, out));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_block_average(x, NULL, 1, 2, 2, 2, NAN, out));
}
END_TEST

START_TEST(errors_strength_blend_coral) {
    const float m[2] = {0.5f, 1}, bad[2] = {0.5f, NAN}, t[4] = {1, 2, 3, 4};
    float s[4];
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_strength_map(1.5f, m, NULL, 2, s));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_strength_map(-0.1f, m, NULL, 2, s));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_strength_map(NAN, m, NULL, 2, s));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_strength_map(1, bad, NULL, 2, s));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_strength_map(1, m, bad, 2, s));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_strength_map(1, m, NULL, 0, s));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_strength_map(1, m, NULL, 2, NULL));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_blend(t, t, bad, 2, 2, s));
    /* An S outside [0,1] could overflow finite maps (1e30 * 4); refused, as the fuzzer asked. */
    const float huge_s[2] = {0.5f, 1e30f}, negative_s[2] = {-0.25f, 0.5f}, big_t[4] = {1, 3e38f, 3, -3e38f};
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_blend(big_t, t, huge_s, 2, 2, s));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_blend(t, t, negative_s, 2, 2, s));
    EXPECT_OK(adn_blend(big_t, t, m, 2, 2, s)); /* a convex combination stays finite */
    for (int i = 0; i < 4; ++i) ck_assert(isfinite(s[i]));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_blend(t, NULL, m, 2, 2, s));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_blend(t, t, m, 0, 2, s));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_blend(t, t, m, INT32_MAX, INT64_MAX / 4, s));

    const float img[6] = {0, 1, 0.5f, 0.2f, 0.3f, 0.9f}, nan_img[6] = {0, 1, NAN, 0.2f, 0.3f, 0.9f};
    float out[6];
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_coral(img, 1, img, 2, out)); /* unbiased std needs 2 */
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_coral(img, 2, img, 1, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_coral(NULL, 2, img, 2, out));
    EXPECT_FAIL(ADN_ERR_INVALID_ARGUMENT, adn_coral(img, 2, img, 2, NULL));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_coral(nan_img, 2, img, 2, out));
    EXPECT_FAIL(ADN_ERR_NON_FINITE, adn_coral(img, 2, nan_img, 2, out));
}
END_TEST

/* ---- runner ---------------------------------------------------------------------------------------- */

static TCase *test_case(const char *name) {
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60); /* sanitizer builds are slow; nothing here measures time */
    return tc;
}

static Suite *core_suite(void) {
    Suite *s = suite_create("core");
    TCase *ref = test_case("reference");
    tcase_add_test(ref, ref_channel_stats);
    tcase_add_test(ref, ref_channel_stats_masked);
    tcase_add_test(ref, ref_adain);
    tcase_add_test(ref, ref_adain_interpolate);
    tcase_add_test(ref, ref_adain_regions);
    tcase_add_test(ref, ref_depth_normalize);
    tcase_add_test(ref, ref_depth_range_map);
    tcase_add_test(ref, ref_resize_bilinear);
    tcase_add_test(ref, ref_pad_reflect);
    tcase_add_test(ref, ref_crop);
    tcase_add_test(ref, ref_block_average);
    tcase_add_test(ref, ref_strength_map);
    tcase_add_test(ref, ref_blend);
    tcase_add_test(ref, ref_coral);
    suite_add_tcase(s, ref);

    TCase *logic = test_case("logic");
    tcase_add_test(logic, logic_round_up);
    tcase_add_test(logic, logic_pad_and_crop);
    tcase_add_test(logic, logic_resize);
    tcase_add_test(logic, logic_block_average);
    tcase_add_test(logic, logic_channel_stats);
    tcase_add_test(logic, logic_adain_properties);
    tcase_add_test(logic, logic_depth);
    tcase_add_test(logic, logic_strength_and_blend);
    tcase_add_test(logic, logic_coral_properties);
    suite_add_tcase(s, logic);

    TCase *errors = test_case("errors");
    tcase_add_test(errors, errors_adain);
    tcase_add_test(errors, errors_and_fallbacks_found_in_review);
    tcase_add_test(errors, errors_overflow_is_non_finite);
    tcase_add_test(errors, errors_depth);
    tcase_add_test(errors, errors_resample);
    tcase_add_test(errors, errors_strength_blend_coral);
    suite_add_tcase(s, errors);
    return s;
}

static void load_vectors(void) {
    static char message[512];
    const char *path = adn_vec_path_from_env("ADN_CORE_VECTORS");
    if (!path) {
        skip_reason = "ADN_CORE_VECTORS is not set (no python with torch and numpy at configure time)";
        printf("NOTE: reference cases skip: %s\n", skip_reason);
        return;
    }
    if (adn_vec_load(path, &vectors) != 0) {
        snprintf(message, sizeof message, "cannot load reference vectors %s", path);
        load_failure = message;
    }
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* test bodies run in forked children */
    load_vectors();
    SRunner *runner = srunner_create(core_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    adn_vec_free(&vectors);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
