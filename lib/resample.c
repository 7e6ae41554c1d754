/* Resampling of planar C x H x W maps: bilinear resize (PyTorch align_corners=False), reflection
 * padding to multiples of 8, top-left crop and block averaging (docs/METHOD.md §3, §5).
 * These are linear maps defined for any float, so NaN and infinity propagate as they do in PyTorch
 * instead of being rejected; the callers that need finite values check them. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const int64_t max_elements = (int64_t)(PTRDIFF_MAX / sizeof(float));

/* Checks C x H x W sizes and that C*H*W values are addressable; *count receives C*H*W. */
static adn_status check_planar(const char *fn, const char *what, int32_t channels, int32_t height, int32_t width,
                               int64_t *count) {
    if (channels < 1 || height < 1 || width < 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %s size %dx%dx%d (CxHxW) must be >= 1", fn, what,
                        (int)channels, (int)height, (int)width);
    int64_t plane = (int64_t)height * width; /* < 2^62: cannot overflow */
    if (plane > max_elements / channels)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %s size %dx%dx%d is too large", fn, what, (int)channels,
                        (int)height, (int)width);
    *count = plane * channels;
    return ADN_OK;
}

static int buffers_overlap(const void *a, int64_t a_count, const void *b, int64_t b_count) {
    uintptr_t a0 = (uintptr_t)a, b0 = (uintptr_t)b;
    uintptr_t a1 = a0 + (uintptr_t)a_count * sizeof(float), b1 = b0 + (uintptr_t)b_count * sizeof(float);
    return a0 < b1 && b0 < a1;
}

/* Shared checks of the src -> dst functions; dst must not overlap src unless may_alias. */
static adn_status check_src_dst(const char *fn, const float *src, int32_t channels, int32_t height, int32_t width,
                                const float *dst, int32_t out_height, int32_t out_width, int may_alias) {
    if (!src || !dst) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: src/dst is NULL", fn);
    int64_t in_count = 0, out_count = 0;
    adn_status st = check_planar(fn, "input", channels, height, width, &in_count);
    if (st == ADN_OK) st = check_planar(fn, "output", channels, out_height, out_width, &out_count);
    if (st != ADN_OK) return st;
    if (!may_alias && buffers_overlap(src, in_count, dst, out_count))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: dst must not overlap src", fn);
    return ADN_OK;
}

/* ---- bilinear ------------------------------------------------------------------------------- */

/* PyTorch's rule (UpSample.h, align_corners=False, size given): src = (i + 0.5) * in/out - 0.5,
 * clamped at 0 below; the upper tap is clamped to the last pixel. */
adn_bilinear_tap adn_bilinear_tap_at(int32_t i, int32_t in_size, int32_t out_size) {
    double scale = (double)in_size / (double)out_size;
    double src = (i + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    adn_bilinear_tap t;
    t.i0 = (int32_t)src;
    if (t.i0 > in_size - 1) t.i0 = in_size - 1;
    t.i1 = t.i0 < in_size - 1 ? t.i0 + 1 : t.i0;
    t.w1 = src - t.i0;
    if (t.w1 > 1) t.w1 = 1;
    return t;
}

adn_status adn_resize_bilinear(const float *src, int32_t channels, int32_t height, int32_t width, float *dst,
                               int32_t out_height, int32_t out_width) {
    static const char fn[] = "adn_resize_bilinear";
    adn_status st = check_src_dst(fn, src, channels, height, width, dst, out_height, out_width, 0);
    if (st != ADN_OK) return st;
    /* Column taps are the same for every row and channel: computed once. */
    adn_bilinear_tap *cols = malloc((size_t)out_width * sizeof *cols);
    if (!cols) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %d column taps", fn, (int)out_width);
    for (int32_t x = 0; x < out_width; ++x) cols[x] = adn_bilinear_tap_at(x, width, out_width);

    for (int32_t c = 0; c < channels; ++c) {
        const float *plane = src + (int64_t)c * height * width;
        float *out_plane = dst + (int64_t)c * out_height * out_width;
        for (int32_t y = 0; y < out_height; ++y) {
            adn_bilinear_tap r = adn_bilinear_tap_at(y, height, out_height);
            const float *row0 = plane + (int64_t)r.i0 * width, *row1 = plane + (int64_t)r.i1 * width;
            float *out_row = out_plane + (int64_t)y * out_width;
            for (int32_t x = 0; x < out_width; ++x) {
                adn_bilinear_tap t = cols[x];
                double top = (1 - t.w1) * row0[t.i0] + t.w1 * row0[t.i1];
                double bottom = (1 - t.w1) * row1[t.i0] + t.w1 * row1[t.i1];
                out_row[x] = (float)((1 - r.w1) * top + r.w1 * bottom);
            }
        }
    }
    free(cols);
    return ADN_OK;
}

/* ---- sizes, padding, cropping ---------------------------------------------------------------- */

int32_t adn_round_up(int32_t size, int32_t multiple) {
    if (size < 1 || multiple < 1) {
        adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_round_up: size (%d) and multiple (%d) must be >= 1", (int)size,
                 (int)multiple);
        return 0;
    }
    int64_t rounded = ((int64_t)size + multiple - 1) / multiple * multiple;
    if (rounded > INT32_MAX) {
        adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_round_up: %d rounded up to a multiple of %d exceeds int32",
                 (int)size, (int)multiple);
        return 0;
    }
    return (int32_t)rounded;
}

