/* Image files: format detection, integer <-> float conversion, and encoding in memory for the
 * atomic, durable write of lib/atomic_write.c.  The codecs (png_io.c, jpeg_io.c) only move integer
 * samples; see image_codecs.h. */
#include "atomic_write.h"
#include "system_text.h"
#include "image_codecs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* What an adn_image may hold per channel (adn_image_alloc's limit). */
#define IMAGE_PLANE_MAX ((uint64_t)1 << 31)

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t jpeg_signature[3] = {0xff, 0xd8, 0xff};

static const adn_read_params read_defaults = {
    .struct_size = sizeof(adn_read_params), .max_pixels = ADN_DEFAULT_MAX_PIXELS, .mode = ADN_PIXELS_RGB, .raw_values = 0,
    .short_side = 0, .max_side = 0, .decoder_scaling = 0};
static const adn_write_params write_defaults = {
    .struct_size = sizeof(adn_write_params), .jpeg_quality = 95, .png_bit_depth = 8};

adn_status adn_read_params_init(adn_read_params *params, size_t struct_size) {
    return adn_struct_init(params, struct_size, &read_defaults, sizeof read_defaults, "adn_read_params");
}

adn_status adn_write_params_init(adn_write_params *params, size_t struct_size) {
    return adn_struct_init(params, struct_size, &write_defaults, sizeof write_defaults, "adn_write_params");
}

/* --- rasters ---------------------------------------------------------------------------------- */

size_t adn_raster_row_bytes(const adn_raster *r) {
    return (size_t)r->width * (size_t)r->channels * (size_t)(r->bit_depth / 8);
}

adn_status adn_check_header_size(const char *path, uint64_t width, uint64_t height, uint64_t max_pixels) {
    if (width == 0 || height == 0)
        return adn_fail(ADN_ERR_FORMAT, "'%s' declares an empty image (%llux%llu)", path,
                        (unsigned long long)width, (unsigned long long)height);
    /* Compare before multiplying: each factor below 2^32 keeps the product inside uint64. */
    const uint64_t limit = max_pixels < IMAGE_PLANE_MAX ? max_pixels : IMAGE_PLANE_MAX;
    if (width > INT32_MAX || height > INT32_MAX || width * height > limit)
        return adn_fail(ADN_ERR_TOO_LARGE, "'%s' is %llux%llu pixels, above the limit of %llu", path,
                        (unsigned long long)width, (unsigned long long)height, (unsigned long long)limit);
    return ADN_OK;
}

adn_status adn_raster_alloc(adn_raster *r, int32_t width, int32_t height, int32_t channels, int32_t bit_depth) {
    adn_raster sized = {.width = width, .height = height, .channels = channels, .bit_depth = bit_depth};
    const size_t row = adn_raster_row_bytes(&sized);
    if ((size_t)height > SIZE_MAX / row)
        return adn_fail(ADN_ERR_TOO_LARGE, "image of %dx%d pixels does not fit in memory", (int)width, (int)height);
    sized.data = malloc(row * (size_t)height);
    if (!sized.data)
        return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for image pixels", row * (size_t)height);
    *r = sized;
    return ADN_OK;
}

void adn_raster_free(adn_raster *r) {
    free(r->data);
    memset(r, 0, sizeof *r);
}

/* --- reading ---------------------------------------------------------------------------------- */

static adn_file_format sniff_format(const uint8_t *head, size_t n) {
    if (n >= sizeof png_signature && memcmp(head, png_signature, sizeof png_signature) == 0) return ADN_FORMAT_PNG;
    if (n >= sizeof jpeg_signature && memcmp(head, jpeg_signature, sizeof jpeg_signature) == 0)
        return ADN_FORMAT_JPEG;
    return ADN_FORMAT_UNKNOWN;
}

static adn_status decode_file(FILE *file, const char *path, adn_file_format format, uint64_t max_pixels,
                              adn_row_sink *sink, adn_raster *raster, adn_image_info *info) {
    (void)file, (void)max_pixels, (void)sink, (void)raster, (void)info; /* unused when a codec is left out */
    switch (format) {
    case ADN_FORMAT_PNG:
#ifdef ADN_HAVE_PNG
        return adn_png_read(file, path, max_pixels, sink, raster, info);
#else
        return adn_fail(ADN_ERR_UNSUPPORTED, "'%s' is a PNG file but this build has no PNG support", path);
#endif
    case ADN_FORMAT_JPEG:
#ifdef ADN_HAVE_JPEG
        return adn_jpeg_read(file, path, max_pixels, sink, raster, info);
#else
        return adn_fail(ADN_ERR_UNSUPPORTED, "'%s' is a JPEG file but this build has no JPEG support", path);
#endif
    default:
        return adn_fail(ADN_ERR_FORMAT, "'%s' is neither a PNG nor a JPEG file (unknown signature)", path);
    }
}

