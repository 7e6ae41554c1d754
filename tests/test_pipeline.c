/* Conformance of adn_stylize with the independent PyTorch reference (tests/ref/pipeline_ref.py), the
 * analytic-bundle identities, and the model-loading and argument error paths.
 *
 * Environment (set by tests/meson.build): ADN_PIPELINE_VECTORS, ADN_BUNDLE_SYNTHETIC,
 * ADN_BUNDLE_ANALYTIC, ADN_BUNDLE_ANALYTIC_NODEPTH, ADN_BAD_BUNDLES.  Run with CK_FORK=no: a process
 * that already ran torch must not fork test children. */
#include "adain_dcs.h"
#include "vectors.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_TOLERANCE 1e-4  /* docs/METHOD.md §7: output vs the method's value, [0,1] scale */
#define CONDITION_FACTOR 2.0  /* §7: where the float32 reference itself is off by more, twice its error */
#define MAP_TOLERANCE 1e-5  /* D and S are cheap exact maps */

static const char *env_or_skip(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) {
        printf("SKIP: %s is not set for this run (reference or bundles not built: needs python with torch)\n", name);
        return NULL;
    }
    return v;
}

static adn_model *load_or_fail(const char *dir) {
    adn_model_params p = adn_model_default_params();
    p.device = ADN_DEVICE_CPU;
    adn_model *m = NULL;
    adn_status st = adn_model_load(dir, &p, &m);
    ck_assert_msg(st == ADN_OK, "loading %s: %s (%s)", dir, adn_status_str(st), adn_last_error());
    return m;
}

/* Wraps a vector of shape [C,H,W] or [H,W] as an adn_image without copying. */
static adn_image image_of(const adn_vec *v) {
    adn_image img = {0};
    img.data = v->data;
    if (v->ndim == 3) {
        img.channels = v->dims[0];
        img.height = v->dims[1];
        img.width = v->dims[2];
    } else {
        img.channels = 1;
        img.height = v->dims[0];
        img.width = v->dims[1];
    }
    return img;
}

/* ------------------------------------------------------------------------------------------ */

static adn_vec_file vectors;
static adn_model *models[2];
static adn_context *contexts[2];
static int have_vectors;

static void conformance_setup(void) {
    const char *path = env_or_skip("ADN_PIPELINE_VECTORS");
    const char *synthetic = env_or_skip("ADN_BUNDLE_SYNTHETIC");
    const char *analytic = env_or_skip("ADN_BUNDLE_ANALYTIC");
    if (!path || !synthetic || !analytic) return;
    ck_assert_int_eq(adn_vec_load(path, &vectors), 0);
    models[0] = load_or_fail(synthetic);
    models[1] = load_or_fail(analytic);
    for (int i = 0; i < 2; ++i) ck_assert_int_eq(adn_context_create(models[i], NULL, &contexts[i]), ADN_OK);
    have_vectors = 1;
}

static void conformance_teardown(void) {
    for (int i = 0; i < 2; ++i) adn_context_free(contexts[i]);
    adn_model_free(models[0]);
    adn_model_free(models[1]);
    models[0] = models[1] = NULL;
    contexts[0] = contexts[1] = NULL;
    adn_vec_free(&vectors);
    have_vectors = 0;
}

static const adn_vec *field(int i, const char *name) { return adn_vec_findf(&vectors, "case%d/%s", i, name); }

static void check_close(const char *what, int i, const float *got, const adn_vec *want, double tolerance) {
    double diff = adn_max_abs_diff(got, want->data, want->count);
    ck_assert_msg(diff <= tolerance, "case %d %s: max |diff| %.3g > %.2g", i, what, diff, tolerance);
}

/* docs/METHOD.md §7: the output may be off the method's value (out64: the reference with float64
 * networks) by 1e-4, or, on an input so ill-conditioned that the float32 reference (out) is
 * itself further off, by twice the reference's own error. */
static double output_tolerance(int i, double *reference_error) {
    const adn_vec *out32 = field(i, "out"), *out64 = field(i, "out64");
    ck_assert_msg(out32 && out64 && out32->count == out64->count, "case %d: out and out64 missing or mismatched", i);
    *reference_error = adn_max_abs_diff(out32->data, out64->data, out64->count);
    return fmax(OUT_TOLERANCE, CONDITION_FACTOR * *reference_error);
}

static double worst_out_diff, worst_exact_diff, worst_well_conditioned_diff, worst_reference_error;
static int ill_conditioned_cases;

