/*
 * cli_font.h — a tiny built-in 5 x 7 bitmap font for the labels of adn-stylize --compare, so that
 * a picture can carry its own captions without a font library.  Printable ASCII only (letters,
 * digits, common punctuation); other characters are drawn as '?'.
 */
#ifndef ADN_EXAMPLES_CLI_FONT_H
#define ADN_EXAMPLES_CLI_FONT_H

#include <stdint.h>

#include "adain_dcs.h"

enum { CLI_FONT_WIDTH = 5, CLI_FONT_HEIGHT = 7, CLI_FONT_ADVANCE = 6 /* one blank column between */ };

/** Pixels of the string at the given integer scale: advance * scale per character, less the
 *  trailing blank column. */
int32_t cli_text_width(const char *text, int32_t scale);

/** Draws text into img (3 x H x W RGB) with its top-left corner at (top, left), each font pixel a
 *  scale x scale square of colour rgb; what falls outside the image, or at or right of
 *  clip_right, is left out. */
void cli_draw_text(adn_image *img, const char *text, int32_t top, int32_t left, int32_t scale, int32_t clip_right,
                   const float rgb[3]);

#endif
