/* fuzz_y4m.c — libFuzzer target: the Y4M reader of examples/y4m.c (adn-video's input) on fuzzed
 * streams, through fmemopen since it reads a FILE.  Invariants: a header it accepts has sides in
 * 1..Y4M_MAX_SIDE within the pixel limit, and writing it back and reading that again gives the same
 * header; every frame it returns converts to finite RGB, and back to a frame, which written and
 * read again is a frame of the same size; an error always comes with a message. */
#define _GNU_SOURCE /* fmemopen, open_memstream */
#include "y4m.h"

#include "fuzz_check.h"

#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames up to 2^20 pixels are decoded; a header may declare up to 2^28, and allocating that for
 * each fuzzed header would only measure the allocator.  Larger headers are still parsed. */
#define FUZZ_MAX_FRAME_PIXELS ((int64_t)1 << 20)
/* Enough frames to take the frame-after-frame path; more only repeats it. */
#define FUZZ_MAX_FRAMES 4

static void check_header(const y4m_header *h) {
    FUZZ_CHECK(h->width >= 1 && h->width <= Y4M_MAX_SIDE && h->height >= 1 && h->height <= Y4M_MAX_SIDE,
               "size %dx%d", (int)h->width, (int)h->height);
    FUZZ_CHECK((int64_t)h->width * h->height <= Y4M_MAX_PIXELS, "over the pixel limit");
    FUZZ_CHECK(h->line_length >= 10 && h->line_length < Y4M_MAX_LINE && h->line[h->line_length - 1] == '\n',
               "header line of %zu bytes", h->line_length);
}

/* Writes the header and reads it back: y4m_write_header copies the line adn-video passes on. */
static void check_header_round_trip(const y4m_header *h) {
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (!out) return;
    FUZZ_CHECK(y4m_write_header(out, h) == 0, "write header");
    fclose(out);
    FILE *in = fmemopen(text, length, "rb");
    if (in) {
        y4m_header again;
        char err[256] = "";
        FUZZ_CHECK(y4m_read_header(in, &again, err, sizeof err) == 0, "re-reading the written header: %s", err);
        FUZZ_CHECK(again.width == h->width && again.height == h->height && again.chroma == h->chroma &&
                       again.full_range == h->full_range,
                   "header changed on the way through");
        fclose(in);
    }
    free(text);
}

static void check_frame(const y4m_header *h, y4m_frame *frame) {
    const size_t n = (size_t)h->width * (size_t)h->height;
    float *rgb = malloc(3 * n * sizeof *rgb);
    if (!rgb) return;
    y4m_frame_to_rgb(h, frame, rgb);
    for (size_t i = 0; i < 3 * n; ++i) FUZZ_CHECK(isfinite(rgb[i]), "RGB sample %zu is %g", i, (double)rgb[i]);
    y4m_frame back = {0};
    /* Both calls fail only when out of memory, which is not what this target looks for. */
    if (y4m_frame_alloc(h, &back) == 0 && y4m_rgb_to_frame(h, rgb, &back) == 0) {
        FUZZ_CHECK(back.size == frame->size, "frame sizes %zu and %zu", back.size, frame->size);
        char *text = NULL;
        size_t length = 0;
        FILE *out = open_memstream(&text, &length);
        if (out) {
            FUZZ_CHECK(y4m_write_frame(out, &back) == 0, "write frame");
            fclose(out);
            FUZZ_CHECK(length == frame->size + 6, "a written frame is %zu bytes, expected %zu", length,
                       frame->size + 6);
            free(text);
        }
    }
    y4m_frame_free(&back);
    free(rgb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0; /* fmemopen refuses an empty buffer */
    FILE *in = fmemopen((void *)data, size, "rb");
    if (!in) return 0;
    y4m_header h;
    char err[256] = "";
    if (y4m_read_header(in, &h, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0', "header refused without a message");
        fclose(in);
        return 0;
    }
    check_header(&h);
    check_header_round_trip(&h);
    y4m_frame frame = {0};
    if ((int64_t)h.width * h.height <= FUZZ_MAX_FRAME_PIXELS && y4m_frame_alloc(&h, &frame) == 0) {
        for (int i = 0; i < FUZZ_MAX_FRAMES; ++i) {
            err[0] = '\0';
            int got = y4m_read_frame(in, &frame, err, sizeof err);
            FUZZ_CHECK(got >= -1 && got <= 1, "y4m_read_frame returned %d", got);
            if (got < 0) FUZZ_CHECK(err[0] != '\0', "frame refused without a message");
            if (got != 1) break;
            check_frame(&h, &frame);
        }
        y4m_frame_free(&frame);
    }
    fclose(in);
    return 0;
}
