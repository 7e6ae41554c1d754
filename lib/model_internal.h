/* What lib/model.c, lib/context.c and lib/stylize.c share about models, styles and contexts.
 * Never installed. */
#ifndef ADN_MODEL_INTERNAL_H
#define ADN_MODEL_INTERNAL_H

#include "backend.h"
#include "bundle.h"
#include "internal.h"
#include "tiling.h"

struct adn_model {
    const adn_backend_ops *ops;
    void *state; /* the backend's, read-only after loading */
    adn_bundle_info bundle;
    adn_device device;
    int32_t cuda_index;
    adn_precision precision;
};

struct adn_style {
    const adn_model *model;
    int32_t channels;
    float *mean;     /* C feature means of E(style) */
    float *std;      /* C feature stds (eps on the variance) */
    adn_image image; /* kept for colour preservation, which re-encodes the style per content */
};

/** Work buffers of a context, one per role, grown on demand and reused (lib/context.c). */
typedef struct adn_workspace {
    adn_buffer padded_rgb;     /* 3 x ph x pw content or style, reflection-padded */
    adn_buffer style_mean;     /* K x C for this call */
    adn_buffer style_std;
    adn_buffer matched_style;  /* 3 x n: a CORAL-matched style (colour preservation) */
    adn_buffer target;         /* t, C x N */
    adn_buffer region_masks;   /* K x N at feature resolution */
    adn_buffer mask;           /* M at feature resolution */
    adn_buffer depth_now;      /* this frame's D before temporal smoothing, H x W */
    adn_buffer range_full;     /* R(D) at content size */
    adn_buffer valid;          /* H x W bytes, valid depth pixels */
    adn_buffer range;          /* R(D) at feature resolution */
    adn_buffer equal_weights;  /* K ones, when the caller gives no style weights */
    adn_buffer decoded;        /* 3 x H x W decoder output, checked before it reaches the caller */
    adn_feature_map_scratch map_scratch;
    adn_buffer features;       /* C x h x w content features of a tiled encode (lib/tiling.c) */
    adn_buffer style_features; /* the same for a style re-encoded over tiles */
    adn_buffer chunk_stats;    /* 2 x K x ADN_ADAIN_CHUNK style statistics of one channel chunk */
    adn_tiling_scratch tiling;
} adn_workspace;

/** The last results, kept for the getters. */
typedef struct adn_results {
    int has_depth, has_strength;
    adn_buffer depth;    /* D, H x W (after temporal smoothing) */
    int32_t depth_height, depth_width;
    adn_buffer strength; /* S, h x w */
    int32_t strength_height, strength_width;
} adn_results;

/** Temporal state for video (docs/METHOD.md §8). */
typedef struct adn_temporal_state {
    float depth_ema, range_ema; /* factors; 0 = off */
    int valid;                  /* 1 once a frame has been seen */
    int32_t height, width;      /* frame size of the state */
    adn_depth_source source;    /* depth source of the state */
    adn_buffer depth;           /* D'_{t-1}, H x W */
    double range_lo, range_hi;  /* smoothed raw min / max */
    int range_valid;
    double pending_lo, pending_hi; /* this call's smoothed range, committed when it succeeds */
    int pending_range_valid;
    /* content statistics and scene cuts (lib/temporal.c) */
    float content_stats_ema, scene_cut_threshold; /* factors; 0 = off */
    adn_buffer stats;               /* 2 x C doubles: mu'_{t-1}, then sigma'_{t-1} */
    int stats_valid;
    int32_t stats_height, stats_width; /* content size of the statistics state */
    adn_buffer pending_stats;       /* this call's mu', sigma' (2 x C doubles), committed on success */
    int pending_stats_valid;
    adn_buffer frame_stats;         /* 2 x C floats: this frame's own mean and std (scratch) */
    adn_buffer previous_frame;      /* 3 x H x W: the last frame that succeeded (scene cuts) */
    int previous_valid;
    int32_t previous_height, previous_width;
} adn_temporal_state;

struct adn_context {
    const adn_model *model;
    float depth_lo, depth_hi;
    adn_progress_callback progress;
    void *progress_user_data;
    adn_workspace work;
    adn_results results;
    adn_temporal_state temporal;
    adn_timings timings;
    uint64_t memory_budget; /* adn_context_params.memory_budget_bytes (0 = default) */
};

