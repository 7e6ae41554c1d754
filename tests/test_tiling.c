/* Bounded memory (adn_context_params.memory_budget_bytes): a budget that forces tiles gives the
 * untiled output (<= 1e-4, no seams) for the synthetic VGG bundle at 1024 x 1024 and at odd sizes
 * with a mask and two styles, for the analytic bundle, and with the smallest tile; one byte less
 * than the smallest tile needs is refused up front with the estimate in the message; a bundle
 * without adn_receptive_field is refused when it would need tiles; and a bundle that understates
 * it shows seams (so the comparison can fail).
 *
 * The budgets come from this file's own reading of the estimate model documented at
 * adn_context_params in adain_dcs.h, so the tile plan the library logs is checked against an
 * independent computation: several tiles, and the largest tile's pass within the budget.
 *
 * Environment: ADN_BUNDLE_SYNTHETIC, ADN_BUNDLE_ANALYTIC, ADN_TILING_BUNDLES (made by
 * tests/ref/make_tiling_bundles.py).  Exits 77 (meson: SKIP) when they are not built.
 * Run with CK_FORK=no. */
#include "adain_dcs.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the estimate model of adain_dcs.h, written out independently ----------------------------- */

typedef struct call_model {
    int height, width, channels;
    int n_maps;         /* one-channel maps at content size */
    int n_feature_maps; /* at feature resolution */
} call_model;

static uint64_t round8(int n) { return (uint64_t)(n + 7) / 8 * 8; }

static uint64_t whole_image_bytes(const call_model *m) {
    const uint64_t hp = round8(m->height), wp = round8(m->width), features = (hp / 8) * (wp / 8);
    return 4u * (uint64_t)m->channels * features + 12u * (uint64_t)m->height * (uint64_t)m->width +
           4u * hp * wp * (uint64_t)m->n_maps + 4u * features * (uint64_t)m->n_feature_maps;
}

static uint64_t pass_bytes(uint64_t pixels, int channels) { return 1036u * pixels + 8u * (uint64_t)channels * pixels / 64u; }

/* A budget whose network allowance is exactly a square region of `region` feature pixels. */
static uint64_t budget_for_region(const call_model *m, int region) {
    return whole_image_bytes(m) + pass_bytes(64u * (uint64_t)region * (uint64_t)region, m->channels);
}

static double mib(uint64_t bytes) { return (double)bytes / 1048576.0; }

/* ---- the library's tile plan, from its INFO log line ------------------------------------------ */

typedef struct tile_plan {
    int seen;
    int rows[2], cols[2], core_h[2], core_w[2], halo[2]; /* [0] encoder, [1] decoder; pixels */
} tile_plan;

static tile_plan last_plan;

static void read_plan(adn_log_level level, const char *message, void *user_data) {
    (void)user_data;
    const char *at = strstr(message, "encoder ");
    if (level != ADN_LOG_INFO || !strstr(message, " over tiles") || !at) return;
    tile_plan *p = &last_plan;
    p->seen = sscanf(at, "encoder %dx%d tiles of %dx%d + %d px halo, decoder %dx%d tiles of %dx%d + %d px halo", &p->rows[0],
                     &p->cols[0], &p->core_h[0], &p->core_w[0], &p->halo[0], &p->rows[1], &p->cols[1], &p->core_h[1],
                     &p->core_w[1], &p->halo[1]) == 10;
}

