/* Models and styles: their lifetime.  A model is read-only once loaded and shared among threads;
 * a style is the statistics of one encoded style image, shared among the model's contexts.  The
 * per-call pipeline is in lib/stylize.c, per-stream state in lib/context.c. */
#include "model_internal.h"

#include "bundle_files.h"
#include "cpu.h"

#include <stdlib.h>
#include <string.h>

static const adn_model_params model_defaults = {
    .struct_size = sizeof(adn_model_params),
    .device = ADN_DEVICE_AUTO,
    .cuda_device_index = 0,
    .n_threads = 0,
    .load_depth = 1,
    .optimize = 1,
    .precision = ADN_PRECISION_FP32,
    .trust_unsealed = 0,
};

adn_status adn_model_params_init(adn_model_params *params, size_t struct_size) {
    return adn_struct_init(params, struct_size, &model_defaults, sizeof model_defaults, "adn_model_params");
}

int adn_in_unit_interval(float v) { return v >= 0.0f && v <= 1.0f; }

static const char *precision_name(adn_precision precision) {
    return precision == ADN_PRECISION_BF16 ? "bf16" : precision == ADN_PRECISION_FP16 ? "fp16" : "fp32";
}

/* ADN_BF16_ALLOW_EMULATION=1 lets ADN_PRECISION_BF16 run on a CPU without bf16 instructions, on
 * libtorch's generic kernels (about 100 times slower than fp32): only so that the bf16 code path
 * can be tested on any machine (tests/test_precision.c). */
static int bf16_emulation_allowed(void) {
    const char *v = getenv("ADN_BF16_ALLOW_EMULATION");
    return v && strcmp(v, "1") == 0;
}

/* Whether the networks can run in `precision` on `device`.  Called with the device asked for
 * (before any file is read) and again with the one the backend resolved (ADN_DEVICE_AUTO). */
static adn_status check_precision_on(adn_precision precision, adn_device device) {
    if (device != ADN_DEVICE_CPU || precision == ADN_PRECISION_FP32) return ADN_OK; /* CUDA has both */
    if (precision == ADN_PRECISION_FP16)
        return adn_fail(ADN_ERR_UNSUPPORTED, "adn_model_load: precision fp16 runs on CUDA only, and the model is on the CPU "
                                             "(use ADN_PRECISION_BF16 or ADN_PRECISION_FP32 there)");
    if (!adn_cpu_has_native_bf16() && !bf16_emulation_allowed())
        return adn_fail(ADN_ERR_UNSUPPORTED, "adn_model_load: precision bf16 on the CPU needs AVX512_BF16 or AMX-BF16, and this CPU "
                                             "has neither (best: %s); use ADN_PRECISION_FP32", adn_cpu_best_isa());
    return ADN_OK;
}

static adn_status check_model_params(const adn_model_params *p) {
    if (p->device != ADN_DEVICE_AUTO && p->device != ADN_DEVICE_CPU && p->device != ADN_DEVICE_CUDA)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: unknown device %d", (int)p->device);
    /* libgomp exits the process when asked for absurd thread counts, so they never reach it. */
    if (p->n_threads < 0 || p->n_threads > ADN_MAX_THREADS)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: n_threads must be in 0..%d (got %d)", ADN_MAX_THREADS,
                        (int)p->n_threads);
    if (p->trust_unsealed != 0 && p->trust_unsealed != 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: trust_unsealed must be 0 or 1 (got %d)", (int)p->trust_unsealed);
    switch (p->precision) {
    case ADN_PRECISION_FP32:
    case ADN_PRECISION_BF16:
    case ADN_PRECISION_FP16: return check_precision_on(p->precision, p->device);
    }
    return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: unknown precision %d", (int)p->precision);
}

/* The verified bytes of the bundle's files (lib/bundle_files.c) into the backend; they are freed
 * as soon as it has parsed them. */