/** Features of an image: the encoder output (a backend tensor) and its host view. */
typedef struct adn_features {
    adn_tensor *tensor;
    float *data;           /* host view, C x h x w, writable */
    int32_t height, width; /* feature resolution */
    int64_t n;             /* height * width */
} adn_features;

/** Reflection-pads 3 x H x W to multiples of the downsampling factor (docs/METHOD.md §5) into
 *  `padded` (a work buffer) and encodes; out receives the features with a host view. */
adn_status adn_encode_padded(const adn_model *model, const float *rgb, int32_t height, int32_t width,
                             adn_buffer *padded, adn_features *out);
void adn_features_release(const adn_model *model, adn_features *f);

/** Style statistics (mean, std of E(rgb)) of a 3 x H x W image. */
adn_status adn_style_statistics(const adn_model *model, const float *rgb, int32_t height, int32_t width,
                                adn_buffer *padded, float *mean, float *std);

/** Checks a 3-channel finite image argument. */
adn_status adn_check_rgb_input(const adn_image *img, const char *what);

/** 1 if v is in [0,1] (false for NaN). */
int adn_in_unit_interval(float v);

/** Calls the context's progress callback before `stage`; ADN_ERR_CANCELLED if it says stop. */
adn_status adn_context_enter_stage(adn_context *ctx, adn_stage stage);

/** Raw depth (any size) -> D at content size (with the context's temporal smoothing when
 *  `temporal`) into ctx->results.depth, and R(D) at feature resolution into ctx->work.range
 *  (lib/depth_path.c).  ph, pw: padded content size. */
adn_status adn_depth_to_range(adn_context *ctx, const float *raw, int32_t raw_h, int32_t raw_w,
                              const adn_depth_norm_params *norm, int32_t height, int32_t width, int32_t ph, int32_t pw,
                              int temporal, adn_depth_source source);

/** Commits this frame's depth into the temporal state, after a call succeeded (lib/depth_path.c). */
void adn_temporal_commit(adn_context *ctx, adn_depth_source source);

/* --- video state besides the depth path (lib/temporal.c, docs/METHOD.md §8) ------------------- */

/** Scene-cut detection, before any work on a frame: with scene_cut_threshold > 0, a frame whose
 *  mean |in_t - in_{t-1}| over its 3 x H x W values exceeds it drops the temporal state (depth,
 *  range, content statistics), so the frame is processed as a first frame. */
void adn_temporal_detect_scene_cut(adn_context *ctx, const adn_image *content);

/** Content-statistics smoothing, between the style statistics and AdaIN.  With
 *  content_stats_ema > 0 (and no region masks) it rewrites the K x C style statistics in place so
 *  that AdaIN with the frame's own content statistics (mu_t, sigma_t) equals AdaIN with the
 *  smoothed ones (mu'_t, sigma'_t): sigma_s <- sigma_s sigma_t / sigma'_t and
 *  mu_s <- mu_s + sigma_s (mu_t - mu'_t) / sigma'_t.  Off, it touches nothing (exact per frame). */
adn_status adn_temporal_content_stats(adn_context *ctx, const adn_features *f, const adn_image *content,
                                      int32_t n_styles, int regions, float *style_mean, float *style_std);

/** Commits this frame's content statistics and (for scene cuts) a copy of the frame, after a
 *  call succeeded.  A copy that cannot be allocated only turns detection off until one can. */
void adn_temporal_commit_frame(adn_context *ctx, const adn_image *content);

/** Drops the whole temporal state (adn_context_reset, adn_context_set_temporal, scene cuts). */
void adn_temporal_forget(adn_temporal_state *t);

/** Frees the temporal state's buffers (adn_context_free). */
void adn_temporal_release(adn_temporal_state *t);

/** Runs the model's depth network on rgb and hands back the raw map's host view; release the
 *  tensor with the backend's tensor_free.  Non-finite output is ADN_ERR_MODEL naming depth.pt. */
adn_status adn_run_depth_network(const adn_model *model, const adn_image *rgb, adn_tensor **tensor,
                                 const float **raw, int32_t *raw_h, int32_t *raw_w);

#endif