/* Several tiles, the halo of the bundle, and the largest region's pass within the allowance. */
static void check_plan(const call_model *m, uint64_t budget, int halo_px) {
    ck_assert_msg(last_plan.seen, "the library logged no tile plan");
    const int h = (int)round8(m->height), w = (int)round8(m->width); /* the padded image */
    for (int k = 0; k < 2; ++k) {
        ck_assert_msg(last_plan.rows[k] * last_plan.cols[k] >= 4, "only %dx%d tiles", last_plan.rows[k], last_plan.cols[k]);
        ck_assert_int_eq(last_plan.halo[k], halo_px);
        ck_assert_int_eq(last_plan.core_h[k] % 8, 0);
        ck_assert_int_eq(last_plan.core_w[k] % 8, 0);
        ck_assert_int_ge(last_plan.core_h[k] * last_plan.rows[k], h);
        ck_assert_int_ge(last_plan.core_w[k] * last_plan.cols[k], w);
        const int rh = last_plan.core_h[k] + 2 * halo_px < h ? last_plan.core_h[k] + 2 * halo_px : h;
        const int rw = last_plan.core_w[k] + 2 * halo_px < w ? last_plan.core_w[k] + 2 * halo_px : w;
        const uint64_t need = whole_image_bytes(m) + pass_bytes((uint64_t)rh * (uint64_t)rw, m->channels);
        ck_assert_msg(need <= budget, "a %dx%d tile needs %.3f MiB, above the budget of %.3f MiB", rh, rw, mib(need), mib(budget));
    }
}

/* ---- images, models, runs --------------------------------------------------------------------- */

/* Smooth gradients plus pixel noise: high frequencies everywhere, so a seam cannot hide. */
static adn_image test_image(int h, int w, unsigned seed) {
    adn_image img = {0};
    ck_assert_int_eq(adn_image_alloc(&img, 3, h, w), ADN_OK);
    unsigned x = seed * 2654435761u + 1u;
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < h; ++y)
            for (int i = 0; i < w; ++i) {
                x = x * 1664525u + 1013904223u;
                const float noise = (float)(x >> 8) / 16777216.0f;
                img.data[((size_t)c * h + y) * w + i] =
                    0.35f * noise + 0.3f * (float)y / (float)h + 0.3f * (0.5f + 0.5f * sinf(0.05f * (float)(i + 7 * c)));
            }
    return img;
}

static adn_model *load_model(const char *dir) {
    adn_model_params p = adn_model_default_params();
    p.device = ADN_DEVICE_CPU;
    adn_model *m = NULL;
    adn_status st = adn_model_load(dir, &p, &m);
    ck_assert_msg(st == ADN_OK, "loading %s: %s (%s)", dir, adn_status_str(st), adn_last_error());
    return m;
}

static const char *tiling_bundle(const char *name) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", getenv("ADN_TILING_BUNDLES"), name);
    return path;
}

static int progress_calls;
static int count_progress(adn_stage stage, void *user_data) {
    (void)stage;
    (void)user_data;
    ++progress_calls;
    return 0;
}

typedef struct run_result {
    adn_status status;
    adn_image out, depth, strength;
    double ms;
    char message[512];
} run_result;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* One adn_stylize under `budget` with a fresh context; keeps D and S when there are any. */
static run_result run_with_budget(const adn_model *m, const adn_image *content, const adn_style *const *styles, int n_styles,
                                  const adn_stylize_params *sp, uint64_t budget) {
    run_result r = {.status = ADN_OK};
    adn_context_params cp = adn_context_default_params();
    cp.memory_budget_bytes = budget;
    cp.progress = count_progress;
    adn_context *ctx = NULL;
    ck_assert_int_eq(adn_context_create(m, &cp, &ctx), ADN_OK);
    memset(&last_plan, 0, sizeof last_plan);
    progress_calls = 0;
    const double start = now_ms();
    r.status = adn_stylize(ctx, content, styles, n_styles, sp, &r.out);
    r.ms = now_ms() - start;
    snprintf(r.message, sizeof r.message, "%s", r.status ? adn_last_error() : "");
    if (r.status == ADN_OK) {
        if (adn_context_get_depth(ctx, &r.depth) != ADN_OK) adn_clear_error();
        ck_assert_int_eq(adn_context_get_strength(ctx, &r.strength), ADN_OK);
    }
    adn_context_free(ctx);
    return r;
}

static void free_result(run_result *r) {
    adn_image_free(&r->out);
    adn_image_free(&r->depth);
    adn_image_free(&r->strength);
}

static double max_abs_diff(const adn_image *a, const adn_image *b) {
    ck_assert_int_eq(a->channels, b->channels);
    ck_assert_int_eq(a->height, b->height);
    ck_assert_int_eq(a->width, b->width);
    double worst = 0;
    for (size_t i = 0; i < (size_t)a->channels * a->height * a->width; ++i) {
        double d = fabs((double)a->data[i] - (double)b->data[i]);
        if (!(d <= worst)) worst = d; /* NaN counts as the worst */
    }
    return worst;
}

