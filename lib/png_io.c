/* PNG reading and writing with libpng.
 *
 * libpng reports errors by calling an error function that must not return; we longjmp back to a
 * setjmp in a small "guarded" function.  Everything that has to survive the jump (libpng structs,
 * our buffers) lives in a context struct owned by the caller of the guarded function, so no local
 * variable of the function containing setjmp changes after setjmp (C11 7.13.2.1), and the caller
 * frees everything on both paths.  Our handlers never print: messages go to adn_fail. */
#include "image_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define PNG_MESSAGE_MAX 200

/* libpng caches ancillary chunks and decompresses zTXt/iTXt/iCCP into memory; these caps keep a
 * small hostile file from making it allocate much (the pixel buffer is bounded by max_pixels). */
#define PNG_CHUNK_MALLOC_MAX ((png_alloc_size_t)8 << 20)
#define PNG_CHUNK_CACHE_MAX 256

typedef struct png_context {
    png_structp png;
    png_infop info;
    FILE *file;
    const char *path;
    uint64_t max_pixels;
    adn_raster *raster;        /* reader: the output; writer: the input */
    png_bytep *rows;           /* row pointers into raster->data */
    adn_row_sink *sink;        /* reader: rows go here instead of a raster (NULL: a raster) */
    png_bytep row;             /* reader with a sink: the one row buffer */
    adn_image_info *file_info; /* reader only */
    adn_status status;         /* ADN_OK once the guarded part has finished */
    int own_failure;           /* a check of ours, not libpng, failed (message already set) */
    int truncated;             /* the file ended before libpng had what it needed */
    int over_user_limit;       /* libpng refused a width/height above png_set_user_limits */
    int out_of_memory;         /* an allocation of libpng's (or zlib's, through libpng) failed */
    char error[PNG_MESSAGE_MAX];
    char warning[PNG_MESSAGE_MAX];
} png_context;

static void copy_message(char *dst, const char *src) {
    snprintf(dst, PNG_MESSAGE_MAX, "%s", src ? src : "unknown libpng error");
}

static void png_error_handler(png_structp png, png_const_charp message) {
    png_context *ctx = png_get_error_ptr(png);
    copy_message(ctx->error, message);
    png_longjmp(png, 1);
}

/* Warnings are kept (the last one often explains a following "Invalid IHDR data") but never
 * printed. */
static void png_warning_handler(png_structp png, png_const_charp message) {
    png_context *ctx = png_get_error_ptr(png);
    copy_message(ctx->warning, message);
    if (message && strstr(message, "exceeds user limit")) ctx->over_user_limit = 1;
}

/* libpng's and zlib's allocations come here, so that a failed one is known for what it is: libpng
 * reports it with messages that vary by site ("Out of memory", "IDAT: insufficient memory", ...). */
static png_voidp png_malloc_hook(png_structp png, png_alloc_size_t size) {
    png_voidp p = malloc(size);
    if (!p) {
        png_context *ctx = png_get_mem_ptr(png);
        if (ctx) ctx->out_of_memory = 1;
    }
    return p;
}

static void png_free_hook(png_structp png, png_voidp p) {
    (void)png;
    free(p);
}

/* Our own read function so that a short file is reported as truncation, not "Read Error". */
static void png_read_from_file(png_structp png, png_bytep data, size_t length) {
    png_context *ctx = png_get_io_ptr(png);
    if (fread(data, 1, length, ctx->file) != length) {
        ctx->truncated = !ferror(ctx->file);
        png_error(png, ctx->truncated ? "file is truncated" : "read error");
    }
}

static void png_write_to_file(png_structp png, png_bytep data, size_t length) {
    png_context *ctx = png_get_io_ptr(png);
    if (fwrite(data, 1, length, ctx->file) != length) png_error(png, "write error");
}

static void png_flush_file(png_structp png) {
    png_context *ctx = png_get_io_ptr(png);
    if (fflush(ctx->file) != 0) png_error(png, "write error");
}

/* Fails the current libpng call with one of our statuses (we are inside the guarded region). */
static void png_fail_inside(png_context *ctx, adn_status status) {
    ctx->status = status;
    ctx->own_failure = 1;
    png_longjmp(ctx->png, 1);
}

static adn_status png_setup_rows(png_context *ctx) {
    adn_raster *r = ctx->raster;
    ctx->rows = malloc((size_t)r->height * sizeof *ctx->rows);
    if (!ctx->rows) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate PNG row table for '%s'", ctx->path);
    const size_t row_bytes = adn_raster_row_bytes(r);
    for (int32_t y = 0; y < r->height; ++y) ctx->rows[y] = r->data + (size_t)y * row_bytes;
    return ADN_OK;
}

