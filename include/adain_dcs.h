/*
 * adain_dcs.h — libadain_dcs: depth-preserving real-time arbitrary style transfer (AdaIN-DCS).
 *
 * One pass through an encoder E and a decoder G renders a content image in the style of any
 * style image (AdaIN).  A depth map of the content sets the style strength per pixel: near things
 * keep their detail, far things take the style.  The numbers follow docs/METHOD.md (in this
 * repository) exactly:
 *
 *     fc = E(c)                                  content features, C x h x w  (h = H/8, w = W/8)
 *     t  = sum_k w_k * AdaIN(fc, E(s_k))         one or more styles
 *     S  = alpha * M * R(D)                      strength, h x w, in [0,1]
 *     f  = S * t + (1 - S) * fc
 *     out = G(f)                                 3 x H x W
 *
 * Objects
 * -------
 *   adn_model    a loaded bundle (encoder, decoder, optional depth network).  Read-only once
 *                loaded: share one among any number of threads, no lock needed.
 *   adn_style    a style encoded once for a model (its feature statistics).  Read-only: share it
 *                among threads and contexts of the same model.
 *   adn_context  per-thread / per-stream state: work buffers reused between calls, the depth
 *                range, the last depth and strength maps, timings, temporal (video) state and an
 *                optional progress/cancel callback.  One thread at a time.
 *
 *     adn_model_load(dir, &mp, &model);           adn_style_create(model, &style_img, &style);
 *     adn_context_create(model, &cp, &ctx);       adn_set_depth_range(ctx, 0.0f, 1.0f);
 *     adn_stylize(ctx, &content, &style, 1, &sp, &out);
 *     adn_context_get_depth(ctx, &depth);         adn_context_get_timings(ctx, &timings);
 *
 * Conventions
 * -----------
 * - Every call that can fail returns an adn_status; ADN_OK is 0.  On failure a one-line message
 *   is stored for the calling thread and adn_last_error() returns it.  Nothing ever aborts, exits
 *   or throws across this interface.
 * - Sizes are always given in the order C, H, W (channels, height, width), the order of the
 *   memory: planar float32, channel c, row y, column x at data[((size_t)c * H + y) * W + x].
 *   Colour images are RGB in [0,1].
 * - Create/free pairs: every *_free() accepts NULL.  Handles are opaque.
 * - ABI growth.  Every parameter and info struct starts with `size_t struct_size`, the caller's
 *   sizeof of that struct.  The library reads and writes only the first struct_size bytes, and
 *   gives the fields a caller's (older, shorter) struct lacks their defaults; a caller's newer,
 *   longer struct is accepted when the fields this library does not know are all zero, and refused
 *   with ADN_ERR_UNSUPPORTED otherwise (like Linux's openat2).  Initialise parameters with the
 *   inline adn_*_default_params() below (they compile your sizeof into your program) and info
 *   structs with `adn_model_info info = {.struct_size = sizeof info};`.  A struct_size of 0 is refused with
 *   ADN_ERR_INVALID_ARGUMENT.  We chose size-prefixed structs over opaque parameter objects with
 *   setters because they keep designated initialisers, stack allocation and plain layouts for the
 *   ctypes and Rust bindings, at the price of this one rule.  adn_image, adn_image_u8 and
 *   adn_depth_norm_params are frozen plain-data structs and will never grow.
 * - Pointer fields that are NULL mean "not given".
 * - Symbols are versioned (ADN_1.0 in the linker map); deprecated calls are marked ADN_DEPRECATED
 *   for at least one minor release before they go.  The section "Experimental" at the end is
 *   outside every compatibility promise and is only declared when ADN_EXPERIMENTAL_API is defined
 *   before this header is included (as zstd.h does with ZSTD_STATIC_LINKING_ONLY).
 * - Thread safety is stated for each function.  In short: math, image and file functions are
 *   reentrant; models and styles are read-only and shareable; a context is used by one thread at
 *   a time (make one per thread or per video stream).
 */
#ifndef ADAIN_DCS_H
#define ADAIN_DCS_H

#include <stddef.h>
#include <stdint.h>

#include "adain_dcs_version.h" /* ADN_VERSION_MAJOR/MINOR/PATCH/STRING/NUMBER, written by meson */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Visibility, deprecation and version
 * ------------------------------------------------------------------------------------------- */

#if defined(_WIN32) && !defined(ADN_STATIC)
#  ifdef ADN_BUILDING_LIBRARY
#    define ADN_API __declspec(dllexport)
#  else
#    define ADN_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define ADN_API __attribute__((visibility("default")))
#else
#  define ADN_API
#endif

/** Marks a call that will be removed; the message says what to use instead. */
#if defined(ADN_BUILDING_LIBRARY) || defined(ADN_NO_DEPRECATION_WARNINGS)
#  define ADN_DEPRECATED(message)
#elif defined(__GNUC__) || defined(__clang__)
#  define ADN_DEPRECATED(message) __attribute__((deprecated(message)))
#elif defined(_MSC_VER)
#  define ADN_DEPRECATED(message) __declspec(deprecated(message))
#else
#  define ADN_DEPRECATED(message)
#endif

/** Version of the library actually loaded, e.g. "0.3.0".  Thread-safe. */
ADN_API const char *adn_version(void);
/** ADN_VERSION_NUMBER of the library actually loaded.  Thread-safe. */
ADN_API int adn_version_number(void);
/** Whether optional parts were compiled in: "torch", "cuda", "png", "jpeg".  Returns 1 or 0.
 *  "cuda" means the linked libtorch was built with CUDA (a GPU may still be absent).
 *  Also what the CPU running the process can do (cpuid, counted only where the OS enables the
 *  registers): "avx2", "avx512f", "avx512_bf16", "amx_bf16", and "bf16" = torch is compiled in
 *  and the CPU has AVX512_BF16 or AMX-BF16, i.e. ADN_PRECISION_BF16 loads on the CPU.
 *  Thread-safe. */
ADN_API int adn_has_feature(const char *name);

/* ---------------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------------- */

