/* The encoder and the decoder run tile by tile over a plan of lib/tile_plan.c (the geometry and
 * why the result equals the untiled one are in lib/tiling.h).  Each tile's network output is
 * cropped to its core straight into the whole-image buffer, so the memory of a pass is that of one
 * tile. */
#include "tiling.h"

#include "model_internal.h"

#include <string.h>

void adn_tiling_scratch_release(adn_tiling_scratch *s) {
    adn_buffer_release(&s->rgb);
    adn_buffer_release(&s->features);
}

/* Source index of index i of a side of n pixels after reflection padding.  Must stay the rule of
 * adn_pad_reflect (lib/resample.c), which pads the untiled input: mirror without repeating the
 * edge, periodic with period 2(n-1), n = 1 repeats the pixel. */
static int32_t padded_source(int64_t i, int32_t n) {
    if (i < n) return (int32_t)i;
    if (n == 1) return 0;
    const int64_t period = 2 * ((int64_t)n - 1);
    const int64_t p = i % period;
    return (int32_t)(p < n ? p : period - p);
}

/* Rows [y0, y0 + th) x columns [x0, x0 + tw) of the reflection-padded 3 x height x width image,
 * into tile (3 x th x tw). */
static void copy_padded_region(const float *rgb, int32_t height, int32_t width, int32_t y0, int32_t x0, int32_t th,
                               int32_t tw, float *tile) {
    const int32_t inside = x0 >= width ? 0 : (x0 + tw <= width ? tw : width - x0); /* columns that need no padding */
    for (int32_t c = 0; c < 3; ++c)
        for (int32_t y = 0; y < th; ++y) {
            const float *row = rgb + ((int64_t)c * height + padded_source((int64_t)y0 + y, height)) * width;
            float *dst = tile + ((int64_t)c * th + y) * tw;
            if (inside > 0) memcpy(dst, row + x0, sizeof(float) * (size_t)inside);
            for (int32_t x = inside; x < tw; ++x) dst[x] = row[padded_source((int64_t)x0 + x, width)];
        }
}

/* Copies the core of a tile from src (channels x sh x sw, whose origin is (oy, ox) in dst's
 * coordinates) into dst (channels x dh x dw): rows [y0, y1), columns [x0, x1) of dst. */
static void copy_core(const float *src, int32_t sh, int32_t sw, int32_t oy, int32_t ox, int32_t channels, int32_t y0,
                      int32_t y1, int32_t x0, int32_t x1, float *dst, int32_t dh, int32_t dw) {
    for (int32_t c = 0; c < channels; ++c)
        for (int32_t y = y0; y < y1; ++y)
            memcpy(dst + ((int64_t)c * dh + y) * dw + x0, src + ((int64_t)c * sh + (y - oy)) * sw + (x0 - ox),
                   sizeof(float) * (size_t)(x1 - x0));
}

/* The encoder on one tile's region; its core goes into features. */
static adn_status encode_tile(const adn_model *model, const float *rgb, int32_t height, int32_t width, const adn_tile_grid *g,
                              const adn_tile *t, adn_tiling_scratch *s, float *features) {
    const int32_t ds = model->bundle.downsample, c = model->bundle.channels;
    const int32_t rh = t->ry1 - t->ry0, rw = t->rx1 - t->rx0;
    float *tile = adn_buffer_floats(&s->rgb, 3 * (int64_t)rh * rw * ds * ds, "an image tile");
    if (!tile) return ADN_ERR_OUT_OF_MEMORY;
    copy_padded_region(rgb, height, width, t->ry0 * ds, t->rx0 * ds, rh * ds, rw * ds, tile);
    adn_tensor *out = NULL;
    adn_tensor_dims dims;
    float *data = NULL;
    adn_status st = model->ops->encode(model->state, tile, rh * ds, rw * ds, &out, &dims);
    if (!st) st = adn_bundle_check_features(&model->bundle, &dims, rh * ds, rw * ds);
    if (!st) st = model->ops->host_view(out, &data);
    if (!st) copy_core(data, rh, rw, t->ry0, t->rx0, c, t->y0, t->y1, t->x0, t->x1, features, g->height, g->width);
    if (out) model->ops->tensor_free(out);
    return st;
}

adn_status adn_encode_tiled(const adn_model *model, const float *rgb, int32_t height, int32_t width, const adn_tile_grid *g,
                            adn_tiling_scratch *s, float *features) {
    for (int32_t row = 0; row < g->rows; ++row)
        for (int32_t col = 0; col < g->cols; ++col) {
            adn_tile t;
            adn_tile_at(g, row, col, &t);
            adn_status st = encode_tile(model, rgb, height, width, g, &t, s, features);
            if (st) return st;
        }
    if (!adn_all_finite(features, (int64_t)model->bundle.channels * g->height * g->width))
        return adn_fail(ADN_ERR_MODEL, "encoder.pt produced NaN or infinity");
    return ADN_OK;
}

/* The decoder on one tile's region of the features; the part of its core inside the image goes
 * into out. */
static adn_status decode_tile(const adn_model *model, const float *features, const adn_tile_grid *g, const adn_tile *t,
                              adn_tiling_scratch *s, float *out, int32_t height, int32_t width) {
    const int32_t ds = model->bundle.downsample, c = model->bundle.channels;
    const int32_t rh = t->ry1 - t->ry0, rw = t->rx1 - t->rx0;
    float *region = adn_buffer_floats(&s->features, (int64_t)c * rh * rw, "a feature tile");
    float *decoded = adn_buffer_floats(&s->rgb, 3 * (int64_t)rh * rw * ds * ds, "a decoded tile");
    if (!region || !decoded) return ADN_ERR_OUT_OF_MEMORY;
    copy_core(features, g->height, g->width, -t->ry0, -t->rx0, c, 0, rh, 0, rw, region, rh, rw);
    adn_tensor *tensor = NULL;
    adn_status st = model->ops->tensor_from_host(model->state, region, c, rh, rw, &tensor);
    if (!st) st = model->ops->decode(model->state, tensor, rh * ds, rw * ds, decoded, rh * ds, rw * ds);
    if (tensor) model->ops->tensor_free(tensor);
    if (st) return st;
    const int32_t y0 = t->y0 * ds, x0 = t->x0 * ds;
    const int32_t y1 = t->y1 * ds < height ? t->y1 * ds : height, x1 = t->x1 * ds < width ? t->x1 * ds : width;
    copy_core(decoded, rh * ds, rw * ds, t->ry0 * ds, t->rx0 * ds, 3, y0, y1, x0, x1, out, height, width);
    for (int32_t k = 0; k < 3; ++k) /* the kept part only, as untiled checks the cropped image */
        for (int32_t y = y0; y < y1; ++y)
            if (!adn_all_finite(out + ((int64_t)k * height + y) * width + x0, x1 - x0))
                return adn_fail(ADN_ERR_MODEL, "decoder.pt produced NaN or infinity");
    return ADN_OK;
}

adn_status adn_decode_tiled(const adn_model *model, const float *features, const adn_tile_grid *g, adn_tiling_scratch *s,
                            float *out, int32_t height, int32_t width) {
    if (!model->ops->tensor_from_host)
        return adn_fail(ADN_ERR_UNSUPPORTED, "the %s backend cannot decode tiles (no tensor_from_host)", model->ops->name);
    for (int32_t row = 0; row < g->rows; ++row)
        for (int32_t col = 0; col < g->cols; ++col) {
            adn_tile t;
            adn_tile_at(g, row, col, &t);
            adn_status st = decode_tile(model, features, g, &t, s, out, height, width);
            if (st) return st;
        }
    return ADN_OK;
}
