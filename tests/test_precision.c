/* adn_model_params.precision: what each mode refuses, and the measured tolerance of bf16.
 *
 *   test_precision refusals   the messages of the modes this machine cannot run (always runs):
 *                             bf16 on a CPU without AVX512_BF16 / AMX-BF16 names the missing
 *                             extensions; fp16 on the CPU says CUDA only; a bf16 load on a CPU that
 *                             has them succeeds and reports bf16.
 *   test_precision bf16       bf16 against fp32 on the real test images (ADN_SHARED_DATA/content,
 *                             style mondrian.jpg) with the synthetic official-layout bundle: PSNR
 *                             of the 8-bit outputs >= 40 dB each (the header's figure).  Exit 77
 *                             on a CPU without bf16 instructions, unless ADN_BF16_ALLOW_EMULATION=1
 *                             (libtorch's generic kernels; then at a short side of 64 pixels, since
 *                             they are about 100 times slower).
 *
 * Environment (tests/meson.build): ADN_BUNDLE_SYNTHETIC, ADN_BUNDLE_ANALYTIC, ADN_SHARED_DATA.
 * Run with CK_FORK=no: a process that ran torch must not fork. */
#include "adain_dcs.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BF16_MIN_PSNR_DB 40.0
#define SKIP 77

static const char *bundle(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static adn_status load(const char *dir, adn_precision precision, adn_device device, adn_model **out) {
    adn_model_params p = adn_model_default_params();
    p.precision = precision;
    p.device = device;
    return adn_model_load(dir, &p, out);
}

/* ---- refusals --------------------------------------------------------------------------------- */

START_TEST(bf16_on_a_cpu_without_bf16_names_what_is_missing) {
    const int emulated = getenv("ADN_BF16_ALLOW_EMULATION") && strcmp(getenv("ADN_BF16_ALLOW_EMULATION"), "1") == 0;
    adn_model *m = (adn_model *)&m; /* must come back NULL */
    adn_status st = load(bundle("ADN_BUNDLE_ANALYTIC"), ADN_PRECISION_BF16, ADN_DEVICE_CPU, &m);
    if (adn_has_feature("bf16") || emulated) {
        ck_assert_msg(st == ADN_OK, "bf16 on a CPU with bf16: %s", adn_last_error());
        adn_model_info info = {.struct_size = sizeof info};
        ck_assert_int_eq(adn_model_get_info(m, &info), ADN_OK);
        ck_assert_int_eq(info.precision, ADN_PRECISION_BF16);
        adn_model_free(m);
        return;
    }
    ck_assert_int_eq(st, ADN_ERR_UNSUPPORTED);
    ck_assert_ptr_null(m);
    const char *msg = adn_last_error();
    ck_assert_msg(strstr(msg, "bf16") && strstr(msg, "AVX512_BF16") && strstr(msg, "AMX-BF16") && strstr(msg, "neither"),
                  "message: %s", msg);
    /* It says what the CPU has instead: the best extension adn_has_feature reports. */
    const char *best = adn_has_feature("avx512f") ? "avx512f" : adn_has_feature("avx2") ? "avx2" : "baseline";
    ck_assert_msg(strstr(msg, best), "message %s does not name %s", msg, best);
    ck_assert(!adn_has_feature("avx512_bf16") && !adn_has_feature("amx_bf16"));
    /* The same without a device: AUTO resolves to the CPU here (no CUDA in this build or machine). */
    if (!adn_has_feature("cuda")) {
        ck_assert_int_eq(load(bundle("ADN_BUNDLE_ANALYTIC"), ADN_PRECISION_BF16, ADN_DEVICE_AUTO, &m), ADN_ERR_UNSUPPORTED);
        ck_assert_ptr_null(m);
    }
}
END_TEST

START_TEST(fp16_on_the_cpu_is_refused_as_cuda_only) {
    adn_model *m = (adn_model *)&m;
    ck_assert_int_eq(load(bundle("ADN_BUNDLE_ANALYTIC"), ADN_PRECISION_FP16, ADN_DEVICE_CPU, &m), ADN_ERR_UNSUPPORTED);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(adn_last_error(), "fp16") && strstr(adn_last_error(), "CUDA only"), "message: %s", adn_last_error());
    if (!adn_has_feature("cuda")) { /* AUTO resolves to the CPU: refused after loading, nothing leaks */
        ck_assert_int_eq(load(bundle("ADN_BUNDLE_ANALYTIC"), ADN_PRECISION_FP16, ADN_DEVICE_AUTO, &m), ADN_ERR_UNSUPPORTED);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(adn_last_error(), "CUDA only"), "message: %s", adn_last_error());
    }
}
END_TEST

