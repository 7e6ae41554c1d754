/* Temporal state for video beyond the depth path (docs/METHOD.md §8, lib/temporal.c): the EMA of
 * the content feature statistics against a direct computation, scene cuts that restart the state,
 * and "off" = the exact per-frame result bit for bit.
 *
 * The analytic bundle makes the direct computation possible in a few lines: its encoder is the 8x8
 * space-to-depth of F.pixel_unshuffle (channel ch * 64 + dy * 8 + dx, pixel (i, j) = content pixel
 * (8 i + dy, 8 j + dx) of colour ch) and its decoder the exact inverse, so with depth off and
 * alpha = 1 the output is the AdaIN target itself, rearranged back into an image.
 *
 * Environment: ADN_BUNDLE_ANALYTIC.  Exits 77 (meson: SKIP) when it is not built.  CK_FORK=no. */
#define ADN_EXPERIMENTAL_API 1
#include "adain_dcs.h"

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { H = 48, W = 64, BLOCK = 8, C = 3 * BLOCK * BLOCK, N = (H / BLOCK) * (W / BLOCK) };

static adn_model *model;


/* A smooth picture (a gradient that moves with `phase`) plus seeded noise of amplitude `noise`:
 * consecutive phases are the small changes of one shot, a far phase or seed a scene cut. */
static adn_image frame_at(int h, int w, float phase, unsigned seed, float noise) {
    adn_image img = {0};
    ck_assert_int_eq(adn_image_alloc(&img, 3, h, w), ADN_OK);
    unsigned x = seed * 2654435761u + 7u;
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int xx = 0; xx < w; ++xx) {
                x = x * 1664525u + 1013904223u;
                const float r = (float)(x >> 8) / 16777216.0f;
                const float base = 0.5f + 0.35f * sinf(0.11f * (float)xx + 0.07f * (float)y * (float)(c + 1) + phase);
                img.data[((size_t)c * h + y) * w + xx] = base + noise * (r - 0.5f);
            }
    return img;
}

static adn_context *new_context(const adn_temporal_params *tp) {
    adn_context *ctx = NULL;
    ck_assert_int_eq(adn_context_create(model, NULL, &ctx), ADN_OK);
    if (tp) ck_assert_msg(adn_context_set_temporal(ctx, tp) == ADN_OK, "%s", adn_last_error());
    return ctx;
}

static adn_style *new_style(unsigned seed) {
    adn_image img = frame_at(40, 56, 2.0f + (float)seed, seed, 0.6f);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(model, &img, &s), ADN_OK);
    adn_image_free(&img);
    return s;
}

/* Depth off and alpha = 1: S = 1, out = G(t). */
static adn_stylize_params plain_params(void) {
    adn_stylize_params p = adn_stylize_default_params();
    p.depth_source = ADN_DEPTH_NONE;
    return p;
}

static adn_image stylize_with(adn_context *ctx, const adn_image *content, const adn_style *const *styles, int32_t k,
                              const adn_stylize_params *p) {
    adn_image out = {0};
    adn_status st = adn_stylize(ctx, content, styles, k, p, &out);
    ck_assert_msg(st == ADN_OK, "adn_stylize: %s (%s)", adn_status_str(st), adn_last_error());
    return out;
}

/* The output of a fresh context, i.e. the exact per-frame result. */
static adn_image exact(const adn_image *content, const adn_style *const *styles, int32_t k, const adn_stylize_params *p) {
    adn_context *ctx = new_context(NULL);
    adn_image out = stylize_with(ctx, content, styles, k, p);
    adn_context_free(ctx);
    return out;
}

static int bit_equal(const adn_image *a, const adn_image *b) {
    return a->channels == b->channels && a->height == b->height && a->width == b->width &&
           memcmp(a->data, b->data, sizeof(float) * (size_t)a->channels * a->height * a->width) == 0;
}

/* ---- the direct computation ------------------------------------------------------------------ */

