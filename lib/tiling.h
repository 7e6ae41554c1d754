/* Bounded memory for large images: the memory estimate of a call, the tile plan it leads to
 * (lib/tile_plan.c), and the encoder and decoder run tile by tile (lib/tiling.c).
 *
 * Only the network activations are tiled.  The features of the whole image are kept (C x h x w,
 * host memory), so the AdaIN statistics, the strength map and the blend are those of the untiled
 * call, and the tiled output equals the untiled one up to float rounding.  That needs two things:
 *
 * - The tile grid is the feature grid: tiles start and end on multiples of the downsampling
 *   factor in the padded image, so every 2x2 max-pool sees the same pixel pairs as untiled.
 * - Each tile carries a halo of at least the network's receptive field (the bundle's
 *   adn_receptive_field, pixels beyond an output's own 8x8 block, one side), rounded up to whole
 *   feature pixels; only the tile's core is kept.  Where a tile meets the image border it is not
 *   cut, so the network's own reflection padding happens exactly as untiled.  For VGG-19 to
 *   relu4_1 and the pytorch-AdaIN decoder both are 30 pixels, 4 feature pixels of halo (derived
 *   layer by layer in tools/adn_export/networks.py; 0 for the analytic space-to-depth pair).
 *
 * Why the halo is enough: an output feature depends on input pixels 8i-30 .. 8i+37 only, and at
 * every layer on the activations in the matching shrunken range.  If that range lies inside the
 * tile, none of those activations was computed from the padding at a cut edge, so all of them,
 * and the output, are the untiled values. */
#ifndef ADN_TILING_H
#define ADN_TILING_H

#include "internal.h"

struct adn_model;

/** AdaIN and the blend run over this many channels at a time (lib/stylize.c), so the AdaIN target
 *  needs ADN_ADAIN_CHUNK x h x w floats instead of C x h x w. */
#define ADN_ADAIN_CHUNK 8

/* ---- tile geometry (feature pixels) ------------------------------------------------------------ */

/** A grid of tiles over a feature map of height x width.  Every tile but the last of a row or
 *  column has a core of core_h x core_w; each has `halo` more feature pixels on every side that is
 *  not the map's border. */
typedef struct adn_tile_grid {
    int32_t height, width; /* the feature map */
    int32_t halo;
    int32_t core_h, core_w;
    int32_t rows, cols;
} adn_tile_grid;

/** One tile: its core [y0, y1) x [x0, x1) and the region the network runs on,
 *  [ry0, ry1) x [rx0, rx1) (core + halo, clipped to the map). */
typedef struct adn_tile {
    int32_t y0, y1, x0, x1;
    int32_t ry0, ry1, rx0, rx1;
} adn_tile;

/** The tile at (row, col) of g. */
void adn_tile_at(const adn_tile_grid *g, int32_t row, int32_t col, adn_tile *t);

/* ---- the memory estimate (the model is documented at adn_context_params in adain_dcs.h) -------- */

/** Bytes of one network pass over `pixels` image pixels (encoder or decoder; channels = C). */
uint64_t adn_network_bytes(uint64_t pixels, int32_t channels);

/** What a call needs besides its network activations, and its sizes. */
typedef struct adn_call_shape {
    int32_t height, width;       /* content */
    int32_t n_maps;              /* one-channel maps at content size the call keeps (depth, masks) */
    int32_t n_feature_maps;      /* one-channel maps at feature resolution */
    int32_t style_height, style_width; /* largest style re-encoded per call (colour preservation); 0 if none */
} adn_call_shape;

/** How one image goes through the networks: whole, or over tiles. */
typedef struct adn_pass_plan {
    int tiled;
    adn_tile_grid encoder, decoder; /* when tiled (the decoder grid only for the content) */
    uint64_t network_bytes;         /* the largest network pass */
} adn_pass_plan;

/** The plan of a call: content and (colour preservation) style passes, and the estimate. */
typedef struct adn_memory_plan {
    uint64_t image_bytes;   /* whole-image buffers (features, output, maps) */
    uint64_t budget;        /* the budget it was planned for */
    uint64_t estimate;      /* image_bytes + the largest network pass */
    adn_pass_plan content, style;
} adn_memory_plan;

/** Plans a call under the context's budget (0 = default) for the model's bundle.  Fails with
 *  ADN_ERR_TOO_LARGE, giving the estimate, when even the smallest tile does not fit, or when the
 *  budget requires tiling and the bundle declares no adn_receptive_field. */
adn_status adn_plan_memory(const struct adn_model *model, const adn_call_shape *shape, uint64_t budget,
                           adn_memory_plan *plan);

/** Plans one more encoder pass (a style of height x width re-encoded with colour preservation)
 *  within a plan made by adn_plan_memory for at least that size. */
adn_status adn_plan_encode(const struct adn_model *model, const adn_memory_plan *plan, int32_t height, int32_t width,
                           adn_pass_plan *pass);

/* ---- running the networks over tiles (lib/tiling.c) ------------------------------------------- */

/** Scratch of the tiled passes: one tile's RGB (input or output) and one tile's features. */
typedef struct adn_tiling_scratch {
    adn_buffer rgb, features;
} adn_tiling_scratch;
void adn_tiling_scratch_release(adn_tiling_scratch *s);

/** The encoder over g's tiles of the reflection-padded 3 x height x width image rgb; features
 *  (C x g->height x g->width) receives the cores.  Non-finite output is ADN_ERR_MODEL. */
adn_status adn_encode_tiled(const struct adn_model *model, const float *rgb, int32_t height, int32_t width,
                            const adn_tile_grid *g, adn_tiling_scratch *s, float *features);

/** The decoder over g's tiles of features (C x g->height x g->width); out receives the top-left
 *  3 x height x width of the decoded image.  Non-finite output is ADN_ERR_MODEL. */
adn_status adn_decode_tiled(const struct adn_model *model, const float *features, const adn_tile_grid *g,
                            adn_tiling_scratch *s, float *out, int32_t height, int32_t width);

#endif
