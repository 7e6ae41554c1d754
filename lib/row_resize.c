/* Bilinear resize of rows arriving in order (see row_resize.h). */
#include "row_resize.h"

#include <stdlib.h>
#include <string.h>

adn_status adn_row_resizer_init(adn_row_resizer *r, int32_t channels, int32_t in_height, int32_t in_width, float *out,
                                int32_t out_height, int32_t out_width) {
    memset(r, 0, sizeof *r);
    const size_t kept_values = (size_t)channels * (size_t)out_width;
    r->columns = malloc((size_t)out_width * sizeof *r->columns);
    r->kept[0] = malloc(kept_values * sizeof(double));
    r->kept[1] = malloc(kept_values * sizeof(double));
    if (!r->columns || !r->kept[0] || !r->kept[1]) {
        adn_row_resizer_free(r);
        return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate the rows of a %dx%d resize", (int)out_height,
                        (int)out_width);
    }
    for (int32_t x = 0; x < out_width; ++x) r->columns[x] = adn_bilinear_tap_at(x, in_width, out_width);
    r->channels = channels;
    r->in_height = in_height;
    r->in_width = in_width;
    r->out_height = out_height;
    r->out_width = out_width;
    r->out = out;
    r->kept_row[0] = r->kept_row[1] = -1;
    return ADN_OK;
}

int adn_row_resizer_wants(const adn_row_resizer *r, int32_t y) {
    /* The output rows not made yet use source rows >= y (earlier ones were complete and made), in
     * order, each at most two adjacent rows: only the first few can use y. */
    for (int32_t oy = r->next_out; oy < r->out_height; ++oy) {
        const adn_bilinear_tap t = adn_bilinear_tap_at(oy, r->in_height, r->out_height);
        if (t.i0 > y) return 0;
        if (t.i0 == y || t.i1 == y) return 1;
    }
    return 0;
}

/* The slot holding source row y (it was pushed: every used row is). */
static const double *kept_row(const adn_row_resizer *r, int32_t y) { return r->kept[r->kept_row[0] == y ? 0 : 1]; }

/* Output row oy from its two source rows, as adn_resize_bilinear computes it:
 * top and bottom across in double, then (1 - w1) top + w1 bottom, rounded to float once. */
static void make_output_row(adn_row_resizer *r, int32_t oy, adn_bilinear_tap t) {
    const double *top = kept_row(r, t.i0), *bottom = kept_row(r, t.i1);
    for (int32_t c = 0; c < r->channels; ++c) {
        const double *a = top + (size_t)c * (size_t)r->out_width, *b = bottom + (size_t)c * (size_t)r->out_width;
        float *dst = r->out + ((size_t)c * (size_t)r->out_height + (size_t)oy) * (size_t)r->out_width;
        for (int32_t x = 0; x < r->out_width; ++x) dst[x] = (float)((1 - t.w1) * a[x] + t.w1 * b[x]);
    }
}

void adn_row_resizer_push(adn_row_resizer *r, int32_t y, const float *row) {
    /* Keep the newest two rows: the slot not holding the previous push takes this one. */
    const int slot = r->kept_row[0] < r->kept_row[1] ? 0 : 1;
    double *dst = r->kept[slot];
    for (int32_t c = 0; c < r->channels; ++c) {
        const float *src = row + (size_t)c * (size_t)r->in_width;
        double *out = dst + (size_t)c * (size_t)r->out_width;
        for (int32_t x = 0; x < r->out_width; ++x) {
            const adn_bilinear_tap t = r->columns[x];
            out[x] = (1 - t.w1) * src[t.i0] + t.w1 * src[t.i1];
        }
    }
    r->kept_row[slot] = y;
    while (r->next_out < r->out_height) {
        const adn_bilinear_tap t = adn_bilinear_tap_at(r->next_out, r->in_height, r->out_height);
        if (t.i1 > y) break;
        make_output_row(r, r->next_out, t);
        r->next_out++;
    }
}

int adn_row_resizer_done(const adn_row_resizer *r) { return r->next_out == r->out_height; }

void adn_row_resizer_free(adn_row_resizer *r) {
    free(r->columns);
    free(r->kept[0]);
    free(r->kept[1]);
    memset(r, 0, sizeof *r);
}