/* Recognises the signature of an open file and decodes it into *raster, or row by row into sink
 * when it is not NULL (see adn_png_read); closes the file. */
static adn_status read_raster(FILE *file, const char *path, uint64_t max_pixels, adn_row_sink *sink,
                              adn_raster *raster, adn_image_info *info) {
    uint8_t head[8];
    const size_t n = fread(head, 1, sizeof head, file);
    adn_status st;
    if (ferror(file)) {
        char reason[128];
        st = adn_fail(ADN_ERR_IO, "cannot read '%s': %s", path, adn_errno_text(errno, reason, sizeof reason));
    } else if (n == 0) {
        st = adn_fail(ADN_ERR_FORMAT, "'%s' is empty", path);
    } else if (fseek(file, 0, SEEK_SET) != 0) {
        st = adn_fail(ADN_ERR_IO, "cannot seek in '%s'", path);
    } else {
        st = decode_file(file, path, sniff_format(head, n), max_pixels, sink, raster, info);
    }
    fclose(file);
    return st;
}

/* Sample i of a row as a float: the stored integer, or scaled to [0,1]. */
static float raster_sample(const uint8_t *row, size_t i, int32_t bit_depth, int raw) {
    if (bit_depth == 16) {
        const unsigned v = (unsigned)row[2 * i] << 8 | row[2 * i + 1];
        return raw ? (float)v : (float)v / 65535.0f;
    }
    return raw ? (float)row[i] : (float)row[i] / 255.0f;
}

static float alpha_sample(const uint8_t *row, size_t i, int32_t bit_depth) {
    return raster_sample(row, i, bit_depth, 0);
}

void adn_raster_row_to_planes(const uint8_t *row, int32_t width, int32_t channels, int32_t bit_depth,
                              adn_pixel_mode mode, int raw, float *dst, size_t plane_stride, float *alpha) {
    const int colour = channels >= 3;
    const int alpha_index = channels == 2 ? 1 : channels == 4 ? 3 : -1;
    for (int32_t x = 0; x < width; ++x) {
        const size_t first = (size_t)x * (size_t)channels;
        float rgb[3];
        for (int c = 0; c < 3; ++c) rgb[c] = raster_sample(row, first + (size_t)(colour ? c : 0), bit_depth, raw);
        if (mode == ADN_PIXELS_GRAY)
            dst[x] = colour ? 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2] : rgb[0];
        else
            for (int c = 0; c < 3; ++c) dst[(size_t)c * plane_stride + (size_t)x] = rgb[c];
        if (alpha && alpha_index >= 0) alpha[x] = alpha_sample(row, first + (size_t)alpha_index, bit_depth);
    }
}

/* Splits an interleaved raster into planar colour (1 or 3 channels, per mode) and alpha. */
static void raster_to_planes(const adn_raster *r, adn_pixel_mode mode, int raw, adn_image *pixels,
                             adn_image *alpha) {
    const size_t plane = (size_t)r->width * (size_t)r->height;
    const size_t row_bytes = adn_raster_row_bytes(r);
    for (int32_t y = 0; y < r->height; ++y) {
        const size_t at = (size_t)y * (size_t)r->width;
        adn_raster_row_to_planes(r->data + (size_t)y * row_bytes, r->width, r->channels, r->bit_depth, mode, raw,
                                 pixels->data + at, plane, alpha->data ? alpha->data + at : NULL);
    }
}

static adn_status check_read_params(const adn_read_params *p) {
    if (p->max_pixels == 0) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "max_pixels must be at least 1");
    if (p->mode != ADN_PIXELS_RGB && p->mode != ADN_PIXELS_GRAY)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "unknown pixel mode %d", (int)p->mode);
    if (p->raw_values != 0 && p->raw_values != 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "raw_values must be 0 or 1, is %d", (int)p->raw_values);
    if (p->short_side < 0 || p->max_side < 0)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "short_side (%d) and max_side (%d) must be >= 0 (0 = off)",
                        (int)p->short_side, (int)p->max_side);
    if (p->decoder_scaling != 0 && p->decoder_scaling != 1)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "decoder_scaling must be 0 or 1, is %d", (int)p->decoder_scaling);
    return ADN_OK;
}

