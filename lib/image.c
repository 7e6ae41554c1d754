/* adn_image allocation and 8-bit <-> float conversions. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Per-channel element limit: keeps every index computation inside int64 and far below what any
 * allocator would grant. */
#define ADN_MAX_PLANE ((int64_t)1 << 31)

adn_status adn_image_alloc(adn_image *img, int32_t channels, int32_t height, int32_t width) {
    if (!img) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "image is NULL");
    if (channels < 1 || width < 1 || height < 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "invalid image size %dx%dx%d (CxHxW)", (int)channels,
                        (int)height, (int)width);
    if ((int64_t)width * height > ADN_MAX_PLANE || channels > 4096)
        return adn_fail(ADN_ERR_TOO_LARGE, "image %dx%dx%d is too large", (int)channels, (int)height,
                        (int)width);
    size_t count = (size_t)channels * (size_t)width * (size_t)height;
    float *data = calloc(count, sizeof *data);
    if (!data) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate %zu floats for an image", count);
    img->data = data;
    img->channels = channels;
    img->width = width;
    img->height = height;
    return ADN_OK;
}

void adn_image_free(adn_image *img) {
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

/* Bytes of one interleaved row, or 0 when the sizes are invalid or the buffer would not fit. */
static size_t u8_packed_row(const adn_image_u8 *img) {
    if (img->width < 1 || img->channels < 1) return 0;
    return (size_t)img->width * (size_t)img->channels;
}

/* An image of the given sizes is usable as an 8-bit source: catches NULL data, bad sizes and a
 * stride shorter than a packed row. */
static adn_status check_u8_source(const adn_image_u8 *src) {
    if (!src) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "8-bit source image is NULL");
    if (!src->data) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "8-bit source image has no data");
    if (src->width < 1 || src->height < 1 || src->channels < 1 || src->channels > 4)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "8-bit source image has invalid size %dx%d with %d channel(s)",
                        (int)src->width, (int)src->height, (int)src->channels);
    if ((int64_t)src->width * src->height > ADN_MAX_PLANE)
        return adn_fail(ADN_ERR_TOO_LARGE, "8-bit source image %dx%d is too large", (int)src->width,
                        (int)src->height);
    if (src->stride != 0 && src->stride < u8_packed_row(src))
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "8-bit source stride %zu is shorter than a row (%zu bytes)",
                        src->stride, u8_packed_row(src));
    return ADN_OK;
}

adn_status adn_image_from_u8(const adn_image_u8 *src, adn_image *rgb, adn_image *alpha) {
    if (!rgb) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "output image is NULL");
    adn_status st = check_u8_source(src);
    if (st != ADN_OK) return st;

    const int has_alpha = src->channels == 2 || src->channels == 4;
    const int colour = src->channels >= 3;
    adn_image out = {0}, out_alpha = {0};
    st = adn_image_alloc(&out, 3, src->height, src->width);
    if (st == ADN_OK && alpha && has_alpha) st = adn_image_alloc(&out_alpha, 1, src->height, src->width);
    if (st != ADN_OK) {
        adn_image_free(&out);
        return st;
    }

    const size_t stride = src->stride ? src->stride : u8_packed_row(src);
    const size_t plane = (size_t)src->width * (size_t)src->height;
    for (int32_t y = 0; y < src->height; ++y) {
        const uint8_t *row = src->data + (size_t)y * stride;
        for (int32_t x = 0; x < src->width; ++x) {
            const uint8_t *px = row + (size_t)x * (size_t)src->channels;
            const size_t at = (size_t)y * (size_t)src->width + (size_t)x;
            for (int c = 0; c < 3; ++c) out.data[(size_t)c * plane + at] = px[colour ? c : 0] / 255.0f;
            if (out_alpha.data) out_alpha.data[at] = px[src->channels - 1] / 255.0f;
        }
    }
    *rgb = out;
    if (alpha) *alpha = out_alpha;
    return ADN_OK;
}

/* Clamps to [0,1] and rounds to the nearest of 0..255 (the caller has rejected NaN). */
static uint8_t quantize_u8(float v) {
    if (!(v > 0.0f)) return 0;
    if (v >= 1.0f) return 255;
    return (uint8_t)(v * 255.0f + 0.5f);
}

/* Checks the optional alpha given to adn_image_to_u8: NULL or empty means none. */
static adn_status check_optional_alpha(const adn_image *alpha, const adn_image *rgb) {
    if (!alpha || !alpha->data) return ADN_OK;
    adn_status st = adn_check_image(alpha, 1, "alpha");
    if (st != ADN_OK) return st;
    if (alpha->width != rgb->width || alpha->height != rgb->height)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "alpha is %dx%d but the image is %dx%d (HxW)",
                        (int)alpha->height, (int)alpha->width, (int)rgb->height, (int)rgb->width);
    return ADN_OK;
}

adn_status adn_image_to_u8(const adn_image *rgb, const adn_image *alpha, adn_image_u8 *dst) {
    if (!dst) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "8-bit output image is NULL");
    adn_status st = adn_check_image(rgb, 0, "image");
    if (st != ADN_OK) return st;
    if (rgb->channels != 1 && rgb->channels != 3)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "image must have 1 or 3 channels, has %d", (int)rgb->channels);
    if ((int64_t)rgb->width * rgb->height > ADN_MAX_PLANE)
        return adn_fail(ADN_ERR_TOO_LARGE, "image %dx%d is too large", (int)rgb->height, (int)rgb->width);
    st = check_optional_alpha(alpha, rgb);
    if (st != ADN_OK) return st;
    const int with_alpha = alpha && alpha->data;

    const size_t plane = (size_t)rgb->width * (size_t)rgb->height;
    if (!adn_all_finite(rgb->data, (int64_t)(plane * (size_t)rgb->channels)) ||
        (with_alpha && !adn_all_finite(alpha->data, (int64_t)plane)))
        return adn_fail(ADN_ERR_NON_FINITE, "image to convert to 8 bits contains NaN or infinity");

    const int32_t channels = rgb->channels + with_alpha;
    uint8_t *data = malloc(plane * (size_t)channels);
    if (!data) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate an 8-bit image of %zu pixels", plane);
    for (size_t i = 0; i < plane; ++i) {
        uint8_t *px = data + i * (size_t)channels;
        for (int32_t c = 0; c < rgb->channels; ++c) px[c] = quantize_u8(rgb->data[(size_t)c * plane + i]);
        if (with_alpha) px[rgb->channels] = quantize_u8(alpha->data[i]);
    }
    dst->data = data;
    dst->width = rgb->width;
    dst->height = rgb->height;
    dst->channels = channels;
    dst->stride = (size_t)rgb->width * (size_t)channels;
    return ADN_OK;
}

void adn_image_u8_free(adn_image_u8 *img) {
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}