/* Source index of padded index i for a dimension of n pixels: mirror without repeating the edge,
 * periodic with period 2(n-1) so that any pad length keeps reflecting; n = 1 repeats the pixel. */
static int32_t reflect_index(int64_t i, int32_t n) {
    if (i < n) return (int32_t)i;
    if (n == 1) return 0;
    int64_t period = 2 * ((int64_t)n - 1);
    int64_t p = i % period;
    return (int32_t)(p < n ? p : period - p);
}

adn_status adn_pad_reflect(const float *src, int32_t channels, int32_t height, int32_t width, float *dst,
                           int32_t out_height, int32_t out_width) {
    static const char fn[] = "adn_pad_reflect";
    adn_status st = check_src_dst(fn, src, channels, height, width, dst, out_height, out_width, 0);
    if (st != ADN_OK) return st;
    if (out_height < height || out_width < width)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: output %dx%d is smaller than input %dx%d", fn,
                        (int)out_height, (int)out_width, (int)height, (int)width);
    for (int32_t c = 0; c < channels; ++c) {
        const float *plane = src + (int64_t)c * height * width;
        float *out_plane = dst + (int64_t)c * out_height * out_width;
        for (int32_t y = 0; y < out_height; ++y) {
            const float *row = plane + (int64_t)reflect_index(y, height) * width;
            float *out_row = out_plane + (int64_t)y * out_width;
            memcpy(out_row, row, (size_t)width * sizeof *row);
            for (int32_t x = width; x < out_width; ++x) out_row[x] = row[reflect_index(x, width)];
        }
    }
    return ADN_OK;
}

adn_status adn_crop(const float *src, int32_t channels, int32_t height, int32_t width, float *dst,
                    int32_t out_height, int32_t out_width) {
    static const char fn[] = "adn_crop";
    /* In place (dst == src) every destination row lies at or before its source row, so memmove
     * works; any other overlap could overwrite rows not yet read. */
    adn_status st = check_src_dst(fn, src, channels, height, width, dst, out_height, out_width, dst == src);
    if (st != ADN_OK) return st;
    if (out_height > height || out_width > width)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: output %dx%d is larger than input %dx%d", fn,
                        (int)out_height, (int)out_width, (int)height, (int)width);
    for (int32_t c = 0; c < channels; ++c)
        for (int32_t y = 0; y < out_height; ++y)
            memmove(dst + ((int64_t)c * out_height + y) * out_width, src + ((int64_t)c * height + y) * width,
                    (size_t)out_width * sizeof *dst);
    return ADN_OK;
}

/* ---- block average --------------------------------------------------------------------------- */

/* Mean of one block x block tile (top-left at row, col), over valid pixels only when valid is given;
 * empty_value when none is valid. */
