/* y4m.c — YUV4MPEG2 parsing, writing and BT.601 colour conversion (see y4m.h). */
#include "y4m.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* BT.601 luma weights; the chroma scales follow from them (2 (1 - Kb), 2 (1 - Kr)). */
#define KR 0.299f
#define KB 0.114f
#define KG (1.0f - KR - KB)
#define CB_SCALE (2.0f * (1.0f - KB))
#define CR_SCALE (2.0f * (1.0f - KR))

static void set_error(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

/* ----------------------------------------------------------------------------------------------
 * Header
 * -------------------------------------------------------------------------------------------- */

/* Reads one '\n'-terminated line (kept, with its '\n').  Returns its length, 0 if the stream ended
 * before any byte, -1 if it ended inside the line, -2 if the line is longer than the buffer. */
static long read_line(FILE *in, char *line, size_t size)
{
    size_t n = 0;
    int c;
    while ((c = getc(in)) != EOF) {
        if (n + 2 > size)
            return -2;
        line[n++] = (char)c;
        if (c == '\n') {
            line[n] = '\0';
            return (long)n;
        }
    }
    line[n] = '\0';
    return n == 0 ? 0 : -1;
}

/* Parses a decimal size token such as "640" into 1..Y4M_MAX_SIDE. */
static int parse_side(const char *text, int32_t *out)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || value < 1 || value > Y4M_MAX_SIDE)
        return -1;
    *out = (int32_t)value;
    return 0;
}

static int parse_chroma(const char *tag, y4m_chroma *out)
{
    static const struct { const char *tag; y4m_chroma chroma; } known[] = {
        {"420jpeg", Y4M_CHROMA_420JPEG},  {"420", Y4M_CHROMA_420JPEG},
        {"420mpeg2", Y4M_CHROMA_420MPEG2}, {"420paldv", Y4M_CHROMA_420PALDV},
        {"444", Y4M_CHROMA_444},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(tag, known[i].tag) == 0) {
            *out = known[i].chroma;
            return 0;
        }
    }
    return -1;
}

/* "num:den" with both parts in 0..2^31-1 into *num, *den; anything else leaves 0:0 (the tag still
 * reaches the output unchanged with the header, so an odd one costs nothing but the --stats line). */
static void parse_ratio(const char *text, int32_t *num, int32_t *den)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (end == text || *end != ':' || errno != 0 || n < 0 || n > INT32_MAX)
        return;
    const char *rest = end + 1;
    long d = strtol(rest, &end, 10);
    if (end == rest || *end != '\0' || errno != 0 || d < 0 || d > INT32_MAX)
        return;
    *num = (int32_t)n;
    *den = (int32_t)d;
}

/* Applies one header token.  Readers must ignore tags they do not know, so I (interlace) and
 * unknown X tags are accepted as they are; F (rate) and A (aspect) are read for the record.  All
 * reach the output with the header. */
static int apply_token(y4m_header *h, char *token, int *seen_w, int *seen_h, char *err, size_t err_size)
{
    switch (token[0]) {
    case 'W':
        if (parse_side(token + 1, &h->width) != 0) {
            set_error(err, err_size, "bad Y4M header: width '%s' is not a number in 1..%d", token + 1, Y4M_MAX_SIDE);
            return -1;
        }
        *seen_w = 1;
        return 0;
    case 'H':
        if (parse_side(token + 1, &h->height) != 0) {
            set_error(err, err_size, "bad Y4M header: height '%s' is not a number in 1..%d", token + 1, Y4M_MAX_SIDE);
            return -1;
        }
        *seen_h = 1;
        return 0;
    case 'C':
        if (parse_chroma(token + 1, &h->chroma) != 0) {
            set_error(err, err_size, "unsupported Y4M colourspace 'C%s' (supported: 8-bit C420jpeg, "
                      "C420mpeg2, C420paldv, C420, C444)", token + 1);
            return -1;
        }
        return 0;
    case 'F':
        parse_ratio(token + 1, &h->rate_num, &h->rate_den);
        return 0;
    case 'A':
        parse_ratio(token + 1, &h->aspect_num, &h->aspect_den);
        return 0;
    case 'X':
        if (strcmp(token, "XCOLORRANGE=FULL") == 0 || strcmp(token, "X-COLORRANGE=FULL") == 0)
            h->full_range = 1;
        else if (strcmp(token, "XCOLORRANGE=LIMITED") == 0 || strcmp(token, "X-COLORRANGE=LIMITED") == 0)
            h->full_range = 0;
        return 0;
    default:
        return 0;
    }
}