static void run_case(int i) {
    const float *p = field(i, "params")->data;
    adn_model *model = models[(int)p[0]];
    adn_context *ctx = contexts[(int)p[0]];
    adn_set_depth_range(ctx, p[6], p[7]);
    const int n_styles = (int)p[9];
    adn_style *styles[4] = {0};
    for (int k = 0; k < n_styles; ++k) {
        adn_image s = image_of(adn_vec_findf(&vectors, "case%d/style%d", i, k));
        ck_assert_msg(adn_style_create(model, &s, &styles[k]) == ADN_OK, "case %d style: %s", i, adn_last_error());
    }
    adn_image content = image_of(field(i, "content"));
    adn_image mask = {0}, regions = {0}, depth = {0}, out = {0}, out_depth = {0}, out_strength = {0};
    adn_stylize_params sp = adn_stylize_default_params();
    sp.alpha = p[1];
    sp.depth_source = (adn_depth_source)(int)p[2];
    sp.depth_norm.is_disparity = (int)p[3];
    sp.depth_norm.has_invalid = (int)p[4];
    sp.depth_norm.invalid_value = p[5];
    sp.preserve_color = (int)p[8];
    if (p[10] > 0) sp.style_weights = field(i, "weights")->data;
    if (p[11] > 0) mask = image_of(field(i, "mask")), sp.mask = &mask;
    if (p[12] > 0) regions = image_of(field(i, "regions")), sp.region_masks = &regions;
    if (field(i, "depth")) depth = image_of(field(i, "depth")), sp.depth = &depth;
    adn_status st = adn_stylize(ctx, &content, (const adn_style *const *)styles, n_styles, &sp, &out);
    ck_assert_msg(st == ADN_OK, "case %d: %s (%s)", i, adn_status_str(st), adn_last_error());
    ck_assert_int_eq(adn_context_get_strength(ctx, &out_strength), ADN_OK);
    if (field(i, "D")) ck_assert_msg(adn_context_get_depth(ctx, &out_depth) == ADN_OK, "case %d depth: %s", i, adn_last_error());
    ck_assert_int_eq(out.width, content.width);
    ck_assert_int_eq(out.height, content.height);
    const adn_vec *want_out = field(i, "out"), *exact_out = field(i, "out64");
    double reference_error = 0;
    const double tolerance = output_tolerance(i, &reference_error);
    worst_out_diff = fmax(worst_out_diff, adn_max_abs_diff(out.data, want_out->data, want_out->count));
    const double exact_diff = adn_max_abs_diff(out.data, exact_out->data, exact_out->count);
    worst_exact_diff = fmax(worst_exact_diff, exact_diff);
    worst_reference_error = fmax(worst_reference_error, reference_error);
    if (tolerance <= OUT_TOLERANCE) {
        worst_well_conditioned_diff = fmax(worst_well_conditioned_diff, exact_diff);
    } else {
        ill_conditioned_cases++;
        printf("case %d is ill-conditioned: the float32 reference is %.3g off the float64 one; tolerance %.3g\n", i,
               reference_error, tolerance);
    }
    ck_assert_msg(exact_diff <= tolerance, "case %d output vs the float64 reference: max |diff| %.3g > %.2g", i, exact_diff,
                  tolerance);
    check_close("strength", i, out_strength.data, field(i, "S"), MAP_TOLERANCE);
    if (field(i, "D")) check_close("depth", i, out_depth.data, field(i, "D"), MAP_TOLERANCE);
    adn_image_free(&out);
    adn_image_free(&out_depth);
    adn_image_free(&out_strength);
    for (int k = 0; k < n_styles; ++k) adn_style_free(styles[k]);
    adn_set_depth_range(ctx, 0.0f, 1.0f);
}