/* The arguments of both readers, checked before any file is opened: params (NULL = defaults) into
 * *p, and the caller's info struct cleared. */
static adn_status prepare_read(const adn_read_params *params, adn_image_info *info, adn_read_params *p) {
    *p = read_defaults;
    adn_status st = params ? adn_struct_read(p, sizeof *p, params, "adn_read_params") : ADN_OK;
    if (st == ADN_OK) st = check_read_params(p);
    if (st == ADN_OK && info)
        st = adn_struct_write(info, &(adn_image_info){.struct_size = sizeof(adn_image_info)}, sizeof(adn_image_info),
                              "adn_image_info");
    return st;
}

/* read_image with short_side / max_side: the decoder hands its rows to a resizing sink
 * (image_sink.c), so the file's pixels are never all in memory; an interlaced PNG, which the
 * decoder cannot give row by row, comes back whole and is fed to the sink from there. */
static adn_status read_image_resized(FILE *file, const char *name, const adn_read_params *p, adn_image *pixels,
                                     adn_image *alpha, adn_image_info *info) {
    adn_row_sink sink;
    adn_row_sink_init(&sink, p, alpha != NULL, name);
    adn_raster raster = {0};
    adn_image_info file_info = {.struct_size = sizeof file_info};
    adn_status st = read_raster(file, name, p->max_pixels, &sink, &raster, &file_info);
    if (st == ADN_OK && raster.data) st = adn_row_sink_feed_raster(&sink, &raster);
    adn_raster_free(&raster);
    if (st == ADN_OK) st = adn_row_sink_finish(&sink, pixels, alpha);
    adn_row_sink_free(&sink);
    if (st == ADN_OK && info) adn_struct_write(info, &file_info, sizeof file_info, "adn_image_info");
    return st;
}

/* The shared body of adn_image_read and adn_image_read_memory: decodes `file` (closed here). */
static adn_status read_image(FILE *file, const char *name, const adn_read_params *params, adn_image *pixels,
                             adn_image *alpha, adn_image_info *info) {
    adn_read_params p;
    adn_status st = prepare_read(params, info, &p);
    if (st != ADN_OK) {
        fclose(file);
        return st;
    }

    if (p.short_side > 0 || p.max_side > 0) return read_image_resized(file, name, &p, pixels, alpha, info);

    adn_raster raster = {0};
    adn_image_info file_info = {.struct_size = sizeof file_info};
    st = read_raster(file, name, p.max_pixels, NULL, &raster, &file_info);
    if (st != ADN_OK) return st;

    adn_image out = {0}, out_alpha = {0};
    const int has_alpha_channel = raster.channels == 2 || raster.channels == 4;
    st = adn_image_alloc(&out, p.mode == ADN_PIXELS_GRAY ? 1 : 3, raster.height, raster.width);
    if (st == ADN_OK && alpha && has_alpha_channel) st = adn_image_alloc(&out_alpha, 1, raster.height, raster.width);
    if (st == ADN_OK) raster_to_planes(&raster, p.mode, p.raw_values, &out, &out_alpha);
    adn_raster_free(&raster);
    if (st != ADN_OK) {
        adn_image_free(&out);
        return st;
    }
    *pixels = out;
    if (alpha) *alpha = out_alpha;
    if (info) adn_struct_write(info, &file_info, sizeof file_info, "adn_image_info");
    return ADN_OK;
}

adn_status adn_image_read(const char *path, const adn_read_params *params, adn_image *pixels, adn_image *alpha,
                          adn_image_info *info) {
    if (pixels) memset(pixels, 0, sizeof *pixels);
    if (alpha) memset(alpha, 0, sizeof *alpha);
    if (!path) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "path is NULL");
    if (!pixels) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "output image is NULL");
    adn_read_params checked;
    adn_status st = prepare_read(params, info, &checked);
    if (st != ADN_OK) return st;
    FILE *file = fopen(path, "rb");
    if (!file) {
        const int err = errno; /* ENOMEM: no memory for the FILE, which is not an I/O error */
        char reason[128];
        return adn_fail(err == ENOMEM ? ADN_ERR_OUT_OF_MEMORY : ADN_ERR_IO, "cannot open '%s': %s", path,
                        adn_errno_text(err, reason, sizeof reason));
    }
    return read_image(file, path, params, pixels, alpha, info);
}

