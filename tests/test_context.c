/* Contexts on a shared model: 8 threads with a context each give the single-threaded output bit for
 * bit; a context reuses its buffers; older (shorter) and newer (longer) parameter structs; the
 * progress callback cancels without writing; depth without stylizing; temporal smoothing.
 *
 * Environment: ADN_BUNDLE_ANALYTIC (and ADN_BUNDLE_SYNTHETIC for the VGG-sized thread case).
 * Exits 77 (meson: SKIP) when the bundles are not built.  Run with CK_FORK=no. */
#define ADN_EXPERIMENTAL_API 1
#include "adain_dcs.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_THREADS 8

static adn_model *load_or_fail(const char *dir, int32_t n_threads) {
    adn_model_params p = adn_model_default_params();
    p.device = ADN_DEVICE_CPU;
    p.n_threads = n_threads;
    adn_model *m = NULL;
    adn_status st = adn_model_load(dir, &p, &m);
    ck_assert_msg(st == ADN_OK, "loading %s: %s (%s)", dir, adn_status_str(st), adn_last_error());
    return m;
}

static adn_image random_image(int c, int h, int w, unsigned seed) {
    adn_image img = {0};
    ck_assert_int_eq(adn_image_alloc(&img, c, h, w), ADN_OK);
    unsigned x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < (size_t)c * h * w; ++i) {
        x = x * 1664525u + 1013904223u;
        img.data[i] = (float)(x >> 8) / 16777216.0f;
    }
    return img;
}

static size_t image_bytes(const adn_image *img) {
    return sizeof(float) * (size_t)img->channels * (size_t)img->height * (size_t)img->width;
}

static adn_context *context_of(const adn_model *m) {
    adn_context *c = NULL;
    ck_assert_msg(adn_context_create(m, NULL, &c) == ADN_OK, "context: %s", adn_last_error());
    return c;
}

/* ---- 8 threads, one context each ------------------------------------------------------------ */

typedef struct thread_job {
    const adn_model *model;
    const adn_style *style;
    const adn_image *contents; /* 3 frames */
    adn_image outs[3];
    adn_status status;
    char message[256];
} thread_job;

static void *stylize_frames(void *arg) {
    thread_job *job = arg;
    adn_context *ctx = NULL;
    job->status = adn_context_create(job->model, NULL, &ctx);
    for (int f = 0; f < 3 && job->status == ADN_OK; ++f)
        job->status = adn_stylize(ctx, &job->contents[f], &job->style, 1, NULL, &job->outs[f]);
    if (job->status != ADN_OK) snprintf(job->message, sizeof job->message, "%s", adn_last_error());
    adn_context_free(ctx);
    return NULL;
}

static void threads_match_single_thread(const char *dir, int size) {
    adn_model *m = load_or_fail(dir, 1);
    adn_image style = random_image(3, size + 3, size - 5, 7);
    adn_image contents[3];
    for (int f = 0; f < 3; ++f) contents[f] = random_image(3, size - 2 * f, size + 7, 100 + (unsigned)f);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &style, &s), ADN_OK);

    thread_job reference = {m, s, contents, {{0}}, ADN_OK, ""};
    stylize_frames(&reference);
    ck_assert_msg(reference.status == ADN_OK, "single thread: %s", reference.message);

    thread_job jobs[N_THREADS];
    pthread_t threads[N_THREADS];
    for (int t = 0; t < N_THREADS; ++t) {
        jobs[t] = (thread_job){m, s, contents, {{0}}, ADN_OK, ""};
        ck_assert_int_eq(pthread_create(&threads[t], NULL, stylize_frames, &jobs[t]), 0);
    }
    for (int t = 0; t < N_THREADS; ++t) pthread_join(threads[t], NULL);
    for (int t = 0; t < N_THREADS; ++t) {
        ck_assert_msg(jobs[t].status == ADN_OK, "thread %d: %s", t, jobs[t].message);
        for (int f = 0; f < 3; ++f) {
            ck_assert_msg(memcmp(jobs[t].outs[f].data, reference.outs[f].data, image_bytes(&contents[f])) == 0,
                          "%s: thread %d frame %d differs from the single-threaded output", dir, t, f);
            adn_image_free(&jobs[t].outs[f]);
        }
    }
    for (int f = 0; f < 3; ++f) {
        adn_image_free(&reference.outs[f]);
        adn_image_free(&contents[f]);
    }
    adn_style_free(s);
    adn_image_free(&style);
    adn_model_free(m);
}

