/* Interface between the format-neutral image file code (image_io.c) and the codecs (png_io.c,
 * jpeg_io.c).  Codecs only move integer samples between a FILE and an adn_raster; scaling,
 * grey/colour conversion and alpha splitting happen in image_io.c, once for every format. */
#ifndef ADN_IMAGE_CODECS_H
#define ADN_IMAGE_CODECS_H

#include "internal.h"

#include <stdio.h>

/** Interleaved integer pixels, rows packed without padding.  16-bit samples are stored as two
 *  bytes, most significant first (PNG's order), so the layout never depends on the host. */
typedef struct adn_raster {
    uint8_t *data;
    int32_t width;
    int32_t height;
    int32_t channels;  /**< 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    int32_t bit_depth; /**< 8 or 16 */
} adn_raster;

/** Bytes in one row of r. */
size_t adn_raster_row_bytes(const adn_raster *r);

/** Checks a size read from a file header: zero sizes are ADN_ERR_FORMAT, more than max_pixels
 *  pixels (or more than an adn_image can hold) is ADN_ERR_TOO_LARGE.  Codecs call it after the
 *  header and before allocating anything for the pixels.  path names the file in messages. */
adn_status adn_check_header_size(const char *path, uint64_t width, uint64_t height, uint64_t max_pixels);

/** Allocates r->data for the given sizes (sizes already passed adn_check_header_size). */
adn_status adn_raster_alloc(adn_raster *r, int32_t width, int32_t height, int32_t channels, int32_t bit_depth);

/** Frees r->data and zeroes r. */
void adn_raster_free(adn_raster *r);

/* Readers fill *out (allocated on success only) and *info; they read from the current position of
 * file, which is the start of the file.  Writers write a complete file to `file`; image_io.c owns
 * opening, flushing, renaming and removing it.  path is only used in messages. */

#ifdef ADN_HAVE_PNG
adn_status adn_png_read(FILE *file, const char *path, uint64_t max_pixels, adn_raster *out,
                        adn_image_info *info);
/** Writes 1..4 channels at 8 or 16 bits. */
adn_status adn_png_write(FILE *file, const char *path, const adn_raster *in);
#endif

#ifdef ADN_HAVE_JPEG
adn_status adn_jpeg_read(FILE *file, const char *path, uint64_t max_pixels, adn_raster *out,
                         adn_image_info *info);
/** Writes 1 or 3 channels at 8 bits; quality 1..100. */
adn_status adn_jpeg_write(FILE *file, const char *path, const adn_raster *in, int quality);
#endif

#endif