adn_status adn_image_read_memory(const void *data, size_t size, const adn_read_params *params, adn_image *pixels,
                                 adn_image *alpha, adn_image_info *info) {
    if (pixels) memset(pixels, 0, sizeof *pixels);
    if (alpha) memset(alpha, 0, sizeof *alpha);
    if (!data || size == 0) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "adn_image_read_memory: data is NULL or empty");
    if (!pixels) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "output image is NULL");
    adn_read_params checked;
    adn_status st = prepare_read(params, info, &checked);
    if (st != ADN_OK) return st;
    /* The codecs read a FILE; fmemopen gives one over the caller's bytes without copying them. */
    FILE *file = fmemopen((void *)data, size, "rb");
    if (!file) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "adn_image_read_memory: cannot open a %zu-byte buffer", size);
    return read_image(file, "<memory>", params, pixels, alpha, info);
}

/* --- writing ---------------------------------------------------------------------------------- */

/* The extension after the last '.' of the file name (not of a folder), or "". */
static const char *file_extension(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    return dot ? dot + 1 : "";
}

static adn_file_format format_from_extension(const char *path) {
    const char *ext = file_extension(path);
    if (strcasecmp(ext, "png") == 0) return ADN_FORMAT_PNG;
    if (strcasecmp(ext, "jpg") == 0 || strcasecmp(ext, "jpeg") == 0) return ADN_FORMAT_JPEG;
    return ADN_FORMAT_UNKNOWN;
}

static uint16_t quantize(float v, float scale) {
    if (!(v > 0.0f)) return 0;
    if (v >= 1.0f) return (uint16_t)scale;
    return (uint16_t)(v * scale + 0.5f);
}

static void put_sample(uint8_t *dst, size_t i, int32_t bit_depth, float v) {
    if (bit_depth == 16) {
        const uint16_t q = quantize(v, 65535.0f);
        dst[2 * i] = (uint8_t)(q >> 8);
        dst[2 * i + 1] = (uint8_t)(q & 0xff);
    } else {
        dst[i] = (uint8_t)quantize(v, 255.0f);
    }
}

/* Interleaves planar pixels (+ optional alpha) into an integer raster, clamping to [0,1]. */
static adn_status planes_to_raster(const adn_image *pixels, const adn_image *alpha, int32_t bit_depth,
                                   adn_raster *r) {
    const int32_t channels = pixels->channels + (alpha ? 1 : 0);
    adn_status st = adn_raster_alloc(r, pixels->width, pixels->height, channels, bit_depth);
    if (st != ADN_OK) return st;
    const size_t plane = (size_t)pixels->width * (size_t)pixels->height;
    for (size_t i = 0; i < plane; ++i) {
        const size_t first = i * (size_t)channels;
        for (int32_t c = 0; c < pixels->channels; ++c)
            put_sample(r->data, first + (size_t)c, bit_depth, pixels->data[(size_t)c * plane + i]);
        if (alpha) put_sample(r->data, first + (size_t)pixels->channels, bit_depth, alpha->data[i]);
    }
    return ADN_OK;
}

static adn_status check_write_inputs(const char *path, const adn_image *pixels, const adn_image *alpha,
                                     const adn_write_params *p) {
    if (!path) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "path is NULL");
    adn_status st = adn_check_image(pixels, 0, "image to write");
    if (st != ADN_OK) return st;
    if (pixels->channels != 1 && pixels->channels != 3)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "image to write must have 1 or 3 channels, has %d",
                        (int)pixels->channels);
    if ((uint64_t)pixels->width * (uint64_t)pixels->height > IMAGE_PLANE_MAX)
        return adn_fail(ADN_ERR_TOO_LARGE, "image to write (%dx%d) is too large", (int)pixels->width,
                        (int)pixels->height);
    const int64_t plane = (int64_t)pixels->width * pixels->height;
    if (!adn_all_finite(pixels->data, plane * pixels->channels))
        return adn_fail(ADN_ERR_NON_FINITE, "image to write contains NaN or infinity");
    if (alpha) {
        st = adn_check_image(alpha, 1, "alpha to write");
        if (st != ADN_OK) return st;
        if (alpha->width != pixels->width || alpha->height != pixels->height)
            return adn_fail(ADN_ERR_INVALID_ARGUMENT, "alpha is %dx%d but the image is %dx%d (HxW)",
                            (int)alpha->height, (int)alpha->width, (int)pixels->height, (int)pixels->width);
        if (!adn_all_finite(alpha->data, plane))
            return adn_fail(ADN_ERR_NON_FINITE, "alpha to write contains NaN or infinity");
    }
    if (p->jpeg_quality < 1 || p->jpeg_quality > 100)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "jpeg_quality must be 1..100, is %d", (int)p->jpeg_quality);
    if (p->png_bit_depth != 8 && p->png_bit_depth != 16)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "png_bit_depth must be 8 or 16, is %d", (int)p->png_bit_depth);
    return ADN_OK;
}