static double feature_at(const adn_image *img, int ch, int i) {
    const int colour = ch / (BLOCK * BLOCK), dy = (ch / BLOCK) % BLOCK, dx = ch % BLOCK;
    const int y = (i / (W / BLOCK)) * BLOCK + dy, x = (i % (W / BLOCK)) * BLOCK + dx;
    return img->data[((size_t)colour * H + y) * W + x];
}

/* Per-channel mean and std (unbiased, eps on the variance) of E(img), METHOD.md §2. */
static void feature_stats(const adn_image *img, double *mean, double *std) {
    for (int ch = 0; ch < C; ++ch) {
        double sum = 0, squares = 0;
        for (int i = 0; i < N; ++i) sum += feature_at(img, ch, i);
        mean[ch] = sum / N;
        for (int i = 0; i < N; ++i) squares += (feature_at(img, ch, i) - mean[ch]) * (feature_at(img, ch, i) - mean[ch]);
        std[ch] = sqrt(squares / (N - 1) + (double)ADN_ADAIN_EPS);
    }
}

/* max |out - G(sigma_s (E(img) - mu') / sigma' + mu_s)| */
static double max_error_against_direct(const adn_image *out, const adn_image *img, const double *mean_s,
                                       const double *std_s, const double *style_mean, const double *style_std) {
    double worst = 0;
    for (int ch = 0; ch < C; ++ch)
        for (int i = 0; i < N; ++i) {
            const double want = style_std[ch] * (feature_at(img, ch, i) - mean_s[ch]) / std_s[ch] + style_mean[ch];
            const double err = fabs(feature_at(out, ch, i) - want);
            if (err > worst) worst = err;
        }
    return worst;
}

static void style_stats(const adn_style *s, double *mean, double *std) {
    float m[C], sd[C];
    int32_t channels = 0;
    ck_assert_int_eq(adn_style_get_stats(s, m, sd, &channels), ADN_OK);
    ck_assert_int_eq(channels, C);
    for (int ch = 0; ch < C; ++ch) mean[ch] = m[ch], std[ch] = sd[ch];
}

/* ---- tests ----------------------------------------------------------------------------------- */

START_TEST(content_stats_ema_matches_direct_computation) {
    const float a = 0.6f;
    adn_temporal_params tp = adn_temporal_default_params();
    tp.content_stats_ema = a;
    adn_context *ctx = new_context(&tp);
    adn_style *styles[2] = {new_style(1), new_style(2)};
    const float weights[2] = {3.0f, 1.0f};
    double sm[2][C], ss[2][C], target_mean[C], target_std[C];
    style_stats(styles[0], sm[0], ss[0]);
    style_stats(styles[1], sm[1], ss[1]);
    const adn_stylize_params single = plain_params();
    adn_stylize_params mixed = plain_params();
    mixed.style_weights = weights;
    double mu[C], sigma[C], mu_s[C], sigma_s[C];
    for (int t = 0; t < 5; ++t) {
        adn_image frame = frame_at(H, W, 0.3f * (float)t, 10u + (unsigned)t, 0.2f);
        /* frames 0..2 single style, 3..4 a 3:1 mix (AdaIN is affine in the style statistics) */
        const int mix = t >= 3;
        adn_image out = mix ? stylize_with(ctx, &frame, (const adn_style *const *)styles, 2, &mixed)
                            : stylize_with(ctx, &frame, (const adn_style *const *)styles, 1, &single);
        feature_stats(&frame, mu, sigma);
        for (int ch = 0; ch < C; ++ch) {
            mu_s[ch] = t == 0 ? mu[ch] : a * mu_s[ch] + (1.0 - a) * mu[ch];
            sigma_s[ch] = t == 0 ? sigma[ch] : a * sigma_s[ch] + (1.0 - a) * sigma[ch];
            target_mean[ch] = mix ? 0.75 * sm[0][ch] + 0.25 * sm[1][ch] : sm[0][ch];
            target_std[ch] = mix ? 0.75 * ss[0][ch] + 0.25 * ss[1][ch] : ss[0][ch];
        }
        const double err = max_error_against_direct(&out, &frame, mu_s, sigma_s, target_mean, target_std);
        ck_assert_msg(err <= 2e-5, "frame %d: max |out - direct| = %g", t, err);
        /* and the smoothing does something: the exact per-frame statistics are far from it */
        const double off = max_error_against_direct(&out, &frame, mu, sigma, target_mean, target_std);
        if (t > 0) ck_assert_msg(off > 1e-3, "frame %d: smoothed output equals the per-frame one (%g)", t, off);
        if (t == 0) { /* the first frame starts the averages at its own values: exact, bit for bit */
            adn_image want = exact(&frame, (const adn_style *const *)styles, 1, &single);
            ck_assert(bit_equal(&out, &want));
            adn_image_free(&want);
        }
        adn_image_free(&out);
        adn_image_free(&frame);
    }
    adn_style_free(styles[0]);
    adn_style_free(styles[1]);
    adn_context_free(ctx);
}
END_TEST