/* Tiled (under budget) against untiled (UINT64_MAX): the output within tolerance, D and S equal.
 * Returns the largest output difference. */
static double compare_tiled(const char *name, const adn_model *m, const call_model *cm, const adn_image *content,
                            const adn_style *const *styles, int n_styles, const adn_stylize_params *sp, uint64_t budget,
                            int halo_px) {
    run_result untiled = run_with_budget(m, content, styles, n_styles, sp, UINT64_MAX);
    ck_assert_msg(untiled.status == ADN_OK, "%s untiled: %s", name, untiled.message);
    ck_assert_msg(!last_plan.seen, "%s: the untiled run was tiled", name);
    run_result tiled = run_with_budget(m, content, styles, n_styles, sp, budget);
    ck_assert_msg(tiled.status == ADN_OK, "%s tiled: %s", name, tiled.message);
    check_plan(cm, budget, halo_px);
    const double diff = max_abs_diff(&tiled.out, &untiled.out);
    printf("%s %dx%d: encoder %dx%d tiles of %dx%d, decoder %dx%d tiles of %dx%d; max |tiled - untiled| = %.3g; "
           "untiled %.0f ms, tiled %.0f ms\n",
           name, cm->height, cm->width, last_plan.rows[0], last_plan.cols[0], last_plan.core_h[0], last_plan.core_w[0],
           last_plan.rows[1], last_plan.cols[1], last_plan.core_h[1], last_plan.core_w[1], diff, untiled.ms, tiled.ms);
    ck_assert_int_eq(max_abs_diff(&tiled.strength, &untiled.strength) == 0.0, 1);
    if (untiled.depth.data) ck_assert_int_eq(max_abs_diff(&tiled.depth, &untiled.depth) == 0.0, 1);
    free_result(&untiled);
    free_result(&tiled);
    return diff;
}

static adn_style *make_style(const adn_model *m, int h, int w, unsigned seed) {
    adn_image img = test_image(h, w, seed);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &img, &s), ADN_OK);
    adn_image_free(&img);
    return s;
}

/* ---- cases ------------------------------------------------------------------------------------ */

static adn_model *synthetic;

static void load_synthetic(void) { synthetic = load_model(getenv("ADN_BUNDLE_SYNTHETIC")); }
static void free_synthetic(void) {
    adn_model_free(synthetic);
    synthetic = NULL;
}

/* 1024 x 1024 with the depth network: cores of at most 48 feature pixels, 3 x 3 tiles. */
START_TEST(vgg_1024_tiled_equals_untiled) {
    const call_model cm = {.height = 1024, .width = 1024, .channels = 512, .n_maps = 5, .n_feature_maps = 11};
    adn_image content = test_image(1024, 1024, 1);
    adn_style *style = make_style(synthetic, 256, 256, 2);
    const adn_style *styles[] = {style};
    const double diff = compare_tiled("vgg", synthetic, &cm, &content, styles, 1, NULL, budget_for_region(&cm, 48 + 8), 32);
    ck_assert_msg(diff <= 1e-4, "tiled differs from untiled by %g", diff);
    adn_style_free(style);
    adn_image_free(&content);
}
END_TEST

/* 517 x 389 (neither a multiple of 8: the padded border lies in the last tiles), a mask and two
 * interpolated styles, cores of at most 24 feature pixels. */
START_TEST(vgg_odd_size_mask_two_styles) {
    const call_model cm = {.height = 517, .width = 389, .channels = 512, .n_maps = 6, .n_feature_maps = 11};
    adn_image content = test_image(517, 389, 3), mask = {0};
    ck_assert_int_eq(adn_image_alloc(&mask, 1, 517, 389), ADN_OK);
    for (int i = 0; i < 517 * 389; ++i) mask.data[i] = (float)(i % 389) / 388.0f;
    adn_style *a = make_style(synthetic, 120, 96, 4), *b = make_style(synthetic, 64, 136, 5);
    const adn_style *styles[] = {a, b};
    const float weights[] = {0.3f, 0.7f};
    adn_stylize_params sp = adn_stylize_default_params();
    sp.mask = &mask;
    sp.style_weights = weights;
    sp.alpha = 0.9f;
    const double diff = compare_tiled("vgg", synthetic, &cm, &content, styles, 2, &sp, budget_for_region(&cm, 24 + 8), 32);
    ck_assert_msg(diff <= 1e-4, "tiled differs from untiled by %g", diff);
    adn_style_free(a);
    adn_style_free(b);
    adn_image_free(&mask);
    adn_image_free(&content);
}
END_TEST