START_TEST(an_unknown_precision_is_an_invalid_argument) {
    adn_model *m = NULL;
    ck_assert_int_eq(load(bundle("ADN_BUNDLE_ANALYTIC"), (adn_precision)7, ADN_DEVICE_CPU, &m), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_msg(strstr(adn_last_error(), "precision"), "message: %s", adn_last_error());
}
END_TEST

START_TEST(cpu_features_are_consistent) {
    /* bf16 (what ADN_PRECISION_BF16 needs) is AVX512_BF16 or AMX-BF16; AVX512_BF16 implies AVX-512. */
    ck_assert_int_eq(adn_has_feature("bf16"), adn_has_feature("torch") && (adn_has_feature("avx512_bf16") || adn_has_feature("amx_bf16")));
    if (adn_has_feature("avx512_bf16")) ck_assert(adn_has_feature("avx512f"));
    ck_assert(!adn_has_feature("avx3"));
    ck_assert(!adn_has_feature(NULL));
}
END_TEST

/* ---- bf16 tolerance ----------------------------------------------------------------------------- */

static double psnr_8bit(const float *a, const float *b, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
        const int x = (int)lrintf(fminf(fmaxf(a[i], 0.0f), 1.0f) * 255.0f);
        const int y = (int)lrintf(fminf(fmaxf(b[i], 0.0f), 1.0f) * 255.0f);
        sum += (double)(x - y) * (x - y);
    }
    return sum == 0.0 ? INFINITY : 10.0 * log10(255.0 * 255.0 / (sum / (double)n));
}

static int read_image(const char *path, int short_side, adn_image *img) {
    adn_read_params rp = adn_read_default_params();
    rp.short_side = short_side;
    return adn_image_read(path, &rp, img, NULL, NULL) == ADN_OK ? 0 : -1;
}

/* One stylization of every content image in both precisions; returns the smallest PSNR. */
static double bf16_against_fp32(const char *data, int short_side) {
    adn_model *fp32 = NULL, *bf16 = NULL;
    ck_assert_msg(load(bundle("ADN_BUNDLE_SYNTHETIC"), ADN_PRECISION_FP32, ADN_DEVICE_CPU, &fp32) == ADN_OK, "%s", adn_last_error());
    ck_assert_msg(load(bundle("ADN_BUNDLE_SYNTHETIC"), ADN_PRECISION_BF16, ADN_DEVICE_CPU, &bf16) == ADN_OK, "%s", adn_last_error());
    char path[4096];
    snprintf(path, sizeof path, "%s/style/mondrian.jpg", data);
    adn_image style_image = {0};
    ck_assert_msg(read_image(path, short_side, &style_image) == 0, "%s: %s", path, adn_last_error());
    adn_style *style32 = NULL, *style16 = NULL;
    ck_assert_int_eq(adn_style_create(fp32, &style_image, &style32), ADN_OK);
    ck_assert_int_eq(adn_style_create(bf16, &style_image, &style16), ADN_OK);
    adn_context *ctx32 = NULL, *ctx16 = NULL;
    ck_assert_int_eq(adn_context_create(fp32, NULL, &ctx32), ADN_OK);
    ck_assert_int_eq(adn_context_create(bf16, NULL, &ctx16), ADN_OK);
    snprintf(path, sizeof path, "%s/content", data);
    DIR *dir = opendir(path);
    ck_assert_msg(dir != NULL, "cannot open %s", path);
    double worst = INFINITY;
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        char file[4096 + 256];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        adn_image content = {0}, out32 = {0}, out16 = {0};
        if (read_image(file, short_side, &content) != 0) continue; /* not an image */
        const adn_style *s32[] = {style32}, *s16[] = {style16};
        ck_assert_msg(adn_stylize(ctx32, &content, s32, 1, NULL, &out32) == ADN_OK, "%s", adn_last_error());
        ck_assert_msg(adn_stylize(ctx16, &content, s16, 1, NULL, &out16) == ADN_OK, "%s", adn_last_error());
        const double db = psnr_8bit(out16.data, out32.data, (size_t)3 * content.height * content.width);
        printf("bf16 vs fp32 on %s (%dx%d): PSNR %.2f dB\n", e->d_name, (int)content.width, (int)content.height, db);
        if (db < worst) worst = db;
        ++n;
        adn_image_free(&content), adn_image_free(&out32), adn_image_free(&out16);
    }
    closedir(dir);
    ck_assert_msg(n > 0, "no content image in %s", path);
    adn_context_free(ctx32), adn_context_free(ctx16);
    adn_style_free(style32), adn_style_free(style16);
    adn_image_free(&style_image);
    adn_model_free(fp32), adn_model_free(bf16);
    return worst;
}

