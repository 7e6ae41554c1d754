/* JPEG reading and writing with libjpeg(-turbo).
 *
 * libjpeg reports fatal errors through error_exit, which must not return: ours longjmps back to a
 * setjmp in a small "guarded" function.  As in png_io.c, all state that must survive the jump
 * lives in a context struct owned by the caller of that function, which cleans up on both paths.
 * Nothing is ever printed: output_message is silenced and messages go to adn_fail. */
#include "image_codecs.h"

#include <jpeglib.h>
#include <jerror.h> /* after jpeglib.h: its message list depends on jconfig.h */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct jpeg_context {
    struct jpeg_error_mgr err; /* first, so the j_common_ptr's err leads back here */
    jmp_buf jump;
    const char *path;
    uint64_t max_pixels;
    adn_raster *raster;
    adn_image_info *file_info;
    uint8_t *cmyk_row;         /* reader: one row of CMYK samples before conversion */
    adn_row_sink *sink;        /* reader: rows go here instead of a raster (NULL: a raster) */
    uint8_t *row;              /* reader with a sink: the one row buffer */
    adn_status status;         /* ADN_OK once the guarded part has finished */
    int own_failure;           /* a check of ours, not libjpeg, failed (message already set) */
    int out_of_memory;         /* libjpeg's memory manager could not allocate (JERR_OUT_OF_MEMORY) */
    char message[JMSG_LENGTH_MAX];
    struct jpeg_progress_mgr progress; /* reader: caps the number of progressive scans */
} jpeg_context;

/* A progressive JPEG may repeat tiny scans thousands of times, each costing a pass over the whole
 * image (a 2 MB file took 53 s).  Real encoders use about 10; libjpeg-turbo's own tools stop at
 * 500. */
#define ADN_JPEG_MAX_SCANS 500

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_context *ctx = (jpeg_context *)cinfo->err;
    /* Every failed malloc of libjpeg's memory manager ends here with this code. */
    if (cinfo->err->msg_code == JERR_OUT_OF_MEMORY) ctx->out_of_memory = 1;
    (*cinfo->err->format_message)(cinfo, ctx->message);
    longjmp(ctx->jump, 1);
}

static void jpeg_silent_output(j_common_ptr cinfo) { (void)cinfo; }

/* Warnings that mean entropy-coded data is missing or damaged: libjpeg would go on and fill the
 * rest of the image with grey, which for us is a corrupt or truncated file.  Other warnings
 * (extraneous bytes, unknown JFIF version, odd progression) leave the pixels intact. */
static int jpeg_warning_is_fatal(int code) {
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
#if JPEG_LIB_VERSION >= 70 || defined(C_ARITH_CODING_SUPPORTED) || defined(D_ARITH_CODING_SUPPORTED)
    case JWRN_ARITH_BAD_CODE:
#endif
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
        return 1;
    default:
        return 0;
    }
}

static void jpeg_emit_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level >= 0 || !jpeg_warning_is_fatal(cinfo->err->msg_code)) return; /* trace or benign */
    jpeg_error_exit(cinfo);
}

static void jpeg_install_errors(jpeg_context *ctx) {
    jpeg_std_error(&ctx->err);
    ctx->err.error_exit = jpeg_error_exit;
    ctx->err.output_message = jpeg_silent_output;
    ctx->err.emit_message = jpeg_emit_message;
}

static void jpeg_fail_inside(jpeg_context *ctx, adn_status status) {
    ctx->status = status;
    ctx->own_failure = 1;
    longjmp(ctx->jump, 1);
}

static void jpeg_scan_limit(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (!cinfo->is_decompressor || d->input_scan_number <= ADN_JPEG_MAX_SCANS) return;
    jpeg_context *ctx = (jpeg_context *)cinfo->err;
    adn_fail(ADN_ERR_FORMAT, "cannot read JPEG '%s': more than %d progressive scans", ctx->path, ADN_JPEG_MAX_SCANS);
    jpeg_fail_inside(ctx, ADN_ERR_FORMAT);
}

/* CMYK -> RGB with the multiplicative model R = (1 - C)(1 - K) in ink fractions.
 *
 * Adobe convention: Photoshop (and Pillow, ImageMagick, ...) store CMYK/YCCK JPEGs inverted, 255 =
 * no ink, and mark them with an Adobe APP14 segment; then R = C * K / 255 on the stored values.
 * A CMYK JPEG without that segment is taken to hold plain ink amounts, R = (255 - C)(255 - K) / 255.
 * libjpeg itself never inverts; its jpeg_set_colorspace(JCS_CMYK) does write the Adobe segment, so
 * files made that way must hold inverted values to be read as meant by everyone else. */
static void cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int32_t width, int adobe_inverted) {
    for (int32_t x = 0; x < width; ++x) {
        const uint8_t *s = cmyk + (size_t)x * 4;
        unsigned k = adobe_inverted ? s[3] : 255u - s[3];
        for (int c = 0; c < 3; ++c) {
            unsigned v = adobe_inverted ? s[c] : 255u - s[c];
            rgb[(size_t)x * 3 + (size_t)c] = (uint8_t)((v * k + 127u) / 255u);
        }
    }
}

