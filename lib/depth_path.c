/* The depth path of a call (docs/METHOD.md §3, §8): a raw map from the network or the caller ->
 * D at content size (temporally smoothed for video) -> R(D) at feature resolution. */
#include "model_internal.h"

#include <string.h>

adn_status adn_run_depth_network(const adn_model *model, const adn_image *rgb, adn_tensor **tensor,
                                 const float **raw, int32_t *raw_h, int32_t *raw_w) {
    adn_tensor_dims dims;
    float *data = NULL;
    adn_status st = model->ops->depth(model->state, rgb->data, rgb->height, rgb->width, tensor, &dims);
    if (!st) st = model->ops->host_view(*tensor, &data);
    if (!st && !adn_all_finite(data, (int64_t)dims.height * dims.width))
        st = adn_fail(ADN_ERR_MODEL, "depth.pt produced NaN or infinity");
    if (st) {
        if (*tensor) model->ops->tensor_free(*tensor);
        *tensor = NULL;
        return st;
    }
    *raw = data;
    *raw_h = dims.height;
    *raw_w = dims.width;
    return ADN_OK;
}

/* Whether the temporal state carries over to a frame of this size and depth source. */
static int temporal_applies(const adn_temporal_state *t, int32_t height, int32_t width, adn_depth_source source) {
    return t->valid && t->height == height && t->width == width && t->source == source;
}

/* Normalises d (H x W) into D, with the raw range smoothed over time when range_ema > 0. */
static adn_status normalize_depth(adn_context *ctx, const float *d, int64_t n, const adn_depth_norm_params *norm,
                                  int carry_over, float *out, uint8_t *valid) {
    adn_temporal_state *t = &ctx->temporal;
    t->pending_range_valid = 0;
    if (t->range_ema <= 0.0f) return adn_depth_normalize(d, n, norm, out, valid);
    double lo, hi;
    int64_t n_valid;
    adn_status st = adn_depth_valid_range(d, n, norm, &lo, &hi, &n_valid);
    if (st) return st;
    if (n_valid == 0) return adn_depth_normalize(d, n, norm, out, valid); /* D = 1; the range state stays */
    if (carry_over && t->range_valid) {
        const double b = t->range_ema;
        lo = b * t->range_lo + (1.0 - b) * lo;
        hi = b * t->range_hi + (1.0 - b) * hi;
    }
    t->pending_lo = lo;
    t->pending_hi = hi;
    t->pending_range_valid = 1;
    return adn_depth_normalize_range(d, n, norm, lo, hi, out, valid);
}

adn_status adn_depth_to_range(adn_context *ctx, const float *raw, int32_t raw_h, int32_t raw_w,
                              const adn_depth_norm_params *norm, int32_t height, int32_t width, int32_t ph, int32_t pw,
                              int temporal, adn_depth_source source) {
    adn_workspace *w = &ctx->work;
    adn_results *r = &ctx->results;
    const adn_model *model = ctx->model;
    const int64_t n = (int64_t)height * width;
    const int32_t ds = model->bundle.downsample;
    float *d = adn_buffer_floats(&w->depth_now, n, "a depth map");
    float *depth = adn_buffer_floats(&r->depth, n, "a depth map");
    float *range_full = adn_buffer_floats(&w->range_full, n, "a depth-range map");
    float *range = adn_buffer_floats(&w->range, (int64_t)(ph / ds) * (pw / ds), "a depth-range map");
    uint8_t *valid = norm->has_invalid ? adn_buffer_reserve(&w->valid, (size_t)n, "a validity map") : NULL;
    if (!d || !depth || !range_full || !range || (norm->has_invalid && !valid)) return ADN_ERR_OUT_OF_MEMORY;
    adn_status st;
    if (raw_h == height && raw_w == width)
        memcpy(d, raw, sizeof(float) * (size_t)n);
    else if ((st = adn_resize_bilinear(raw, 1, raw_h, raw_w, d, height, width)))
        return st;
    const int carry_over = temporal && temporal_applies(&ctx->temporal, height, width, source);
    if ((st = normalize_depth(ctx, d, n, norm, carry_over, depth, valid))) return st;
    const float a = temporal ? ctx->temporal.depth_ema : 0.0f;
    if (a > 0.0f && carry_over) {
        const float *previous = ctx->temporal.depth.data;
        for (int64_t i = 0; i < n; ++i) depth[i] = a * previous[i] + (1.0f - a) * depth[i];
    }
    r->depth_height = height;
    r->depth_width = width;
    if ((st = adn_depth_range_map(depth, n, ctx->depth_lo, ctx->depth_hi, range_full))) return st;
    /* A block with no valid pixel counts as far: R(1) = hi. */
    return adn_to_feature_resolution(range_full, valid, 1, height, width, ph, pw, ds, ctx->depth_hi, &w->map_scratch,
                                     range);
}

void adn_temporal_commit(adn_context *ctx, adn_depth_source source) {
    adn_temporal_state *t = &ctx->temporal;
    const adn_results *r = &ctx->results;
    if (t->depth_ema <= 0.0f && t->range_ema <= 0.0f) return;
    const int64_t n = (int64_t)r->depth_height * r->depth_width;
    float *kept = adn_buffer_floats(&t->depth, n, "the temporal depth state");
    if (!kept) { /* cannot keep it: the next frame starts afresh, which is still correct */
        t->valid = t->range_valid = 0;
        return;
    }
    const int same_stream = temporal_applies(t, r->depth_height, r->depth_width, source);
    memcpy(kept, r->depth.data, sizeof(float) * (size_t)n);
    t->height = r->depth_height;
    t->width = r->depth_width;
    t->source = source;
    t->valid = 1;
    if (t->pending_range_valid) {
        t->range_lo = t->pending_lo;
        t->range_hi = t->pending_hi;
        t->range_valid = 1;
    } else if (!same_stream) {
        t->range_valid = 0;
    }
}