typedef enum adn_status {
    ADN_OK = 0,
    ADN_ERR_INVALID_ARGUMENT = 1, /**< NULL pointer, bad size, value out of range, size mismatch */
    ADN_ERR_OUT_OF_MEMORY = 2,    /**< an allocation failed (host or device) */
    ADN_ERR_IO = 3,               /**< a file could not be opened, read, written or renamed */
    ADN_ERR_FORMAT = 4,           /**< corrupt, truncated or unsupported file contents */
    ADN_ERR_TOO_LARGE = 5,        /**< image above the pixel limit (decompression bomb guard) */
    ADN_ERR_NON_FINITE = 6,       /**< NaN or infinity in an input buffer */
    ADN_ERR_MODEL = 7,            /**< model bundle missing, malformed or inconsistent */
    ADN_ERR_DEVICE = 8,           /**< requested device (CUDA) not available */
    ADN_ERR_UNSUPPORTED = 9,      /**< not compiled in (torch, PNG, JPEG), not implemented for this
                                       device/precision, or a newer struct field this library
                                       does not know */
    ADN_ERR_INTERNAL = 10,        /**< unexpected failure inside a backend (message says what) */
    ADN_ERR_CANCELLED = 11        /**< the progress callback asked to stop; no output was written */
} adn_status;

/** Static English name of a status, e.g. "invalid argument".  Unknown codes give "unknown status".
 *  Thread-safe. */
ADN_API const char *adn_status_str(adn_status status);

/** Message of the last failed call on this thread ("" if none).  The pointer stays valid until the
 *  next failing call on the same thread.  Thread-local, so thread-safe. */
ADN_API const char *adn_last_error(void);

/** Clears this thread's last error message.  Thread-local, so thread-safe. */
ADN_API void adn_clear_error(void);

/* ---------------------------------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------------------------------- */

typedef enum adn_log_level {
    ADN_LOG_DEBUG = 0,
    ADN_LOG_INFO = 1,
    ADN_LOG_WARN = 2,
    ADN_LOG_ERROR = 3
} adn_log_level;

typedef void (*adn_log_callback)(adn_log_level level, const char *message, void *user_data);

/** Installs a process-wide log callback (NULL restores the default, which is silence).  Messages
 *  below min_level are dropped.  The callback may be called from any thread that calls into the
 *  library.  Not thread-safe with respect to itself: set it once at start-up. */
ADN_API void adn_set_log_callback(adn_log_callback callback, void *user_data, adn_log_level min_level);

/* ---------------------------------------------------------------------------------------------
 * Images
 * ------------------------------------------------------------------------------------------- */

/** Planar float image, C x H x W (frozen layout).  data may be owned by the caller or by the
 *  library (see adn_image_alloc).  A zero-initialised adn_image ({0}) is "empty". */
typedef struct adn_image {
    float *data;
    int32_t channels;
    int32_t height;
    int32_t width;
} adn_image;

/** Interleaved 8-bit image (e.g. RGB, RGBA, grey), rows `stride` bytes apart (0 = width*channels).
 *  Frozen layout. */
