/* Temporal state of a context for video (docs/METHOD.md §8) besides the depth path, which lives
 * in lib/depth_path.c: the parameters (adn_context_set_temporal), the EMA of the content feature
 * statistics that AdaIN normalises with, and scene-cut detection by a frame-difference threshold.
 * Everything here is off by default, and off means the exact per-frame result, bit for bit. */
#define ADN_EXPERIMENTAL_API 1
#include "model_internal.h"

#include <math.h>
#include <string.h>

static const adn_temporal_params temporal_defaults = {
    .struct_size = sizeof(adn_temporal_params),
    .depth_ema = 0.0f,
    .range_ema = 0.0f,
    .content_stats_ema = 0.0f,
    .scene_cut_threshold = 0.0f,
};

adn_status adn_temporal_params_init(adn_temporal_params *params, size_t struct_size) {
    return adn_struct_init(params, struct_size, &temporal_defaults, sizeof temporal_defaults, "adn_temporal_params");
}

static int is_ema_factor(float v) { return v >= 0.0f && v < 1.0f; } /* 1 would freeze the first frame */

adn_status adn_context_set_temporal(adn_context *ctx, const adn_temporal_params *params) {
    if (!ctx || !params) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_context_set_temporal: NULL argument");
    adn_temporal_params p = temporal_defaults;
    adn_status st = adn_struct_read(&p, sizeof p, params, "adn_temporal_params");
    if (st) return st;
    if (!is_ema_factor(p.depth_ema) || !is_ema_factor(p.range_ema) || !is_ema_factor(p.content_stats_ema))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT,
                        "adn_context_set_temporal: depth_ema, range_ema and content_stats_ema must be in [0,1) "
                        "(got %g, %g, %g)",
                        p.depth_ema, p.range_ema, p.content_stats_ema);
    if (!(p.scene_cut_threshold >= 0.0f) || !isfinite(p.scene_cut_threshold))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT,
                        "adn_context_set_temporal: scene_cut_threshold must be finite and >= 0 (got %g)",
                        p.scene_cut_threshold);
    adn_temporal_state *t = &ctx->temporal;
    t->depth_ema = p.depth_ema;
    t->range_ema = p.range_ema;
    t->content_stats_ema = p.content_stats_ema;
    t->scene_cut_threshold = p.scene_cut_threshold;
    adn_temporal_forget(t);
    return ADN_OK;
}

void adn_temporal_forget(adn_temporal_state *t) {
    t->valid = 0;
    t->range_valid = 0;
    t->pending_range_valid = 0;
    t->stats_valid = 0;
    t->pending_stats_valid = 0;
    t->previous_valid = 0;
}

void adn_temporal_release(adn_temporal_state *t) {
    adn_buffer *buffers[] = {&t->depth, &t->stats, &t->pending_stats, &t->frame_stats, &t->previous_frame};
    for (size_t i = 0; i < sizeof buffers / sizeof buffers[0]; ++i) adn_buffer_release(buffers[i]);
    adn_temporal_forget(t);
}

/* ---- scene cuts ------------------------------------------------------------------------------- */

/* mean |a - b| over n values, accumulated in double (a frame has up to 3 x 2^28 values). */
static double mean_abs_difference(const float *a, const float *b, int64_t n) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += fabs((double)a[i] - (double)b[i]);
    return sum / (double)n;
}

void adn_temporal_detect_scene_cut(adn_context *ctx, const adn_image *content) {
    adn_temporal_state *t = &ctx->temporal;
    if (t->scene_cut_threshold <= 0.0f || !t->previous_valid) return;
    /* A new frame size restarts every part of the state anyway; there is nothing to compare. */
    if (t->previous_height != content->height || t->previous_width != content->width) return;
    const int64_t n = 3 * (int64_t)content->height * content->width;
    const double difference = mean_abs_difference(content->data, t->previous_frame.data, n);
    if (difference <= t->scene_cut_threshold) return;
    adn_log(ADN_LOG_INFO, "adn_stylize: scene cut (mean |in_t - in_t-1| = %.4f > %.4f): temporal state restarted",
            difference, (double)t->scene_cut_threshold);
    adn_temporal_forget(t);
}

/* ---- content statistics ----------------------------------------------------------------------- */

/* Whether the statistics state carries over to a frame of this size. */
static int stats_apply(const adn_temporal_state *t, const adn_image *content) {
    return t->stats_valid && t->stats_height == content->height && t->stats_width == content->width;
}