/* All smoothing off (whatever the scene-cut threshold) is the fresh-context result bit for bit,
 * with the depth network on as well. */
START_TEST(off_is_exact_per_frame) {
    adn_style *s = new_style(3);
    adn_temporal_params tp = adn_temporal_default_params();
    tp.scene_cut_threshold = 0.01f;
    adn_context *with_cuts = new_context(&tp), *untouched = new_context(NULL);
    const adn_stylize_params with_depth = adn_stylize_default_params(); /* the analytic luma depth */
    const adn_stylize_params depth_off = plain_params();
    for (int t = 0; t < 4; ++t) {
        adn_image frame = frame_at(H, W, 0.5f * (float)t + (t == 2 ? 3.0f : 0.0f), 20u + (unsigned)t, 0.2f);
        const adn_stylize_params *p = t % 2 ? &depth_off : &with_depth;
        adn_image a = stylize_with(with_cuts, &frame, (const adn_style *const *)&s, 1, p);
        adn_image b = stylize_with(untouched, &frame, (const adn_style *const *)&s, 1, p);
        adn_image want = exact(&frame, (const adn_style *const *)&s, 1, p);
        ck_assert_msg(bit_equal(&a, &want) && bit_equal(&b, &want), "frame %d differs from the exact one", t);
        adn_image *all[] = {&a, &b, &want, &frame};
        for (size_t i = 0; i < 4; ++i) adn_image_free(all[i]);
    }
    adn_context_free(with_cuts);
    adn_context_free(untouched);
    adn_style_free(s);
}
END_TEST

static double mean_abs_difference(const adn_image *a, const adn_image *b) {
    const size_t n = (size_t)3 * a->height * a->width;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += fabs((double)a->data[i] - (double)b->data[i]);
    return sum / (double)n;
}

static adn_image depth_of(const adn_context *ctx) {
    adn_image d = {0};
    ck_assert_int_eq(adn_context_get_depth(ctx, &d), ADN_OK);
    return d;
}

/* Frames 0, 1 of one shot and frame 2 of another: a threshold between the two differences makes
 * frame 2 a first frame (output and depth of a fresh context, bit for bit); without detection, or
 * with a threshold above the cut, the state carries over and frame 2 differs. */