int y4m_read_header(FILE *in, y4m_header *h, char *err, size_t err_size)
{
    memset(h, 0, sizeof *h);
    h->chroma = Y4M_CHROMA_420JPEG;
    long n = read_line(in, h->line, sizeof h->line);
    if (n == 0) {
        set_error(err, err_size, "empty input: no Y4M header");
        return -1;
    }
    if (n < 0) {
        set_error(err, err_size, n == -2 ? "bad Y4M header: line longer than %d bytes"
                                         : "bad Y4M header: input ends inside the header line",
                  Y4M_MAX_LINE);
        return -1;
    }
    h->line_length = (size_t)n;
    if (strncmp(h->line, "YUV4MPEG2", 9) != 0 || (h->line[9] != ' ' && h->line[9] != '\n')) {
        set_error(err, err_size, "not a Y4M stream: the header does not start with 'YUV4MPEG2 '");
        return -1;
    }
    char tokens[Y4M_MAX_LINE];
    memcpy(tokens, h->line + 9, (size_t)n - 9 + 1);
    int seen_w = 0, seen_h = 0;
    for (char *save = NULL, *t = strtok_r(tokens, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
        if (apply_token(h, t, &seen_w, &seen_h, err, err_size) != 0)
            return -1;
    }
    if (!seen_w || !seen_h) {
        set_error(err, err_size, "bad Y4M header: no %s tag", seen_w ? "H (height)" : "W (width)");
        return -1;
    }
    if ((int64_t)h->width * h->height > Y4M_MAX_PIXELS) {
        set_error(err, err_size, "Y4M frame %dx%d is larger than the limit of %lld pixels", h->width,
                  h->height, (long long)Y4M_MAX_PIXELS);
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------------------------------------------
 * Frames
 * -------------------------------------------------------------------------------------------- */

int y4m_frame_alloc(const y4m_header *h, y4m_frame *f)
{
    memset(f, 0, sizeof *f);
    int subsampled = h->chroma != Y4M_CHROMA_444;
    f->plane_width[0] = h->width;
    f->plane_height[0] = h->height;
    for (int p = 1; p < 3; p++) {
        f->plane_width[p] = subsampled ? (h->width + 1) / 2 : h->width;
        f->plane_height[p] = subsampled ? (h->height + 1) / 2 : h->height;
    }
    size_t offset[3];
    f->size = 0;
    for (int p = 0; p < 3; p++) {
        offset[p] = f->size;
        f->size += (size_t)f->plane_width[p] * (size_t)f->plane_height[p];
    }
    f->buffer = malloc(f->size);
    if (!f->buffer)
        return -1;
    for (int p = 0; p < 3; p++)
        f->plane[p] = f->buffer + offset[p];
    return 0;
}

void y4m_frame_free(y4m_frame *f)
{
    if (!f)
        return;
    free(f->buffer);
    memset(f, 0, sizeof *f);
}

int y4m_read_frame(FILE *in, y4m_frame *f, char *err, size_t err_size)
{
    char line[Y4M_MAX_LINE];
    long n = read_line(in, line, sizeof line);
    if (n == 0)
        return 0;
    if (n < 0) {
        set_error(err, err_size, n == -2 ? "bad frame header (longer than %d bytes)"
                                         : "truncated frame header", Y4M_MAX_LINE);
        return -1;
    }
    if (strncmp(line, "FRAME", 5) != 0 || (line[5] != ' ' && line[5] != '\n')) {
        set_error(err, err_size, "bad frame header (expected 'FRAME')");
        return -1;
    }
    size_t got = fread(f->buffer, 1, f->size, in);
    if (got != f->size) {
        set_error(err, err_size, "truncated frame data (%zu of %zu bytes)", got, f->size);
        return -1;
    }
    return 1;
}

int y4m_write_header(FILE *out, const y4m_header *h)
{
    return fwrite(h->line, 1, h->line_length, out) == h->line_length ? 0 : -1;
}

int y4m_write_frame(FILE *out, const y4m_frame *f)
{
    if (fputs("FRAME\n", out) == EOF || fwrite(f->buffer, 1, f->size, out) != f->size)
        return -1;
    /* Flush each frame so that whatever happens later, the output ends on a frame boundary. */
    return fflush(out) == 0 ? 0 : -1;
}

double y4m_frame_mean_abs_difference(const y4m_frame *a, const y4m_frame *b)
{
    uint64_t sum = 0; /* exact: at most 255 per sample, 3 x 2^28 samples */
    for (size_t i = 0; i < a->size; i++)
        sum += (uint64_t)abs((int)a->buffer[i] - (int)b->buffer[i]);
    return a->size ? (double)sum / (double)a->size : 0.0;
}

/* ----------------------------------------------------------------------------------------------
 * Colour conversion
 * -------------------------------------------------------------------------------------------- */

/* Whether chroma samples sit on even luma columns / rows (co-sited) or between two (centred). */
static void chroma_siting(y4m_chroma chroma, int *h_cosited, int *v_cosited)
{
    *h_cosited = chroma == Y4M_CHROMA_420MPEG2 || chroma == Y4M_CHROMA_420PALDV;
    *v_cosited = chroma == Y4M_CHROMA_420PALDV;
}

/* Bilinear source position on a half-resolution axis for full-resolution index i. */
static void upsample_taps(int32_t i, int cosited, int32_t n_half, int32_t *i0, int32_t *i1, float *w1)
{
    float u = ((float)i - (cosited ? 0.0f : 0.5f)) * 0.5f;
    float fl = floorf(u);
    *w1 = u - fl;
    int32_t a = (int32_t)fl;
    int32_t b = a + 1;
    *i0 = a < 0 ? 0 : (a >= n_half ? n_half - 1 : a);
    *i1 = b < 0 ? 0 : (b >= n_half ? n_half - 1 : b);
}

/* Chroma plane p of the frame at full resolution (x, y), bilinear between chroma samples. */
static float chroma_at(const y4m_frame *f, int p, const y4m_header *h, int32_t x, int32_t y)
{
    int32_t cw = f->plane_width[p], chh = f->plane_height[p];
    const uint8_t *plane = f->plane[p];
    if (h->chroma == Y4M_CHROMA_444)
        return plane[(size_t)y * cw + x];
    int hc, vc;
    chroma_siting(h->chroma, &hc, &vc);
    int32_t x0, x1, y0, y1;
    float wx, wy;
    upsample_taps(x, hc, cw, &x0, &x1, &wx);
    upsample_taps(y, vc, chh, &y0, &y1, &wy);
    float top = (1 - wx) * plane[(size_t)y0 * cw + x0] + wx * plane[(size_t)y0 * cw + x1];
    float bottom = (1 - wx) * plane[(size_t)y1 * cw + x0] + wx * plane[(size_t)y1 * cw + x1];
    return (1 - wy) * top + wy * bottom;
}

void y4m_frame_to_rgb(const y4m_header *h, const y4m_frame *f, float *rgb)
{
    const float y_off = h->full_range ? 0.0f : 16.0f;
    const float y_scale = h->full_range ? 255.0f : 219.0f;
    const float c_scale = h->full_range ? 255.0f : 224.0f;
    const size_t plane_size = (size_t)h->width * h->height;
    for (int32_t y = 0; y < h->height; y++) {
        for (int32_t x = 0; x < h->width; x++) {
            size_t i = (size_t)y * h->width + x;
            float luma = ((float)f->plane[0][i] - y_off) / y_scale;
            float pb = (chroma_at(f, 1, h, x, y) - 128.0f) / c_scale;
            float pr = (chroma_at(f, 2, h, x, y) - 128.0f) / c_scale;
            float r = luma + CR_SCALE * pr;
            float b = luma + CB_SCALE * pb;
            rgb[i] = r;
            rgb[plane_size + i] = (luma - KR * r - KB * b) / KG;
            rgb[2 * plane_size + i] = b;
        }
    }
}

static uint8_t to_code(float v)
{
    float r = roundf(v);
    return r <= 0.0f ? 0 : (r >= 255.0f ? 255 : (uint8_t)r);
}

/* Weight of full-resolution index i in half-resolution sample j: centred samples average the two
 * pixels they sit between, co-sited ones take [1 2 1] / 4 around their own pixel. */
static float downsample_sample(const float *line, size_t step, int32_t n_full, int32_t j, int cosited)
{
    int32_t c = 2 * j;
    int32_t next = c + 1 < n_full ? c + 1 : n_full - 1;
    if (!cosited)
        return 0.5f * (line[(size_t)c * step] + line[(size_t)next * step]);
    int32_t prev = c > 0 ? c - 1 : 0;
    return 0.25f * line[(size_t)prev * step] + 0.5f * line[(size_t)c * step] + 0.25f * line[(size_t)next * step];
}

/* Brings a full-resolution chroma plane (W x H floats, codes) to the frame's chroma plane p. */
static void store_chroma(const y4m_header *h, const float *full, float *half_rows, y4m_frame *f, int p)
{
    int32_t w = h->width, hh = h->height, cw = f->plane_width[p], chh = f->plane_height[p];
    if (h->chroma == Y4M_CHROMA_444) {
        for (size_t i = 0; i < (size_t)w * hh; i++)
            f->plane[p][i] = to_code(full[i]);
        return;
    }
    int hc, vc;
    chroma_siting(h->chroma, &hc, &vc);
    for (int32_t y = 0; y < hh; y++)          /* horizontal: W x H -> cw x H */
        for (int32_t j = 0; j < cw; j++)
            half_rows[(size_t)y * cw + j] = downsample_sample(full + (size_t)y * w, 1, w, j, hc);
    for (int32_t i = 0; i < chh; i++)         /* vertical: cw x H -> cw x ch */
        for (int32_t j = 0; j < cw; j++)
            f->plane[p][(size_t)i * cw + j] = to_code(downsample_sample(half_rows + j, (size_t)cw, hh, i, vc));
}

int y4m_rgb_to_frame(const y4m_header *h, const float *rgb, y4m_frame *f)
{
    const float y_off = h->full_range ? 0.0f : 16.0f;
    const float y_scale = h->full_range ? 255.0f : 219.0f;
    const float c_scale = h->full_range ? 255.0f : 224.0f;
    const size_t n = (size_t)h->width * h->height;
    float *cb = malloc(sizeof(float) * n * 3);
    if (!cb)
        return -1;
    float *cr = cb + n, *scratch = cb + 2 * n;
    for (size_t i = 0; i < n; i++) {
        float r = rgb[i], g = rgb[n + i], b = rgb[2 * n + i];
        float luma = KR * r + KG * g + KB * b;
        f->plane[0][i] = to_code(y_off + y_scale * luma);
        cb[i] = 128.0f + c_scale * (b - luma) / CB_SCALE;
        cr[i] = 128.0f + c_scale * (r - luma) / CR_SCALE;
    }
    store_chroma(h, cb, scratch, f, 1);
    store_chroma(h, cr, scratch, f, 2);
    free(cb);
    return 0;
}