START_TEST(eight_threads_match_one_analytic) { threads_match_single_thread(getenv("ADN_BUNDLE_ANALYTIC"), 40); }
END_TEST

START_TEST(eight_threads_match_one_vgg) {
    const char *dir = getenv("ADN_BUNDLE_SYNTHETIC");
    if (!dir || !*dir || getenv("ADN_ANALYTIC_ONLY")) {
        printf("SKIP: synthetic VGG bundle not used in this run\n");
        return;
    }
    threads_match_single_thread(dir, 24);
}
END_TEST

/* ---- one context, repeated calls ---------------------------------------------------------- */

START_TEST(repeated_calls_are_identical) {
    adn_model *m = load_or_fail(getenv("ADN_BUNDLE_ANALYTIC"), 0);
    adn_context *ctx = context_of(m);
    adn_image content = random_image(3, 37, 29, 3), small = random_image(3, 9, 12, 4);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    adn_image first = {0}, again = {0}, between = {0};
    ck_assert_int_eq(adn_stylize(ctx, &content, (const adn_style *const *)&s, 1, NULL, &first), ADN_OK);
    /* A smaller call in between reuses the larger buffers; the next large call must not see it. */
    ck_assert_int_eq(adn_stylize(ctx, &small, (const adn_style *const *)&s, 1, NULL, &between), ADN_OK);
    ck_assert_int_eq(adn_stylize(ctx, &content, (const adn_style *const *)&s, 1, NULL, &again), ADN_OK);
    ck_assert_int_eq(memcmp(first.data, again.data, image_bytes(&first)), 0);
    adn_image depth = {0}, strength = {0};
    ck_assert_int_eq(adn_context_get_depth(ctx, &depth), ADN_OK);
    ck_assert_int_eq(depth.height, 37);
    ck_assert_int_eq(depth.width, 29);
    ck_assert_int_eq(adn_context_get_strength(ctx, &strength), ADN_OK);
    ck_assert_int_eq(strength.height, 5);
    ck_assert_int_eq(strength.width, 4);
    adn_timings t = {.struct_size = sizeof t};
    ck_assert_int_eq(adn_context_get_timings(ctx, &t), ADN_OK);
    ck_assert(t.total_ms > 0 && t.content_encode_ms > 0 && t.decode_ms > 0);
    ck_assert(t.total_ms >= t.content_encode_ms + t.decode_ms);
    float lo = -1, hi = -1;
    ck_assert_int_eq(adn_context_get_depth_range(ctx, &lo, &hi), ADN_OK);
    ck_assert(lo == 0.0f && hi == 1.0f);
    /* With depth off there is no D to get. */
    adn_stylize_params p = adn_stylize_default_params();
    p.depth_source = ADN_DEPTH_NONE;
    ck_assert_int_eq(adn_stylize(ctx, &content, (const adn_style *const *)&s, 1, &p, &again), ADN_OK);
    adn_image_free(&depth);
    ck_assert_int_eq(adn_context_get_depth(ctx, &depth), ADN_ERR_INVALID_ARGUMENT);
    adn_image_free(&strength);
    adn_image_free(&first);
    adn_image_free(&again);
    adn_image_free(&between);
    adn_image_free(&content);
    adn_image_free(&small);
    adn_style_free(s);
    adn_context_free(ctx);
    adn_model_free(m);
}
END_TEST

/* ---- ABI growth ---------------------------------------------------------------------------- */

/* adn_stylize_params as an older caller compiled it: without depth_norm and preserve_color. */
typedef struct older_stylize_params {
    size_t struct_size;
    float alpha;
    const adn_image *mask;
    const float *style_weights;
    const adn_image *region_masks;
    adn_depth_source depth_source;
    const adn_image *depth;
} older_stylize_params;

/* A newer caller's struct: one field this library does not know. */
typedef struct newer_stylize_params {
    adn_stylize_params known;
    uint64_t future_field;
} newer_stylize_params;