static int emulated_bf16(void) {
    const char *v = getenv("ADN_BF16_ALLOW_EMULATION");
    return v && strcmp(v, "1") == 0;
}

START_TEST(bf16_matches_fp32_within_its_tolerance) {
    const int short_side = adn_has_feature("bf16") ? 0 : 64; /* emulated: small, it is slow */
    const double worst = bf16_against_fp32(getenv("ADN_SHARED_DATA"), short_side);
    printf("bf16 vs fp32: smallest PSNR %.2f dB (tolerance %.0f dB)%s\n", worst, BF16_MIN_PSNR_DB,
           adn_has_feature("bf16") ? "" : " [emulated bf16 kernels, short side 64]");
    ck_assert_msg(worst >= BF16_MIN_PSNR_DB, "bf16 vs fp32: %.2f dB < %.0f dB", worst, BF16_MIN_PSNR_DB);
}
END_TEST

static int run(Suite *s) {
    SRunner *runner = srunner_create(s);
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    const int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv) {
    const char *part = argc > 1 ? argv[1] : "";
    if (!adn_has_feature("torch")) return printf("SKIP: this build has no torch backend\n"), SKIP;
    if (strcmp(part, "refusals") == 0) {
        if (!bundle("ADN_BUNDLE_ANALYTIC")) return printf("SKIP: ADN_BUNDLE_ANALYTIC is not set (needs python with torch)\n"), SKIP;
        Suite *s = suite_create("precision refusals");
        TCase *tc = tcase_create("refusals");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, bf16_on_a_cpu_without_bf16_names_what_is_missing);
        tcase_add_test(tc, fp16_on_the_cpu_is_refused_as_cuda_only);
        tcase_add_test(tc, an_unknown_precision_is_an_invalid_argument);
        tcase_add_test(tc, cpu_features_are_consistent);
        suite_add_tcase(s, tc);
        return run(s);
    }
    if (strcmp(part, "bf16") == 0) {
        if (!adn_has_feature("bf16") && !emulated_bf16())
            return printf("SKIP: this CPU has neither AVX512_BF16 nor AMX-BF16, so ADN_PRECISION_BF16 is refused here "
                          "(set ADN_BF16_ALLOW_EMULATION=1 to run the bf16 path on libtorch's slow generic kernels)\n"),
                   SKIP;
        if (!bundle("ADN_BUNDLE_SYNTHETIC")) return printf("SKIP: ADN_BUNDLE_SYNTHETIC is not set (needs python with torch)\n"), SKIP;
        const char *data = getenv("ADN_SHARED_DATA");
        char probe[4096];
        snprintf(probe, sizeof probe, "%s/style/mondrian.jpg", data ? data : "");
        FILE *f = data ? fopen(probe, "rb") : NULL;
        if (!f) return printf("SKIP: the shared test images are not there (%s)\n", probe), SKIP;
        fclose(f);
        Suite *s = suite_create("precision bf16");
        TCase *tc = tcase_create("bf16");
        tcase_set_timeout(tc, 1800);
        tcase_add_test(tc, bf16_matches_fp32_within_its_tolerance);
        suite_add_tcase(s, tc);
        return run(s);
    }
    fprintf(stderr, "usage: test_precision refusals|bf16\n");
    return EXIT_FAILURE;
}
