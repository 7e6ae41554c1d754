/* Reading at a reduced size: decoded rows become planar floats and go through the row resizer, so
 * a large file never needs more than a few of its rows in memory (adn_read_params.short_side /
 * max_side; see image_codecs.h).  The result equals reading the whole file and calling
 * adn_resize_bilinear: the same conversion (adn_raster_row_to_planes) and the same resize. */
#include "image_codecs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What an adn_image may hold per channel (adn_image_alloc's limit). */
#define SINK_PLANE_MAX ((uint64_t)1 << 31)

void adn_row_sink_init(adn_row_sink *sink, const adn_read_params *params, int want_alpha, const char *path) {
    memset(sink, 0, sizeof *sink);
    sink->params = *params;
    sink->want_alpha = want_alpha;
    sink->path = path;
}

/* One side scaled by f: rounded to nearest, at least one pixel. */
static int64_t scaled_side(int32_t side, double f) {
    const double v = floor((double)side * f + 0.5);
    return v < 1 ? 1 : (int64_t)fmin(v, 4.0 * INT32_MAX); /* capped before the cast; checked later */
}

/* The rule of adn_read_params (adain_dcs.h): the side that sets the factor gets exactly its value. */
static void result_size(const adn_read_params *p, int32_t width, int32_t height, int64_t *out_width,
                        int64_t *out_height) {
    const int32_t shorter = width < height ? width : height, longer = width < height ? height : width;
    int64_t exact = 0; /* the side the factor came from gets this exactly */
    int exact_is_short = 0;
    double f = 1.0;
    if (p->short_side > 0) {
        f = (double)p->short_side / shorter;
        exact = p->short_side;
        exact_is_short = 1;
    }
    if (p->max_side > 0 && (double)longer * f > (double)p->max_side) {
        f = (double)p->max_side / longer;
        exact = p->max_side;
        exact_is_short = 0;
    }
    *out_width = scaled_side(width, f);
    *out_height = scaled_side(height, f);
    if (exact == 0) return; /* f = 1: the file's size */
    /* A square has both sides "shorter" and "longer": both get the exact value. */
    const int width_is_short = width <= height, height_is_short = height <= width;
    const int width_is_long = width >= height, height_is_long = height >= width;
    if (exact_is_short ? width_is_short : width_is_long) *out_width = exact;
    if (exact_is_short ? height_is_short : height_is_long) *out_height = exact;
}

/* The smallest decode at scale n/8 (libjpeg rounds each side up) that is at least the result. */
static void decoder_size(const adn_row_sink *sink, int32_t width, int32_t height, int32_t *dw, int32_t *dh) {
    *dw = width;
    *dh = height;
    if (!sink->params.decoder_scaling) return;
    for (int64_t n = 1; n < 8; ++n) {
        const int64_t w = ((int64_t)width * n + 7) / 8, h = ((int64_t)height * n + 7) / 8;
        if (w >= sink->out_width && h >= sink->out_height) {
            *dw = (int32_t)w;
            *dh = (int32_t)h;
            return;
        }
    }
}

adn_status adn_row_sink_size(adn_row_sink *sink, int32_t width, int32_t height, int32_t *decode_width,
                             int32_t *decode_height) {
    int64_t w = 0, h = 0;
    result_size(&sink->params, width, height, &w, &h);
    const uint64_t limit = sink->params.max_pixels < SINK_PLANE_MAX ? sink->params.max_pixels : SINK_PLANE_MAX;
    if (w > INT32_MAX || h > INT32_MAX || (uint64_t)w * (uint64_t)h > limit)
        return adn_fail(ADN_ERR_TOO_LARGE, "'%s' (%dx%d) resized to %lldx%lld pixels is above the limit of %llu",
                        sink->path, (int)width, (int)height, (long long)w, (long long)h, (unsigned long long)limit);
    sink->out_width = (int32_t)w;
    sink->out_height = (int32_t)h;
    decoder_size(sink, width, height, decode_width, decode_height);
    return ADN_OK;
}