static adn_status backend_load(adn_model *m, const char *bundle_dir, const adn_model_params *p, adn_bundle_attrs *attrs) {
    adn_bundle_files files;
    adn_status st = adn_bundle_files_read(bundle_dir, p->load_depth, p->trust_unsealed, &files);
    if (st) return st;
    const adn_module_bytes *depth = files.module[ADN_MODULE_DEPTH].data ? &files.module[ADN_MODULE_DEPTH] : NULL;
    st = m->ops->load(&files.module[ADN_MODULE_ENCODER], &files.module[ADN_MODULE_DECODER], depth, p, &m->state, attrs,
                      &m->device, &m->cuda_index);
    /* The manifest recorded the attributes the modules declared: a disagreement means it was
     * edited by hand. */
    if (!st && files.sealed) st = adn_manifest_check_attrs(&files.manifest, attrs);
    adn_bundle_files_release(&files);
    return st;
}

/* Files and backend load, the contract checks of lib/bundle.c, backend preparation, then the probe. */
static adn_status load_into(adn_model *m, const char *bundle_dir, const adn_model_params *p) {
    adn_bundle_attrs attrs;
    memset(&attrs, 0, sizeof attrs);
    adn_status st = backend_load(m, bundle_dir, p, &attrs);
    if (st || (st = check_precision_on(p->precision, m->device))) return st;
    if ((st = adn_bundle_check_attrs(&attrs, &m->bundle))) return st;
    if ((st = m->ops->prepare(m->state, p))) return st;
    /* After preparing, so a graph that only fails once optimised is caught here. */
    if ((st = adn_bundle_probe(m->ops, m->state, &m->bundle))) return st;
    adn_log(ADN_LOG_INFO, "loaded bundle %s: %d channels, /%d, depth %s, %s on %s", bundle_dir, (int)m->bundle.channels,
            (int)m->bundle.downsample,
            m->bundle.depth_kind == ADN_DEPTH_KIND_NONE    ? "none"
            : m->bundle.depth_kind == ADN_DEPTH_KIND_DEPTH ? "depth"
                                                           : "disparity",
            precision_name(p->precision), m->device == ADN_DEVICE_CUDA ? "cuda" : "cpu");
    return ADN_OK;
}

adn_status adn_model_load(const char *bundle_dir, const adn_model_params *params, adn_model **out) {
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: out is NULL");
    *out = NULL;
    if (!bundle_dir || !*bundle_dir) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: bundle_dir is NULL or empty");
    adn_model_params p = model_defaults;
    adn_status st = params ? adn_struct_read(&p, sizeof p, params, "adn_model_params") : ADN_OK;
    if (st || (st = check_model_params(&p))) return st;
    const adn_backend_ops *ops = adn_backend_default();
    if (!ops)
        return adn_fail(ADN_ERR_UNSUPPORTED, "this build of libadain_dcs has no model backend (configure with -Dtorch=enabled)");
    adn_model *m = calloc(1, sizeof *m);
    if (!m) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a model");
    m->ops = ops;
    m->precision = p.precision;
    if ((st = load_into(m, bundle_dir, &p))) {
        adn_model_free(m);
        return st;
    }
    *out = m;
    return ADN_OK;
}

void adn_model_free(adn_model *model) {
    if (!model) return;
    if (model->state) model->ops->free(model->state);
    free(model);
}

adn_status adn_model_get_info(const adn_model *model, adn_model_info *info) {
    if (!model || !info) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_get_info: NULL argument");
    const adn_model_info ours = {
        .struct_size = sizeof ours,
        .feature_channels = model->bundle.channels,
        .downsample = model->bundle.downsample,
        .depth_kind = model->bundle.depth_kind,
        .device = model->device,
        .cuda_device_index = model->device == ADN_DEVICE_CUDA ? model->cuda_index : -1,
        .precision = model->precision,
        .backend = model->ops->name,
    };
    return adn_struct_write(info, &ours, sizeof ours, "adn_model_info");
}

/* ------------------------------------------------------------------------------------------ */
/* Encoding helpers (shared with lib/stylize.c)                                                 */

adn_status adn_check_rgb_input(const adn_image *img, const char *what) {
    adn_status st = adn_check_image(img, 3, what);
    if (st) return st;
    if (!adn_all_finite(img->data, (int64_t)img->channels * img->height * img->width))
        return adn_fail(ADN_ERR_NON_FINITE, "%s contains NaN or infinity", what);
    return ADN_OK;
}