/* mu'_t, sigma'_t (2 x C doubles) into the pending buffer from this frame's mu_t, sigma_t. */
static adn_status smooth_stats(adn_temporal_state *t, const adn_image *content, const float *mean, const float *std,
                               int32_t c, const double **smoothed) {
    double *next = adn_buffer_reserve(&t->pending_stats, 2 * (size_t)c * sizeof(double), "the content statistics state");
    if (!next) return ADN_ERR_OUT_OF_MEMORY;
    const double *previous = stats_apply(t, content) ? t->stats.data : NULL;
    const double a = t->content_stats_ema;
    for (int32_t i = 0; i < c; ++i) {
        next[i] = previous ? a * previous[i] + (1.0 - a) * mean[i] : mean[i];
        next[c + i] = previous ? a * previous[c + i] + (1.0 - a) * std[i] : std[i];
    }
    t->pending_stats_valid = 1;
    *smoothed = next;
    return ADN_OK;
}

adn_status adn_temporal_content_stats(adn_context *ctx, const adn_features *f, const adn_image *content,
                                      int32_t n_styles, int regions, float *style_mean, float *style_std) {
    adn_temporal_state *t = &ctx->temporal;
    t->pending_stats_valid = 0; /* a call with regions or smoothing off leaves no state behind */
    if (t->content_stats_ema <= 0.0f || regions) return ADN_OK;
    const int32_t c = ctx->model->bundle.channels;
    float *own = adn_buffer_floats(&t->frame_stats, 2 * (int64_t)c, "content statistics");
    if (!own) return ADN_ERR_OUT_OF_MEMORY;
    adn_status st = adn_channel_stats(f->data, c, f->n, ADN_ADAIN_EPS, own, own + c);
    const double *smoothed = NULL;
    if (st || (st = smooth_stats(t, content, own, own + c, c, &smoothed))) return st;
    /* AdaIN(x; mu_s, sigma_s) with the smoothed content statistics is
     *   sigma_s (x - mu') / sigma' + mu_s = (sigma_s sigma / sigma') (x - mu) / sigma + mu_s + sigma_s (mu - mu') / sigma',
     * i.e. the exact-statistics AdaIN with these style statistics; it is affine in them, so style
     * interpolation takes the same rewrite per style.  On a first frame mu' = mu, sigma' = sigma
     * and nothing changes. */
    for (int32_t k = 0; k < n_styles; ++k)
        for (int32_t i = 0; i < c; ++i) {
            const size_t at = (size_t)k * c + i;
            const double mean = own[i], std = own[c + i], mean_s = smoothed[i], std_s = smoothed[c + i];
            const double sigma = style_std[at];
            style_std[at] = (float)(sigma * (std / std_s));
            style_mean[at] = (float)(style_mean[at] + sigma * ((mean - mean_s) / std_s));
        }
    return ADN_OK;
}

/* ---- after a successful call ------------------------------------------------------------------ */

static void keep_frame(adn_temporal_state *t, const adn_image *content) {
    const int64_t n = 3 * (int64_t)content->height * content->width;
    float *kept = adn_buffer_floats(&t->previous_frame, n, "the previous frame (scene cuts)");
    if (!kept) { /* no comparison for the next frame: detection resumes once a copy fits */
        t->previous_valid = 0;
        return;
    }
    memcpy(kept, content->data, sizeof(float) * (size_t)n);
    t->previous_height = content->height;
    t->previous_width = content->width;
    t->previous_valid = 1;
}

static void keep_stats(adn_temporal_state *t, const adn_image *content, int32_t c) {
    t->stats_valid = 0;
    if (!t->pending_stats_valid) return;
    double *kept = adn_buffer_reserve(&t->stats, 2 * (size_t)c * sizeof(double), "the content statistics state");
    if (!kept) return; /* the next frame starts afresh, which is still correct */
    memcpy(kept, t->pending_stats.data, 2 * (size_t)c * sizeof(double));
    t->stats_height = content->height;
    t->stats_width = content->width;
    t->stats_valid = 1;
    t->pending_stats_valid = 0;
}

void adn_temporal_commit_frame(adn_context *ctx, const adn_image *content) {
    adn_temporal_state *t = &ctx->temporal;
    keep_stats(t, content, ctx->model->bundle.channels);
    if (t->scene_cut_threshold > 0.0f) keep_frame(t, content);
}