static void png_limit_reader(png_context *ctx) {
    /* No dimension may exceed the pixel budget on its own (the other is >= 1), and PNG caps both
     * at 2^31 - 1.  The product is checked by adn_check_header_size once the header is read. */
    uint64_t dim_max = ctx->max_pixels < PNG_UINT_31_MAX ? ctx->max_pixels : PNG_UINT_31_MAX;
    png_set_user_limits(ctx->png, (png_uint_32)dim_max, (png_uint_32)dim_max);
    png_set_chunk_malloc_max(ctx->png, PNG_CHUNK_MALLOC_MAX);
    /* libpng only warns about a bad CRC in an ancillary chunk (tRNS, gAMA, ...) and drops the
     * chunk, which would silently lose transparency: any CRC error makes the file corrupt. */
    png_set_crc_action(ctx->png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_set_chunk_cache_max(ctx->png, PNG_CHUNK_CACHE_MAX);
#ifdef PNG_HANDLE_AS_UNKNOWN_SUPPORTED
    /* Text and ICC profiles are not used: skipping them avoids decompressing them at all. */
    static const png_byte ignored[] = "zTXt\0iTXt\0tEXt\0iCCP";
    png_set_keep_unknown_chunks(ctx->png, PNG_HANDLE_CHUNK_NEVER, ignored, 4);
#endif
}

/* The pixels into a whole raster (ctx->raster). */
static void png_read_whole(png_context *ctx, const adn_raster *layout) {
    adn_status st = adn_raster_alloc(ctx->raster, layout->width, layout->height, layout->channels, layout->bit_depth);
    if (st == ADN_OK) st = png_setup_rows(ctx);
    if (st != ADN_OK) png_fail_inside(ctx, st);
    png_read_image(ctx->png, ctx->rows);
}

/* The pixels one row at a time into ctx->sink (a non-interlaced file): one row in memory. */
static void png_read_into_sink(png_context *ctx, const adn_raster *layout) {
    adn_status st = adn_row_sink_start(ctx->sink, layout->width, layout->height, layout->channels, layout->bit_depth);
    if (st == ADN_OK) {
        ctx->row = malloc(adn_raster_row_bytes(layout));
        if (!ctx->row) st = adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate a PNG row for '%s'", ctx->path);
    }
    if (st != ADN_OK) png_fail_inside(ctx, st);
    for (int32_t y = 0; y < layout->height; ++y) {
        png_read_row(ctx->png, ctx->row, NULL);
        st = adn_row_sink_row(ctx->sink, ctx->row);
        if (st != ADN_OK) png_fail_inside(ctx, st);
    }
}

/* Everything between png_read_info and png_read_end.  Samples are left as stored: no gamma or
 * colour-profile correction (depth maps and network inputs want the file's numbers). */
static void png_read_guarded(png_context *ctx) {
    if (setjmp(png_jmpbuf(ctx->png))) return;
    png_set_read_fn(ctx->png, ctx, png_read_from_file);
    png_limit_reader(ctx);
    png_read_info(ctx->png, ctx->info);

    png_uint_32 width = png_get_image_width(ctx->png, ctx->info);
    png_uint_32 height = png_get_image_height(ctx->png, ctx->info);
    adn_status st = adn_check_header_size(ctx->path, width, height, ctx->max_pixels);
    if (st != ADN_OK) png_fail_inside(ctx, st);
    const int file_depth = png_get_bit_depth(ctx->png, ctx->info);
    const int has_trns = png_get_valid(ctx->png, ctx->info, PNG_INFO_tRNS) != 0;

    /* Palette -> RGB, grey below 8 bits -> 8 bits (scaled, so 1-bit white is 255), tRNS -> alpha.
     * 16-bit samples stay 16-bit and big-endian. */
    png_set_expand(ctx->png);
    const int passes = png_set_interlace_handling(ctx->png);
    png_read_update_info(ctx->png, ctx->info);

    const int channels = png_get_channels(ctx->png, ctx->info);
    const int depth = png_get_bit_depth(ctx->png, ctx->info);
    if (channels < 1 || channels > 4 || (depth != 8 && depth != 16)) {
        adn_fail(ADN_ERR_FORMAT, "cannot read PNG '%s': unexpected layout (%d channels, %d bits)", ctx->path,
                 channels, depth);
        png_fail_inside(ctx, ADN_ERR_FORMAT);
    }
    const adn_raster layout = {.width = (int32_t)width, .height = (int32_t)height, .channels = channels,
                               .bit_depth = depth};
    if (png_get_rowbytes(ctx->png, ctx->info) != adn_raster_row_bytes(&layout)) {
        adn_fail(ADN_ERR_INTERNAL, "PNG '%s': libpng row size differs from the expected one", ctx->path);
        png_fail_inside(ctx, ADN_ERR_INTERNAL);
    }
    if (ctx->sink) {
        int32_t decode_width = 0, decode_height = 0; /* PNG has no scaled decoding */
        st = adn_row_sink_size(ctx->sink, (int32_t)width, (int32_t)height, &decode_width, &decode_height);
        if (st != ADN_OK) png_fail_inside(ctx, st);
    }
    /* Interlaced rows arrive in seven passes over the whole image: only a whole raster takes them. */
    if (ctx->sink && passes == 1)
        png_read_into_sink(ctx, &layout);
    else
        png_read_whole(ctx, &layout);
    /* Reads the chunks after the image too, so a file cut anywhere before IEND is refused. */
    png_read_end(ctx->png, NULL);

    *ctx->file_info = (adn_image_info){
        .struct_size = sizeof(adn_image_info),
        .format = ADN_FORMAT_PNG,
        .width = (int32_t)width,
        .height = (int32_t)height,
        .bit_depth = file_depth == 16 ? 16 : 8,
        .file_channels = channels,
        .has_alpha = channels == 2 || channels == 4 || has_trns,
    };
    ctx->status = ADN_OK;
}

/* The status and message for a failed read, once we are out of the guarded region. */
static adn_status png_read_failure(const png_context *ctx) {
    if (ctx->own_failure) return ctx->status;
    if (ctx->out_of_memory)
        return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot read PNG '%s': out of memory (%s)", ctx->path, ctx->error);
    if (ctx->over_user_limit)
        return adn_fail(ADN_ERR_TOO_LARGE, "PNG '%s' is too large: %s", ctx->path, ctx->warning);
    if (ctx->warning[0] && strcmp(ctx->error, "Invalid IHDR data") == 0)
        return adn_fail(ADN_ERR_FORMAT, "cannot read PNG '%s': %s (%s)", ctx->path, ctx->error, ctx->warning);
    return adn_fail(ADN_ERR_FORMAT, "cannot read PNG '%s': %s", ctx->path, ctx->error);
}

adn_status adn_png_read(FILE *file, const char *path, uint64_t max_pixels, adn_row_sink *sink, adn_raster *out,
                        adn_image_info *info) {
    png_context ctx = {.file = file, .path = path, .max_pixels = max_pixels, .raster = out, .sink = sink,
                       .file_info = info, .status = ADN_ERR_FORMAT};
    ctx.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, &ctx, png_error_handler, png_warning_handler, &ctx,
                                       png_malloc_hook, png_free_hook);
    if (ctx.png) ctx.info = png_create_info_struct(ctx.png);
    if (!ctx.png || !ctx.info) {
        png_destroy_read_struct(ctx.png ? &ctx.png : NULL, NULL, NULL);
        return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot create a PNG reader for '%s'", path);
    }
    png_read_guarded(&ctx);
    png_destroy_read_struct(&ctx.png, &ctx.info, NULL);
    free(ctx.rows);
    free(ctx.row);
    if (ctx.status == ADN_OK) return ADN_OK;
    adn_raster_free(out);
    return png_read_failure(&ctx);
}

