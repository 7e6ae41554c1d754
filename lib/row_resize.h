/* Bilinear resizing of an image that arrives one row at a time, top to bottom (the resizing image
 * reader, image_io.c).  The result is adn_resize_bilinear's, bit for bit: the same taps
 * (adn_bilinear_tap_at) and the same arithmetic in the same order, only the rows of the source
 * are never all in memory at once: each output row needs two source rows, and rows are used in
 * order, so the two most recent ones are kept (horizontally resized already). */
#ifndef ADN_ROW_RESIZE_H
#define ADN_ROW_RESIZE_H

#include "internal.h"

typedef struct adn_row_resizer {
    int32_t channels, in_height, in_width, out_height, out_width;
    float *out;                /* the caller's C x out_height x out_width result */
    adn_bilinear_tap *columns; /* out_width taps, the same for every row */
    double *kept[2];           /* two source rows, resized across: C x out_width each */
    int32_t kept_row[2];       /* which source row each holds (-1: none) */
    int32_t next_out;          /* the next output row to make */
} adn_row_resizer;

/** Prepares resizing C x in_height x in_width into out (C x out_height x out_width floats, owned
 *  by the caller).  On failure (out of memory) nothing needs freeing. */
adn_status adn_row_resizer_init(adn_row_resizer *r, int32_t channels, int32_t in_height, int32_t in_width, float *out,
                                int32_t out_height, int32_t out_width);

/** Whether source row y (rows arrive in order) is used by an output row; unused rows need not be
 *  converted to floats at all. */
int adn_row_resizer_wants(const adn_row_resizer *r, int32_t y);

/** Source row y (C planes of in_width floats, plane c at row + c * in_width), given only when
 *  adn_row_resizer_wants(y); makes every output row that it completes. */
void adn_row_resizer_push(adn_row_resizer *r, int32_t y, const float *row);

/** 1 once every output row has been made. */
int adn_row_resizer_done(const adn_row_resizer *r);

void adn_row_resizer_free(adn_row_resizer *r);

#endif
