/* Interface between the format-neutral image file code (image_io.c) and the codecs (png_io.c,
 * jpeg_io.c).  Codecs only move integer samples between a FILE and an adn_raster; scaling,
 * grey/colour conversion and alpha splitting happen in image_io.c, once for every format. */
#ifndef ADN_IMAGE_CODECS_H
#define ADN_IMAGE_CODECS_H

#include "internal.h"
#include "row_resize.h"

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

/** One row of raster layout (width pixels of `channels` samples at bit_depth) as planar floats:
 *  colour (3 planes, or 1 of luma for ADN_PIXELS_GRAY) at dst + c * plane_stride, and the alpha
 *  samples into alpha when it is not NULL and the row has alpha.  raw: stored integers instead of
 *  [0,1] (image_io.c; the one conversion of every read). */
void adn_raster_row_to_planes(const uint8_t *row, int32_t width, int32_t channels, int32_t bit_depth,
                              adn_pixel_mode mode, int raw, float *dst, size_t plane_stride, float *alpha);

/* --- reading at a reduced size (image_sink.c) ----------------------------------------------------
 * A sink takes decoded rows one at a time and makes the planar float images of adn_image_read at
 * the size that adn_read_params.short_side / max_side ask for (row_resize.c), so that the file's
 * pixels are never all in memory.  A decoder given a sink calls, inside its guarded region:
 * adn_row_sink_size once the header is read, then adn_row_sink_start and adn_row_sink_row for
 * each row, top to bottom; a failure status stops it. */
typedef struct adn_row_sink {
    adn_read_params params;
    const char *path;
    int want_alpha;
    int32_t out_width, out_height;         /* the result's size (from the file's) */
    int32_t width, height, channels, bit_depth; /* the rows as decoded */
    int32_t rows_seen;
    adn_image pixels, alpha;               /* the results, out_height x out_width */
    adn_row_resizer resize_pixels, resize_alpha;
    float *row_pixels, *row_alpha;         /* one decoded row as floats */
} adn_row_sink;

void adn_row_sink_init(adn_row_sink *sink, const adn_read_params *params, int want_alpha, const char *path);
/** The file is width x height (already checked against max_pixels): works out the result's size
 *  and checks it.  *decode_width / *decode_height receive the smallest decoded size the sink can
 *  use: the file's, or with decoder_scaling the result's (a JPEG decoder then scales by n/8). */
adn_status adn_row_sink_size(adn_row_sink *sink, int32_t width, int32_t height, int32_t *decode_width,
                             int32_t *decode_height);
/** The rows that follow are width x height with this layout; allocates the results. */
adn_status adn_row_sink_start(adn_row_sink *sink, int32_t width, int32_t height, int32_t channels, int32_t bit_depth);
/** The next row, in raster layout. */
adn_status adn_row_sink_row(adn_row_sink *sink, const uint8_t *row);
/** adn_row_sink_start and every row of a whole raster (an interlaced PNG). */
adn_status adn_row_sink_feed_raster(adn_row_sink *sink, const adn_raster *raster);
/** Hands the results over (alpha may be NULL; it is left empty when the file has none) once every
 *  row has come. */
adn_status adn_row_sink_finish(adn_row_sink *sink, adn_image *pixels, adn_image *alpha);
void adn_row_sink_free(adn_row_sink *sink);

/* Readers fill *out (allocated on success only) and *info; they read from the current position of
 * file, which is the start of the file.  With a sink (not NULL) they give it the rows instead and
 * leave *out empty, except where the format cannot be decoded row by row (interlaced PNG): then
 * they call adn_row_sink_size only and fill *out as without a sink.  Writers write a complete file
 * to `file`; image_io.c owns opening, flushing, renaming and removing it.  path is only used in
 * messages. */

#ifdef ADN_HAVE_PNG
adn_status adn_png_read(FILE *file, const char *path, uint64_t max_pixels, adn_row_sink *sink, adn_raster *out,
                        adn_image_info *info);
/** Writes 1..4 channels at 8 or 16 bits. */
adn_status adn_png_write(FILE *file, const char *path, const adn_raster *in);
#endif

#ifdef ADN_HAVE_JPEG
adn_status adn_jpeg_read(FILE *file, const char *path, uint64_t max_pixels, adn_row_sink *sink, adn_raster *out,
                         adn_image_info *info);
/** Writes 1 or 3 channels at 8 bits; quality 1..100. */
adn_status adn_jpeg_write(FILE *file, const char *path, const adn_raster *in, int quality);
#endif

#endif