typedef struct adn_image_u8 {
    uint8_t *data;
    int32_t channels; /**< 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    int32_t height;
    int32_t width;
    size_t stride;
} adn_image_u8;

/** Allocates img->data for channels x height x width floats (zero-filled) and sets the sizes.
 *  Any data already in img is NOT freed.  Fails with ADN_ERR_INVALID_ARGUMENT for sizes < 1 and
 *  ADN_ERR_TOO_LARGE above 2^31 elements per channel or 4096 channels.  Thread-safe. */
ADN_API adn_status adn_image_alloc(adn_image *img, int32_t channels, int32_t height, int32_t width);

/** Frees data allocated by this library (adn_image_alloc, adn_image_read, adn_stylize, ...) and
 *  zeroes the struct.  NULL and empty images are fine.  Thread-safe. */
ADN_API void adn_image_free(adn_image *img);

/** Converts an interleaved 8-bit image to planar float in [0,1].
 *  1 or 2 channels (grey[+alpha]) give grey replicated to RGB; 3 or 4 give RGB.  If alpha is not
 *  NULL it receives the alpha channel (1 x H x W) or is left empty when the source has none.
 *  rgb / alpha are allocated by the library (free with adn_image_free).  Thread-safe. */
ADN_API adn_status adn_image_from_u8(const adn_image_u8 *src, adn_image *rgb, adn_image *alpha);

/** Converts planar float (1 or 3 channels, values clamped to [0,1], rounded to nearest) to an
 *  interleaved 8-bit image, appending alpha when given (same size, 1 channel).  dst->data is
 *  allocated with malloc (release with adn_image_u8_free).  Thread-safe. */
ADN_API adn_status adn_image_to_u8(const adn_image *rgb, const adn_image *alpha, adn_image_u8 *dst);

/** Frees dst->data allocated by adn_image_to_u8 and zeroes the struct; NULL is fine. */
ADN_API void adn_image_u8_free(adn_image_u8 *img);

/* ---------------------------------------------------------------------------------------------
 * Image files (libpng, libjpeg-turbo)
 * ------------------------------------------------------------------------------------------- */

typedef enum adn_file_format {
    ADN_FORMAT_UNKNOWN = 0,
    ADN_FORMAT_PNG = 1,
    ADN_FORMAT_JPEG = 2
} adn_file_format;

typedef enum adn_pixel_mode {
    ADN_PIXELS_RGB = 0,  /**< 3 channels; grey files are replicated */
    ADN_PIXELS_GRAY = 1  /**< 1 channel; colour files become luma 0.299 R + 0.587 G + 0.114 B */
} adn_pixel_mode;

/** Default pixel limit of adn_read_params.max_pixels (2^28, a 16384 x 16384 image). */
#define ADN_DEFAULT_MAX_PIXELS ((uint64_t)1 << 28)

typedef struct adn_read_params {
    size_t struct_size;    /**< sizeof(adn_read_params) as the caller compiled it */
    uint64_t max_pixels;   /**< refuse images with width*height above this (default 2^28) */
    adn_pixel_mode mode;   /**< default ADN_PIXELS_RGB */
    int32_t raw_values;    /**< 1: keep stored integer values (0..255 or 0..65535) instead of
                                scaling to [0,1]; for depth maps.  Default 0. */
    /* Resizing while reading (all 0 by default = the file's size).  For a file of H x W pixels let
     * f = short_side / min(H, W) when short_side > 0, else 1; then, when max_side > 0 and
     * f max(H, W) > max_side, f = max_side / max(H, W).  The side that sets f gets exactly that
     * many pixels, the other max(1, floor(side f + 0.5)).  The pixels (and alpha) are resized
     * bilinearly as adn_resize_bilinear does (half-pixel centres, no antialiasing), so the result
     * equals reading the whole file and calling adn_resize_bilinear, bit for bit, but is made from
     * two decoded rows at a time: memory is a few rows of the file plus the result.  (An
     * interlaced PNG is decoded whole first.)  max_pixels limits both the file and the result;
     * info still describes the file. */
    int32_t short_side;      /**< > 0: the shorter side becomes this (smaller or larger) */
    int32_t max_side;        /**< > 0: then the longer side is at most this (never enlarges) */
    int32_t decoder_scaling; /**< 1: a JPEG is first decoded at scale n/8 by libjpeg's DCT
                                  scaling, with the smallest n in 1..8 whose size is at least the
                                  result's on both sides, then resized as above: faster and
                                  smoother (the DCT scaling averages), but the pixels differ from
                                  the exact path.  Default 0; PNG ignores it. */
} adn_read_params;

typedef struct adn_image_info {
    size_t struct_size;       /**< set by the caller: sizeof(adn_image_info) */
    adn_file_format format;
    int32_t height;
    int32_t width;
    int32_t bit_depth;        /**< 8 or 16 */
    int32_t file_channels;    /**< channels stored in the file (1..4; CMYK JPEG reports 4) */
    int32_t has_alpha;
} adn_image_info;

typedef struct adn_write_params {
    size_t struct_size;    /**< sizeof(adn_write_params) as the caller compiled it */
    int32_t jpeg_quality;  /**< 1..100, default 95 */
    int32_t png_bit_depth; /**< 8 or 16, default 8 */
} adn_write_params;

/** Fills the first struct_size bytes of *params with the defaults and sets params->struct_size.
 *  Prefer the inline adn_read_default_params().  Thread-safe. */
ADN_API adn_status adn_read_params_init(adn_read_params *params, size_t struct_size);
ADN_API adn_status adn_write_params_init(adn_write_params *params, size_t struct_size);

static inline adn_read_params adn_read_default_params(void) {
    adn_read_params p;
    adn_read_params_init(&p, sizeof p);
    return p;
}
static inline adn_write_params adn_write_default_params(void) {
    adn_write_params p;
    adn_write_params_init(&p, sizeof p);
    return p;
}

/** Reads a PNG (8/16-bit grey, grey+alpha, RGB, RGBA, palette) or JPEG (grey, RGB, CMYK) file,
 *  recognised by its signature, not its name.  pixels receives the image (allocated by the
 *  library); alpha (may be NULL) receives the alpha channel or is left empty; info (may be NULL;
 *  else its struct_size must be set) is filled in.  params may be NULL for the defaults.
 *  Errors: ADN_ERR_IO (cannot open), ADN_ERR_FORMAT (corrupt, truncated, unknown),
 *  ADN_ERR_TOO_LARGE (pixel limit), ADN_ERR_UNSUPPORTED (codec not compiled in).  On failure
 *  pixels and alpha are left empty.  Thread-safe. */
ADN_API adn_status adn_image_read(const char *path, const adn_read_params *params,
                                  adn_image *pixels, adn_image *alpha, adn_image_info *info);

/** adn_image_read from `size` bytes of memory (an encoded PNG or JPEG file).  The same formats,
 *  limits and errors; messages name the buffer "<memory>".  Thread-safe. */
ADN_API adn_status adn_image_read_memory(const void *data, size_t size, const adn_read_params *params,
                                         adn_image *pixels, adn_image *alpha, adn_image_info *info);

/** Writes 1- or 3-channel float pixels (clamped to [0,1]) with optional alpha to a PNG or JPEG
 *  chosen by the extension (.png, .jpg, .jpeg; case-insensitive).  JPEG drops alpha.  params may
 *  be NULL.
 *  Atomic and durable: the image is encoded in memory, written to a file without a name (Linux
 *  O_TMPFILE; elsewhere a hidden temporary name in the same folder), flushed to disk (fsync),
 *  given its name in one step (renamed over an existing file) and the folder is synced.  A
 *  failure, a full disk or a kill -9 never leaves a partial output, and an existing file stays
 *  until the new one is complete.  A path that exists as anything but a regular file (a folder, a
 *  FIFO, a device such as /dev/null) is refused with ADN_ERR_IO and left alone; a symbolic link
 *  at path is replaced by the new file.  Write errors are ADN_ERR_IO with the system's reason
 *  ("No space left on device", "File too large").  Thread-safe (distinct paths). */
ADN_API adn_status adn_image_write(const char *path, const adn_image *pixels, const adn_image *alpha,
                                   const adn_write_params *params);

/* ---------------------------------------------------------------------------------------------
 * Pure math (no model needed).  All functions work on caller-owned buffers, allocate nothing in
 * their loops, are reentrant, and fail with ADN_ERR_INVALID_ARGUMENT on NULL buffers or sizes < 1
 * and ADN_ERR_NON_FINITE where an input that must be finite is not.  Outputs may alias inputs
 * only where stated.  "Feature maps" are C x N floats (N = h*w pixels, channel-major).
 * ------------------------------------------------------------------------------------------- */

/** ε added to the variance in AdaIN statistics (docs/METHOD.md §2). */
#define ADN_ADAIN_EPS 1e-5f

/** Per-channel mean and standard deviation of a C x N feature map:
 *  mean_c = sum_i x_ci / N,  std_c = sqrt(sum_i (x_ci - mean_c)^2 / (N - 1) + eps)  (variance 0 for
 *  N = 1).  eps must be > 0 (use ADN_ADAIN_EPS).  Accumulates in double.  mean and std receive C
 *  values each. */
ADN_API adn_status adn_channel_stats(const float *x, int32_t channels, int64_t n, float eps,
                                     float *mean, float *std);

/** Like adn_channel_stats but over the pixels i where weight[i] > 0.5 only (region statistics,
 *  docs/METHOD.md §2).  A region with no pixel gives mean 0, std sqrt(eps); one pixel gives
 *  variance 0. */
ADN_API adn_status adn_channel_stats_masked(const float *x, int32_t channels, int64_t n,
                                            const float *weight, float eps, float *mean, float *std);

/** AdaIN from cached statistics:
 *  out_ci = style_std_c * (x_ci - content_mean_c) / content_std_c + style_mean_c.
 *  Content statistics are computed here (eps as above).  out may alias x. */
ADN_API adn_status adn_adain(const float *x, int32_t channels, int64_t n, const float *style_mean,
                             const float *style_std, float eps, float *out);

/** Style interpolation: out = sum_k w_k * AdaIN(x, style_k), with w normalised to sum 1.
 *  Weights must be finite and >= 0 with a positive sum.  style_mean / style_std are K x C
 *  (style k's C values at [k*C]).  out must not alias x. */
ADN_API adn_status adn_adain_interpolate(const float *x, int32_t channels, int64_t n, int32_t n_styles,
                                         const float *weights, const float *style_mean,
                                         const float *style_std, float eps, float *out);

/** Region multi-style: out = sum_k m_k * AdaIN_k(x, style_k), where the content statistics of
 *  region k are taken over pixels with m_k > 0.5, or over all pixels when region k has none (so
 *  soft masks never divide by sqrt(eps)).  masks is K x N.  out must not alias x. */
ADN_API adn_status adn_adain_regions(const float *x, int32_t channels, int64_t n, int32_t n_styles,
                                     const float *masks, const float *style_mean,
                                     const float *style_std, float eps, float *out);

/** How to read a raw depth map (docs/METHOD.md §3).  Frozen plain-data struct (it describes the
 *  normalisation completely); zero-initialised = depth (larger = farther), no invalid value. */
typedef struct adn_depth_norm_params {
    int32_t is_disparity;    /**< 1: larger = nearer (MiDaS, stereo disparity); D = 1 - D */
    int32_t has_invalid;     /**< 1: pixels equal to invalid_value are left out */
    float invalid_value;     /**< e.g. 0 for Middlebury and Kinect files */
} adn_depth_norm_params;

/** Depth normalization (docs/METHOD.md §3): D = (d - min) / (max - min) over valid pixels
 *  (constant map -> 0), then D = 1 - D for disparity.  D = 0 is nearest.  Invalid pixels get D = 1
 *  and valid[i] = 0 (valid may be NULL; when given it receives 1/0 per pixel).
 *  A map with no valid pixel gives D = 1 everywhere.  Non-finite valid values are
 *  ADN_ERR_NON_FINITE.  out may alias depth.  params NULL = depth, no invalid value. */
ADN_API adn_status adn_depth_normalize(const float *depth, int64_t n, const adn_depth_norm_params *params,
                                       float *out, uint8_t *valid);

/** Range map R(D) = lo + (hi - lo) * D (lo > hi reverses).  lo, hi in [0,1].  out may alias d. */
ADN_API adn_status adn_depth_range_map(const float *d, int64_t n, float lo, float hi, float *out);

/** Bilinear resize of C x H x W to C x H2 x W2 with half-pixel centres, identical to PyTorch
 *  F.interpolate(mode='bilinear', align_corners=False) (no antialiasing). */
ADN_API adn_status adn_resize_bilinear(const float *src, int32_t channels, int32_t height, int32_t width,
                                       float *dst, int32_t out_height, int32_t out_width);

/** Smallest multiple of `multiple` that is >= size (size, multiple >= 1); 0 (with a message) on bad
 *  arguments or int32 overflow. */
ADN_API int32_t adn_round_up(int32_t size, int32_t multiple);

/** Reflection padding at the bottom and right: C x H x W -> C x H2 x W2 (H2 >= H, W2 >= W).
 *  Source index for a padded index i >= n mirrors without repeating the edge, periodically with
 *  period 2(n-1) (so pads larger than the image keep reflecting); n = 1 repeats the one pixel.
 *  For pads < n this equals PyTorch F.pad(mode='reflect').  Used to reach multiples of 8. */
ADN_API adn_status adn_pad_reflect(const float *src, int32_t channels, int32_t height, int32_t width,
                                   float *dst, int32_t out_height, int32_t out_width);

/** Crops the top-left C x H2 x W2 of C x H x W (the inverse of adn_pad_reflect).  dst may be src
 *  (in place); any other overlap is refused. */
ADN_API adn_status adn_crop(const float *src, int32_t channels, int32_t height, int32_t width,
                            float *dst, int32_t out_height, int32_t out_width);

/** Block average: C x H x W -> C x (H/block) x (W/block) (H, W multiples of block), i.e.
 *  F.avg_pool2d(x, block).  With valid (H x W, 1 = use) only valid pixels are averaged and a block
 *  without any gets empty_value; valid NULL averages all pixels. */
ADN_API adn_status adn_block_average(const float *src, const uint8_t *valid, int32_t channels,
                                     int32_t height, int32_t width, int32_t block, float empty_value,
                                     float *dst);

/** Strength map S = alpha * M * R, n values.  mask and range may each be NULL (taken as 1).
 *  alpha in [0,1]; values are clamped to [0,1].  S may alias mask or range. */
ADN_API adn_status adn_strength_map(float alpha, const float *mask, const float *range, int64_t n,
                                    float *strength);

/** Blend f = S * t + (1 - S) * fc for a C x N map with S of N values broadcast over channels.
 *  S must be in [0,1] (ADN_ERR_INVALID_ARGUMENT otherwise, ADN_ERR_NON_FINITE for NaN/inf), so
 *  finite maps give a finite result.  out may alias t or fc. */
ADN_API adn_status adn_blend(const float *stylized, const float *content, const float *strength,
                             int32_t channels, int64_t n, float *out);

/** CORAL colour transfer (docs/METHOD.md §6): returns the 3 x n_style style pixels re-coloured to
 *  match the content's colour statistics (content 3 x n_content).  Per channel standardise
 *  (unbiased std), Sigma = X X^T + I, x' = Sigma_c^{1/2} Sigma_s^{-1/2} x_s, then content std and
 *  mean.  Works in double with symmetric 3x3 square roots (Jacobi).  out may alias style.  n >= 2. */
ADN_API adn_status adn_coral(const float *style, int64_t n_style, const float *content,
                             int64_t n_content, float *out);

/* ---------------------------------------------------------------------------------------------
 * Models (needs a model backend, libtorch today; without one these return ADN_ERR_UNSUPPORTED)
 * ------------------------------------------------------------------------------------------- */

/** A loaded bundle: encoder.pt, decoder.pt and optionally depth.pt (docs/MODELS.md). */
typedef struct adn_model adn_model;
/** A style encoded once for a model: its feature statistics (and a copy of the style image, for
 *  colour preservation).  Bound to the model it was made with and must not outlive it. */
typedef struct adn_style adn_style;
/** Per-thread / per-stream state (see the top of this file). */
typedef struct adn_context adn_context;

typedef enum adn_device {
    ADN_DEVICE_AUTO = 0, /**< CUDA if libtorch has it and a GPU is present, else CPU */
    ADN_DEVICE_CPU = 1,
    ADN_DEVICE_CUDA = 2  /**< fails with ADN_ERR_DEVICE if there is no usable GPU */
} adn_device;

/** Arithmetic of the encoder and decoder (the depth network always runs in fp32).  The modules'
 *  weights are converted at load time; on the CPU they run on channels_last tensors of that type
 *  in every precision (oneDNN's nhwc convolutions, no layout reorders around the padding).  The
 *  features are converted back to contiguous fp32 before AdaIN, so the AdaIN statistics, the
 *  strength map, the blend and the output are fp32 in every mode.  Measured tolerances
 *  (docs/PERFORMANCE.md, "Precision"), output against the fp32 output on the same inputs:
 *
 *    FP32  exact: <= 1e-4 from the method's value (the independent PyTorch reference with float64
 *          networks), or twice the float32 reference's own error on an input where that is
 *          larger (docs/METHOD.md §7).  tests/test_pipeline.c measures, on its 44 cases, at most
 *          7.7e-6 on the 43 well-conditioned ones, and 2.4e-4 on the one ill-conditioned case
 *          (the float32 reference is 1.75e-4 off there; bound 3.5e-4).
 *    BF16  PSNR >= 40 dB of the 8-bit output (tests/test_precision.c, the five shared test images,
 *          synthetic official-layout bundle): measured 42.2 to 43.2 dB at full size on
 *          AVX512_BF16 kernels, 41.3 to 43.4 dB at a short side of 64 on the generic kernels;
 *          47.8 dB on adn-bench's 512 x 512 image (docs/PERFORMANCE.md).
 *          CPU: needs AVX512_BF16 or AMX-BF16 (adn_has_feature("bf16")), otherwise adn_model_load
 *          fails with ADN_ERR_UNSUPPORTED naming the missing extensions (no silent fallback: the
 *          generic bf16 kernels are about 100 times slower than fp32).  The environment variable
 *          ADN_BF16_ALLOW_EMULATION=1 loads it anyway, on those slow kernels, to test the bf16
 *          path on any machine.  CUDA: allowed (not measured yet).  Bundles exported before
 *          tools/adn_export/padding.py (reflection padding as aten::pad) are refused on the CPU
 *          with ADN_ERR_UNSUPPORTED: libtorch 1.13 has no bf16 reflection-padding kernel; export
 *          them again.
 *    FP16  CUDA only (not measured yet); on the CPU ADN_ERR_UNSUPPORTED. */
typedef enum adn_precision {
    ADN_PRECISION_FP32 = 0, /**< exact (default) */
    ADN_PRECISION_BF16 = 1, /**< CPU with AVX512_BF16 or AMX-BF16, or CUDA; PSNR >= 40 dB */
    ADN_PRECISION_FP16 = 2  /**< CUDA only */
} adn_precision;

/** Largest adn_model_params.n_threads accepted. */
#define ADN_MAX_THREADS 1024

typedef struct adn_model_params {
    size_t struct_size;         /**< sizeof(adn_model_params) as the caller compiled it */
    adn_device device;          /**< default ADN_DEVICE_AUTO */
    int32_t cuda_device_index;  /**< default 0 */
    int32_t n_threads;          /**< CPU threads for torch, 0..ADN_MAX_THREADS; 0 = number of cores
                                     (default).  libtorch has one process-wide pool, sized once by
                                     the first model loaded in the process; a later load asking
                                     for a different count keeps the first (it logs a warning) */
    int32_t load_depth;         /**< 1: load depth.pt if present (default 1) */
    int32_t optimize;           /**< 1: freeze the modules after loading (default 1); off the CPU,
                                     and for the depth network, also optimize_for_inference.
                                     On a CPU model it also makes libtorch allocate its CPU
                                     blocks of 4 MiB and more on transparent huge pages
                                     (madvise): the activations of a large image otherwise cost
                                     one page fault per 4 KiB every call (docs/PERFORMANCE.md).
                                     Freed blocks of that size are kept for the next
                                     allocation of the same size (at most 1 GiB, returned when
                                     a model is freed; an allocation that finds none frees them
                                     first, so peak memory does not grow): repeated calls fault
                                     no pages, and a call after a pause is not slowed by memory
                                     the system took back (docs/PERFORMANCE.md).  Process-wide
                                     and once; an allocator the host installed with a higher
                                     priority is kept */
    adn_precision precision;    /**< default ADN_PRECISION_FP32 */
    int32_t trust_unsealed;     /**< 1: also load a bundle without manifest.txt (one made by hand,
                                     not by tools/adn-export), after a structural check of each
                                     .pt archive.  Default 0: such a bundle is refused with
                                     ADN_ERR_MODEL, saying how to seal it (`adn-export --seal
                                     DIR`).  A manifest that is present is always checked. */
} adn_model_params;

typedef enum adn_depth_kind {
    ADN_DEPTH_KIND_NONE = 0,      /**< no depth module */
    ADN_DEPTH_KIND_DEPTH = 1,     /**< larger = farther */
    ADN_DEPTH_KIND_DISPARITY = 2  /**< larger = nearer (MiDaS) */
} adn_depth_kind;

typedef struct adn_model_info {
    size_t struct_size;         /**< set by the caller: sizeof(adn_model_info) */
    int32_t feature_channels;   /**< encoder output channels (512 for VGG, 192 for the analytic pair) */
    int32_t downsample;         /**< encoder downsampling factor (8) */
    adn_depth_kind depth_kind;
    adn_device device;          /**< device actually used (CPU or CUDA) */
    int32_t cuda_device_index;  /**< the GPU used when device is CUDA, else -1 */
    adn_precision precision;    /**< arithmetic of the networks */
    const char *backend;        /**< static name of the backend, e.g. "torch" */
} adn_model_info;

ADN_API adn_status adn_model_params_init(adn_model_params *params, size_t struct_size);
static inline adn_model_params adn_model_default_params(void) {
    adn_model_params p;
    adn_model_params_init(&p, sizeof p);
    return p;
}

/** Loads and validates a bundle directory (probe forward of every module).  params may be NULL.
 *
 *  A TorchScript bundle is code: loading one runs what its author wrote, with this process's
 *  rights.  Load only bundles from a trusted source.  Before libtorch reads a byte, the library
 *  checks in C that every module file (encoder.pt, decoder.pt, depth.pt) is a regular file (not a
 *  FIFO, directory, device or symbolic-link loop), not empty, at most 4 GiB and not sparse, and
 *  that the bundle is sealed: its manifest.txt (written by tools/adn-export, or by `adn-export
 *  --seal DIR` for a hand-made bundle) lists each module with the size and SHA-256 its bytes
 *  have.  The seal catches corruption, truncation and files changed or mixed up after export; it
 *  is not a signature, since whoever can write the folder can seal it again.  libtorch then parses
 *  exactly the bytes that were checked.  See trust_unsealed for bundles without a manifest.
 *
 *  Errors: ADN_ERR_MODEL (missing, non-regular or unsealed file, manifest mismatch, not
 *  TorchScript, wrong shapes, dtype or channel mismatch, a probe that fails or gives NaN; the
 *  message names the file), ADN_ERR_OUT_OF_MEMORY, ADN_ERR_DEVICE, ADN_ERR_UNSUPPORTED (no
 *  backend, or a precision not available).  *out is NULL on failure.  The model is read-only
 *  afterwards.  Thread-safe. */
ADN_API adn_status adn_model_load(const char *bundle_dir, const adn_model_params *params, adn_model **out);

/** Frees a model (NULL is fine).  All its styles and contexts must be freed first.  Not thread-safe
 *  with any other use of the same model. */
ADN_API void adn_model_free(adn_model *model);

/** Fills *info (info->struct_size set by the caller).  Thread-safe. */
ADN_API adn_status adn_model_get_info(const adn_model *model, adn_model_info *info);

/** Encodes a style image (3 x H x W RGB, any size >= 1x1, reflection-padded to multiples of 8)
 *  once and keeps its statistics.  The style may be used by every context of this model, from any
 *  thread.  Thread-safe (the model is only read). */
ADN_API adn_status adn_style_create(const adn_model *model, const adn_image *style, adn_style **out);

/** Frees a style (NULL is fine).  Not thread-safe with a concurrent adn_stylize using it. */
ADN_API void adn_style_free(adn_style *style);

/** Copies the style's C per-channel feature means and stds into mean / std (either may be NULL);
 *  *channels receives C.  Thread-safe. */
ADN_API adn_status adn_style_get_stats(const adn_style *style, float *mean, float *std, int32_t *channels);

/* ---------------------------------------------------------------------------------------------
 * Contexts
 * ------------------------------------------------------------------------------------------- */

/** Stages of a call, in order, as passed to the progress callback. */
typedef enum adn_stage {
    ADN_STAGE_ENCODE_CONTENT = 0, /**< padding + encoder on the content */
    ADN_STAGE_ENCODE_STYLE = 1,   /**< style statistics (re-encoding only with preserve_color) */
    ADN_STAGE_DEPTH = 2,          /**< depth network or caller map, normalisation, range map */
    ADN_STAGE_ADAIN_BLEND = 3,    /**< AdaIN, masks, strength map, blend */
    ADN_STAGE_DECODE = 4          /**< decoder + crop into the output */
} adn_stage;

/** Called before each stage of adn_stylize / adn_estimate_depth on the calling thread.  Return 0
 *  to go on, anything else to stop: the call then returns ADN_ERR_CANCELLED and has written no
 *  output (a caller's out buffer is untouched). */
typedef int (*adn_progress_callback)(adn_stage next_stage, void *user_data);

/** Memory for the networks' activations that a context with memory_budget_bytes = 0 allows on top
 *  of the whole-image buffers of a call (see adn_context_params). */
#define ADN_DEFAULT_NETWORK_MEMORY ((uint64_t)768 << 20)

/* Memory budget and tiling
 * ------------------------
 * Before any work, adn_stylize estimates the memory of the call from the sizes and the bundle's
 * channel count C (h x w = the feature map of the content padded to H' x W', multiples of 8):
 *
 *   whole-image buffers  I = 4 C h w              the features of the whole image (kept: the AdaIN
 *                                                 statistics are those of the whole image)
 *                          + 12 H W               the decoded image (the output the library
 *                                                 allocates, or the staging of a caller's)
 *                          + 4 H' W' m            m one-channel maps at content size: 5 with depth
 *                                                 from the network, 4 from the caller, +3 with an
 *                                                 invalid value, +1 with temporal smoothing, +1
 *                                                 with a mask, +K with K region masks, +3 with
 *                                                 scene-cut detection (the previous frame)
 *                          + 4 h w (11 + K)       maps and the AdaIN work at feature resolution
 *                                                 (K: region masks only)
 *                          + 12 Hs Ws + 4 C hs ws the largest style, with preserve_color
 *   one network pass over P pixels  N(P) = 1036 P + 8 C P / 64
 *
 * 1036 bytes per pixel are 4 live copies of the widest activation, 64 channels x 4 bytes at full
 * resolution in both VGG-19 to relu4_1 and the pytorch-AdaIN decoder (a layer's input, its
 * reflection-padded copy, its output, oneDNN's reordered copy; libtorch 1.13 measures 794 and
 * 851), plus 12 for the RGB side; 8 C / 64 is the pass's features.  The estimate uses these
 * figures for every bundle.  Untiled the call needs I + N(H' W').  When that is above the budget,
 * the encoder and the decoder run over tiles instead: the largest tiles (a multiple of 8 pixels,
 * plus a halo of the bundle's adn_receptive_field, docs/MODELS.md) with I + N(tile) within the
 * budget.  Only the activations are tiled, so the output equals the untiled one within float
 * rounding (<= 1e-4), without seams.  Refused up front with ADN_ERR_TOO_LARGE, the message giving
 * the estimate: a call for which even a 64 x 64 core with its halo does not fit, and one that
 * needs tiling with a bundle that declares no adn_receptive_field.  Not counted: the content, an
 * output buffer the caller allocated, the loaded model and libtorch itself (about 0.3 GiB on CPU), and the depth
 * network's own work (it sees the whole image; MiDaS-style modules resize it to 256 pixels
 * first).  With the default budget a 4096 x 4096 image with the synthetic VGG bundle and its
 * depth network peaks at about 2.0 GiB RSS on CPU, process and images included, and 7680 x 4320 at
 * about 3.1 GiB (docs/PERFORMANCE.md, "Memory"). */
typedef struct adn_context_params {
    size_t struct_size;             /**< sizeof(adn_context_params) as the caller compiled it */
    float depth_lo, depth_hi;       /**< initial depth range R(D) = lo + (hi - lo) D; default 0, 1 */
    adn_progress_callback progress; /**< optional, default NULL */
    void *progress_user_data;
    uint64_t memory_budget_bytes;   /**< the most one call's estimate may reach (model above);
                                         0 (default) = its whole-image buffers I plus
                                         ADN_DEFAULT_NETWORK_MEMORY, so images up to about
                                         850 x 850 run untiled and larger ones over tiles; UINT64_MAX
                                         never tiles */
} adn_context_params;

ADN_API adn_status adn_context_params_init(adn_context_params *params, size_t struct_size);
static inline adn_context_params adn_context_default_params(void) {
    adn_context_params p;
    adn_context_params_init(&p, sizeof p);
    return p;
}

/** Creates a context for `model` (which must outlive it).  params may be NULL.  Allocates no image
 *  buffers yet: they are made by the first call at a size and reused by every later call at that
 *  size or smaller.  Thread-safe (many contexts may be created on one model at once). */
ADN_API adn_status adn_context_create(const adn_model *model, const adn_context_params *params,
                                      adn_context **out);

/** Frees a context and its buffers (NULL is fine).  Not thread-safe with other use of it. */
ADN_API void adn_context_free(adn_context *ctx);

/** The model the context was made with.  Thread-safe. */
ADN_API const adn_model *adn_context_get_model(const adn_context *ctx);

/** Sets the depth range R(D) = lo + (hi - lo) D used by this context's later calls (default 0, 1).
 *  lo, hi in [0,1]; lo > hi reverses the effect.  One thread at a time per context. */
ADN_API adn_status adn_set_depth_range(adn_context *ctx, float lo, float hi);

/** Reads the context's depth range.  Either pointer may be NULL.  One thread at a time. */
ADN_API adn_status adn_context_get_depth_range(const adn_context *ctx, float *lo, float *hi);

/** Forgets the temporal state (video: smoothed depth, depth range and content statistics, and the
 *  previous frame of the scene-cut detector), e.g. at a scene cut; the next frame is processed
 *  exactly as a first frame.  Also drops the last depth/strength maps.
 *  One thread at a time. */
ADN_API adn_status adn_context_reset(adn_context *ctx);

typedef enum adn_depth_source {
    ADN_DEPTH_AUTO = 0,    /**< the network if the model has depth.pt, otherwise none */
    ADN_DEPTH_NETWORK = 1, /**< the model's depth module (error if it has none) */
    ADN_DEPTH_CALLER = 2,  /**< params.depth, supplied by the caller */
    ADN_DEPTH_NONE = 3     /**< R(D) = 1: plain AdaIN with trade-off alpha */
} adn_depth_source;

typedef struct adn_stylize_params {
    size_t struct_size;            /**< sizeof(adn_stylize_params) as the caller compiled it */
    float alpha;                   /**< global strength in [0,1], default 1 */
    const adn_image *mask;         /**< optional 1 x H x W user mask M in [0,1] at content size */
    const float *style_weights;    /**< optional, n_styles interpolation weights (>= 0, normalised);
                                        NULL = equal weights */
    const adn_image *region_masks; /**< optional K x H x W masks (K = n_styles) at content size,
                                        summing to 1 per pixel: region multi-style.  They take
                                        the mask's path to feature resolution (pad, 8x8 average);
                                        region k's content statistics use the pixels where
                                        m_k > 0.5 (all pixels if none) and
                                        t = sum_k m_k AdaIN_k.  Excludes style_weights. */
    adn_depth_source depth_source; /**< default ADN_DEPTH_AUTO */
    const adn_image *depth;        /**< 1 x h x w caller depth (any size; resized bilinearly;
                                        with an invalid value it must have the content's size) */
    adn_depth_norm_params depth_norm; /**< how to read the caller map (the network's kind comes
                                           from the bundle); default depth, no invalid value */
    int32_t preserve_color;        /**< 1: CORAL-match each style's colours to the content first
                                        (re-encodes the style on every call); with a 1-pixel
                                        content or style only the mean colour is matched */
} adn_stylize_params;

ADN_API adn_status adn_stylize_params_init(adn_stylize_params *params, size_t struct_size);
static inline adn_stylize_params adn_stylize_default_params(void) {
    adn_stylize_params p;
    adn_stylize_params_init(&p, sizeof p);
    return p;
}

/** Renders content (3 x H x W RGB in [0,1], any size) in the style of styles[0..n_styles-1]
 *  (all made with the context's model) and writes a 3 x H x W result to *out.  If out->data is
 *  NULL the library allocates it (free with adn_image_free); otherwise it must already be
 *  3 x H x W (checked before any work) and is written only once the whole call has succeeded.
 *  params may be NULL for the defaults.  The output is not clamped (clamping happens when writing
 *  8-bit).  Afterwards the context holds this call's D and S (adn_context_get_depth/_strength) and
 *  timings.  A NaN or infinity produced by a network is reported as ADN_ERR_MODEL naming it.
 *  One thread at a time per context; any number of contexts of one model may run at once. */
ADN_API adn_status adn_stylize(adn_context *ctx, const adn_image *content, const adn_style *const *styles,
                               int32_t n_styles, const adn_stylize_params *params, adn_image *out);

/** The normalised depth D (0 = near) of rgb (3 x H x W in [0,1]) from the model's depth network,
 *  at the image's size, into *depth (allocated when empty, else it must be 1 x H x W).  No
 *  stylization runs; the context's temporal state is neither used nor changed (video smoothing
 *  applies to adn_stylize).  ADN_ERR_INVALID_ARGUMENT if the model has no depth network.
 *  One thread at a time per context. */
ADN_API adn_status adn_estimate_depth(adn_context *ctx, const adn_image *rgb, adn_image *depth);

/** Copies D (1 x H x W, normalised, 0 = near, after temporal smoothing) of the context's last
 *  adn_stylize into *out (allocated when empty, else it must be 1 x H x W).
 *  ADN_ERR_INVALID_ARGUMENT if that call used no depth (ADN_DEPTH_NONE), failed or was cancelled
 *  (a failed call never leaves half a result), or there was none.
 *  One thread at a time per context. */
ADN_API adn_status adn_context_get_depth(const adn_context *ctx, adn_image *out);

/** Copies S (1 x h x w at feature resolution) of the context's last adn_stylize into *out, with
 *  the same buffer and failure rules.  One thread at a time per context. */
ADN_API adn_status adn_context_get_strength(const adn_context *ctx, adn_image *out);

/** Wall-clock milliseconds spent in the stages of the context's last adn_stylize or
 *  adn_estimate_depth call (stages it did not run are 0).  For benchmarks and profiling. */
typedef struct adn_timings {
    size_t struct_size;       /**< set by the caller: sizeof(adn_timings) */
    double style_encode_ms;   /**< style statistics: a copy of the cached ones, or re-encoding the
                                   styles with colour preservation */
    double content_encode_ms; /**< padding + encoder on the content */
    double depth_ms;          /**< depth network, resize, normalization, range map, 8x8 averages */
    double adain_blend_ms;    /**< AdaIN / interpolation / regions, masks, strength map, blend */
    double decode_ms;         /**< decoder + crop */
    double total_ms;          /**< the whole call */
} adn_timings;

/** Copies the context's last timings into *out (out->struct_size set by the caller).
 *  One thread at a time per context. */
ADN_API adn_status adn_context_get_timings(const adn_context *ctx, adn_timings *out);

/* ---------------------------------------------------------------------------------------------
 * Experimental: no compatibility promise; may change or go in any release.  Declared only with
 * ADN_EXPERIMENTAL_API defined; the symbols carry the version node ADN_EXPERIMENTAL.
 * ------------------------------------------------------------------------------------------- */
#ifdef ADN_EXPERIMENTAL_API

/** Temporal smoothing for video in a context (docs/METHOD.md §8), applied by adn_stylize: the
 *  depth path (depth_ema, range_ema), AdaIN's content statistics (content_stats_ema) and a
 *  scene-cut detector that restarts the state (scene_cut_threshold).  All 0 (the default) = every
 *  frame exact on its own.  The state restarts on adn_context_reset, on adn_context_set_temporal,
 *  on a change of frame size, on a change of depth source (the depth part) and at a detected
 *  scene cut.  Experimental: the video work may still change it. */
typedef struct adn_temporal_params {
    size_t struct_size; /**< sizeof(adn_temporal_params) as the caller compiled it */
    float depth_ema;    /**< a in [0,1): D'_t = a D'_{t-1} + (1 - a) D_t; 0 = off */
    float range_ema;    /**< b in [0,1): EMA of the raw depth's min and max used to normalise;
                             0 = off (per-frame min/max) */
    float content_stats_ema;   /**< c in [0,1): EMA of the per-channel mean and std of the
                                    content features that AdaIN normalises with:
                                    mu'_t = c mu'_{t-1} + (1 - c) mu_t, sigma' likewise; 0 = off
                                    (each frame's own statistics).  Calls with region_masks keep
                                    their per-region statistics exact and restart this state */
    float scene_cut_threshold; /**< >= 0: a frame whose mean |in_t - in_{t-1}| over its 3 x H x W
                                    values (RGB in [0,1]) is above this is a scene cut and is
                                    processed as a first frame; 0 = off.  Costs a copy of each
                                    frame in the context */
} adn_temporal_params;

ADN_API adn_status adn_temporal_params_init(adn_temporal_params *params, size_t struct_size);
static inline adn_temporal_params adn_temporal_default_params(void) {
    adn_temporal_params p;
    adn_temporal_params_init(&p, sizeof p);
    return p;
}

/** Sets the context's temporal smoothing (resets its temporal state).  One thread at a time. */
ADN_API adn_status adn_context_set_temporal(adn_context *ctx, const adn_temporal_params *params);

#endif /* ADN_EXPERIMENTAL_API */

#ifdef __cplusplus
}
#endif

#endif /* ADAIN_DCS_H */
