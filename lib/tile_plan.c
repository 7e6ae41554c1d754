/* The memory estimate of one adn_stylize call and the tile plan it leads to (lib/tiling.h; the
 * model is documented at adn_context_params in include/adain_dcs.h).  Pure arithmetic, done
 * before any work, so a call that cannot fit is refused up front. */
#include "tiling.h"

#include "model_internal.h"

#include <math.h>

/* Bytes per image pixel of one network pass: 4 live copies of the widest activation, which is 64
 * channels x 4 bytes at full resolution in both VGG-19 to relu4_1 (conv1_1, conv1_2) and the
 * decoder (its last two convs): a layer's input, its reflection-padded copy, its output and
 * oneDNN's reordered copy.  libtorch 1.13 (oneDNN, frozen and optimised) measures 794 B/px for the
 * encoder and 851 B/px for the decoder, inputs and outputs included; the rest is margin. */
#define NETWORK_BYTES_PER_PIXEL (4u * 64u * 4u)
/* The RGB side of a pass: the (padded) input image or tile, or the decoded tile. */
#define RGB_BYTES_PER_PIXEL 12u
/* The smallest tile core tried, in feature pixels (64 x 64 image pixels): below it the halo
 * would cost more than 4x the useful work. */
#define MIN_CORE 8

static const uint64_t mib = (uint64_t)1 << 20;

uint64_t adn_network_bytes(uint64_t pixels, int32_t channels) {
    /* 8 C bytes per feature pixel (64 image pixels): the backend's features and their copy. */
    return pixels * (NETWORK_BYTES_PER_PIXEL + RGB_BYTES_PER_PIXEL) + pixels / 64u * 8u * (uint64_t)channels;
}

static double in_mib(uint64_t bytes) { return (double)bytes / (double)mib; }

/* Bytes of a network pass over a region of rh x rw feature pixels. */
static uint64_t region_bytes(int32_t rh, int32_t rw, int32_t ds, int32_t channels) {
    return adn_network_bytes((uint64_t)rh * (uint64_t)rw * (uint64_t)ds * (uint64_t)ds, channels);
}

static int32_t min_i32(int64_t a, int64_t b) { return (int32_t)(a < b ? a : b); }
static int32_t ceil_div(int64_t a, int64_t b) { return (int32_t)((a + b - 1) / b); }

/* Balanced tiling of one side of n feature pixels with cores of at most max_core. */
static void split_side(int32_t n, int32_t max_core, int32_t *count, int32_t *core) {
    *count = ceil_div(n, max_core);
    *core = ceil_div(n, *count);
}

/* Largest core along one side of n feature pixels when a region may be `room` long: the whole
 * side needs no halo; otherwise the core loses a halo at each end.  0 if below the smallest core. */
static int32_t max_core(int32_t n, int64_t room, int32_t halo) {
    if (room >= n) return n;
    const int64_t core = room - 2 * (int64_t)halo;
    return core >= MIN_CORE ? (int32_t)core : 0;
}

/* The largest tiles whose pass fits `allowance` bytes: square regions first, then, once the
 * rows are known, regions as wide as the allowance leaves for their height (a short image gets
 * long strips).  0 if even the smallest core does not fit. */
static int make_grid(int32_t h, int32_t w, int32_t halo, uint64_t allowance, int32_t ds, int32_t channels,
                     adn_tile_grid *g) {
    const uint64_t per_feature_pixel = region_bytes(1, 1, ds, channels);
    const int64_t side = (int64_t)floor(sqrt((double)(allowance / per_feature_pixel)));
    *g = (adn_tile_grid){.height = h, .width = w, .halo = halo};
    const int32_t core_h = max_core(h, side, halo);
    if (core_h < 1) return 0;
    split_side(h, core_h, &g->rows, &g->core_h);
    const int32_t region_h = min_i32(h, (int64_t)g->core_h + 2 * halo);
    const int32_t core_w = max_core(w, (int64_t)(allowance / (per_feature_pixel * (uint64_t)region_h)), halo);
    if (core_w < 1) return 0;
    split_side(w, core_w, &g->cols, &g->core_w);
    return 1;
}

static uint64_t grid_bytes(const adn_tile_grid *g, int32_t ds, int32_t channels) {
    return region_bytes(min_i32(g->height, (int64_t)g->core_h + 2 * g->halo), min_i32(g->width, (int64_t)g->core_w + 2 * g->halo),
                        ds, channels);
}

void adn_tile_at(const adn_tile_grid *g, int32_t row, int32_t col, adn_tile *t) {
    t->y0 = row * g->core_h;
    t->x0 = col * g->core_w;
    t->y1 = min_i32((int64_t)t->y0 + g->core_h, g->height);
    t->x1 = min_i32((int64_t)t->x0 + g->core_w, g->width);
    t->ry0 = t->y0 - g->halo > 0 ? t->y0 - g->halo : 0;
    t->rx0 = t->x0 - g->halo > 0 ? t->x0 - g->halo : 0;
    t->ry1 = min_i32((int64_t)t->y1 + g->halo, g->height);
    t->rx1 = min_i32((int64_t)t->x1 + g->halo, g->width);
}