void adn_features_release(const adn_model *model, adn_features *f) {
    if (f->tensor) model->ops->tensor_free(f->tensor);
    memset(f, 0, sizeof *f);
}

adn_status adn_encode_padded(const adn_model *model, const float *rgb, int32_t height, int32_t width,
                             adn_buffer *padded, adn_features *out) {
    memset(out, 0, sizeof *out);
    const int32_t ds = model->bundle.downsample;
    const int32_t hp = adn_round_up(height, ds), wp = adn_round_up(width, ds);
    if (hp < height || wp < width) return adn_fail(ADN_ERR_TOO_LARGE, "image %dx%d is too large", (int)height, (int)width);
    const float *input = rgb;
    if (hp != height || wp != width) {
        float *p = adn_buffer_floats(padded, 3 * (int64_t)hp * wp, "a padded image");
        if (!p) return ADN_ERR_OUT_OF_MEMORY;
        adn_status st = adn_pad_reflect(rgb, 3, height, width, p, hp, wp);
        if (st) return st;
        input = p;
    }
    adn_tensor_dims dims;
    adn_status st = model->ops->encode(model->state, input, hp, wp, &out->tensor, &dims);
    if (!st) st = adn_bundle_check_features(&model->bundle, &dims, hp, wp);
    if (!st) st = model->ops->host_view(out->tensor, &out->data);
    if (st) {
        adn_features_release(model, out);
        return st;
    }
    out->height = dims.height;
    out->width = dims.width;
    out->n = (int64_t)dims.height * dims.width;
    if (!adn_all_finite(out->data, (int64_t)dims.channels * out->n)) {
        adn_features_release(model, out);
        return adn_fail(ADN_ERR_MODEL, "encoder.pt produced NaN or infinity");
    }
    return ADN_OK;
}

adn_status adn_style_statistics(const adn_model *model, const float *rgb, int32_t height, int32_t width,
                                adn_buffer *padded, float *mean, float *std) {
    adn_features f;
    adn_status st = adn_encode_padded(model, rgb, height, width, padded, &f);
    if (st) return st;
    st = adn_channel_stats(f.data, model->bundle.channels, f.n, ADN_ADAIN_EPS, mean, std);
    adn_features_release(model, &f);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Styles                                                                                       */

adn_status adn_style_create(const adn_model *model, const adn_image *style, adn_style **out) {
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_style_create: out is NULL");
    *out = NULL;
    if (!model) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_style_create: model is NULL");
    adn_status st = adn_check_rgb_input(style, "style image");
    if (st) return st;
    const int32_t c = model->bundle.channels;
    adn_style *s = calloc(1, sizeof *s);
    if (!s) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a style");
    s->model = model;
    s->channels = c;
    s->mean = malloc(sizeof(float) * (size_t)c);
    s->std = malloc(sizeof(float) * (size_t)c);
    if (!s->mean || !s->std) {
        adn_style_free(s);
        return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate style statistics");
    }
    adn_buffer padded = {0};
    st = adn_image_alloc(&s->image, 3, style->height, style->width);
    if (!st) {
        memcpy(s->image.data, style->data, sizeof(float) * 3 * (size_t)style->width * (size_t)style->height);
        st = adn_style_statistics(model, style->data, style->height, style->width, &padded, s->mean, s->std);
    }
    adn_buffer_release(&padded);
    if (st) {
        adn_style_free(s);
        return st;
    }
    *out = s;
    return ADN_OK;
}

void adn_style_free(adn_style *style) {
    if (!style) return;
    free(style->mean);
    free(style->std);
    adn_image_free(&style->image);
    free(style);
}

adn_status adn_style_get_stats(const adn_style *style, float *mean, float *std, int32_t *channels) {
    if (!style) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_style_get_stats: style is NULL");
    if (mean) memcpy(mean, style->mean, sizeof(float) * (size_t)style->channels);
    if (std) memcpy(std, style->std, sizeof(float) * (size_t)style->channels);
    if (channels) *channels = style->channels;
    return ADN_OK;
}
