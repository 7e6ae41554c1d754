/* adn_image allocation and 8-bit <-> float conversions. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Per-channel element limit: keeps every index computation inside int64 and far below what any
 * allocator would grant. */
#define ADN_MAX_PLANE ((int64_t)1 << 31)

adn_status adn_image_alloc(adn_image *img, int32_t channels, int32_t width, int32_t height) {
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