START_TEST(scene_cut_restarts_the_state) {
    adn_style *s = new_style(4);
    adn_image frames[3] = {frame_at(H, W, 0.0f, 31, 0.1f), frame_at(H, W, 0.2f, 32, 0.1f), frame_at(H, W, 2.5f, 33, 0.6f)};
    const double small = mean_abs_difference(&frames[1], &frames[0]), cut = mean_abs_difference(&frames[2], &frames[1]);
    ck_assert_msg(cut > 3 * small, "test frames: cut %g is not far above the in-shot change %g", cut, small);
    const float thresholds[3] = {(float)(0.5 * (small + cut)), 0.0f, (float)(2 * cut)};
    const adn_stylize_params p = adn_stylize_default_params(); /* depth from the network, smoothed */
    adn_image want = exact(&frames[2], (const adn_style *const *)&s, 1, &p);
    adn_context *fresh = new_context(NULL);
    adn_image out_fresh = stylize_with(fresh, &frames[2], (const adn_style *const *)&s, 1, &p);
    adn_image want_depth = depth_of(fresh);
    for (int k = 0; k < 3; ++k) {
        adn_temporal_params tp = adn_temporal_default_params();
        tp.depth_ema = 0.5f;
        tp.range_ema = 0.5f;
        tp.content_stats_ema = 0.7f;
        tp.scene_cut_threshold = thresholds[k];
        adn_context *ctx = new_context(&tp);
        adn_image outs[3];
        for (int t = 0; t < 3; ++t) outs[t] = stylize_with(ctx, &frames[t], (const adn_style *const *)&s, 1, &p);
        adn_image depth = depth_of(ctx);
        const int reset = bit_equal(&outs[2], &want) && bit_equal(&depth, &want_depth);
        ck_assert_msg(reset == (k == 0), "threshold %g (in-shot %g, cut %g): frame 2 %s", (double)thresholds[k], small,
                      cut, reset ? "was restarted" : "carried the state over");
        /* frame 1 (no cut for any threshold) always carries the state over */
        adn_image want1 = exact(&frames[1], (const adn_style *const *)&s, 1, &p);
        ck_assert(!bit_equal(&outs[1], &want1));
        adn_image_free(&want1);
        for (int t = 0; t < 3; ++t) adn_image_free(&outs[t]);
        adn_image_free(&depth);
        adn_context_free(ctx);
    }
    adn_image *all[] = {&want, &out_fresh, &want_depth, &frames[0], &frames[1], &frames[2]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) adn_image_free(all[i]);
    adn_context_free(fresh);
    adn_style_free(s);
}
END_TEST

/* adn_context_reset, a change of frame size and a call with region masks each restart the
 * statistics state: the next frame is exact. */
START_TEST(reset_size_change_and_regions_restart_the_statistics) {
    adn_style *s = new_style(5);
    adn_temporal_params tp = adn_temporal_default_params();
    tp.content_stats_ema = 0.8f;
    adn_context *ctx = new_context(&tp);
    const adn_stylize_params p = plain_params();
    adn_image f0 = frame_at(H, W, 0.0f, 41, 0.2f), f1 = frame_at(H, W, 0.4f, 42, 0.2f);
    adn_image small = frame_at(H - 8, W + 8, 0.8f, 43, 0.2f);
    adn_image want1 = exact(&f1, (const adn_style *const *)&s, 1, &p);
    adn_image want_small = exact(&small, (const adn_style *const *)&s, 1, &p);

    adn_image o = stylize_with(ctx, &f0, (const adn_style *const *)&s, 1, &p);
    adn_image_free(&o);
    o = stylize_with(ctx, &f1, (const adn_style *const *)&s, 1, &p);
    ck_assert(!bit_equal(&o, &want1)); /* carried over */
    adn_image_free(&o);
    ck_assert_int_eq(adn_context_reset(ctx), ADN_OK);
    o = stylize_with(ctx, &f1, (const adn_style *const *)&s, 1, &p);
    ck_assert(bit_equal(&o, &want1)); /* after the reset: a first frame */
    adn_image_free(&o);
    o = stylize_with(ctx, &small, (const adn_style *const *)&s, 1, &p);
    ck_assert(bit_equal(&o, &want_small)); /* another size: a first frame */
    adn_image_free(&o);

    /* a region call is exact and leaves no statistics behind */
    o = stylize_with(ctx, &f0, (const adn_style *const *)&s, 1, &p);
    adn_image_free(&o);
    adn_image regions = {0};
    ck_assert_int_eq(adn_image_alloc(&regions, 1, H, W), ADN_OK);
    for (size_t i = 0; i < (size_t)H * W; ++i) regions.data[i] = 1.0f;
    adn_stylize_params pr = plain_params();
    pr.region_masks = &regions;
    adn_image want_region = exact(&f1, (const adn_style *const *)&s, 1, &pr);
    o = stylize_with(ctx, &f1, (const adn_style *const *)&s, 1, &pr);
    ck_assert(bit_equal(&o, &want_region));
    adn_image_free(&o);
    o = stylize_with(ctx, &f1, (const adn_style *const *)&s, 1, &p);
    ck_assert(bit_equal(&o, &want1));
    adn_image_free(&o);

    adn_image *all[] = {&f0, &f1, &small, &want1, &want_small, &regions, &want_region};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) adn_image_free(all[i]);
    adn_context_free(ctx);
    adn_style_free(s);
}
END_TEST

