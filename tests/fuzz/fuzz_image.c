/* fuzz_image.c — adn_image_read_memory on fuzzed PNG / JPEG bytes, with the invariants of its
 * contract: only the documented statuses, a one-line message on failure and empty outputs, and on
 * success sizes that agree with the info struct and every sample finite and in range. */
#include "fuzz_image.h"

#include "fuzz_check.h"

#include <math.h>
#include <string.h>

/* 2^20 pixels: a fuzzed header can claim anything up to the pixel limit, and the default 2^28
 * would have each such input allocate gigabytes before the (short) data runs out.  The limit path
 * itself (ADN_ERR_TOO_LARGE) is still taken by every larger header. */
#define FUZZ_MAX_PIXELS ((uint64_t)1 << 20)

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_signature[3] = {0xff, 0xd8, 0xff};

static void check_failure(adn_status st, const adn_image *pixels, const adn_image *alpha) {
    FUZZ_CHECK(st == ADN_ERR_FORMAT || st == ADN_ERR_TOO_LARGE || st == ADN_ERR_OUT_OF_MEMORY,
               "status %d (%s) for bytes in memory: %s", (int)st, adn_status_str(st), adn_last_error());
    const char *message = adn_last_error();
    FUZZ_CHECK(message[0] != '\0', "status %s without a message", adn_status_str(st));
    FUZZ_CHECK(strchr(message, '\n') == NULL, "message is not one line: %s", message);
    FUZZ_CHECK(pixels->data == NULL && alpha->data == NULL, "failure left an image behind");
}

static void check_samples(const adn_image *img, float max_value, const char *what) {
    const size_t count = (size_t)img->channels * (size_t)img->height * (size_t)img->width;
    for (size_t i = 0; i < count; ++i)
        FUZZ_CHECK(isfinite(img->data[i]) && img->data[i] >= 0.0f && img->data[i] <= max_value,
                   "%s sample %zu is %g (max %g)", what, i, (double)img->data[i], (double)max_value);
}

static void check_success(const adn_read_params *p, adn_file_format format, const adn_image *pixels,
                          const adn_image *alpha, const adn_image_info *info) {
    FUZZ_CHECK(pixels->data != NULL, "ADN_OK without pixels");
    FUZZ_CHECK(pixels->channels == (p->mode == ADN_PIXELS_GRAY ? 1 : 3), "%d channels", (int)pixels->channels);
    FUZZ_CHECK(info->format == format, "info.format %d", (int)info->format);
    FUZZ_CHECK(info->width == pixels->width && info->height == pixels->height, "info %dx%d, image %dx%d",
               (int)info->width, (int)info->height, (int)pixels->width, (int)pixels->height);
    FUZZ_CHECK(pixels->width >= 1 && pixels->height >= 1 &&
                   (uint64_t)pixels->width * (uint64_t)pixels->height <= p->max_pixels,
               "%dx%d with max_pixels %llu", (int)pixels->width, (int)pixels->height,
               (unsigned long long)p->max_pixels);
    FUZZ_CHECK(info->bit_depth == 8 || info->bit_depth == 16, "bit depth %d", (int)info->bit_depth);
    FUZZ_CHECK(info->file_channels >= 1 && info->file_channels <= 4, "file channels %d", (int)info->file_channels);
    if (format == ADN_FORMAT_JPEG) FUZZ_CHECK(info->bit_depth == 8 && !info->has_alpha, "JPEG info");
    FUZZ_CHECK(info->has_alpha == (alpha->data != NULL), "has_alpha %d but alpha %s", (int)info->has_alpha,
               alpha->data ? "present" : "absent");
    if (alpha->data)
        FUZZ_CHECK(alpha->channels == 1 && alpha->width == pixels->width && alpha->height == pixels->height,
                   "alpha %dx%dx%d", (int)alpha->channels, (int)alpha->height, (int)alpha->width);
    check_samples(pixels, p->raw_values ? 65535.0f : 1.0f, "pixel");
    if (alpha->data) check_samples(alpha, 1.0f, "alpha");
}

void fuzz_decode_image(const uint8_t *data, size_t size, adn_file_format format) {
    /* A copy of exactly `size` bytes, so ASan sees any read past the end of the input. */
    uint8_t *bytes = malloc(size ? size : 1);
    if (!bytes) return;
    if (size) memcpy(bytes, data, size);
    const uint8_t *signature = format == ADN_FORMAT_PNG ? png_signature : jpeg_signature;
    const size_t signature_size = format == ADN_FORMAT_PNG ? sizeof png_signature : sizeof jpeg_signature;
    memcpy(bytes, signature, size < signature_size ? size : signature_size);

    /* The read mode comes from the input's length, so the corpus stays plain image files. */
    adn_read_params p = adn_read_default_params();
    p.max_pixels = FUZZ_MAX_PIXELS;
    p.mode = (size & 1) ? ADN_PIXELS_GRAY : ADN_PIXELS_RGB;
    p.raw_values = (size >> 1) & 1;

    adn_image pixels = {0}, alpha = {0};
    adn_image_info info = {.struct_size = sizeof info};
    adn_clear_error();
    adn_status st = adn_image_read_memory(bytes, size, &p, &pixels, &alpha, &info);
    if (size == 0)
        FUZZ_CHECK(st == ADN_ERR_INVALID_ARGUMENT, "empty buffer gave %s", adn_status_str(st));
    else if (st == ADN_OK)
        check_success(&p, format, &pixels, &alpha, &info);
    else
        check_failure(st, &pixels, &alpha);
    adn_image_free(&pixels);
    adn_image_free(&alpha);
    free(bytes);
}