START_TEST(matches_reference) {
    if (!have_vectors) return;
    const int n = (int)adn_vec_find(&vectors, "ncases")->data[0];
    ck_assert_int_gt(n, 30);
    if (adn_vec_find(&vectors, "rgbd_included")->data[0] == 0) printf("SKIP: RGB-D pairs (../shared/data absent)\n");
    worst_out_diff = worst_exact_diff = worst_well_conditioned_diff = worst_reference_error = 0;
    ill_conditioned_cases = 0;
    for (int i = 0; i < n; ++i) run_case(i);
    printf("pipeline conformance: %d cases (%d ill-conditioned), worst output |diff| vs the float64 reference %.3g "
           "(well-conditioned cases %.3g), vs the float32 one %.3g; the float32 reference's own worst |diff| %.3g\n",
           n, ill_conditioned_cases, worst_exact_diff, worst_well_conditioned_diff, worst_out_diff, worst_reference_error);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Analytic bundle: E is invertible, so S = 0 must give the content back exactly.                */

static adn_image random_image(int c, int h, int w, unsigned seed) {
    adn_image img = {0};
    ck_assert_int_eq(adn_image_alloc(&img, c, h, w), ADN_OK);
    srand(seed);
    for (size_t i = 0; i < (size_t)c * h * w; ++i) img.data[i] = (float)rand() / (float)RAND_MAX;
    return img;
}

static adn_context *context_of(const adn_model *m) {
    adn_context *c = NULL;
    ck_assert_msg(adn_context_create(m, NULL, &c) == ADN_OK, "context: %s", adn_last_error());
    return c;
}

static adn_model *analytic_or_skip(void) {
    const char *dir = env_or_skip("ADN_BUNDLE_ANALYTIC");
    return dir ? load_or_fail(dir) : NULL;
}

START_TEST(analytic_zero_strength_is_identity) {
    adn_model *m = analytic_or_skip();
    if (!m) return;
    const int sizes[][2] = {{1, 1}, {7, 5}, {64, 48}, {101, 67}};
    adn_image style = random_image(3, 30, 41, 11);
    adn_style *s = NULL;
    adn_context *ctx = NULL;
    ck_assert_int_eq(adn_style_create(m, &style, &s), ADN_OK);
    ck_assert_int_eq(adn_context_create(m, NULL, &ctx), ADN_OK);
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; ++t) {
        adn_image content = random_image(3, sizes[t][0], sizes[t][1], 100 + (unsigned)t);
        for (int variant = 0; variant < 3; ++variant) {
            adn_stylize_params p = adn_stylize_default_params();
            adn_image zero_mask = {0};
            if (variant == 0) p.alpha = 0.0f;
            if (variant == 1) { /* depth range 0..0: R(D) = 0 everywhere */
                ck_assert_int_eq(adn_set_depth_range(ctx, 0.0f, 0.0f), ADN_OK);
                p.depth_source = ADN_DEPTH_NETWORK;
            }
            if (variant == 2) {
                ck_assert_int_eq(adn_image_alloc(&zero_mask, 1, content.height, content.width), ADN_OK);
                p.mask = &zero_mask;
            }
            adn_image out = {0};
            ck_assert_msg(adn_stylize(ctx, &content, (const adn_style *const *)&s, 1, &p, &out) == ADN_OK, "%s", adn_last_error());
            ck_assert_msg(memcmp(out.data, content.data, sizeof(float) * 3 * content.width * content.height) == 0,
                          "S = 0 (variant %d) changed a %dx%d content", variant, content.height, content.width);
            adn_image_u8 a = {0}, b = {0};
            ck_assert_int_eq(adn_image_to_u8(&out, NULL, &a), ADN_OK);
            ck_assert_int_eq(adn_image_to_u8(&content, NULL, &b), ADN_OK);
            ck_assert_int_eq(memcmp(a.data, b.data, (size_t)3 * content.width * content.height), 0);
            adn_image_u8_free(&a);
            adn_image_u8_free(&b);
            adn_image_free(&out);
            adn_image_free(&zero_mask);
            adn_set_depth_range(ctx, 0.0f, 1.0f);
        }
        adn_image_free(&content);
    }
    adn_context_free(ctx);
    adn_style_free(s);
    adn_image_free(&style);
    adn_model_free(m);
}
END_TEST

START_TEST(analytic_style_equal_to_content_is_identity) {
    adn_model *m = analytic_or_skip();
    if (!m) return;
    adn_context *c = context_of(m);
    adn_image content = random_image(3, 64, 80, 5);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    adn_stylize_params p = adn_stylize_default_params();
    p.depth_source = ADN_DEPTH_NONE;
    adn_image out = {0};
    ck_assert_int_eq(adn_stylize(c, &content, (const adn_style *const *)&s, 1, &p, &out), ADN_OK);
    double diff = adn_max_abs_diff(out.data, content.data, (size_t)3 * 64 * 80);
    ck_assert_msg(diff < 1e-5, "AdaIN(fc, fc) should give fc back, |diff| %.3g", diff);
    adn_image_free(&out);
    adn_style_free(s);
    adn_image_free(&content);
    adn_context_free(c);
    adn_model_free(m);
}
END_TEST

