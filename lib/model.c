/* Models, cached styles and the AdaIN-DCS pipeline (METHOD.md §1).  The networks run in the backend
 * (lib/backend.h); everything between encoder and decoder is the pure C math of this library, run
 * on the encoder's output memory in place. */
#include "backend.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct adn_model {
    adn_backend *backend;
    adn_backend_info info;
    float depth_lo, depth_hi;
};

struct adn_style {
    const adn_model *model;
    int32_t channels;
    float *mean; /* C feature means of E(style) */
    float *std;  /* C feature stds (eps on the variance) */
    adn_image image; /* kept for colour preservation, which re-encodes the style per content */
};

/* ------------------------------------------------------------------------------------------ */
/* Timings                                                                                      */

static _Thread_local adn_timings last_timings;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Adds the time since *mark to *stage and moves the mark to now. */
static void lap(double *mark, double *stage) {
    double t = now_ms();
    *stage += t - *mark;
    *mark = t;
}

adn_status adn_get_last_timings(adn_timings *out) {
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_get_last_timings: out is NULL");
    *out = last_timings;
    return ADN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Models                                                                                       */

adn_model_params adn_model_default_params(void) {
    adn_model_params p;
    memset(&p, 0, sizeof p);
    p.device = ADN_DEVICE_AUTO;
    p.cuda_device_index = 0;
    p.n_threads = 0;
    p.load_depth = 1;
    p.optimize = 1;
    return p;
}

adn_status adn_model_load(const char *bundle_dir, const adn_model_params *params, adn_model **out) {
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: out is NULL");
    *out = NULL;
    if (!bundle_dir || !*bundle_dir) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: bundle_dir is NULL or empty");
    adn_model_params p = params ? *params : adn_model_default_params();
    if (p.device != ADN_DEVICE_AUTO && p.device != ADN_DEVICE_CPU && p.device != ADN_DEVICE_CUDA)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: unknown device %d", (int)p.device);
    /* libgomp exits the process when asked for absurd thread counts, so they never reach it. */
    if (p.n_threads < 0 || p.n_threads > ADN_MAX_THREADS)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_load: n_threads must be in 0..%d (got %d)", ADN_MAX_THREADS, (int)p.n_threads);
    adn_model *m = calloc(1, sizeof *m);
    if (!m) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a model");
    adn_status st = adn_backend_load(bundle_dir, &p, &m->backend, &m->info);
    if (st) {
        free(m);
        return st;
    }
    m->depth_lo = 0.0f;
    m->depth_hi = 1.0f;
    *out = m;
    return ADN_OK;
}

void adn_model_free(adn_model *model) {
    if (!model) return;
    adn_backend_free(model->backend);
    free(model);
}

adn_status adn_model_get_info(const adn_model *model, adn_model_info *info) {
    if (!model || !info) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_model_get_info: NULL argument");
    memset(info, 0, sizeof *info);
    info->feature_channels = model->info.channels;
    info->downsample = model->info.downsample;
    info->depth_kind = model->info.depth_kind;
    info->device = model->info.device;
    info->depth_lo = model->depth_lo;
    info->depth_hi = model->depth_hi;
    return ADN_OK;
}

static int in_unit_interval(float v) { return v >= 0.0f && v <= 1.0f; } /* false for NaN */

adn_status adn_set_depth_range(adn_model *model, float lo, float hi) {
    if (!model) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_set_depth_range: model is NULL");
    if (!in_unit_interval(lo) || !in_unit_interval(hi))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_set_depth_range: lo and hi must be in [0,1] (got %g, %g)", lo, hi);
    model->depth_lo = lo;
    model->depth_hi = hi;
    return ADN_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Encoding helpers                                                                             */

/* Feature map of an image: the encoder output, owned by the backend, edited in place. */
typedef struct features {
    adn_features *handle;
    float *data;
    int32_t height, width; /* feature resolution */
    int64_t n;             /* height * width */
} features;

static void features_release(features *f) {
    adn_features_free(f->handle);
    memset(f, 0, sizeof *f);
}

static adn_status check_rgb_input(const adn_image *img, const char *what) {
    adn_status st = adn_check_image(img, 3, what);
    if (st) return st;
    if (!adn_all_finite(img->data, (int64_t)img->channels * img->height * img->width))
        return adn_fail(ADN_ERR_NON_FINITE, "%s contains NaN or infinity", what);
    return ADN_OK;
}

/* Reflection-pads 3 x H x W to multiples of the downsampling factor (METHOD.md §5) and encodes. */
static adn_status encode_padded(const adn_model *model, const float *rgb, int32_t height, int32_t width, features *out) {
    memset(out, 0, sizeof *out);
    const int32_t ds = model->info.downsample;
    const int32_t hp = adn_round_up(height, ds), wp = adn_round_up(width, ds);
    if (hp < height || wp < width) return adn_fail(ADN_ERR_TOO_LARGE, "image %dx%d is too large", (int)height, (int)width);
    const float *input = rgb;
    float *padded = NULL;
    if (hp != height || wp != width) {
        padded = malloc(sizeof(float) * 3 * (size_t)hp * (size_t)wp);
        if (!padded) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a padded %dx%d image", (int)hp, (int)wp);
        adn_status st = adn_pad_reflect(rgb, 3, height, width, padded, hp, wp);
        if (st) {
            free(padded);
            return st;
        }
        input = padded;
    }
    adn_status st = adn_backend_encode(model->backend, input, hp, wp, &out->handle, &out->data, &out->height, &out->width);
    free(padded);
    if (st) return st;
    out->n = (int64_t)out->height * out->width;
    return ADN_OK;
}

/* Style statistics of a (possibly colour-matched) style image. */
static adn_status style_stats(const adn_model *model, const float *rgb, int32_t height, int32_t width, float *mean, float *std) {
    features f;
    adn_status st = encode_padded(model, rgb, height, width, &f);
    if (st) return st;
    st = adn_channel_stats(f.data, model->info.channels, f.n, ADN_ADAIN_EPS, mean, std);
    features_release(&f);
    return st;
}

/* ------------------------------------------------------------------------------------------ */
/* Styles                                                                                       */

adn_status adn_style_create(adn_model *model, const adn_image *style, adn_style **out) {
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_style_create: out is NULL");
    *out = NULL;
    if (!model) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_style_create: model is NULL");
    adn_status st = check_rgb_input(style, "style image");
    if (st) return st;
    const int32_t c = model->info.channels;
    memset(&last_timings, 0, sizeof last_timings);
    const double start = now_ms();
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
    st = adn_image_alloc(&s->image, 3, style->width, style->height);
    if (!st) {
        memcpy(s->image.data, style->data, sizeof(float) * 3 * (size_t)style->width * (size_t)style->height);
        st = style_stats(model, style->data, style->height, style->width, s->mean, s->std);
    }
    if (st) {
        adn_style_free(s);
        return st;
    }
    last_timings.style_encode_ms = last_timings.total_ms = now_ms() - start;
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

/* ------------------------------------------------------------------------------------------ */
/* Stylize                                                                                      */

adn_stylize_params adn_stylize_default_params(void) {
    adn_stylize_params p;
    memset(&p, 0, sizeof p);
    p.alpha = 1.0f;
    p.depth_source = ADN_DEPTH_AUTO;
    return p;
}

/* Everything one adn_stylize call allocates, released in one place. */
typedef struct stylize_work {
    int32_t height, width;   /* content size */
    int32_t pheight, pwidth; /* padded to the downsampling factor */
    features content;
    float *style_mean, *style_std; /* K x C */
    float *target;                 /* t, C x N */
    float *region_masks;           /* K x N at feature resolution, or NULL */
    float *mask;                   /* M at feature resolution, or NULL */
    float *range;                  /* R(D) at feature resolution, or NULL (depth off) */
    float *depth;                  /* D at content size, or NULL */
    float *strength;               /* S, N values */
    float *decoded;                /* 3 x padded size */
} stylize_work;

static void work_release(stylize_work *w) {
    features_release(&w->content);
    free(w->style_mean);
    free(w->style_std);
    free(w->target);
    free(w->region_masks);
    free(w->mask);
    free(w->range);
    free(w->depth);
    free(w->strength);
    free(w->decoded);
}

static float *alloc_floats(int64_t count) {
    if (count < 1) count = 1;
    return malloc(sizeof(float) * (size_t)count);
}

static adn_status validate_map(const adn_image *img, int32_t channels, int32_t width, int32_t height, const char *what) {
    adn_status st = adn_check_image(img, channels, what);
    if (st) return st;
    if (img->width != width || img->height != height)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s is %dx%d but the content is %dx%d (HxW)", what, (int)img->height, (int)img->width, (int)height, (int)width);
    if (!adn_all_finite(img->data, (int64_t)img->channels * height * width)) return adn_fail(ADN_ERR_NON_FINITE, "%s contains NaN or infinity", what);
    return ADN_OK;
}

/* Every value of a caller's depth map must be finite, except pixels marked with the invalid value
 * (checked before resizing, which could skip a NaN). */
static adn_status check_caller_depth(const adn_stylize_params *p) {
    const float *d = p->depth->data;
    const int64_t n = (int64_t)p->depth->width * p->depth->height;
    for (int64_t i = 0; i < n; ++i) {
        if (p->depth_has_invalid && d[i] == p->depth_invalid_value) continue;
        if (!isfinite(d[i])) return adn_fail(ADN_ERR_NON_FINITE, "caller depth map has a non-finite value at pixel %lld", (long long)i);
    }
    return ADN_OK;
}

static adn_depth_source resolve_depth_source(const adn_model *model, adn_depth_source requested) {
    if (requested != ADN_DEPTH_AUTO) return requested;
    return model->info.depth_kind == ADN_DEPTH_KIND_NONE ? ADN_DEPTH_NONE : ADN_DEPTH_NETWORK;
}

static adn_status validate_stylize(const adn_model *model, const adn_image *content, const adn_style *const *styles, int32_t n_styles,
                                   const adn_stylize_params *p) {
    adn_status st;
    if (!model) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: model is NULL");
    if ((st = check_rgb_input(content, "content image"))) return st;
    if (!styles || n_styles < 1) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: at least one style is needed");
    for (int32_t k = 0; k < n_styles; ++k) {
        if (!styles[k]) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: style %d is NULL", (int)k);
        if (styles[k]->model != model) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: style %d was made with another model", (int)k);
    }
    if (!in_unit_interval(p->alpha)) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: alpha must be in [0,1] (got %g)", p->alpha);
    const int32_t w = content->width, h = content->height;
    if (p->mask && (st = validate_map(p->mask, 1, w, h, "mask"))) return st;
    if (p->region_masks) {
        if (p->style_weights) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: region_masks and style_weights exclude each other");
        if ((st = validate_map(p->region_masks, n_styles, w, h, "region_masks"))) return st;
    }
    double total_weight; /* weights are checked before any network runs */
    if (p->style_weights && (st = adn_check_style_weights("adn_stylize", p->style_weights, n_styles, &total_weight)))
        return st;
    /* Output maps too: a wrong size must not cost an encode and a decode first. */
    const int32_t ds = model->info.downsample;
    if ((st = adn_check_output_size(p->out_depth, 1, w, h, "out_depth")) ||
        (st = adn_check_output_size(p->out_strength, 1, adn_round_up(w, ds) / ds, adn_round_up(h, ds) / ds, "out_strength")))
        return st;
    switch (resolve_depth_source(model, p->depth_source)) {
    case ADN_DEPTH_NETWORK:
        if (model->info.depth_kind == ADN_DEPTH_KIND_NONE) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: depth from the network was requested but the model has no depth.pt");
        break;
    case ADN_DEPTH_CALLER:
        if ((st = adn_check_image(p->depth, 1, "caller depth map")) || (st = check_caller_depth(p))) return st;
        if (p->depth_has_invalid && (p->depth->width != w || p->depth->height != h))
            return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: a depth map with an invalid value must have the content's size %dx%d (HxW), is %dx%d", (int)h, (int)w,
                            (int)p->depth->height, (int)p->depth->width);
        break;
    case ADN_DEPTH_NONE:
        break;
    default:
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: unknown depth source %d", (int)p->depth_source);
    }
    return ADN_OK;
}

/* Colour preservation for a 1-pixel content or style, where CORAL's unbiased std is undefined:
 * only the mean colour is matched, x' = x_s - mean(x_s) + mean(x_c). */
static adn_status match_mean_colour(const float *style, int64_t ns, const float *content, int64_t nc, float *out) {
    for (int c = 0; c < 3; ++c) {
        double style_sum = 0, content_sum = 0;
        for (int64_t i = 0; i < ns; ++i) style_sum += style[c * ns + i];
        for (int64_t i = 0; i < nc; ++i) content_sum += content[c * nc + i];
        const double shift = content_sum / (double)nc - style_sum / (double)ns;
        for (int64_t i = 0; i < ns; ++i) out[c * ns + i] = (float)(style[c * ns + i] + shift);
    }
    return ADN_OK;
}

/* Style statistics for this call: the cached ones, or (colour preservation) those of each style
 * re-coloured to the content with CORAL and encoded again. */
static adn_status gather_style_stats(const adn_model *model, const adn_image *content, const adn_style *const *styles, int32_t n_styles,
                                     int preserve_color, stylize_work *w) {
    const int32_t c = model->info.channels;
    w->style_mean = alloc_floats((int64_t)n_styles * c);
    w->style_std = alloc_floats((int64_t)n_styles * c);
    if (!w->style_mean || !w->style_std) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate style statistics");
    for (int32_t k = 0; k < n_styles; ++k) {
        float *mean = w->style_mean + (size_t)k * c, *std = w->style_std + (size_t)k * c;
        if (!preserve_color) {
            memcpy(mean, styles[k]->mean, sizeof(float) * (size_t)c);
            memcpy(std, styles[k]->std, sizeof(float) * (size_t)c);
            continue;
        }
        const adn_image *s = &styles[k]->image;
        const int64_t ns = (int64_t)s->width * s->height, nc = (int64_t)content->width * content->height;
        float *matched = alloc_floats(3 * ns);
        if (!matched) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a colour-matched style");
        adn_status st = ns >= 2 && nc >= 2 ? adn_coral(s->data, ns, content->data, nc, matched)
                                           : match_mean_colour(s->data, ns, content->data, nc, matched);
        if (!st) st = style_stats(model, matched, s->height, s->width, mean, std);
        free(matched);
        if (st) return st;
    }
    return ADN_OK;
}

/* A map at content size (C x H x W) brought to feature resolution the way METHOD.md §3 says:
 * reflection-pad like the content, then average each ds x ds block (valid pixels only if given). */
static adn_status to_feature_resolution(const float *map, const uint8_t *valid, int32_t channels, const stylize_work *w, int32_t ds,
                                        float empty_value, float **out) {
    const int64_t padded_count = (int64_t)channels * w->pheight * w->pwidth;
    float *padded = alloc_floats(padded_count);
    uint8_t *padded_valid = NULL;
    float *valid_f = NULL, *valid_padded_f = NULL;
    *out = alloc_floats((int64_t)channels * w->content.n);
    adn_status st = ADN_OK;
    if (!padded || !*out) {
        st = adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a feature-resolution map");
        goto done;
    }
    if ((st = adn_pad_reflect(map, channels, w->height, w->width, padded, w->pheight, w->pwidth))) goto done;
    if (valid) {
        /* Validity is padded exactly like the values, through the same float path. */
        const int64_t n = (int64_t)w->height * w->width, np = (int64_t)w->pheight * w->pwidth;
        valid_f = alloc_floats(n);
        valid_padded_f = alloc_floats(np);
        padded_valid = malloc((size_t)np);
        if (!valid_f || !valid_padded_f || !padded_valid) {
            st = adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a validity map");
            goto done;
        }
        for (int64_t i = 0; i < n; ++i) valid_f[i] = valid[i] ? 1.0f : 0.0f;
        if ((st = adn_pad_reflect(valid_f, 1, w->height, w->width, valid_padded_f, w->pheight, w->pwidth))) goto done;
        for (int64_t i = 0; i < np; ++i) padded_valid[i] = valid_padded_f[i] > 0.5f;
    }
    st = adn_block_average(padded, padded_valid, channels, w->pheight, w->pwidth, ds, empty_value, *out);
done:
    free(padded);
    free(padded_valid);
    free(valid_f);
    free(valid_padded_f);
    return st;
}

/* Raw depth (any size) -> D at content size -> R(D) at feature resolution. */
static adn_status depth_to_range(const adn_model *model, const float *raw, int32_t raw_h, int32_t raw_w, const adn_depth_norm_params *norm,
                                 stylize_work *w) {
    const int64_t n = (int64_t)w->height * w->width;
    uint8_t *valid = NULL;
    float *range = NULL;
    adn_status st = ADN_OK;
    w->depth = alloc_floats(n);
    range = alloc_floats(n);
    if (norm->has_invalid) valid = malloc((size_t)n);
    if (!w->depth || !range || (norm->has_invalid && !valid)) {
        st = adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate depth maps");
        goto done;
    }
    if (raw_h == w->height && raw_w == w->width)
        memcpy(w->depth, raw, sizeof(float) * (size_t)n);
    else if ((st = adn_resize_bilinear(raw, 1, raw_h, raw_w, w->depth, w->height, w->width)))
        goto done;
    if ((st = adn_depth_normalize(w->depth, n, norm, w->depth, valid))) goto done;
    if ((st = adn_depth_range_map(w->depth, n, model->depth_lo, model->depth_hi, range))) goto done;
    /* A block with no valid pixel counts as far: R(1) = hi. */
    st = to_feature_resolution(range, valid, 1, w, model->info.downsample, model->depth_hi, &w->range);
done:
    free(valid);
    free(range);
    return st;
}

static adn_status compute_range(const adn_model *model, const adn_image *content, const adn_stylize_params *p, stylize_work *w) {
    adn_depth_norm_params norm;
    memset(&norm, 0, sizeof norm);
    switch (resolve_depth_source(model, p->depth_source)) {
    case ADN_DEPTH_NETWORK: {
        float *raw = NULL;
        int32_t rh = 0, rw = 0;
        adn_status st = adn_backend_depth(model->backend, content->data, content->height, content->width, &raw, &rh, &rw);
        if (st) return st;
        if (!adn_all_finite(raw, (int64_t)rh * rw)) {
            free(raw);
            return adn_fail(ADN_ERR_NON_FINITE, "the depth network returned NaN or infinity");
        }
        norm.is_disparity = model->info.depth_kind == ADN_DEPTH_KIND_DISPARITY;
        st = depth_to_range(model, raw, rh, rw, &norm, w);
        free(raw);
        return st;
    }
    case ADN_DEPTH_CALLER:
        norm.is_disparity = p->depth_is_disparity != 0;
        norm.has_invalid = p->depth_has_invalid != 0;
        norm.invalid_value = p->depth_invalid_value;
        return depth_to_range(model, p->depth->data, p->depth->height, p->depth->width, &norm, w);
    default:
        return ADN_OK; /* depth off: R(D) = 1 */
    }
}

static adn_status compute_target(const adn_model *model, const adn_stylize_params *p, int32_t n_styles, stylize_work *w) {
    const int32_t c = model->info.channels;
    const int64_t n = w->content.n;
    w->target = alloc_floats((int64_t)c * n);
    if (!w->target) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate the AdaIN target");
    if (p->region_masks) {
        adn_status st = to_feature_resolution(p->region_masks->data, NULL, n_styles, w, model->info.downsample, 0.0f, &w->region_masks);
        if (st) return st;
        return adn_adain_regions(w->content.data, c, n, n_styles, w->region_masks, w->style_mean, w->style_std, ADN_ADAIN_EPS, w->target);
    }
    if (n_styles == 1 && !p->style_weights)
        return adn_adain(w->content.data, c, n, w->style_mean, w->style_std, ADN_ADAIN_EPS, w->target);
    float *equal = NULL;
    const float *weights = p->style_weights;
    if (!weights) {
        equal = alloc_floats(n_styles);
        if (!equal) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate style weights");
        for (int32_t k = 0; k < n_styles; ++k) equal[k] = 1.0f;
        weights = equal;
    }
    adn_status st = adn_adain_interpolate(w->content.data, c, n, n_styles, weights, w->style_mean, w->style_std, ADN_ADAIN_EPS, w->target);
    free(equal);
    return st;
}

static adn_status export_maps(const adn_stylize_params *p, stylize_work *w) {
    adn_status st;
    const int64_t n = (int64_t)w->height * w->width;
    if (p->out_depth) {
        if ((st = adn_image_prepare_output(p->out_depth, 1, w->width, w->height, "out_depth"))) return st;
        if (w->depth)
            memcpy(p->out_depth->data, w->depth, sizeof(float) * (size_t)n);
        else
            memset(p->out_depth->data, 0, sizeof(float) * (size_t)n); /* depth off: everything "near" */
    }
    if (p->out_strength) {
        if ((st = adn_image_prepare_output(p->out_strength, 1, w->content.width, w->content.height, "out_strength"))) return st;
        memcpy(p->out_strength->data, w->strength, sizeof(float) * (size_t)w->content.n);
    }
    return ADN_OK;
}

static adn_status run_pipeline(adn_model *model, const adn_image *content, const adn_style *const *styles, int32_t n_styles,
                               const adn_stylize_params *p, adn_image *out, stylize_work *w) {
    adn_status st;
    const int32_t c = model->info.channels, ds = model->info.downsample;
    w->height = content->height;
    w->width = content->width;
    w->pheight = adn_round_up(content->height, ds);
    w->pwidth = adn_round_up(content->width, ds);
    adn_timings *t = &last_timings;
    double mark = now_ms();
    if ((st = encode_padded(model, content->data, content->height, content->width, &w->content))) return st;
    lap(&mark, &t->content_encode_ms);
    if ((st = gather_style_stats(model, content, styles, n_styles, p->preserve_color, w))) return st;
    lap(&mark, &t->style_encode_ms);
    if ((st = compute_target(model, p, n_styles, w))) return st;
    lap(&mark, &t->adain_blend_ms);
    if ((st = compute_range(model, content, p, w))) return st;
    lap(&mark, &t->depth_ms);
    if (p->mask && (st = to_feature_resolution(p->mask->data, NULL, 1, w, ds, 0.0f, &w->mask))) return st;
    w->strength = alloc_floats(w->content.n);
    w->decoded = alloc_floats(3 * (int64_t)w->pheight * w->pwidth);
    if (!w->strength || !w->decoded) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate the strength map or output");
    if ((st = adn_strength_map(p->alpha, w->mask, w->range, w->content.n, w->strength))) return st;
    /* f = S t + (1 - S) fc, written over fc: on CPU that is the encoder's own output tensor. */
    if ((st = adn_blend(w->target, w->content.data, w->strength, c, w->content.n, w->content.data))) return st;
    lap(&mark, &t->adain_blend_ms);
    if ((st = adn_backend_decode(model->backend, w->content.handle, w->decoded))) return st;
    if ((st = export_maps(p, w))) return st;
    st = adn_crop(w->decoded, 3, w->pheight, w->pwidth, out->data, w->height, w->width);
    lap(&mark, &t->decode_ms);
    return st;
}

adn_status adn_stylize(adn_model *model, const adn_image *content, const adn_style *const *styles, int32_t n_styles,
                       const adn_stylize_params *params, adn_image *out) {
    adn_stylize_params p = params ? *params : adn_stylize_default_params();
    adn_status st = validate_stylize(model, content, styles, n_styles, &p);
    if (st) return st;
    /* Remember which outputs the caller brought, so a failure frees only what we allocated. */
    const int caller_owned_out = out && out->data;
    const int caller_owned_depth = p.out_depth && p.out_depth->data;
    const int caller_owned_strength = p.out_strength && p.out_strength->data;
    if ((st = adn_image_prepare_output(out, 3, content->width, content->height, "out"))) return st;
    stylize_work w;
    memset(&w, 0, sizeof w);
    memset(&last_timings, 0, sizeof last_timings);
    const double start = now_ms();
    st = run_pipeline(model, content, styles, n_styles, &p, out, &w);
    work_release(&w);
    last_timings.total_ms = now_ms() - start;
    if (st) {
        if (!caller_owned_out) adn_image_free(out);
        if (p.out_depth && !caller_owned_depth) adn_image_free(p.out_depth);
        if (p.out_strength && !caller_owned_strength) adn_image_free(p.out_strength);
    }
    return st;
}