START_TEST(older_and_newer_structs) {
    adn_model *m = load_or_fail(getenv("ADN_BUNDLE_ANALYTIC"), 0);
    adn_context *ctx = context_of(m);
    adn_image content = random_image(3, 24, 16, 13), style = random_image(3, 16, 16, 14);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &style, &s), ADN_OK);
    const adn_style *one[] = {s};
    adn_image want = {0}, got = {0};
    adn_stylize_params current = adn_stylize_default_params();
    current.alpha = 0.5f;
    ck_assert_int_eq(adn_stylize(ctx, &content, one, 1, &current, &want), ADN_OK);

    older_stylize_params older;
    memset(&older, 0xAB, sizeof older); /* garbage must not matter past struct_size... */
    memset(&older, 0, sizeof older);    /* ...but an older caller zero-initialises its own fields */
    older.struct_size = sizeof older;
    older.alpha = 0.5f;
    older.depth_source = ADN_DEPTH_AUTO;
    ck_assert_msg(adn_stylize(ctx, &content, one, 1, (const adn_stylize_params *)&older, &got) == ADN_OK, "%s",
                  adn_last_error());
    ck_assert_int_eq(memcmp(want.data, got.data, image_bytes(&want)), 0);
    adn_image_free(&got);

    /* The library's init fills only the bytes the caller has. */
    struct {
        older_stylize_params p;
        uint32_t canary;
    } guarded;
    guarded.canary = 0xC0FFEEu;
    ck_assert_int_eq(adn_stylize_params_init((adn_stylize_params *)&guarded.p, sizeof guarded.p), ADN_OK);
    ck_assert_uint_eq(guarded.canary, 0xC0FFEEu);
    ck_assert(guarded.p.alpha == 1.0f && guarded.p.struct_size == sizeof guarded.p);

    newer_stylize_params newer;
    memset(&newer, 0, sizeof newer);
    newer.known = current;
    newer.known.struct_size = sizeof newer;
    ck_assert_int_eq(adn_stylize(ctx, &content, one, 1, (const adn_stylize_params *)&newer, &got), ADN_OK);
    ck_assert_int_eq(memcmp(want.data, got.data, image_bytes(&want)), 0);
    adn_image_free(&got);
    newer.future_field = 1;
    ck_assert_int_eq(adn_stylize(ctx, &content, one, 1, (const adn_stylize_params *)&newer, &got), ADN_ERR_UNSUPPORTED);
    ck_assert_ptr_null(got.data);
    current.struct_size = 0;
    ck_assert_int_eq(adn_stylize(ctx, &content, one, 1, &current, &got), ADN_ERR_INVALID_ARGUMENT);

    /* Info structs: an older, shorter adn_model_info gets only its bytes. */
    struct {
        size_t struct_size;
        int32_t feature_channels, downsample;
        uint32_t canary;
    } short_info = {offsetof(adn_model_info, depth_kind), 0, 0, 0xC0FFEEu};
    ck_assert_int_eq(adn_model_get_info(m, (adn_model_info *)&short_info), ADN_OK);
    ck_assert_int_eq(short_info.feature_channels, 192);
    ck_assert_int_eq(short_info.downsample, 8);
    ck_assert_uint_eq(short_info.canary, 0xC0FFEEu);

    adn_image_free(&want);
    adn_image_free(&content);
    adn_image_free(&style);
    adn_style_free(s);
    adn_context_free(ctx);
    adn_model_free(m);
}
END_TEST

/* ---- progress and cancel ------------------------------------------------------------------- */

typedef struct progress_log {
    int calls;
    adn_stage stages[8];
    adn_stage cancel_at; /* -1: never */
} progress_log;

static int record_progress(adn_stage stage, void *user_data) {
    progress_log *log = user_data;
    if (log->calls < 8) log->stages[log->calls] = stage;
    log->calls++;
    return (int)stage == (int)log->cancel_at;
}