static float block_mean(const float *plane, const uint8_t *valid, int32_t width, int64_t row, int64_t col,
                        int32_t block, float empty_value) {
    double sum = 0;
    int64_t count = 0;
    for (int64_t y = row; y < row + block; ++y) {
        const float *line = plane + y * width;
        const uint8_t *flags = valid ? valid + y * width : NULL;
        for (int64_t x = col; x < col + block; ++x) {
            if (flags && !flags[x]) continue;
            sum += line[x];
            ++count;
        }
    }
    return count ? (float)(sum / (double)count) : empty_value;
}

adn_status adn_block_average(const float *src, const uint8_t *valid, int32_t channels, int32_t height,
                             int32_t width, int32_t block, float empty_value, float *dst) {
    static const char fn[] = "adn_block_average";
    if (block < 1) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: block (%d) must be >= 1", fn, (int)block);
    if (height % block || width % block)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: %dx%d is not a multiple of block %d", fn, (int)height,
                        (int)width, (int)block);
    int32_t out_height = height / block, out_width = width / block;
    adn_status st = check_src_dst(fn, src, channels, height, width, dst, out_height, out_width, 0);
    if (st != ADN_OK) return st;
    if (!isfinite(empty_value)) return adn_fail(ADN_ERR_NON_FINITE, "%s: empty_value is not finite", fn);
    for (int32_t c = 0; c < channels; ++c) {
        const float *plane = src + (int64_t)c * height * width;
        float *out_plane = dst + (int64_t)c * out_height * out_width;
        for (int32_t by = 0; by < out_height; ++by)
            for (int32_t bx = 0; bx < out_width; ++bx)
                out_plane[(int64_t)by * out_width + bx] =
                    block_mean(plane, valid, width, (int64_t)by * block, (int64_t)bx * block, block, empty_value);
    }
    return ADN_OK;
}

/* ---- maps to feature resolution ------------------------------------------------------------- */

void adn_feature_map_scratch_release(adn_feature_map_scratch *s) {
    adn_buffer_release(&s->padded);
    adn_buffer_release(&s->valid_f);
    adn_buffer_release(&s->valid_padded_f);
    adn_buffer_release(&s->padded_valid);
}

/* Pads the validity of each pixel exactly like the values, through the same float path, so a
 * reflected pixel is valid exactly when its source is. */
static adn_status pad_validity(const uint8_t *valid, int32_t height, int32_t width, int32_t ph, int32_t pw,
                               adn_feature_map_scratch *s, uint8_t **out) {
    const int64_t n = (int64_t)height * width, np = (int64_t)ph * pw;
    float *valid_f = adn_buffer_floats(&s->valid_f, n, "a validity map");
    float *valid_padded_f = adn_buffer_floats(&s->valid_padded_f, np, "a validity map");
    uint8_t *padded_valid = adn_buffer_reserve(&s->padded_valid, (size_t)np, "a validity map");
    if (!valid_f || !valid_padded_f || !padded_valid) return ADN_ERR_OUT_OF_MEMORY;
    for (int64_t i = 0; i < n; ++i) valid_f[i] = valid[i] ? 1.0f : 0.0f;
    adn_status st = adn_pad_reflect(valid_f, 1, height, width, valid_padded_f, ph, pw);
    if (st) return st;
    for (int64_t i = 0; i < np; ++i) padded_valid[i] = valid_padded_f[i] > 0.5f;
    *out = padded_valid;
    return ADN_OK;
}

adn_status adn_to_feature_resolution(const float *map, const uint8_t *valid, int32_t channels, int32_t height,
                                     int32_t width, int32_t ph, int32_t pw, int32_t ds, float empty_value,
                                     adn_feature_map_scratch *scratch, float *out) {
    float *padded = adn_buffer_floats(&scratch->padded, (int64_t)channels * ph * pw, "a padded map");
    if (!padded) return ADN_ERR_OUT_OF_MEMORY;
    adn_status st = adn_pad_reflect(map, channels, height, width, padded, ph, pw);
    uint8_t *padded_valid = NULL;
    if (!st && valid) st = pad_validity(valid, height, width, ph, pw, scratch, &padded_valid);
    if (st) return st;
    return adn_block_average(padded, padded_valid, channels, ph, pw, ds, empty_value, out);
}