adn_status adn_row_sink_start(adn_row_sink *sink, int32_t width, int32_t height, int32_t channels, int32_t bit_depth) {
    const int grey = sink->params.mode == ADN_PIXELS_GRAY;
    const int planes = grey ? 1 : 3;
    const int has_alpha = sink->want_alpha && (channels == 2 || channels == 4);
    sink->width = width;
    sink->height = height;
    sink->channels = channels;
    sink->bit_depth = bit_depth;
    adn_status st = adn_image_alloc(&sink->pixels, planes, sink->out_height, sink->out_width);
    if (st == ADN_OK && has_alpha) st = adn_image_alloc(&sink->alpha, 1, sink->out_height, sink->out_width);
    if (st == ADN_OK) {
        sink->row_pixels = malloc((size_t)planes * (size_t)width * sizeof(float));
        sink->row_alpha = has_alpha ? malloc((size_t)width * sizeof(float)) : NULL;
        if (!sink->row_pixels || (has_alpha && !sink->row_alpha))
            st = adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a row of '%s' (%d pixels)", sink->path, (int)width);
    }
    if (st == ADN_OK)
        st = adn_row_resizer_init(&sink->resize_pixels, planes, height, width, sink->pixels.data, sink->out_height,
                                  sink->out_width);
    if (st == ADN_OK && has_alpha)
        st = adn_row_resizer_init(&sink->resize_alpha, 1, height, width, sink->alpha.data, sink->out_height,
                                  sink->out_width);
    return st;
}

adn_status adn_row_sink_row(adn_row_sink *sink, const uint8_t *row) {
    const int32_t y = sink->rows_seen;
    if (y >= sink->height)
        return adn_fail(ADN_ERR_INTERNAL, "'%s': the decoder gave more than %d rows", sink->path, (int)sink->height);
    sink->rows_seen++;
    /* Rows no output row uses are decoded (they must be) but never converted. */
    if (!adn_row_resizer_wants(&sink->resize_pixels, y)) return ADN_OK;
    adn_raster_row_to_planes(row, sink->width, sink->channels, sink->bit_depth, sink->params.mode,
                             sink->params.raw_values, sink->row_pixels, (size_t)sink->width, sink->row_alpha);
    adn_row_resizer_push(&sink->resize_pixels, y, sink->row_pixels);
    if (sink->row_alpha) adn_row_resizer_push(&sink->resize_alpha, y, sink->row_alpha);
    return ADN_OK;
}

adn_status adn_row_sink_feed_raster(adn_row_sink *sink, const adn_raster *raster) {
    adn_status st = adn_row_sink_start(sink, raster->width, raster->height, raster->channels, raster->bit_depth);
    const size_t row_bytes = adn_raster_row_bytes(raster);
    for (int32_t y = 0; st == ADN_OK && y < raster->height; ++y)
        st = adn_row_sink_row(sink, raster->data + (size_t)y * row_bytes);
    return st;
}

adn_status adn_row_sink_finish(adn_row_sink *sink, adn_image *pixels, adn_image *alpha) {
    if (!sink->pixels.data || !adn_row_resizer_done(&sink->resize_pixels))
        return adn_fail(ADN_ERR_INTERNAL, "'%s': the decoder stopped after %d of %d rows", sink->path,
                        (int)sink->rows_seen, (int)sink->height);
    *pixels = sink->pixels;
    memset(&sink->pixels, 0, sizeof sink->pixels);
    if (alpha) {
        *alpha = sink->alpha;
        memset(&sink->alpha, 0, sizeof sink->alpha);
    }
    return ADN_OK;
}

void adn_row_sink_free(adn_row_sink *sink) {
    adn_image_free(&sink->pixels);
    adn_image_free(&sink->alpha);
    adn_row_resizer_free(&sink->resize_pixels);
    adn_row_resizer_free(&sink->resize_alpha);
    free(sink->row_pixels);
    free(sink->row_alpha);
    sink->row_pixels = sink->row_alpha = NULL;
}