START_TEST(progress_reports_and_cancels) {
    adn_model *m = load_or_fail(getenv("ADN_BUNDLE_ANALYTIC"), 0);
    progress_log log = {0, {0}, (adn_stage)-1};
    adn_context_params cp = adn_context_default_params();
    cp.progress = record_progress;
    cp.progress_user_data = &log;
    adn_context *ctx = NULL;
    ck_assert_int_eq(adn_context_create(m, &cp, &ctx), ADN_OK);
    adn_image content = random_image(3, 16, 24, 5);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    const adn_style *one[] = {s};
    adn_image out = {0};
    ck_assert_int_eq(adn_stylize(ctx, &content, one, 1, NULL, &out), ADN_OK);
    ck_assert_int_eq(log.calls, 5);
    for (int i = 0; i < 5; ++i) ck_assert_int_eq(log.stages[i], (adn_stage)i);

    for (int stage = ADN_STAGE_ENCODE_CONTENT; stage <= ADN_STAGE_DECODE; ++stage) {
        log = (progress_log){0, {0}, (adn_stage)stage};
        for (size_t i = 0; i < 3u * 16 * 24; ++i) out.data[i] = 42.0f;
        ck_assert_int_eq(adn_stylize(ctx, &content, one, 1, NULL, &out), ADN_ERR_CANCELLED);
        for (size_t i = 0; i < 3u * 16 * 24; ++i) ck_assert(out.data[i] == 42.0f); /* untouched */
        adn_image none = {0};
        ck_assert_int_eq(adn_stylize(ctx, &content, one, 1, NULL, &none), ADN_ERR_CANCELLED);
        ck_assert_ptr_null(none.data);
        ck_assert_int_eq(adn_context_get_strength(ctx, &none), ADN_ERR_INVALID_ARGUMENT); /* no half result */
    }
    ck_assert_str_eq(adn_status_str(ADN_ERR_CANCELLED), "cancelled");
    adn_image_free(&out);
    adn_image_free(&content);
    adn_style_free(s);
    adn_context_free(ctx);
    adn_model_free(m);
}
END_TEST

/* ---- depth without stylizing, temporal smoothing ------------------------------------------ */

static adn_image stylize_depth(adn_context *ctx, const adn_image *content, const adn_style *s) {
    adn_image out = {0}, depth = {0};
    ck_assert_int_eq(adn_stylize(ctx, content, &s, 1, NULL, &out), ADN_OK);
    ck_assert_int_eq(adn_context_get_depth(ctx, &depth), ADN_OK);
    adn_image_free(&out);
    return depth;
}

START_TEST(estimate_depth_and_temporal_smoothing) {
    adn_model *m = load_or_fail(getenv("ADN_BUNDLE_ANALYTIC"), 0);
    adn_context *ctx = context_of(m);
    adn_image a = random_image(3, 21, 30, 61), b = random_image(3, 21, 30, 62);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &a, &s), ADN_OK);
    adn_image da = {0}, db = {0};
    ck_assert_int_eq(adn_estimate_depth(ctx, &a, &da), ADN_OK);
    ck_assert_int_eq(adn_estimate_depth(ctx, &b, &db), ADN_OK);
    const size_t n = 21 * 30;
    adn_image plain = stylize_depth(ctx, &a, s);
    ck_assert_int_eq(memcmp(plain.data, da.data, n * sizeof(float)), 0); /* same D as the stylization */
    adn_image_free(&plain);

    adn_temporal_params tp = adn_temporal_default_params();
    tp.depth_ema = 0.25f;
    ck_assert_int_eq(adn_context_set_temporal(ctx, &tp), ADN_OK);
    adn_image d1 = stylize_depth(ctx, &a, s), d2 = stylize_depth(ctx, &b, s);
    for (size_t i = 0; i < n; ++i) {
        ck_assert(d1.data[i] == da.data[i]); /* the first frame starts the average at itself */
        const float want = 0.25f * da.data[i] + 0.75f * db.data[i];
        ck_assert_msg(fabsf(d2.data[i] - want) <= 1e-6f, "pixel %zu: %g, want %g", i, d2.data[i], want);
    }
    /* estimate_depth neither uses nor moves the temporal state. */
    adn_image again = {0};
    ck_assert_int_eq(adn_estimate_depth(ctx, &b, &again), ADN_OK);
    ck_assert_int_eq(memcmp(again.data, db.data, n * sizeof(float)), 0);
    ck_assert_int_eq(adn_context_reset(ctx), ADN_OK);
    adn_image d3 = stylize_depth(ctx, &b, s);
    ck_assert_int_eq(memcmp(d3.data, db.data, n * sizeof(float)), 0); /* after a reset: exact again */

    /* Range smoothing: a frame seen twice is a fixed point; values stay in [0,1]. */
    tp.depth_ema = 0.0f;
    tp.range_ema = 0.5f;
    ck_assert_int_eq(adn_context_set_temporal(ctx, &tp), ADN_OK);
    adn_image r1 = stylize_depth(ctx, &a, s), r2 = stylize_depth(ctx, &a, s), r3 = stylize_depth(ctx, &b, s);
    ck_assert_int_eq(memcmp(r1.data, da.data, n * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(r2.data, da.data, n * sizeof(float)), 0);
    for (size_t i = 0; i < n; ++i) ck_assert(r3.data[i] >= 0.0f && r3.data[i] <= 1.0f);
    tp.depth_ema = 1.0f;
    ck_assert_int_eq(adn_context_set_temporal(ctx, &tp), ADN_ERR_INVALID_ARGUMENT);

    adn_image *all[] = {&da, &db, &d1, &d2, &d3, &again, &r1, &r2, &r3, &a, &b};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i) adn_image_free(all[i]);
    adn_style_free(s);
    adn_context_free(ctx);
    adn_model_free(m);
}
END_TEST