static J_COLOR_SPACE jpeg_output_space(J_COLOR_SPACE file_space) {
    switch (file_space) {
    case JCS_GRAYSCALE: return JCS_GRAYSCALE;
    case JCS_CMYK:
    case JCS_YCCK: return JCS_CMYK; /* libjpeg undoes YCCK -> CMYK; we do CMYK -> RGB */
    default: return JCS_RGB;
    }
}

static void jpeg_read_pixels(jpeg_context *ctx, struct jpeg_decompress_struct *cinfo) {
    adn_raster *r = ctx->raster;
    const size_t row_bytes = adn_raster_row_bytes(r);
    const int is_cmyk = cinfo->out_color_space == JCS_CMYK;
    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t *dst = r->data + (size_t)cinfo->output_scanline * row_bytes;
        JSAMPROW row = is_cmyk ? ctx->cmyk_row : dst;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            adn_fail(ADN_ERR_FORMAT, "cannot read JPEG '%s': decoder returned no scanline", ctx->path);
            jpeg_fail_inside(ctx, ADN_ERR_FORMAT);
        }
        if (is_cmyk) cmyk_row_to_rgb(ctx->cmyk_row, dst, r->width, cinfo->saw_Adobe_marker);
    }
}

/* The pixels one row at a time into ctx->sink: one row in memory (plus libjpeg's own buffers). */
static void jpeg_read_into_sink(jpeg_context *ctx, struct jpeg_decompress_struct *cinfo, int channels) {
    const adn_raster layout = {.width = (int32_t)cinfo->output_width, .height = (int32_t)cinfo->output_height,
                               .channels = channels, .bit_depth = 8};
    adn_status st = adn_row_sink_start(ctx->sink, layout.width, layout.height, channels, 8);
    if (st == ADN_OK) {
        ctx->row = malloc(adn_raster_row_bytes(&layout));
        if (!ctx->row) st = adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a JPEG row for '%s'", ctx->path);
    }
    if (st != ADN_OK) jpeg_fail_inside(ctx, st);
    const int is_cmyk = cinfo->out_color_space == JCS_CMYK;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = is_cmyk ? ctx->cmyk_row : ctx->row;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            adn_fail(ADN_ERR_FORMAT, "cannot read JPEG '%s': decoder returned no scanline", ctx->path);
            jpeg_fail_inside(ctx, ADN_ERR_FORMAT);
        }
        if (is_cmyk) cmyk_row_to_rgb(ctx->cmyk_row, ctx->row, layout.width, cinfo->saw_Adobe_marker);
        st = adn_row_sink_row(ctx->sink, ctx->row);
        if (st != ADN_OK) jpeg_fail_inside(ctx, st);
    }
}

/* With a sink: tells it the file's size (it checks the result's), then, where it allows decoder
 * scaling, sets libjpeg's DCT scaling to n/8 with the smallest n whose output (each side rounded
 * up, as libjpeg does) is at least what it needs; otherwise n = 8, the full size. */
static void jpeg_choose_scale(jpeg_context *ctx, struct jpeg_decompress_struct *cinfo) {
    int32_t need_width = 0, need_height = 0;
    adn_status st = adn_row_sink_size(ctx->sink, (int32_t)cinfo->image_width, (int32_t)cinfo->image_height,
                                      &need_width, &need_height);
    if (st != ADN_OK) jpeg_fail_inside(ctx, st);
    for (unsigned n = 1; n <= 8; ++n) {
        const uint64_t w = ((uint64_t)cinfo->image_width * n + 7) / 8, h = ((uint64_t)cinfo->image_height * n + 7) / 8;
        if (w >= (uint64_t)need_width && h >= (uint64_t)need_height) {
            cinfo->scale_num = n;
            cinfo->scale_denom = 8;
            return;
        }
    }
}

static void jpeg_read_guarded(jpeg_context *ctx, struct jpeg_decompress_struct *cinfo, FILE *file) {
    if (setjmp(ctx->jump)) return;
    jpeg_create_decompress(cinfo);
    ctx->progress.progress_monitor = jpeg_scan_limit;
    cinfo->progress = &ctx->progress;
    jpeg_stdio_src(cinfo, file);
    jpeg_read_header(cinfo, TRUE);
    adn_status st = adn_check_header_size(ctx->path, cinfo->image_width, cinfo->image_height, ctx->max_pixels);
    if (st != ADN_OK) jpeg_fail_inside(ctx, st);

    const int file_channels = cinfo->num_components;
    cinfo->out_color_space = jpeg_output_space(cinfo->jpeg_color_space);
    if (ctx->sink) jpeg_choose_scale(ctx, cinfo);
    jpeg_start_decompress(cinfo);
    const int channels = cinfo->out_color_space == JCS_GRAYSCALE ? 1 : 3;
    if (cinfo->output_components != (cinfo->out_color_space == JCS_CMYK ? 4 : channels)) {
        adn_fail(ADN_ERR_FORMAT, "cannot read JPEG '%s': unexpected %d output components", ctx->path,
                 cinfo->output_components);
        jpeg_fail_inside(ctx, ADN_ERR_FORMAT);
    }
    st = ctx->sink ? ADN_OK
                   : adn_raster_alloc(ctx->raster, (int32_t)cinfo->output_width, (int32_t)cinfo->output_height,
                                      channels, 8);
    if (st == ADN_OK && cinfo->out_color_space == JCS_CMYK) {
        ctx->cmyk_row = malloc((size_t)cinfo->output_width * 4);
        if (!ctx->cmyk_row) st = adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a JPEG row for '%s'", ctx->path);
    }
    if (st != ADN_OK) jpeg_fail_inside(ctx, st);
    if (ctx->sink)
        jpeg_read_into_sink(ctx, cinfo, channels);
    else
        jpeg_read_pixels(ctx, cinfo);
    jpeg_finish_decompress(cinfo);

    *ctx->file_info = (adn_image_info){
        .struct_size = sizeof(adn_image_info),
        .format = ADN_FORMAT_JPEG,
        .width = (int32_t)cinfo->image_width, /* the file's size, also when decoded scaled */
        .height = (int32_t)cinfo->image_height,
        .bit_depth = 8,
        .file_channels = file_channels,
        .has_alpha = 0,
    };
    ctx->status = ADN_OK;
}