/* The budget of the smallest tile (a 64 x 64 core with its halo) exactly: it runs and matches;
 * one byte less is refused before any stage, with the estimate in the message and the caller's
 * out untouched. */
START_TEST(vgg_smallest_tile_and_refusal) {
    const call_model cm = {.height = 136, .width = 200, .channels = 512, .n_maps = 0, .n_feature_maps = 11};
    adn_image content = test_image(136, 200, 6);
    adn_style *style = make_style(synthetic, 64, 64, 7);
    const adn_style *styles[] = {style};
    adn_stylize_params sp = adn_stylize_default_params();
    sp.depth_source = ADN_DEPTH_NONE;
    const uint64_t smallest = budget_for_region(&cm, 8 + 8);
    const double diff = compare_tiled("vgg smallest", synthetic, &cm, &content, styles, 1, &sp, smallest, 32);
    ck_assert_msg(diff <= 1e-4, "tiled differs from untiled by %g", diff);
    ck_assert_int_ge(last_plan.rows[0], 3); /* a 17 x 25 feature map in cores of 8 or so */
    ck_assert_int_ge(last_plan.cols[0], 3);

    adn_context_params cp = adn_context_default_params();
    cp.memory_budget_bytes = smallest - 1;
    cp.progress = count_progress;
    adn_context *ctx = NULL;
    ck_assert_int_eq(adn_context_create(synthetic, &cp, &ctx), ADN_OK);
    adn_image out = {0};
    ck_assert_int_eq(adn_image_alloc(&out, 3, 136, 200), ADN_OK);
    for (int i = 0; i < 3 * 136 * 200; ++i) out.data[i] = 0.25f;
    progress_calls = 0;
    ck_assert_int_eq(adn_stylize(ctx, &content, styles, 1, &sp, &out), ADN_ERR_TOO_LARGE);
    char expected[256];
    snprintf(expected, sizeof expected, "needs an estimated %.0f MiB (%.0f MiB of whole-image buffers + %.0f MiB for the smallest tile, 128x128 pixels)",
             mib(smallest), mib(whole_image_bytes(&cm)), mib(smallest - whole_image_bytes(&cm)));
    ck_assert_msg(strstr(adn_last_error(), expected), "message '%s' lacks '%s'", adn_last_error(), expected);
    ck_assert_int_eq(progress_calls, 0);
    for (int i = 0; i < 3 * 136 * 200; ++i) ck_assert_float_eq(out.data[i], 0.25f);
    adn_image_free(&out);
    adn_context_free(ctx);
    adn_style_free(style);
    adn_image_free(&content);
}
END_TEST

/* A halo smaller than the receptive field (the bundle says 8 pixels, the truth is 30): the same
 * tiles now differ from the untiled output, so the comparison above is able to fail. */
START_TEST(understated_receptive_field_shows_seams) {
    const call_model cm = {.height = 136, .width = 200, .channels = 512, .n_maps = 0, .n_feature_maps = 11};
    adn_model *m = load_model(tiling_bundle("understated_field"));
    adn_image content = test_image(136, 200, 6);
    adn_style *style = make_style(m, 64, 64, 7);
    const adn_style *styles[] = {style};
    adn_stylize_params sp = adn_stylize_default_params();
    sp.depth_source = ADN_DEPTH_NONE;
    const double diff = compare_tiled("understated", m, &cm, &content, styles, 1, &sp, budget_for_region(&cm, 8 + 2), 8);
    ck_assert_msg(diff > 1e-3, "a 1-feature-pixel halo still matches untiled (%g): the test could not see seams", diff);
    adn_style_free(style);
    adn_image_free(&content);
    adn_model_free(m);
}
END_TEST