START_TEST(caller_output_buffer_is_reused) {
    adn_model *m = analytic_or_skip();
    if (!m) return;
    adn_context *c = context_of(m);
    adn_image content = random_image(3, 16, 24, 9);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    adn_image out = {0}, wrong = {0};
    ck_assert_int_eq(adn_image_alloc(&out, 3, 16, 24), ADN_OK);
    float *buffer = out.data;
    ck_assert_int_eq(adn_stylize(c, &content, (const adn_style *const *)&s, 1, NULL, &out), ADN_OK);
    ck_assert_ptr_eq(out.data, buffer);
    ck_assert_int_eq(adn_image_alloc(&wrong, 3, 16, 23), ADN_OK);
    ck_assert_int_eq(adn_stylize(c, &content, (const adn_style *const *)&s, 1, NULL, &wrong), ADN_ERR_INVALID_ARGUMENT);
    adn_image_free(&wrong);
    adn_image_free(&out);
    adn_style_free(s);
    adn_image_free(&content);
    adn_context_free(c);
    adn_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------------------------------ */
/* Error paths                                                                                   */

/* Loads bad bundle `name` with params (NULL: the defaults) and expects `status` with a one-line
 * message containing `needle` and never a TorchScript caret line. */
static void expect_load_failure(const char *name, const adn_model_params *params, adn_status status, const char *needle) {
    const char *root = env_or_skip("ADN_BAD_BUNDLES");
    if (!root) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    adn_model *m = (adn_model *)0x1;
    adn_status st = adn_model_load(dir, params, &m);
    ck_assert_msg(st == status, "%s: expected %s, got %s (%s)", name, adn_status_str(status), adn_status_str(st), adn_last_error());
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(adn_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", name, adn_last_error(), needle);
    ck_assert_msg(strchr(adn_last_error(), '\n') == NULL, "%s: message is not one line", name);
    ck_assert_msg(strstr(adn_last_error(), "<--- HERE") == NULL, "%s: message '%s' is a caret line, not the cause", name,
                  adn_last_error());
}

static void expect_bad_bundle(const char *name, const char *needle) { expect_load_failure(name, NULL, ADN_ERR_MODEL, needle); }

static adn_model_params trusting(void) {
    adn_model_params p = adn_model_default_params();
    p.trust_unsealed = 1;
    return p;
}

START_TEST(bad_bundles_are_refused) {
    expect_bad_bundle("missing_encoder", "encoder.pt: file not found");
    expect_bad_bundle("not_torchscript", "encoder.pt: not a loadable TorchScript file");
    expect_bad_bundle("truncated", "encoder.pt: not a loadable TorchScript file");
    expect_bad_bundle("wrong_shape", "encoder.pt: output");
    expect_bad_bundle("channel_mismatch", "channel mismatch");
    expect_bad_bundle("missing_attr", "adn_channels");
    expect_bad_bundle("bad_depth", "depth.pt: output");
    expect_bad_bundle("empty_depth", "depth.pt: output");
    expect_bad_bundle("does_not_exist", "is not a directory");
}
END_TEST

/* The modules break the contract in every way a hostile or careless export can; all are sealed,
 * so each reaches libtorch and must be refused there with the module named. */
START_TEST(hostile_modules_are_refused) {
    /* The cause of a compile error, not the "~ <--- HERE" line that followed it. */
    expect_bad_bundle("corrupt_code", "encoder.pt: not a loadable TorchScript file: expected ) but found");
    expect_bad_bundle("wrong_channels", "encoder.pt: outputs 192 channels but declares adn_channels = 64");
    expect_bad_bundle("scale_mismatch", "scale mismatch: encoder.pt downsamples by 8, decoder.pt upsamples by 4");
    expect_bad_bundle("float64_encoder", "encoder.pt: output [1,192,2,2] float64");
    expect_bad_bundle("float64_decoder", "decoder.pt: output [1,3,16,16] float64");
    expect_bad_bundle("tuple_encoder", "encoder.pt: forward returned a tuple, expected one tensor");
    expect_bad_bundle("raising_encoder", "encoder exploded");
    expect_bad_bundle("nan_encoder", "encoder.pt produced NaN or infinity on the probe image");
}
END_TEST

/* Files no parser should see: each refused before a byte is read, with what it is. */
START_TEST(hostile_files_are_refused) {
    expect_bad_bundle("empty_encoder", "encoder.pt: is empty (0 bytes)");
    expect_bad_bundle("huge_encoder", "encoder.pt: is 5368709120 bytes, above the limit of 4 GiB");
    expect_bad_bundle("sparse_encoder", "encoder.pt: is a sparse file");
    expect_bad_bundle("fifo_encoder", "encoder.pt: is a FIFO (named pipe), not a regular file");
    expect_bad_bundle("dir_encoder", "encoder.pt: is a directory, not a file");
    expect_bad_bundle("loop_encoder", "encoder.pt: is a symbolic link loop");
    expect_bad_bundle("dangling_encoder", "encoder.pt: is a symbolic link to a file that does not exist");
    if (geteuid() == 0)
        printf("SKIP: unreadable_encoder (root reads a mode-000 file)\n");
    else
        expect_bad_bundle("unreadable_encoder", "encoder.pt: cannot be read: permission denied");
}
END_TEST

/* manifest.txt: every mismatch names the file and says how to seal; trust_unsealed does not
 * excuse a manifest that is present. */
START_TEST(the_seal_is_checked) {
    const adn_model_params trust = trusting();
    expect_bad_bundle("unsealed", "is not sealed: it has no manifest.txt");
    expect_bad_bundle("unsealed", "`adn-export --seal DIR`");
    expect_bad_bundle("tampered", "encoder.pt: SHA-256");
    expect_load_failure("tampered", &trust, ADN_ERR_MODEL, "adn-export --seal DIR");
    expect_bad_bundle("resized", "decoder.pt: is");
    expect_bad_bundle("resized", "but manifest.txt says");
    expect_bad_bundle("added_depth", "depth.pt: not listed in manifest.txt");
    expect_bad_bundle("removed_depth", "depth.pt: listed in manifest.txt but not found");
    expect_bad_bundle("bad_manifest", "manifest.txt: line 1:");
    expect_load_failure("bad_manifest", &trust, ADN_ERR_MODEL, "adn-export --seal DIR");
    expect_bad_bundle("truncated_manifest", "manifest.txt: no 'end' record");
    expect_bad_bundle("edited_manifest", "encoder.pt: declares adn_channels = 192 but manifest.txt says 64");
}
END_TEST

/* trust_unsealed loads a good unsealed bundle, but each archive must pass the structural check
 * first (lib/zip_check.c); without load_depth an unsealed depth.pt is not even read. */
START_TEST(unsealed_bundles_need_trust_and_a_sound_archive) {
    const char *root = env_or_skip("ADN_BAD_BUNDLES");
    if (!root) return;
    adn_model_params trust = trusting();
    char dir[4096];
    adn_model *m = NULL;
    snprintf(dir, sizeof dir, "%s/unsealed", root);
    ck_assert_msg(adn_model_load(dir, &trust, &m) == ADN_OK, "%s", adn_last_error());
    adn_model_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(adn_model_get_info(m, &info), ADN_OK);
    ck_assert_int_eq(info.depth_kind, ADN_DEPTH_KIND_DEPTH);
    adn_model_free(m);
    adn_model_params no_depth = adn_model_default_params();
    no_depth.load_depth = 0;
    snprintf(dir, sizeof dir, "%s/added_depth", root);
    ck_assert_msg(adn_model_load(dir, &no_depth, &m) == ADN_OK, "%s", adn_last_error());
    adn_model_free(m);

    expect_load_failure("unsealed_not_zip", &trust, ADN_ERR_MODEL, "encoder.pt: not a TorchScript archive: no end of central directory");
    expect_load_failure("unsealed_truncated", &trust, ADN_ERR_MODEL, "encoder.pt: not a TorchScript archive: no end of central directory");
    expect_load_failure("unsealed_state_dict", &trust, ADN_ERR_MODEL, "encoder.pt: not a TorchScript archive: no constants.pkl or code/");
    expect_load_failure("unsealed_bad_offset", &trust, ADN_ERR_MODEL, "encoder.pt: not a TorchScript archive: a record's local header");
    expect_load_failure("unsealed_bad_crc", &trust, ADN_ERR_MODEL, "encoder.pt: not a TorchScript archive: a record's CRC-32");
    expect_load_failure("unsealed_huge_record", &trust, ADN_ERR_MODEL,
                        "encoder.pt: not a TorchScript archive: a deflated record claims more than deflate can expand to");
    trust.trust_unsealed = 2;
    expect_load_failure("unsealed", &trust, ADN_ERR_INVALID_ARGUMENT, "trust_unsealed must be 0 or 1");
}
END_TEST

static int warnings_seen;
static void count_thread_warnings(adn_log_level level, const char *message, void *user_data) {
    (void)user_data;
    if (level == ADN_LOG_WARN && strstr(message, "n_threads") && strstr(message, "ignored")) ++warnings_seen;
}

/* libtorch's pool is sized once per process: loads asking for other sizes still work and say so. */
START_TEST(thread_pool_is_set_once) {
    const char *dir = env_or_skip("ADN_BUNDLE_ANALYTIC");
    if (!dir) return;
    warnings_seen = 0;
    adn_set_log_callback(count_thread_warnings, NULL, ADN_LOG_WARN);
    for (int n = 1; n <= 3; n += 2) {
        adn_model_params p = adn_model_default_params();
        p.device = ADN_DEVICE_CPU;
        p.n_threads = n;
        adn_model *m = NULL;
        ck_assert_msg(adn_model_load(dir, &p, &m) == ADN_OK, "%s", adn_last_error());
        adn_model_free(m);
    }
    adn_set_log_callback(NULL, NULL, ADN_LOG_INFO);
    ck_assert_int_ge(warnings_seen, 1); /* 1 and 3 cannot both be the pool's size */
}
END_TEST

/* A TorchScript runtime error arrives as a multi-line traceback; the status message keeps its cause. */
START_TEST(runtime_errors_keep_their_cause) {
    const char *root = env_or_skip("ADN_BAD_BUNDLES");
    if (!root) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/raising_depth", root);
    adn_model *m = load_or_fail(dir);
    adn_context *c = context_of(m);
    adn_image content = random_image(3, 40, 24, 31), out = {0};
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    const adn_style *one[] = {s};
    adn_status st = adn_stylize(c, &content, one, 1, NULL, &out);
    ck_assert_int_eq(st, ADN_ERR_INTERNAL);
    ck_assert_msg(strstr(adn_last_error(), "depth exploded") != NULL, "cause lost: '%s'", adn_last_error());
    ck_assert_msg(strchr(adn_last_error(), '\n') == NULL, "message is not one line");
    ck_assert_ptr_null(out.data);
    adn_style_free(s);
    adn_image_free(&content);
    adn_context_free(c);
    adn_model_free(m);
}
END_TEST

/* A network that produces NaN is reported as ADN_ERR_MODEL naming the module, and nothing is written. */
static void expect_nan_module(const char *bundle_name, const char *needle) {
    const char *root = env_or_skip("ADN_BAD_BUNDLES");
    if (!root) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, bundle_name);
    adn_model *m = load_or_fail(dir);
    adn_context *c = context_of(m);
    adn_image content = random_image(3, 40, 24, 31), out = {0};
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    const adn_style *one[] = {s};
    ck_assert_int_eq(adn_image_alloc(&out, 3, 40, 24), ADN_OK);
    adn_status st = adn_stylize(c, &content, one, 1, NULL, &out);
    ck_assert_msg(st == ADN_ERR_MODEL, "%s: got %s (%s)", bundle_name, adn_status_str(st), adn_last_error());
    ck_assert_msg(strstr(adn_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", bundle_name, adn_last_error(), needle);
    for (size_t i = 0; i < 3u * 40 * 24; ++i) ck_assert(out.data[i] == 0.0f); /* the caller's buffer is untouched */
    adn_image_free(&out);
    adn_style_free(s);
    adn_image_free(&content);
    adn_context_free(c);
    adn_model_free(m);
}

/* Memory that cannot be had inside a forward pass is ADN_ERR_OUT_OF_MEMORY, however torch wrapped
 * it (a std::bad_alloc in the interpreter arrives as a RuntimeError saying so). */
static void expect_out_of_memory(const char *bundle_name) {
    const char *root = env_or_skip("ADN_BAD_BUNDLES");
    if (!root) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, bundle_name);
    adn_model *m = load_or_fail(dir);
    adn_context *c = context_of(m);
    adn_image content = random_image(3, 40, 24, 31), out = {0};
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    const adn_style *one[] = {s};
    adn_status st = adn_stylize(c, &content, one, 1, NULL, &out);
    ck_assert_msg(st == ADN_ERR_OUT_OF_MEMORY, "%s: got %s (%s)", bundle_name, adn_status_str(st), adn_last_error());
    ck_assert_msg(strstr(adn_last_error(), "decoder: out of memory") != NULL, "%s: '%s'", bundle_name, adn_last_error());
    ck_assert_msg(strstr(adn_last_error(), "<--- HERE") == NULL && strchr(adn_last_error(), '\n') == NULL, "%s: '%s'",
                  bundle_name, adn_last_error());
    ck_assert_ptr_null(out.data);
    adn_style_free(s);
    adn_image_free(&content);
    adn_context_free(c);
    adn_model_free(m);
}

/* Valgrind's operator new aborts where it should throw std::bad_alloc (it says so), and valgrind
 * runs its client with its vgpreload libraries in LD_PRELOAD. */
static int under_valgrind(void) {
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload") != NULL;
}

/* AddressSanitizer's operator new reports a huge request and aborts instead of throwing, even with
 * allocator_may_return_null=1 (GCC 12's libsanitizer). */
static int under_address_sanitizer(void) {
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    return 0;
}

START_TEST(out_of_memory_in_a_network_is_reported_as_such) {
    if (under_valgrind() || under_address_sanitizer()) {
        printf("SKIP: out-of-memory bundles under valgrind or ASan (their operator new aborts instead of throwing)\n");
        return;
    }
    expect_out_of_memory("bad_alloc_decoder");
    expect_out_of_memory("oom_decoder");
}
END_TEST

START_TEST(nan_from_a_network_names_it) {
    expect_nan_module("nan_decoder", "decoder.pt produced NaN");
    expect_nan_module("nan_depth", "depth.pt produced NaN");
}
END_TEST

START_TEST(model_arguments_are_checked) {
    adn_model *m = NULL;
    ck_assert_int_eq(adn_model_load(NULL, NULL, &m), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(adn_model_load("x", NULL, NULL), ADN_ERR_INVALID_ARGUMENT);
    adn_model_params p = adn_model_default_params();
    p.n_threads = -1;
    ck_assert_int_eq(adn_model_load("x", &p, &m), ADN_ERR_INVALID_ARGUMENT);
    p.n_threads = ADN_MAX_THREADS + 1; /* libgomp would exit the process on INT32_MAX */
    ck_assert_int_eq(adn_model_load("x", &p, &m), ADN_ERR_INVALID_ARGUMENT);
    adn_model_free(NULL);
    adn_style_free(NULL);
    const char *dir = getenv("ADN_BUNDLE_ANALYTIC");
    if (dir && *dir && !adn_has_feature("cuda")) {
        p = adn_model_default_params();
        p.device = ADN_DEVICE_CUDA;
        ck_assert_int_eq(adn_model_load(dir, &p, &m), ADN_ERR_DEVICE);
        ck_assert_ptr_null(m);
    }
}
END_TEST

START_TEST(stylize_arguments_are_checked) {
    adn_model *m = analytic_or_skip();
    if (!m) return;
    adn_context *c = context_of(m);
    adn_model_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(adn_model_get_info(m, &info), ADN_OK);
    ck_assert_str_eq(info.backend, "torch");
    ck_assert_int_eq(info.cuda_device_index, -1);
    ck_assert_int_eq(info.precision, ADN_PRECISION_FP32);
    ck_assert_int_eq(info.feature_channels, 192);
    ck_assert_int_eq(info.downsample, 8);
    ck_assert_int_eq(info.depth_kind, ADN_DEPTH_KIND_DEPTH);
    ck_assert_int_eq(adn_set_depth_range(c, -0.1f, 1.0f), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(adn_set_depth_range(c, 0.0f, NAN), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(adn_set_depth_range(NULL, 0.0f, 1.0f), ADN_ERR_INVALID_ARGUMENT);

    adn_image content = random_image(3, 20, 30, 1), grey = random_image(1, 20, 30, 2);
    adn_image small = random_image(1, 10, 30, 3), two = random_image(2, 20, 30, 4);
    adn_style *s = NULL, *s2 = NULL;
    ck_assert_int_eq(adn_style_create(m, &grey, &s), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    ck_assert_int_eq(adn_style_create(m, &content, &s2), ADN_OK);
    const adn_style *one[] = {s}, *pair[] = {s, s2}, *null_style[] = {NULL};
    adn_image out = {0};
    adn_stylize_params p = adn_stylize_default_params();
#define EXPECT(status, call)                                                                                   \
    do {                                                                                                       \
        adn_status got_ = (call);                                                                              \
        ck_assert_msg(got_ == (status), "%s: got %s (%s)", #call, adn_status_str(got_), adn_last_error());     \
        ck_assert_msg(got_ == ADN_OK || adn_last_error()[0] != '\0', "%s: no message", #call);                 \
        ck_assert_ptr_null(out.data);                                                                          \
    } while (0)
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(NULL, &content, one, 1, &p, &out));
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, NULL, one, 1, &p, &out));
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &grey, one, 1, &p, &out));
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, NULL, 1, &p, &out));
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, one, 0, &p, &out));
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, null_style, 1, &p, &out));
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, one, 1, &p, NULL));
    p.alpha = 1.5f;
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, one, 1, &p, &out));
    p.alpha = NAN;
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, one, 1, &p, &out));
    p = adn_stylize_default_params();
    p.mask = &small;
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, one, 1, &p, &out));
    p = adn_stylize_default_params();
    float weights[2] = {1, 1};
    p.region_masks = &two;
    p.style_weights = weights;
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, pair, 2, &p, &out));
    p.style_weights = NULL;
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, one, 1, &p, &out)); /* 2 masks, 1 style */
    p = adn_stylize_default_params();
    weights[0] = weights[1] = 0;
    p.style_weights = weights;
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, pair, 2, &p, &out));
    p = adn_stylize_default_params();
    p.depth_source = ADN_DEPTH_CALLER;
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, one, 1, &p, &out)); /* no map */
    grey.data[17] = NAN;
    p.depth = &grey;
    EXPECT(ADN_ERR_NON_FINITE, adn_stylize(c, &content, one, 1, &p, &out));
    p.depth = &small;
    p.depth_norm.has_invalid = 1;
    EXPECT(ADN_ERR_INVALID_ARGUMENT, adn_stylize(c, &content, one, 1, &p, &out)); /* invalid value needs content size */
    p = adn_stylize_default_params();
    content.data[5] = INFINITY;
    EXPECT(ADN_ERR_NON_FINITE, adn_stylize(c, &content, one, 1, &p, &out));