static int codec_compiled(adn_file_format format) {
#ifdef ADN_HAVE_PNG
    if (format == ADN_FORMAT_PNG) return 1;
#endif
#ifdef ADN_HAVE_JPEG
    if (format == ADN_FORMAT_JPEG) return 1;
#endif
    (void)format;
    return 0;
}

/* Only called for a format that codec_compiled() accepted. */
static adn_status encode_file(FILE *file, const char *path, adn_file_format format, const adn_raster *raster,
                              const adn_write_params *p) {
#ifdef ADN_HAVE_PNG
    if (format == ADN_FORMAT_PNG) return adn_png_write(file, path, raster);
#endif
#ifdef ADN_HAVE_JPEG
    if (format == ADN_FORMAT_JPEG) return adn_jpeg_write(file, path, raster, p->jpeg_quality);
#endif
    (void)file, (void)format, (void)raster, (void)p;
    return adn_fail(ADN_ERR_INTERNAL, "no encoder for '%s'", path);
}

/* Encodes raster into memory, so that writing the file is one step that either completes or
 * leaves the old file (lib/atomic_write.c), with the system's own reason when the disk fails. */
static adn_status encode_to_memory(const char *path, adn_file_format format, const adn_raster *raster,
                                   const adn_write_params *p, char **bytes, size_t *size) {
    char *buffer = NULL;
    size_t length = 0;
    FILE *memory = open_memstream(&buffer, &length);
    if (!memory) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot encode '%s': out of memory", path);
    adn_status st = encode_file(memory, path, format, raster, p);
    /* A memory stream only fails when it cannot grow: the codec's "write error" means that. */
    int stream_failed = fflush(memory) != 0 || ferror(memory);
    /* Closing shrinks the buffer to fit: if that allocation fails glibc frees the buffer, leaves
     * buffer NULL and still returns 0. */
    stream_failed |= fclose(memory) != 0 || !buffer;
    if (stream_failed) st = adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot encode '%s': out of memory", path);
    if (st != ADN_OK) {
        free(buffer);
        return st;
    }
    *bytes = buffer;
    *size = length;
    return ADN_OK;
}

static adn_status write_atomically(const char *path, adn_file_format format, const adn_raster *raster,
                                   const adn_write_params *p) {
    char *bytes = NULL;
    size_t size = 0;
    adn_status st = encode_to_memory(path, format, raster, p, &bytes, &size);
    if (st == ADN_OK) st = adn_write_file_atomic(path, bytes, size);
    free(bytes);
    return st;
}

adn_status adn_image_write(const char *path, const adn_image *pixels, const adn_image *alpha,
                           const adn_write_params *params) {
    adn_write_params p = write_defaults;
    if (params) {
        adn_status st = adn_struct_read(&p, sizeof p, params, "adn_write_params");
        if (st != ADN_OK) return st;
    }
    /* An empty alpha (as adn_image_read leaves it for a file without one) means "no alpha". */
    if (alpha && !alpha->data) alpha = NULL;
    adn_status st = check_write_inputs(path, pixels, alpha, &p);
    if (st != ADN_OK) return st;
    const adn_file_format format = format_from_extension(path);
    if (format == ADN_FORMAT_UNKNOWN)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "cannot tell the format of '%s': use .png, .jpg or .jpeg", path);
    if (!codec_compiled(format))
        return adn_fail(ADN_ERR_UNSUPPORTED, "cannot write '%s': this build has no %s support", path,
                        format == ADN_FORMAT_PNG ? "PNG" : "JPEG");

    const int is_png = format == ADN_FORMAT_PNG;
    adn_raster raster = {0};
    st = planes_to_raster(pixels, is_png ? alpha : NULL, is_png ? p.png_bit_depth : 8, &raster);
    if (st == ADN_OK) st = write_atomically(path, format, &raster, &p);
    adn_raster_free(&raster);
    return st;
}
