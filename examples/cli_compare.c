/* cli_compare.c — the labelled side-by-side panel (see cli_compare.h). */
#include "cli_compare.h"

#include "cli_font.h"

/* Font pixels per bitmap pixel: captions stay readable on large tiles, and small tiles keep the
 * 5 x 7 font (a caption longer than its tile is cut at the tile's edge). */
static int32_t font_scale(int32_t width)
{
    int32_t scale = 1 + width / 200;
    return scale > 4 ? 4 : scale;
}

static float clamp01(float v)
{
    return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f;
}

/* Copies one tile's picture into the panel at (top, left), by nearest block and clamped. */
static void paste_tile(adn_image *panel, const cli_panel_tile *tile, int32_t top, int32_t left, int32_t height,
                       int32_t width)
{
    const adn_image *img = tile->image;
    const size_t panel_plane = (size_t)panel->height * (size_t)panel->width;
    const size_t plane = (size_t)img->height * (size_t)img->width;
    for (int32_t y = 0; y < height; y++) {
        const int32_t sy = y / tile->block;
        for (int32_t x = 0; x < width; x++) {
            const int32_t sx = x / tile->block;
            if (sy >= img->height || sx >= img->width)
                continue; /* a picture smaller than the tile leaves white */
            for (int c = 0; c < 3; c++) {
                const int source_channel = img->channels == 3 ? c : 0;
                const float v = img->data[(size_t)source_channel * plane + (size_t)sy * img->width + sx];
                panel->data[(size_t)c * panel_plane + (size_t)(top + y) * panel->width + left + x] = clamp01(v);
            }
        }
    }
}

adn_status cli_compare_write(const char *path, const cli_panel_tile *tiles, int n, int32_t height, int32_t width,
                             const adn_write_params *params)
{
    const int32_t scale = font_scale(width), gap = 2 * scale, margin = 2 * scale;
    const int32_t strip = CLI_FONT_HEIGHT * scale + 2 * margin;
    const int64_t panel_width = (int64_t)n * width + (int64_t)(n - 1) * gap;
    const int64_t panel_height = (int64_t)height + strip;
    adn_image panel = {0};
    adn_status st = panel_width > INT32_MAX ? ADN_ERR_TOO_LARGE
                  : adn_image_alloc(&panel, 3, (int32_t)panel_height, (int32_t)panel_width);
    if (st != ADN_OK)
        return st;
    const size_t count = (size_t)3 * (size_t)panel.height * (size_t)panel.width;
    for (size_t i = 0; i < count; i++)
        panel.data[i] = 1.0f;
    static const float ink[3] = {0.0f, 0.0f, 0.0f};
    for (int k = 0; k < n; k++) {
        const int32_t left = k * (width + gap);
        cli_draw_text(&panel, tiles[k].label, margin, left + margin, scale, left + width, ink);
        paste_tile(&panel, &tiles[k], strip, left, height, width);
    }
    st = adn_image_write(path, &panel, NULL, params);
    adn_image_free(&panel);
    return st;
}
