/* The AdaIN-DCS pipeline of one adn_stylize call (docs/METHOD.md §1): encode the content, gather
 * the style statistics, the depth path, AdaIN and the strength map, blend, decode.  The networks run
 * in the backend; everything between encoder and decoder is the pure C core, run on the host view
 * of the encoder's output (on CPU its own memory, edited in place).  All buffers come from the
 * context and are reused by later calls. */
#include "model_internal.h"

#include <math.h>
#include <string.h>

static const adn_stylize_params stylize_defaults = {
    .struct_size = sizeof(adn_stylize_params),
    .alpha = 1.0f,
    .depth_source = ADN_DEPTH_AUTO,
};

adn_status adn_stylize_params_init(adn_stylize_params *params, size_t struct_size) {
    return adn_struct_init(params, struct_size, &stylize_defaults, sizeof stylize_defaults, "adn_stylize_params");
}

/* ---- validation ----------------------------------------------------------------------------- */

static adn_status validate_map(const adn_image *img, int32_t channels, int32_t height, int32_t width, const char *what) {
    adn_status st = adn_check_image(img, channels, what);
    if (st) return st;
    if (img->width != width || img->height != height)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s is %dx%d but the content is %dx%d (HxW)", what, (int)img->height,
                        (int)img->width, (int)height, (int)width);
    if (!adn_all_finite(img->data, (int64_t)img->channels * height * width))
        return adn_fail(ADN_ERR_NON_FINITE, "%s contains NaN or infinity", what);
    return ADN_OK;
}

/* Every value of a caller's depth map must be finite, except pixels marked with the invalid value
 * (checked before resizing, which could skip a NaN). */
static adn_status check_caller_depth(const adn_stylize_params *p) {
    const float *d = p->depth->data;
    const int64_t n = (int64_t)p->depth->width * p->depth->height;
    if (p->depth_norm.has_invalid && isnan(p->depth_norm.invalid_value))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: depth_norm.invalid_value is NaN (no pixel can equal it)");
    for (int64_t i = 0; i < n; ++i) {
        if (p->depth_norm.has_invalid && d[i] == p->depth_norm.invalid_value) continue;
        if (!isfinite(d[i]))
            return adn_fail(ADN_ERR_NON_FINITE, "caller depth map has a non-finite value at pixel %lld", (long long)i);
    }
    return ADN_OK;
}

static adn_depth_source resolve_depth_source(const adn_model *model, adn_depth_source requested) {
    if (requested != ADN_DEPTH_AUTO) return requested;
    return model->bundle.depth_kind == ADN_DEPTH_KIND_NONE ? ADN_DEPTH_NONE : ADN_DEPTH_NETWORK;
}

static int images_overlap(const adn_image *a, const adn_image *b) {
    if (!a || !b || !a->data || !b->data) return 0;
    const char *a0 = (const char *)a->data, *b0 = (const char *)b->data;
    const char *a1 = a0 + sizeof(float) * (size_t)a->channels * (size_t)a->height * (size_t)a->width;
    const char *b1 = b0 + sizeof(float) * (size_t)b->channels * (size_t)b->height * (size_t)b->width;
    return a0 < b1 && b0 < a1;
}

/* No output may overwrite an input. */
static adn_status check_out_aliasing(const adn_image *out, const adn_image *content, const adn_stylize_params *p) {
    const adn_image *inputs[] = {content, p->mask, p->region_masks, p->depth};
    const char *names[] = {"the content", "the mask", "the region masks", "the caller depth map"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; ++i)
        if (images_overlap(out, inputs[i])) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: out overlaps %s", names[i]);
    return ADN_OK;
}

static adn_status validate_styles(const adn_model *model, const adn_style *const *styles, int32_t n_styles) {
    if (!styles || n_styles < 1) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: at least one style is needed");
    for (int32_t k = 0; k < n_styles; ++k) {
        if (!styles[k]) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: style %d is NULL", (int)k);
        if (styles[k]->model != model)
            return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: style %d was made with another model", (int)k);
    }
    return ADN_OK;
}