/* Whole-image buffers of the call (see the header's model). */
static uint64_t image_bytes(const adn_call_shape *s, int32_t ds, int32_t channels) {
    const uint64_t hp = (uint64_t)adn_round_up(s->height, ds), wp = (uint64_t)adn_round_up(s->width, ds);
    const uint64_t features = (hp / ds) * (wp / ds);
    uint64_t bytes = 4u * (uint64_t)channels * features          /* the features of the whole image */
                     + 12u * (uint64_t)s->height * s->width       /* the decoded image */
                     + 4u * hp * wp * (uint64_t)s->n_maps          /* depth, masks at content size */
                     + 4u * features * (uint64_t)s->n_feature_maps; /* the same at feature resolution */
    if (s->style_height > 0) {
        const uint64_t sp = (uint64_t)adn_round_up(s->style_height, ds) * (uint64_t)adn_round_up(s->style_width, ds);
        bytes += 12u * (uint64_t)s->style_height * s->style_width /* the colour-matched style */
                 + 4u * (uint64_t)channels * (sp / ds / ds);     /* its features */
    }
    return bytes;
}

static adn_status refuse_smallest_tile(int32_t height, int32_t width, uint64_t images, uint64_t budget, int32_t halo, int32_t ds,
                                       int32_t channels) {
    const int32_t side = ds * (MIN_CORE + 2 * halo);
    const uint64_t tile = region_bytes(MIN_CORE + 2 * halo, MIN_CORE + 2 * halo, ds, channels);
    return adn_fail(ADN_ERR_TOO_LARGE,
                    "adn_stylize: a %dx%d (HxW) image needs an estimated %.0f MiB (%.0f MiB of whole-image buffers + %.0f "
                    "MiB for the smallest tile, %dx%d pixels), above the context's memory budget of %.0f MiB",
                    (int)height, (int)width, in_mib(images + tile), in_mib(images), in_mib(tile), (int)side, (int)side,
                    in_mib(budget));
}

static adn_status refuse_undeclared(int32_t height, int32_t width, uint64_t need, uint64_t budget, const char *file) {
    return adn_fail(ADN_ERR_TOO_LARGE,
                    "adn_stylize: a %dx%d (HxW) image needs an estimated %.0f MiB untiled, above the context's memory "
                    "budget of %.0f MiB, and %s declares no adn_receptive_field, so it cannot be tiled (re-export the "
                    "bundle with tools/adn-export or raise adn_context_params.memory_budget_bytes)",
                    (int)height, (int)width, in_mib(need), in_mib(budget), file);
}

static int32_t halo_of(int32_t receptive_field, int32_t ds) { return ceil_div(receptive_field, ds); }

/* One image (height x width) through the encoder, and the decoder when `decode`, within what the
 * budget leaves besides the whole-image buffers. */
static adn_status plan_pass(const adn_model *model, int32_t height, int32_t width, int decode,
                            uint64_t images, uint64_t budget, adn_pass_plan *pass) {
    const adn_bundle_info *b = &model->bundle;
    const int32_t ds = b->downsample, c = b->channels;
    const int32_t h = adn_round_up(height, ds) / ds, w = adn_round_up(width, ds) / ds;
    const uint64_t allowance = budget > images ? budget - images : 0;
    *pass = (adn_pass_plan){.network_bytes = region_bytes(h, w, ds, c)};
    if (pass->network_bytes <= allowance) return ADN_OK;
    if (b->encoder_receptive_field < 0) return refuse_undeclared(height, width, images + pass->network_bytes, budget, "encoder.pt");
    if (decode && b->decoder_receptive_field < 0)
        return refuse_undeclared(height, width, images + pass->network_bytes, budget, "decoder.pt");
    const int32_t halo_e = halo_of(b->encoder_receptive_field, ds), halo_d = halo_of(b->decoder_receptive_field, ds);
    if (!make_grid(h, w, halo_e, allowance, ds, c, &pass->encoder))
        return refuse_smallest_tile(height, width, images, budget, halo_e, ds, c);
    pass->network_bytes = grid_bytes(&pass->encoder, ds, c);
    if (decode) {
        if (!make_grid(h, w, halo_d, allowance, ds, c, &pass->decoder))
            return refuse_smallest_tile(height, width, images, budget, halo_d, ds, c);
        const uint64_t d = grid_bytes(&pass->decoder, ds, c);
        if (d > pass->network_bytes) pass->network_bytes = d;
    }
    pass->tiled = 1;
    return ADN_OK;
}

adn_status adn_plan_memory(const adn_model *model, const adn_call_shape *shape, uint64_t budget, adn_memory_plan *plan) {
    const int32_t ds = model->bundle.downsample, c = model->bundle.channels;
    *plan = (adn_memory_plan){.image_bytes = image_bytes(shape, ds, c)};
    plan->budget = budget ? budget : plan->image_bytes + ADN_DEFAULT_NETWORK_MEMORY;
    adn_status st = plan_pass(model, shape->height, shape->width, 1, plan->image_bytes, plan->budget, &plan->content);
    if (!st && shape->style_height > 0)
        st = plan_pass(model, shape->style_height, shape->style_width, 0, plan->image_bytes, plan->budget, &plan->style);
    if (st) return st;
    const uint64_t network =
        plan->content.network_bytes > plan->style.network_bytes ? plan->content.network_bytes : plan->style.network_bytes;
    plan->estimate = plan->image_bytes + network;
    return ADN_OK;
}

adn_status adn_plan_encode(const adn_model *model, const adn_memory_plan *plan, int32_t height, int32_t width,
                           adn_pass_plan *pass) {
    return plan_pass(model, height, width, 0, plan->image_bytes, plan->budget, pass);
}