#undef EXPECT
    adn_style_free(s);
    adn_style_free(s2);
    adn_image_free(&content);
    adn_image_free(&grey);
    adn_image_free(&small);
    adn_image_free(&two);
    adn_context_free(c);
    adn_model_free(m);
}
END_TEST

/* Review findings: a NaN that bilinear downscaling would never sample is still refused; output
 * maps are size-checked before any work and nothing the library allocated survives a failure;
 * bad weights fail before the networks run. */
START_TEST(outputs_and_depth_checked_before_work) {
    adn_model *m = analytic_or_skip();
    if (!m) return;
    adn_context *c = context_of(m);
    adn_image content = random_image(3, 16, 16, 21), depth = random_image(1, 64, 64, 22);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(m, &content, &s), ADN_OK);
    const adn_style *one[] = {s}, *pair[] = {s, s};
    adn_image out = {0}, out_depth = {0}, wrong = {0};
    adn_stylize_params p = adn_stylize_default_params();
    p.depth_source = ADN_DEPTH_CALLER;
    depth.data[0] = NAN; /* 64 -> 16 bilinear samples rows/cols 1.5, 5.5, ...: never pixel 0 */
    p.depth = &depth;
    ck_assert_int_eq(adn_stylize(c, &content, one, 1, &p, &out), ADN_ERR_NON_FINITE);
    p.depth_norm.has_invalid = 1; /* an invalid marker other than NaN does not excuse a NaN */
    p.depth_norm.invalid_value = 0.0f;
    ck_assert_int_eq(adn_stylize(c, &content, one, 1, &p, &out), ADN_ERR_NON_FINITE);

    p = adn_stylize_default_params();
    ck_assert_int_eq(adn_image_alloc(&wrong, 3, 15, 16), ADN_OK); /* must be 3 x 16 x 16 */
    ck_assert_int_eq(adn_stylize(c, &content, one, 1, &p, &wrong), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_null(out.data);
    /* No output may overwrite an input. */
    ck_assert_int_eq(adn_stylize(c, &content, one, 1, &p, &content), ADN_ERR_INVALID_ARGUMENT);

    p = adn_stylize_default_params();
    float weights[2] = {1.0f, -0.5f};
    p.style_weights = weights;
    ck_assert_int_eq(adn_stylize(c, &content, pair, 2, &p, &out), ADN_ERR_INVALID_ARGUMENT);
    adn_timings t = {.struct_size = sizeof t};
    ck_assert_int_eq(adn_context_get_timings(c, &t), ADN_OK);
    ck_assert(t.content_encode_ms == 0.0); /* refused before the encoder ran */
    ck_assert_int_eq(adn_stylize(c, &content, one, 1, NULL, &out), ADN_OK);
    ck_assert_int_eq(adn_context_get_depth(c, &out_depth), ADN_OK);
    ck_assert_int_eq(adn_context_get_depth(c, &out), ADN_ERR_INVALID_ARGUMENT); /* 3 channels: wrong size */
    adn_image_free(&out);
    adn_image_free(&out_depth);
    adn_image_free(&wrong);
    adn_image_free(&depth);
    adn_image_free(&content);
    adn_style_free(s);
    adn_context_free(c);
    adn_model_free(m);
}
END_TEST