/* The analytic pair declares adn_receptive_field = 0: tiles without halo, and pure data movement
 * on both sides, so the tiled output is the untiled one bit for bit. */
START_TEST(analytic_tiled_equals_untiled) {
    const call_model cm = {.height = 480, .width = 643, .channels = 192, .n_maps = 5, .n_feature_maps = 11};
    adn_model *m = load_model(getenv("ADN_BUNDLE_ANALYTIC"));
    adn_image content = test_image(480, 643, 8);
    adn_style *style = make_style(m, 77, 50, 9);
    const adn_style *styles[] = {style};
    const double diff = compare_tiled("analytic", m, &cm, &content, styles, 1, NULL, budget_for_region(&cm, 16), 0);
    ck_assert_msg(diff == 0.0, "tiled differs from untiled by %g", diff);
    adn_style_free(style);
    adn_image_free(&content);
    adn_model_free(m);
}
END_TEST

/* A bundle without adn_receptive_field runs untiled as before, and is refused, saying why, when
 * the budget would need tiles. */
START_TEST(no_receptive_field_refuses_tiling) {
    const call_model cm = {.height = 256, .width = 256, .channels = 192, .n_maps = 0, .n_feature_maps = 11};
    adn_model *m = load_model(tiling_bundle("no_receptive_field"));
    adn_image content = test_image(256, 256, 10);
    adn_style *style = make_style(m, 32, 32, 11);
    const adn_style *styles[] = {style};
    run_result fits = run_with_budget(m, &content, styles, 1, NULL, UINT64_MAX);
    ck_assert_msg(fits.status == ADN_OK, "%s", fits.message);
    run_result refused = run_with_budget(m, &content, styles, 1, NULL, budget_for_region(&cm, 16));
    ck_assert_int_eq(refused.status, ADN_ERR_TOO_LARGE);
    ck_assert_msg(strstr(refused.message, "encoder.pt declares no adn_receptive_field"), "message: %s", refused.message);
    ck_assert_int_eq(progress_calls, 0);
    ck_assert_ptr_null(refused.out.data);
    free_result(&fits);
    free_result(&refused);
    adn_style_free(style);
    adn_image_free(&content);
    adn_model_free(m);
}
END_TEST

static Suite *tiling_suite(void) {
    Suite *s = suite_create("tiling");
    TCase *vgg = tcase_create("vgg");
    tcase_add_unchecked_fixture(vgg, load_synthetic, free_synthetic);
    tcase_set_timeout(vgg, 1500);
    tcase_add_test(vgg, vgg_1024_tiled_equals_untiled);
    tcase_add_test(vgg, vgg_odd_size_mask_two_styles);
    tcase_add_test(vgg, vgg_smallest_tile_and_refusal);
    suite_add_tcase(s, vgg);
    TCase *seams = tcase_create("seams");
    tcase_set_timeout(seams, 600);
    tcase_add_test(seams, understated_receptive_field_shows_seams);
    suite_add_tcase(s, seams);
    TCase *analytic = tcase_create("analytic"); /* cheap: CK_RUN_CASE=analytic under valgrind */
    tcase_set_timeout(analytic, 600);
    tcase_add_test(analytic, analytic_tiled_equals_untiled);
    tcase_add_test(analytic, no_receptive_field_refuses_tiling);
    suite_add_tcase(s, analytic);
    return s;
}

int main(void) {
    const char *needed[] = {"ADN_BUNDLE_SYNTHETIC", "ADN_BUNDLE_ANALYTIC", "ADN_TILING_BUNDLES"};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; ++i) {
        const char *v = getenv(needed[i]);
        if (!v || !*v) {
            printf("SKIP: %s is not set (the bundles need python with torch)\n", needed[i]);
            return 77;
        }
    }
    adn_set_log_callback(read_plan, NULL, ADN_LOG_INFO);
    SRunner *runner = srunner_create(tiling_suite());
    srunner_run_all(runner, CK_NORMAL);
    const int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? 1 : 0;
}
