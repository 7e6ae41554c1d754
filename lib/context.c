/* Contexts: per-thread / per-stream state.  A context owns the work buffers that adn_stylize reuses
 * between calls, the depth range, the last D and S, the last timings, the temporal state for video
 * and the progress callback.  It is used by one thread at a time; the model it points to is
 * shared.  The temporal parameters and state are in lib/temporal.c and lib/depth_path.c. */
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

static const adn_context_params context_defaults = {
    .struct_size = sizeof(adn_context_params),
    .depth_lo = 0.0f,
    .depth_hi = 1.0f,
    .progress = NULL,
    .progress_user_data = NULL,
    .memory_budget_bytes = 0,
};

adn_status adn_context_params_init(adn_context_params *params, size_t struct_size) {
    return adn_struct_init(params, struct_size, &context_defaults, sizeof context_defaults, "adn_context_params");
}

static adn_status check_depth_range(const char *fn, float lo, float hi) {
    if (!adn_in_unit_interval(lo) || !adn_in_unit_interval(hi))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: lo and hi must be in [0,1] (got %g, %g)", fn, lo, hi);
    return ADN_OK;
}

adn_status adn_context_create(const adn_model *model, const adn_context_params *params, adn_context **out) {
    if (!out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_context_create: out is NULL");
    *out = NULL;
    if (!model) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_context_create: model is NULL");
    adn_context_params p = context_defaults;
    adn_status st = params ? adn_struct_read(&p, sizeof p, params, "adn_context_params") : ADN_OK;
    if (st || (st = check_depth_range("adn_context_create", p.depth_lo, p.depth_hi))) return st;
    adn_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a context");
    ctx->model = model;
    ctx->depth_lo = p.depth_lo;
    ctx->depth_hi = p.depth_hi;
    ctx->progress = p.progress;
    ctx->progress_user_data = p.progress_user_data;
    ctx->memory_budget = p.memory_budget_bytes;
    ctx->timings.struct_size = sizeof ctx->timings;
    *out = ctx;
    return ADN_OK;
}

static void workspace_release(adn_workspace *w) {
    adn_buffer *buffers[] = {&w->padded_rgb, &w->style_mean, &w->style_std, &w->matched_style, &w->target,
                             &w->region_masks, &w->mask, &w->depth_now, &w->range_full, &w->valid, &w->range, &w->equal_weights, &w->decoded,
                             &w->features, &w->style_features, &w->chunk_stats};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; ++i) adn_buffer_release(buffers[i]);
    adn_feature_map_scratch_release(&w->map_scratch);
    adn_tiling_scratch_release(&w->tiling);
}

void adn_context_free(adn_context *ctx) {
    if (!ctx) return;
    workspace_release(&ctx->work);
    adn_buffer_release(&ctx->results.depth);
    adn_buffer_release(&ctx->results.strength);
    adn_temporal_release(&ctx->temporal);
    free(ctx);
}

const adn_model *adn_context_get_model(const adn_context *ctx) { return ctx ? ctx->model : NULL; }

adn_status adn_set_depth_range(adn_context *ctx, float lo, float hi) {
    if (!ctx) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_set_depth_range: context is NULL");
    adn_status st = check_depth_range("adn_set_depth_range", lo, hi);
    if (st) return st;
    ctx->depth_lo = lo;
    ctx->depth_hi = hi;
    return ADN_OK;
}

adn_status adn_context_get_depth_range(const adn_context *ctx, float *lo, float *hi) {
    if (!ctx) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_context_get_depth_range: context is NULL");
    if (lo) *lo = ctx->depth_lo;
    if (hi) *hi = ctx->depth_hi;
    return ADN_OK;
}

adn_status adn_context_reset(adn_context *ctx) {
    if (!ctx) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_context_reset: context is NULL");
    adn_temporal_forget(&ctx->temporal);
    ctx->results.has_depth = ctx->results.has_strength = 0;
    return ADN_OK;
}

adn_status adn_context_enter_stage(adn_context *ctx, adn_stage stage) {
    if (ctx->progress && ctx->progress(stage, ctx->progress_user_data) != 0)
        return adn_fail(ADN_ERR_CANCELLED, "cancelled by the progress callback before stage %d", (int)stage);
    return ADN_OK;
}

/* Copies a kept map into a caller's image under the output rule (allocate when empty). */
static adn_status copy_map_out(const float *map, int32_t height, int32_t width, adn_image *out, const char *what) {
    adn_status st = adn_image_prepare_output(out, 1, height, width, what);
    if (st) return st;
    memcpy(out->data, map, sizeof(float) * (size_t)height * (size_t)width);
    return ADN_OK;
}

adn_status adn_context_get_depth(const adn_context *ctx, adn_image *out) {
    if (!ctx || !out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_context_get_depth: NULL argument");
    const adn_results *r = &ctx->results;
    if (!r->has_depth)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT,
                        "adn_context_get_depth: the context's last adn_stylize computed no depth map "
                        "(depth off, failed, or none yet)");
    return copy_map_out(r->depth.data, r->depth_height, r->depth_width, out, "depth output");
}

adn_status adn_context_get_strength(const adn_context *ctx, adn_image *out) {
    if (!ctx || !out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_context_get_strength: NULL argument");
    const adn_results *r = &ctx->results;
    if (!r->has_strength)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT,
                        "adn_context_get_strength: the context has no strength map (no successful adn_stylize yet)");
    return copy_map_out(r->strength.data, r->strength_height, r->strength_width, out, "strength output");
}

adn_status adn_context_get_timings(const adn_context *ctx, adn_timings *out) {
    if (!ctx || !out) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_context_get_timings: NULL argument");
    return adn_struct_write(out, &ctx->timings, sizeof ctx->timings, "adn_timings");
}
