/*
 * cli_compare.h — the comparison panel of adn-stylize --compare: pictures side by side, each with
 * a caption above it in the built-in bitmap font (cli_font.h), written as one image.
 */
#ifndef ADN_EXAMPLES_CLI_COMPARE_H
#define ADN_EXAMPLES_CLI_COMPARE_H

#include "adain_dcs.h"

typedef struct cli_panel_tile {
    const adn_image *image; /* 1 (grey) or 3 (RGB) channels; values are clamped to [0,1] */
    int32_t block;          /* each pixel of image covers block x block panel pixels (1 for
                               content-size pictures, 8 for the strength map S); the picture is
                               cut to the panel's tile size at the bottom and right */
    const char *label;
} cli_panel_tile;

/** Writes n tiles of height x width each, left to right, 2 * scale pixels apart, under a white
 *  strip with their labels in black, to path (PNG or JPEG by the extension; params may be NULL).
 *  The font scale grows with the tile width (1 below 200 pixels, 2 below 400, 3 below 600, else 4).
 *  Returns the library's status (adn_last_error() says why on failure). */
adn_status cli_compare_write(const char *path, const cli_panel_tile *tiles, int n, int32_t height, int32_t width,
                             const adn_write_params *params);

#endif