static adn_status validate_depth_source(const adn_model *model, const adn_stylize_params *p, int32_t height, int32_t width) {
    adn_status st;
    switch (resolve_depth_source(model, p->depth_source)) {
    case ADN_DEPTH_NETWORK:
        if (model->bundle.depth_kind == ADN_DEPTH_KIND_NONE)
            return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: depth from the network was requested but the model has no depth.pt");
        return ADN_OK;
    case ADN_DEPTH_CALLER:
        if ((st = adn_check_image(p->depth, 1, "caller depth map")) || (st = check_caller_depth(p))) return st;
        if (p->depth_norm.has_invalid && (p->depth->width != width || p->depth->height != height))
            return adn_fail(ADN_ERR_INVALID_ARGUMENT,
                            "adn_stylize: a depth map with an invalid value must have the content's size %dx%d (HxW), is %dx%d",
                            (int)height, (int)width, (int)p->depth->height, (int)p->depth->width);
        return ADN_OK;
    case ADN_DEPTH_NONE:
        return ADN_OK;
    default:
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: unknown depth source %d", (int)p->depth_source);
    }
}

static adn_status validate_stylize(const adn_context *ctx, const adn_image *content, const adn_style *const *styles,
                                   int32_t n_styles, const adn_stylize_params *p, const adn_image *out) {
    adn_status st;
    const adn_model *model = ctx->model;
    if ((st = adn_check_rgb_input(content, "content image")) || (st = validate_styles(model, styles, n_styles))) return st;
    if (!adn_in_unit_interval(p->alpha))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: alpha must be in [0,1] (got %g)", p->alpha);
    const int32_t w = content->width, h = content->height;
    if (p->mask && (st = validate_map(p->mask, 1, h, w, "mask"))) return st;
    if (p->region_masks) {
        if (p->style_weights)
            return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: region_masks and style_weights exclude each other");
        if ((st = validate_map(p->region_masks, n_styles, h, w, "region_masks"))) return st;
    }
    double total_weight; /* weights are checked before any network runs */
    if (p->style_weights && (st = adn_check_style_weights("adn_stylize", p->style_weights, n_styles, &total_weight)))
        return st;
    if (p->preserve_color != 0 && p->preserve_color != 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: preserve_color must be 0 or 1 (got %d)", (int)p->preserve_color);
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: out is NULL");
    /* A wrong output size must not cost an encode and a decode first. */
    if ((st = adn_check_output_size(out, 3, h, w, "out")) || (st = check_out_aliasing(out, content, p))) return st;
    return validate_depth_source(model, p, h, w);
}

/* ---- stages ----------------------------------------------------------------------------------- */

/* Sizes of one call. */
typedef struct call_sizes {
    int32_t height, width;   /* content */
    int32_t pheight, pwidth; /* padded to the downsampling factor */
} call_sizes;

/* Features of an image encoded over the tiles of grid g, in a context buffer. */
static adn_status encode_over_tiles(adn_context *ctx, const float *rgb, int32_t height, int32_t width, const adn_tile_grid *g,
                                    adn_buffer *buffer, adn_features *f) {
    memset(f, 0, sizeof *f);
    float *data = adn_buffer_floats(buffer, (int64_t)ctx->model->bundle.channels * g->height * g->width,
                                    "the features of a tiled image");
    if (!data) return ADN_ERR_OUT_OF_MEMORY;
    adn_status st = adn_encode_tiled(ctx->model, rgb, height, width, g, &ctx->work.tiling, data);
    if (st) return st;
    *f = (adn_features){.data = data, .height = g->height, .width = g->width, .n = (int64_t)g->height * g->width};
    return ADN_OK;
}

/* Statistics of a colour-matched style, over tiles when the budget needs it. */
static adn_status matched_style_statistics(adn_context *ctx, const adn_memory_plan *plan, const float *rgb, int32_t height,
                                           int32_t width, float *mean, float *std) {
    const adn_model *model = ctx->model;
    adn_pass_plan pass;
    adn_status st = adn_plan_encode(model, plan, height, width, &pass);
    if (st) return st;
    if (!pass.tiled) return adn_style_statistics(model, rgb, height, width, &ctx->work.padded_rgb, mean, std);
    adn_features f;
    if ((st = encode_over_tiles(ctx, rgb, height, width, &pass.encoder, &ctx->work.style_features, &f))) return st;
    return adn_channel_stats(f.data, model->bundle.channels, f.n, ADN_ADAIN_EPS, mean, std);
}

/* Style statistics for this call: the cached ones, or (colour preservation) those of each style
 * re-coloured to the content with CORAL and encoded again. */
static adn_status gather_style_stats(adn_context *ctx, const adn_memory_plan *plan, const adn_image *content,
                                     const adn_style *const *styles, int32_t n_styles, int preserve_color, float **mean_out,
                                     float **std_out) {
    const adn_model *model = ctx->model;
    adn_workspace *w = &ctx->work;
    const int32_t c = model->bundle.channels;
    float *means = adn_buffer_floats(&w->style_mean, (int64_t)n_styles * c, "style statistics");
    float *stds = adn_buffer_floats(&w->style_std, (int64_t)n_styles * c, "style statistics");
    if (!means || !stds) return ADN_ERR_OUT_OF_MEMORY;
    for (int32_t k = 0; k < n_styles; ++k) {
        float *mean = means + (size_t)k * c, *std = stds + (size_t)k * c;
        if (!preserve_color) {
            memcpy(mean, styles[k]->mean, sizeof(float) * (size_t)c);
            memcpy(std, styles[k]->std, sizeof(float) * (size_t)c);
            continue;
        }
        const adn_image *s = &styles[k]->image;
        const int64_t ns = (int64_t)s->width * s->height, nc = (int64_t)content->width * content->height;
        float *matched = adn_buffer_floats(&w->matched_style, 3 * ns, "a colour-matched style");
        if (!matched) return ADN_ERR_OUT_OF_MEMORY;
        adn_status st = ADN_OK;
        if (ns >= 2 && nc >= 2)
            st = adn_coral(s->data, ns, content->data, nc, matched);
        else
            adn_match_mean_colour(s->data, ns, content->data, nc, matched);
        if (!st) st = matched_style_statistics(ctx, plan, matched, s->height, s->width, mean, std);
        if (st) return st;
    }
    *mean_out = means;
    *std_out = stds;
    return ADN_OK;
}

/* R(D) at feature resolution in ctx->work.range, or *range = NULL with depth off. */
static adn_status depth_stage(adn_context *ctx, const adn_image *content, const adn_stylize_params *p,
                              const call_sizes *z, adn_depth_source source, const float **range) {
    const adn_model *model = ctx->model;
    *range = NULL;
    adn_status st;
    if (source == ADN_DEPTH_NETWORK) {
        adn_tensor *tensor = NULL;
        const float *raw;
        int32_t rh, rw;
        if ((st = adn_run_depth_network(model, content, &tensor, &raw, &rh, &rw))) return st;
        const adn_depth_norm_params norm = {model->bundle.depth_kind == ADN_DEPTH_KIND_DISPARITY, 0, 0.0f};
        st = adn_depth_to_range(ctx, raw, rh, rw, &norm, z->height, z->width, z->pheight, z->pwidth, 1, source);
        model->ops->tensor_free(tensor);
    } else if (source == ADN_DEPTH_CALLER) {
        st = adn_depth_to_range(ctx, p->depth->data, p->depth->height, p->depth->width, &p->depth_norm, z->height, z->width,
                                z->pheight, z->pwidth, 1, source);
    } else {
        return ADN_OK; /* depth off: R(D) = 1 */
    }
    if (!st) *range = ctx->work.range.data;
    return st;
}

/* Style statistics of channels [c0, c0 + cc) of every style (K x cc each), for the chunked AdaIN. */
static adn_status chunk_style_stats(adn_workspace *w, const float *mean, const float *std, int32_t n_styles, int32_t c,
                                    int32_t c0, int32_t cc, const float **chunk_mean, const float **chunk_std) {
    float *stats = adn_buffer_floats(&w->chunk_stats, 2 * (int64_t)n_styles * cc, "style statistics");
    if (!stats) return ADN_ERR_OUT_OF_MEMORY;
    for (int32_t k = 0; k < n_styles; ++k) {
        memcpy(stats + (size_t)k * cc, mean + (size_t)k * c + c0, sizeof(float) * (size_t)cc);
        memcpy(stats + (size_t)(n_styles + k) * cc, std + (size_t)k * c + c0, sizeof(float) * (size_t)cc);
    }
    *chunk_mean = stats;
    *chunk_std = stats + (size_t)n_styles * cc;
    return ADN_OK;
}

/* What the AdaIN of a call needs besides the features: region masks or style weights. */
typedef struct adain_inputs {
    int32_t n_styles;
    const float *mean, *std;   /* K x C */
    const float *region_masks; /* K x N at feature resolution, or NULL */
    const float *weights;      /* interpolation weights, or NULL for plain single-style AdaIN */
} adain_inputs;

/* t = AdaIN / interpolation / regions of channels [c0, c0 + cc) of the content features.  Every
 * channel's statistics are its own, so a chunk gives exactly the values of the whole map. */
static adn_status chunk_target(adn_context *ctx, const adain_inputs *a, const adn_features *f, int32_t c0, int32_t cc,
                               float *target) {
    const int32_t c = ctx->model->bundle.channels;
    const float *x = f->data + (int64_t)c0 * f->n;
    if (!a->region_masks && !a->weights) return adn_adain(x, cc, f->n, a->mean + c0, a->std + c0, ADN_ADAIN_EPS, target);
    const float *mean, *std;
    adn_status st = chunk_style_stats(&ctx->work, a->mean, a->std, a->n_styles, c, c0, cc, &mean, &std);
    if (st) return st;
    if (a->region_masks)
        return adn_adain_regions(x, cc, f->n, a->n_styles, a->region_masks, mean, std, ADN_ADAIN_EPS, target);
    return adn_adain_interpolate(x, cc, f->n, a->n_styles, a->weights, mean, std, ADN_ADAIN_EPS, target);
}

/* Region masks at feature resolution, or the weights of an interpolation (equal ones when the
 * caller gives none); neither for plain single-style AdaIN. */
static adn_status prepare_adain(adn_context *ctx, const adn_stylize_params *p, int32_t n_styles, const adn_features *f,
                                const call_sizes *z, adain_inputs *a) {
    adn_workspace *w = &ctx->work;
    const int32_t ds = ctx->model->bundle.downsample;
    if (p->region_masks) {
        float *masks = adn_buffer_floats(&w->region_masks, (int64_t)n_styles * f->n, "region masks");
        if (!masks) return ADN_ERR_OUT_OF_MEMORY;
        a->region_masks = masks;
        return adn_to_feature_resolution(p->region_masks->data, NULL, n_styles, z->height, z->width, z->pheight, z->pwidth,
                                         ds, 0.0f, &w->map_scratch, masks);
    }
    if (n_styles == 1 && !p->style_weights) return ADN_OK;
    a->weights = p->style_weights;
    if (!a->weights) {
        float *equal = adn_buffer_floats(&w->equal_weights, n_styles, "style weights");
        if (!equal) return ADN_ERR_OUT_OF_MEMORY;
        for (int32_t k = 0; k < n_styles; ++k) equal[k] = 1.0f;
        a->weights = equal;
    }
    return ADN_OK;
}

/* S = alpha M R into the context's strength map. */
static adn_status strength_stage(adn_context *ctx, const adn_stylize_params *p, const adn_features *f, const call_sizes *z,
                                 const float *range, const float **strength_out) {
    adn_workspace *w = &ctx->work;
    adn_results *r = &ctx->results;
    const int32_t ds = ctx->model->bundle.downsample;
    float *mask = NULL;
    if (p->mask) {
        if (!(mask = adn_buffer_floats(&w->mask, f->n, "a mask"))) return ADN_ERR_OUT_OF_MEMORY;
        adn_status st = adn_to_feature_resolution(p->mask->data, NULL, 1, z->height, z->width, z->pheight, z->pwidth, ds,
                                                  0.0f, &w->map_scratch, mask);
        if (st) return st;
    }
    float *strength = adn_buffer_floats(&r->strength, f->n, "the strength map");
    if (!strength) return ADN_ERR_OUT_OF_MEMORY;
    adn_status st = adn_strength_map(p->alpha, mask, range, f->n, strength);
    if (st) return st;
    r->strength_height = f->height;
    r->strength_width = f->width;
    *strength_out = strength;
    return ADN_OK;
}

/* t (AdaIN, interpolation or regions), S, and f = S t + (1 - S) fc written over fc (on CPU
 * untiled that is the encoder's own output tensor), ADN_ADAIN_CHUNK channels at a time so t never
 * needs a whole C x N buffer. */
static adn_status adain_blend_stage(adn_context *ctx, const adn_stylize_params *p, int32_t n_styles, const adn_features *f,
                                    const call_sizes *z, const float *range, const float *mean, const float *std) {
    const int32_t c = ctx->model->bundle.channels;
    adain_inputs a = {.n_styles = n_styles, .mean = mean, .std = std};
    const float *strength = NULL;
    adn_status st;
    if ((st = prepare_adain(ctx, p, n_styles, f, z, &a)) || (st = strength_stage(ctx, p, f, z, range, &strength))) return st;
    float *target = adn_buffer_floats(&ctx->work.target, (int64_t)(c < ADN_ADAIN_CHUNK ? c : ADN_ADAIN_CHUNK) * f->n,
                                      "the AdaIN target");
    if (!target) return ADN_ERR_OUT_OF_MEMORY;
    for (int32_t c0 = 0; c0 < c; c0 += ADN_ADAIN_CHUNK) {
        const int32_t cc = c - c0 < ADN_ADAIN_CHUNK ? c - c0 : ADN_ADAIN_CHUNK;
        float *fc = f->data + (int64_t)c0 * f->n;
        if ((st = chunk_target(ctx, &a, f, c0, cc, target)) || (st = adn_blend(target, fc, strength, cc, f->n, fc))) return st;
    }
    return f->tensor ? ctx->model->ops->commit(f->tensor) : ADN_OK;
}

/* Decodes (whole or over tiles) and checks the result.  A caller's out is written only once the
 * decode succeeded (through the context's buffer); an out the library allocates is decoded into
 * directly, and freed by adn_stylize if anything fails. */
static adn_status decode_stage(adn_context *ctx, const adn_features *f, const call_sizes *z, const adn_pass_plan *pass,
                               adn_image *out) {
    const adn_model *model = ctx->model;
    const int64_t count = 3 * (int64_t)z->height * z->width;
    adn_status st;
    float *dst;
    if (out->data) {
        if (!(dst = adn_buffer_floats(&ctx->work.decoded, count, "the decoder output"))) return ADN_ERR_OUT_OF_MEMORY;
    } else {
        if ((st = adn_image_prepare_output(out, 3, z->height, z->width, "out"))) return st;
        dst = out->data;
    }
    if (pass->tiled) {
        if ((st = adn_decode_tiled(model, f->data, &pass->decoder, &ctx->work.tiling, dst, z->height, z->width))) return st;
    } else {
        if ((st = model->ops->decode(model->state, f->tensor, z->pheight, z->pwidth, dst, z->height, z->width))) return st;
        if (!adn_all_finite(dst, count)) return adn_fail(ADN_ERR_MODEL, "decoder.pt produced NaN or infinity");
    }
    if (dst != out->data) memcpy(out->data, dst, sizeof(float) * (size_t)count);
    return ADN_OK;
}

/* The content's features: the encoder's output tensor, or a context buffer filled tile by tile. */
static adn_status encode_content(adn_context *ctx, const adn_image *content, const adn_pass_plan *pass, adn_features *f) {
    if (!pass->tiled)
        return adn_encode_padded(ctx->model, content->data, content->height, content->width, &ctx->work.padded_rgb, f);
    return encode_over_tiles(ctx, content->data, content->height, content->width, &pass->encoder, &ctx->work.features, f);
}

/* Adds the time since *mark to *stage and moves the mark to now. */
static void lap(double *mark, double *stage) {
    double t = adn_now_ms();
    *stage += t - *mark;
    *mark = t;
}

static adn_status run_pipeline(adn_context *ctx, const adn_image *content, const adn_style *const *styles, int32_t n_styles,
                               const adn_stylize_params *p, const adn_memory_plan *plan, adn_image *out,
                               adn_depth_source source, adn_features *f) {
    const adn_model *model = ctx->model;
    const int32_t ds = model->bundle.downsample;
    const call_sizes z = {content->height, content->width, adn_round_up(content->height, ds), adn_round_up(content->width, ds)};
    adn_timings *t = &ctx->timings;
    double mark = adn_now_ms();
    adn_status st;
    float *mean = NULL, *std = NULL;
    const float *range = NULL;
    if ((st = adn_context_enter_stage(ctx, ADN_STAGE_ENCODE_CONTENT)) || (st = encode_content(ctx, content, &plan->content, f)))
        return st;
    lap(&mark, &t->content_encode_ms);
    if ((st = adn_context_enter_stage(ctx, ADN_STAGE_ENCODE_STYLE)) ||
        (st = gather_style_stats(ctx, plan, content, styles, n_styles, p->preserve_color, &mean, &std)))
        return st;
    lap(&mark, &t->style_encode_ms);
    if ((st = adn_context_enter_stage(ctx, ADN_STAGE_DEPTH)) || (st = depth_stage(ctx, content, p, &z, source, &range)))
        return st;
    lap(&mark, &t->depth_ms);
    if ((st = adn_context_enter_stage(ctx, ADN_STAGE_ADAIN_BLEND)) ||
        (st = adn_temporal_content_stats(ctx, f, content, n_styles, p->region_masks != NULL, mean, std)) ||
        (st = adain_blend_stage(ctx, p, n_styles, f, &z, range, mean, std)))
        return st;
    lap(&mark, &t->adain_blend_ms);
    if ((st = adn_context_enter_stage(ctx, ADN_STAGE_DECODE)) || (st = decode_stage(ctx, f, &z, &plan->content, out)))
        return st;
    lap(&mark, &t->decode_ms);
    return ADN_OK;
}

/* The sizes the memory estimate of lib/tile_plan.c needs (the model is in adain_dcs.h). */
static adn_call_shape shape_of_call(const adn_context *ctx, const adn_image *content, const adn_style *const *styles,
                                    int32_t n_styles, const adn_stylize_params *p, adn_depth_source source) {
    adn_call_shape s = {.height = content->height, .width = content->width};
    if (source == ADN_DEPTH_NETWORK) s.n_maps = 5; /* the raw map, D before and after smoothing, R(D), its padded copy */
    if (source == ADN_DEPTH_CALLER) s.n_maps = 4 + (p->depth_norm.has_invalid ? 3 : 0); /* + the validity maps */
    if (source != ADN_DEPTH_NONE && (ctx->temporal.depth_ema > 0.0f || ctx->temporal.range_ema > 0.0f)) s.n_maps += 1;
    if (ctx->temporal.scene_cut_threshold > 0.0f) s.n_maps += 3; /* the previous frame (lib/temporal.c) */
    if (p->mask) s.n_maps += 1;
    if (p->region_masks) s.n_maps += n_styles;
    s.n_feature_maps = 3 + (p->region_masks ? n_styles : 0) + ADN_ADAIN_CHUNK; /* S, R, M, masks, the AdaIN chunk */
    if (p->preserve_color)
        for (int32_t k = 0; k < n_styles; ++k) {
            const adn_image *img = &styles[k]->image;
            if ((int64_t)img->height * img->width > (int64_t)s.style_height * s.style_width) {
                s.style_height = img->height;
                s.style_width = img->width;
            }
        }
    return s;
}

static double mib_of(uint64_t bytes) { return (double)bytes / (double)((uint64_t)1 << 20); }

/* The memory plan of the call, refused up front when it cannot fit the context's budget. */
static adn_status plan_call(const adn_context *ctx, const adn_image *content, const adn_style *const *styles,
                            int32_t n_styles, const adn_stylize_params *p, adn_depth_source source, adn_memory_plan *plan) {
    const adn_call_shape shape = shape_of_call(ctx, content, styles, n_styles, p, source);
    adn_status st = adn_plan_memory(ctx->model, &shape, ctx->memory_budget, plan);
    if (st || !plan->content.tiled) return st;
    const adn_tile_grid *e = &plan->content.encoder, *d = &plan->content.decoder;
    const int32_t ds = ctx->model->bundle.downsample;
    adn_log(ADN_LOG_INFO,
            "adn_stylize: %dx%d (HxW) over tiles, estimate %.0f MiB of a %.0f MiB budget: encoder %dx%d tiles of %dx%d "
            "+ %d px halo, decoder %dx%d tiles of %dx%d + %d px halo",
            (int)content->height, (int)content->width, mib_of(plan->estimate), mib_of(plan->budget), (int)e->rows,
            (int)e->cols, (int)(e->core_h * ds), (int)(e->core_w * ds), (int)(e->halo * ds), (int)d->rows, (int)d->cols,
            (int)(d->core_h * ds), (int)(d->core_w * ds), (int)(d->halo * ds));
    return ADN_OK;
}

static void reset_timings(adn_context *ctx) {
    memset(&ctx->timings, 0, sizeof ctx->timings);
    ctx->timings.struct_size = sizeof ctx->timings;
}

adn_status adn_stylize(adn_context *ctx, const adn_image *content, const adn_style *const *styles, int32_t n_styles,
                       const adn_stylize_params *params, adn_image *out) {
    if (!ctx) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_stylize: context is NULL");
    adn_stylize_params p = stylize_defaults;
    adn_status st = params ? adn_struct_read(&p, sizeof p, params, "adn_stylize_params") : ADN_OK;
    if (st || (st = validate_stylize(ctx, content, styles, n_styles, &p, out))) return st;
    const int caller_owned_out = out->data != NULL; /* a failure frees only what we allocated */
    const adn_depth_source source = resolve_depth_source(ctx->model, p.depth_source);
    adn_memory_plan plan;
    if ((st = plan_call(ctx, content, styles, n_styles, &p, source, &plan))) return st;
    reset_timings(ctx);
    ctx->results.has_depth = ctx->results.has_strength = 0;
    const double start = adn_now_ms();
    adn_features f;
    memset(&f, 0, sizeof f);
    adn_temporal_detect_scene_cut(ctx, content);
    st = run_pipeline(ctx, content, styles, n_styles, &p, &plan, out, source, &f);
    adn_features_release(ctx->model, &f);
    ctx->timings.total_ms = adn_now_ms() - start;
    if (st) {
        if (!caller_owned_out) adn_image_free(out);
        return st;
    }
    ctx->results.has_depth = source != ADN_DEPTH_NONE;
    ctx->results.has_strength = 1;
    if (source != ADN_DEPTH_NONE) adn_temporal_commit(ctx, source);
    adn_temporal_commit_frame(ctx, content);
    return ADN_OK;
}

/* ---- depth only ------------------------------------------------------------------------------- */

static adn_status estimate_into(adn_context *ctx, const adn_image *rgb, adn_image *depth) {
    const adn_model *model = ctx->model;
    adn_tensor *tensor = NULL;
    const float *raw;
    int32_t rh, rw;
    adn_status st = adn_run_depth_network(model, rgb, &tensor, &raw, &rh, &rw);
    if (st) return st;
    const int64_t n = (int64_t)rgb->height * rgb->width;
    float *d = adn_buffer_floats(&ctx->work.depth_now, n, "a depth map");
    if (!d)
        st = ADN_ERR_OUT_OF_MEMORY;
    else if (rh == rgb->height && rw == rgb->width)
        memcpy(d, raw, sizeof(float) * (size_t)n);
    else
        st = adn_resize_bilinear(raw, 1, rh, rw, d, rgb->height, rgb->width);
    model->ops->tensor_free(tensor);
    const adn_depth_norm_params norm = {model->bundle.depth_kind == ADN_DEPTH_KIND_DISPARITY, 0, 0.0f};
    if (!st) st = adn_image_prepare_output(depth, 1, rgb->height, rgb->width, "depth");
    if (!st) st = adn_depth_normalize(d, n, &norm, depth->data, NULL);
    return st;
}

adn_status adn_estimate_depth(adn_context *ctx, const adn_image *rgb, adn_image *depth) {
    if (!ctx || !depth) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_estimate_depth: NULL argument");
    adn_status st = adn_check_rgb_input(rgb, "image");
    if (st) return st;
    if (ctx->model->bundle.depth_kind == ADN_DEPTH_KIND_NONE)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_estimate_depth: the model has no depth network (depth.pt)");
    if ((st = adn_check_output_size(depth, 1, rgb->height, rgb->width, "depth"))) return st;
    if (images_overlap(depth, rgb)) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_estimate_depth: depth overlaps the image");
    const int caller_owned = depth->data != NULL;
    reset_timings(ctx);
    const double start = adn_now_ms();
    st = adn_context_enter_stage(ctx, ADN_STAGE_DEPTH);
    if (!st) st = estimate_into(ctx, rgb, depth);
    ctx->timings.depth_ms = ctx->timings.total_ms = adn_now_ms() - start;
    if (st && !caller_owned) adn_image_free(depth);
    return st;
}