START_TEST(style_from_another_model_is_refused) {
    adn_model *a = analytic_or_skip();
    if (!a) return;
    adn_model *b = analytic_or_skip();
    adn_context *cb = context_of(b);
    adn_image img = random_image(3, 16, 16, 8);
    adn_style *s = NULL;
    ck_assert_int_eq(adn_style_create(a, &img, &s), ADN_OK);
    adn_image out = {0};
    const adn_style *one[] = {s};
    ck_assert_int_eq(adn_stylize(cb, &img, one, 1, NULL, &out), ADN_ERR_INVALID_ARGUMENT);
    int32_t channels = 0;
    float mean[192], std[192];
    ck_assert_int_eq(adn_style_get_stats(s, mean, std, &channels), ADN_OK);
    ck_assert_int_eq(channels, 192);
    ck_assert(std[0] > 0);
    adn_style_free(s);
    adn_image_free(&img);
    adn_context_free(cb);
    adn_model_free(a);
    adn_model_free(b);
}
END_TEST

static Suite *pipeline_suite(void) {
    Suite *s = suite_create("pipeline");
    TCase *conformance = tcase_create("conformance");
    tcase_add_unchecked_fixture(conformance, conformance_setup, conformance_teardown);
    tcase_set_timeout(conformance, 900);
    tcase_add_test(conformance, matches_reference);
    suite_add_tcase(s, conformance);
    TCase *analytic = tcase_create("analytic");
    tcase_set_timeout(analytic, 300);
    tcase_add_test(analytic, analytic_zero_strength_is_identity);
    tcase_add_test(analytic, analytic_style_equal_to_content_is_identity);
    tcase_add_test(analytic, caller_output_buffer_is_reused);
    suite_add_tcase(s, analytic);
    TCase *errors = tcase_create("errors");
    tcase_set_timeout(errors, 300);
    tcase_add_test(errors, bad_bundles_are_refused);
    tcase_add_test(errors, hostile_modules_are_refused);
    tcase_add_test(errors, hostile_files_are_refused);
    tcase_add_test(errors, the_seal_is_checked);
    tcase_add_test(errors, unsealed_bundles_need_trust_and_a_sound_archive);
    tcase_add_test(errors, thread_pool_is_set_once);
    tcase_add_test(errors, model_arguments_are_checked);
    tcase_add_test(errors, runtime_errors_keep_their_cause);
    tcase_add_test(errors, nan_from_a_network_names_it);
    tcase_add_test(errors, out_of_memory_in_a_network_is_reported_as_such);
    tcase_add_test(errors, stylize_arguments_are_checked);
    tcase_add_test(errors, style_from_another_model_is_refused);
    tcase_add_test(errors, outputs_and_depth_checked_before_work);
    suite_add_tcase(s, errors);
    return s;
}

int main(void) {
    SRunner *runner = srunner_create(pipeline_suite());
    srunner_set_fork_status(runner, CK_NOFORK);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
