/* Internal helpers shared by the C sources of lib/ (never installed). */
#ifndef ADN_INTERNAL_H
#define ADN_INTERNAL_H

#include "adain_dcs.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#  define ADN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define ADN_PRINTF(fmt, args)
#endif

/** Records a one-line message for this thread and returns status (so callers can
 *  `return adn_fail(ADN_ERR_..., "...")`).  Also forwards it to the log callback at ERROR level. */
adn_status adn_fail(adn_status status, const char *fmt, ...) ADN_PRINTF(2, 3);

/** Sends a message to the installed log callback, if any, at or above its minimum level. */
void adn_log(adn_log_level level, const char *fmt, ...) ADN_PRINTF(2, 3);

/** 1 if all n values are finite. */
int adn_all_finite(const float *x, int64_t n);

/** Checks an image's pointer and sizes (channels as given, or any if channels == 0).
 *  what names the argument in the message. */
adn_status adn_check_image(const adn_image *img, int32_t channels, const char *what);

/** Checks that a caller-provided output image (data not NULL) has exactly these sizes; an empty
 *  image passes (it is allocated later).  what names the argument in the message. */
adn_status adn_check_output_size(const adn_image *img, int32_t channels, int32_t height, int32_t width,
                                 const char *what);

/** Style weights: finite (else ADN_ERR_NON_FINITE), >= 0, with a positive sum stored in *total.
 *  fn names the caller in the message. */
adn_status adn_check_style_weights(const char *fn, const float *weights, int32_t n_styles, double *total);

/** Makes `img` a C x H x W image: allocates it if img->data is NULL, otherwise checks that the
 *  caller's buffer has exactly these sizes.  what names the argument in the message. */
adn_status adn_image_prepare_output(adn_image *img, int32_t channels, int32_t height, int32_t width,
                                    const char *what);

/* --- size-prefixed structs (the ABI growth rule of adain_dcs.h, in lib/abi.c) ---------------- */

/** Reads a caller's size-prefixed struct into *ours (sizeof ours_size), which the caller of this
 *  function has already filled with the defaults.  Copies min(their size, ours) bytes; a longer
 *  struct must have zeros past ours (ADN_ERR_UNSUPPORTED otherwise); a size below sizeof(size_t)
 *  or absurdly large is ADN_ERR_INVALID_ARGUMENT.  Afterwards ours->struct_size = ours_size.
 *  what names the struct in the message ("adn_stylize_params"). */
adn_status adn_struct_read(void *ours, size_t ours_size, const void *theirs, const char *what);

/** Writes *ours (ours_size bytes, a size-prefixed struct) to the caller's struct: the first
 *  min(their size, ours) bytes, zeros for the rest of theirs, keeping their struct_size. */
adn_status adn_struct_write(void *theirs, const void *ours, size_t ours_size, const char *what);

/** For the *_params_init functions: checks struct_size like adn_struct_read, then copies the
 *  defaults (ours) into the first min(struct_size, ours_size) bytes of *theirs and zeroes the rest,
 *  with theirs->struct_size = struct_size. */
adn_status adn_struct_init(void *theirs, size_t struct_size, const void *defaults, size_t ours_size, const char *what);

/* --- growable work buffers (contexts reuse them between calls) ------------------------------- */

typedef struct adn_buffer {
    void *data;
    size_t capacity; /* bytes */
} adn_buffer;

/** Makes buf hold at least `bytes` (>= 1) bytes, reallocating only when it must grow; returns the
 *  data or NULL with ADN_ERR_OUT_OF_MEMORY recorded (the old contents are then kept). */
void *adn_buffer_reserve(adn_buffer *buf, size_t bytes, const char *what);
/** Floats: adn_buffer_reserve(buf, count * sizeof(float)) with an overflow check. */
float *adn_buffer_floats(adn_buffer *buf, int64_t count, const char *what);
void adn_buffer_release(adn_buffer *buf);

/* --- helpers placed with their subjects -------------------------------------------------------- */

/** Colour preservation for a 1-pixel content or style, where CORAL's unbiased std is undefined:
 *  only the mean colour is matched, x' = x_s - mean(x_s) + mean(x_c) (coral.c). */
void adn_match_mean_colour(const float *style, int64_t n_style, const float *content, int64_t n_content, float *out);

/** Scratch space of adn_to_feature_resolution. */
typedef struct adn_feature_map_scratch {
    adn_buffer padded, valid_f, valid_padded_f, padded_valid;
} adn_feature_map_scratch;

/** A C x H x W map at content size brought to feature resolution (docs/METHOD.md §3): reflection-
 *  pad to ph x pw like the content, then average each ds x ds block (only valid pixels when valid
 *  is given; a block with none gets empty_value).  out receives C x (ph/ds) x (pw/ds) (resample.c). */
adn_status adn_to_feature_resolution(const float *map, const uint8_t *valid, int32_t channels, int32_t height,
                                     int32_t width, int32_t ph, int32_t pw, int32_t ds, float empty_value,
                                     adn_feature_map_scratch *scratch, float *out);
void adn_feature_map_scratch_release(adn_feature_map_scratch *s);

/** Smallest and largest valid value of a depth map (depth.c); fails on a non-finite valid value.
 *  *n_valid may come back 0 (then lo/hi are meaningless). */
adn_status adn_depth_valid_range(const float *depth, int64_t n, const adn_depth_norm_params *params, double *lo,
                                 double *hi, int64_t *n_valid);

/** adn_depth_normalize with a given range instead of the map's own min/max (temporal smoothing of
 *  the range): D = clamp((d - lo) / (hi - lo), 0, 1) (0 where hi <= lo), flipped for disparity;
 *  invalid pixels get 1 (depth.c). */
adn_status adn_depth_normalize_range(const float *depth, int64_t n, const adn_depth_norm_params *params, double lo,
                                     double hi, float *out, uint8_t *valid);

/** One output coordinate of a bilinear resize: the two source taps and the weight of the second
 *  (PyTorch's align_corners=False rule, docs/METHOD.md §5).  adn_resize_bilinear and the resizing
 *  image reader (row_resize.c) share it, so that both give the same bits (resample.c). */
typedef struct adn_bilinear_tap {
    int32_t i0, i1;
    double w1;
} adn_bilinear_tap;
adn_bilinear_tap adn_bilinear_tap_at(int32_t i, int32_t in_size, int32_t out_size);

/** Monotonic milliseconds (for timings). */
double adn_now_ms(void);

#ifdef __cplusplus
}
#endif

#endif