static void png_write_guarded(png_context *ctx) {
    if (setjmp(png_jmpbuf(ctx->png))) return;
    const adn_raster *r = ctx->raster;
    static const int colour_types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
    png_set_write_fn(ctx->png, ctx, png_write_to_file, png_flush_file);
    png_set_IHDR(ctx->png, ctx->info, (png_uint_32)r->width, (png_uint_32)r->height, r->bit_depth,
                 colour_types[r->channels - 1], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(ctx->png, ctx->info);
    png_write_image(ctx->png, ctx->rows);
    png_write_end(ctx->png, NULL);
    ctx->status = ADN_OK;
}

adn_status adn_png_write(FILE *file, const char *path, const adn_raster *in) {
    if (in->channels < 1 || in->channels > 4 || (in->bit_depth != 8 && in->bit_depth != 16))
        return adn_fail(ADN_ERR_INTERNAL, "PNG writer got %d channels at %d bits", (int)in->channels,
                        (int)in->bit_depth);
    /* The context is shared with the reader; the writer only reads ctx.raster. */
    png_context ctx = {.file = file, .path = path, .raster = (adn_raster *)in, .status = ADN_ERR_IO};
    ctx.png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &ctx, png_error_handler, png_warning_handler, &ctx,
                                        png_malloc_hook, png_free_hook);
    if (ctx.png) ctx.info = png_create_info_struct(ctx.png);
    adn_status st = ctx.info ? png_setup_rows(&ctx)
                             : adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot create a PNG writer for '%s'", path);
    if (st == ADN_OK) png_write_guarded(&ctx);
    if (ctx.png) png_destroy_write_struct(&ctx.png, &ctx.info);
    free(ctx.rows);
    if (st != ADN_OK) return st;
    if (ctx.status != ADN_OK && ctx.out_of_memory)
        return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot write PNG '%s': out of memory (%s)", path, ctx.error);
    if (ctx.status != ADN_OK) return adn_fail(ADN_ERR_IO, "cannot write PNG '%s': %s", path, ctx.error);
    return ADN_OK;
}