adn_status adn_jpeg_read(FILE *file, const char *path, uint64_t max_pixels, adn_row_sink *sink, adn_raster *out,
                         adn_image_info *info) {
    struct jpeg_decompress_struct cinfo;
    jpeg_context ctx = {.path = path, .max_pixels = max_pixels, .raster = out, .sink = sink, .file_info = info,
                        .status = ADN_ERR_FORMAT};
    memset(&cinfo, 0, sizeof cinfo);
    jpeg_install_errors(&ctx);
    cinfo.err = &ctx.err;
    jpeg_read_guarded(&ctx, &cinfo, file);
    jpeg_destroy_decompress(&cinfo);
    free(ctx.cmyk_row);
    free(ctx.row);
    if (ctx.status == ADN_OK) return ADN_OK;
    adn_raster_free(out);
    if (ctx.own_failure) return ctx.status;
    if (ctx.out_of_memory) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot read JPEG '%s': %s", path, ctx.message);
    return adn_fail(ADN_ERR_FORMAT, "cannot read JPEG '%s': %s", path, ctx.message);
}

static void jpeg_write_guarded(jpeg_context *ctx, struct jpeg_compress_struct *cinfo, FILE *file, int quality) {
    if (setjmp(ctx->jump)) return;
    const adn_raster *r = ctx->raster;
    jpeg_create_compress(cinfo);
    jpeg_stdio_dest(cinfo, file);
    cinfo->image_width = (JDIMENSION)r->width;
    cinfo->image_height = (JDIMENSION)r->height;
    cinfo->input_components = r->channels;
    cinfo->in_color_space = r->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(cinfo);
    jpeg_set_quality(cinfo, quality, TRUE);
    /* Asking for 90 or more means asking for fidelity: keep full chroma resolution (4:4:4) there
     * instead of libjpeg's default 4:2:0, which blurs colour edges whatever the quality. */
    if (quality >= 90)
        for (int c = 0; c < cinfo->num_components; ++c)
            cinfo->comp_info[c].h_samp_factor = cinfo->comp_info[c].v_samp_factor = 1;
    cinfo->optimize_coding = TRUE;
    jpeg_start_compress(cinfo, TRUE);
    const size_t row_bytes = adn_raster_row_bytes(r);
    while (cinfo->next_scanline < cinfo->image_height) {
        JSAMPROW row = r->data + (size_t)cinfo->next_scanline * row_bytes; /* libjpeg only reads it */
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
    ctx->status = ADN_OK;
}

adn_status adn_jpeg_write(FILE *file, const char *path, const adn_raster *in, int quality) {
    if ((in->channels != 1 && in->channels != 3) || in->bit_depth != 8)
        return adn_fail(ADN_ERR_INTERNAL, "JPEG writer got %d channels at %d bits", (int)in->channels,
                        (int)in->bit_depth);
    if (in->width > JPEG_MAX_DIMENSION || in->height > JPEG_MAX_DIMENSION)
        return adn_fail(ADN_ERR_TOO_LARGE, "cannot write JPEG '%s': %dx%d exceeds the format's %d pixels per side", path,
                        (int)in->width, (int)in->height, (int)JPEG_MAX_DIMENSION);
    struct jpeg_compress_struct cinfo;
    jpeg_context ctx = {.path = path, .raster = (adn_raster *)in, .status = ADN_ERR_IO};
    memset(&cinfo, 0, sizeof cinfo);
    jpeg_install_errors(&ctx);
    cinfo.err = &ctx.err;
    jpeg_write_guarded(&ctx, &cinfo, file, quality);
    jpeg_destroy_compress(&cinfo);
    if (ctx.status != ADN_OK && ctx.out_of_memory)
        return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot write JPEG '%s': %s", path, ctx.message);
    if (ctx.status != ADN_OK) return adn_fail(ADN_ERR_IO, "cannot write JPEG '%s': %s", path, ctx.message);
    return ADN_OK;
}