START_TEST(context_arguments_are_checked) {
    adn_model *m = load_or_fail(getenv("ADN_BUNDLE_ANALYTIC"), 0);
    adn_context *ctx = (adn_context *)0x1;
    ck_assert_int_eq(adn_context_create(NULL, NULL, &ctx), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(ctx);
    ck_assert_int_eq(adn_context_create(m, NULL, NULL), ADN_ERR_INVALID_ARGUMENT);
    adn_context_params cp = adn_context_default_params();
    cp.depth_hi = 2.0f;
    ck_assert_int_eq(adn_context_create(m, &cp, &ctx), ADN_ERR_INVALID_ARGUMENT);
    cp = adn_context_default_params();
    cp.depth_lo = 0.3f;
    ck_assert_int_eq(adn_context_create(m, &cp, &ctx), ADN_OK);
    float lo = 0, hi = 0;
    ck_assert_int_eq(adn_context_get_depth_range(ctx, &lo, &hi), ADN_OK);
    ck_assert(lo == 0.3f && hi == 1.0f);
    ck_assert_ptr_eq(adn_context_get_model(ctx), m);
    adn_image none = {0};
    ck_assert_int_eq(adn_context_get_depth(ctx, &none), ADN_ERR_INVALID_ARGUMENT); /* nothing yet */
    ck_assert_int_eq(adn_estimate_depth(ctx, NULL, &none), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(adn_context_reset(NULL), ADN_ERR_INVALID_ARGUMENT);
    adn_timings t = {0};
    ck_assert_int_eq(adn_context_get_timings(ctx, &t), ADN_ERR_INVALID_ARGUMENT); /* struct_size 0 */
    adn_context_free(ctx);
    adn_context_free(NULL);
    adn_model_params mp = adn_model_default_params();
    mp.precision = ADN_PRECISION_FP16; /* CUDA only: refused on the CPU on every machine */
    mp.device = ADN_DEVICE_CPU;
    adn_model *other = NULL;
    ck_assert_int_eq(adn_model_load(getenv("ADN_BUNDLE_ANALYTIC"), &mp, &other), ADN_ERR_UNSUPPORTED);
    adn_model_free(m);
}
END_TEST

int main(void) {
    const char *analytic = getenv("ADN_BUNDLE_ANALYTIC");
    if (!analytic || !*analytic) {
        printf("SKIP: ADN_BUNDLE_ANALYTIC is not set (bundles need python with torch)\n");
        return 77;
    }
    Suite *s = suite_create("context");
    TCase *tc = tcase_create("context");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, eight_threads_match_one_analytic);
    tcase_add_test(tc, eight_threads_match_one_vgg);
    tcase_add_test(tc, repeated_calls_are_identical);
    tcase_add_test(tc, older_and_newer_structs);
    tcase_add_test(tc, progress_reports_and_cancels);
    tcase_add_test(tc, estimate_depth_and_temporal_smoothing);
    tcase_add_test(tc, context_arguments_are_checked);
    suite_add_tcase(s, tc);
    SRunner *runner = srunner_create(s);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