START_TEST(parameters_are_checked) {
    adn_context *ctx = new_context(NULL);
    adn_temporal_params tp = adn_temporal_default_params();
    ck_assert(tp.content_stats_ema == 0.0f && tp.scene_cut_threshold == 0.0f);
    const float bad_ema[] = {1.0f, -0.1f, NAN};
    for (size_t i = 0; i < 3; ++i) {
        tp = adn_temporal_default_params();
        tp.content_stats_ema = bad_ema[i];
        ck_assert_int_eq(adn_context_set_temporal(ctx, &tp), ADN_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(adn_last_error(), "content_stats_ema"));
    }
    const float bad_threshold[] = {-0.5f, NAN, INFINITY};
    for (size_t i = 0; i < 3; ++i) {
        tp = adn_temporal_default_params();
        tp.scene_cut_threshold = bad_threshold[i];
        ck_assert_int_eq(adn_context_set_temporal(ctx, &tp), ADN_ERR_INVALID_ARGUMENT);
        ck_assert_ptr_nonnull(strstr(adn_last_error(), "scene_cut_threshold"));
    }
    /* a caller compiled before the two fields existed: they take their defaults (off) */
    adn_temporal_params old = {.struct_size = offsetof(adn_temporal_params, content_stats_ema), .depth_ema = 0.5f};
    ck_assert_int_eq(adn_context_set_temporal(ctx, &old), ADN_OK);
    adn_temporal_params init;
    memset(&init, 0xff, sizeof init);
    ck_assert_int_eq(adn_temporal_params_init(&init, sizeof init), ADN_OK);
    ck_assert(init.struct_size == sizeof init && init.content_stats_ema == 0.0f && init.scene_cut_threshold == 0.0f);
    adn_context_free(ctx);
}
END_TEST

int main(void) {
    const char *dir = getenv("ADN_BUNDLE_ANALYTIC");
    if (!dir || !*dir) {
        printf("SKIP: ADN_BUNDLE_ANALYTIC is not set (bundles need python with torch)\n");
        return 77;
    }
    Suite *s = suite_create("temporal");
    TCase *tc = tcase_create("temporal");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, content_stats_ema_matches_direct_computation);
    tcase_add_test(tc, off_is_exact_per_frame);
    tcase_add_test(tc, scene_cut_restarts_the_state);
    tcase_add_test(tc, reset_size_change_and_regions_restart_the_statistics);
    tcase_add_test(tc, parameters_are_checked);
    suite_add_tcase(s, tc);
    adn_model_params mp = adn_model_default_params();
    mp.device = ADN_DEVICE_CPU;
    adn_status st = adn_model_load(dir, &mp, &model);
    if (st != ADN_OK) { /* once for every test: a failure here fails the suite */
        fprintf(stderr, "loading the analytic bundle %s: %s (%s)\n", dir, adn_status_str(st), adn_last_error());
        return EXIT_FAILURE;
    }
    SRunner *runner = srunner_create(s);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    const int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    adn_model_free(model);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
