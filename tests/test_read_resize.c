/* Reading at a reduced size (adn_read_params.short_side / max_side / decoder_scaling).
 *
 * The contract is that the result equals reading the whole file and calling adn_resize_bilinear
 * on it, bit for bit, while the file's pixels never sit in memory at once.  So every case here
 * reads a file twice, once whole (the path that tests/test_io.c checks against known samples) and
 * once resized, and compares the two with memcmp; the size rule is checked against numbers worked
 * out by hand, and adn_resize_bilinear itself against PyTorch in tests/test_core.c.  Interlaced
 * PNGs, which are decoded whole first, are written here with libpng's Adam7 writer.  The memory
 * bound is checked end to end in tests/test_programs.py (a 16384 x 16384 PNG through
 * adn-stylize). */
#include "adain_dcs.h"

#include <check.h>
#include <math.h>
#include <png.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp_dir[256];

static void tmp_file(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", tmp_dir, name); }

/* A reproducible image with edges and gradients (values in [0,1]). */
static adn_image pattern_image(int channels, int height, int width, unsigned seed) {
    adn_image img = {0};
    ck_assert_int_eq(adn_image_alloc(&img, channels, height, width), ADN_OK);
    uint32_t state = seed * 2654435761u + 1;
    for (int c = 0; c < channels; ++c)
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x) {
                state = state * 1664525u + 1013904223u;
                const float smooth = (float)((x * (c + 1) + 3 * y) % 97) / 96.0f;
                const float noise = (float)(state >> 24) / 255.0f;
                img.data[((size_t)c * height + y) * width + x] = (x / 7 + y / 5) % 3 == 0 ? noise : smooth;
            }
    return img;
}

/* Writes pixels (+ alpha) with the library: PNG at bit_depth, or JPEG. */
static void write_image(const char *path, const adn_image *px, const adn_image *alpha, int bit_depth) {
    adn_write_params wp = adn_write_default_params();
    wp.png_bit_depth = bit_depth;
    ck_assert_msg(adn_image_write(path, px, alpha, &wp) == ADN_OK, "%s", adn_last_error());
}

/* An Adam7-interlaced 8-bit RGB or RGBA PNG from planar floats, with libpng. */
static void write_interlaced_png(const char *path, const adn_image *px, const adn_image *alpha) {
    const int channels = alpha ? 4 : 3, w = px->width, h = px->height;
    uint8_t *samples = malloc((size_t)w * h * channels);
    png_bytep *rows = malloc((size_t)h * sizeof *rows);
    ck_assert(samples && rows);
    for (int y = 0; y < h; ++y) {
        rows[y] = samples + (size_t)y * w * channels;
        for (int x = 0; x < w; ++x)
            for (int c = 0; c < channels; ++c) {
                const float v = c < 3 ? px->data[((size_t)c * h + y) * w + x] : alpha->data[(size_t)y * w + x];
                rows[y][x * channels + c] = (uint8_t)lrintf(v * 255.0f);
            }
    }
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    ck_assert(png && info);
    if (setjmp(png_jmpbuf(png))) ck_abort_msg("libpng could not write %s", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, alpha ? PNG_COLOR_TYPE_RGBA : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    ck_assert_int_eq(fclose(f), 0);
    free(rows);
    free(samples);
}

static int same_image(const adn_image *a, const adn_image *b) {
    return a->channels == b->channels && a->height == b->height && a->width == b->width &&
           memcmp(a->data, b->data, sizeof(float) * (size_t)a->channels * a->height * a->width) == 0;
}

/* Whole read + adn_resize_bilinear to height x width (the reference path). */
static adn_image whole_then_resized(const adn_image *whole, int height, int width) {
    adn_image out = {0};
    ck_assert_int_eq(adn_image_alloc(&out, whole->channels, height, width), ADN_OK);
    ck_assert_int_eq(adn_resize_bilinear(whole->data, whole->channels, whole->height, whole->width, out.data,
                                         height, width), ADN_OK);
    return out;
}

/* Reads path whole and resized (short_side / max_side) in the given mode, compares them bit for
 * bit, pixels and alpha, and checks the result's size and the info. */
static void check_resized_read(const char *path, adn_pixel_mode mode, int raw, int short_side, int max_side,
                               int want_height, int want_width) {
    adn_read_params whole_params = adn_read_default_params();
    whole_params.mode = mode;
    whole_params.raw_values = raw;
    adn_image whole = {0}, whole_alpha = {0}, got = {0}, got_alpha = {0};
    adn_image_info whole_info = {.struct_size = sizeof whole_info}, info = {.struct_size = sizeof info};
    ck_assert_msg(adn_image_read(path, &whole_params, &whole, &whole_alpha, &whole_info) == ADN_OK, "%s",
                  adn_last_error());
    adn_read_params p = whole_params;
    p.short_side = short_side;
    p.max_side = max_side;
    ck_assert_msg(adn_image_read(path, &p, &got, &got_alpha, &info) == ADN_OK, "%s", adn_last_error());
    ck_assert_int_eq(got.height, want_height);
    ck_assert_int_eq(got.width, want_width);
    ck_assert_int_eq(memcmp(&info, &whole_info, sizeof info), 0); /* the file's, not the result's */

    adn_image want = whole_then_resized(&whole, want_height, want_width);
    ck_assert_msg(same_image(&got, &want), "%s: resized read differs from whole read + adn_resize_bilinear "
                  "(short %d, max %d)", path, short_side, max_side);
    ck_assert_int_eq(got_alpha.data != NULL, whole_alpha.data != NULL);
    if (whole_alpha.data) {
        adn_image want_alpha = whole_then_resized(&whole_alpha, want_height, want_width);
        ck_assert_msg(same_image(&got_alpha, &want_alpha), "%s: alpha differs", path);
        adn_image_free(&want_alpha);
    }
    adn_image_free(&want);
    adn_image_free(&whole);
    adn_image_free(&whole_alpha);
    adn_image_free(&got);
    adn_image_free(&got_alpha);
}

/* The size rule on a 40 x 64 (H x W) file, worked out by hand:
 *   short 20            f = 20/40          -> 20 x 32
 *   short 25            f = 0.625, 64 f = 40 -> 25 x 40
 *   short 30, max 40    64 * 0.75 = 48 > 40: f = 40/64, 40 f = 25 -> 25 x 40
 *   max 32              f = 0.5            -> 20 x 32
 *   max 100             no change          -> 40 x 64
 *   short 7             f = 0.175, 64 f = 11.2 -> 7 x 11
 *   short 13            64 * 13/40 = 20.8  -> 13 x 21
 *   short 80 (larger)   f = 2              -> 80 x 128
 *   short 1             64/40 = 1.6        -> 1 x 2 */
static const struct {
    int short_side, max_side, height, width;
} size_cases[] = {{20, 0, 20, 32}, {25, 0, 25, 40}, {30, 40, 25, 40}, {0, 32, 20, 32}, {0, 100, 40, 64},
                  {7, 0, 7, 11},   {13, 0, 13, 21}, {80, 0, 80, 128}, {1, 0, 1, 2}};

typedef struct file_case {
    const char *name;
    int channels; /* 1 or 3 colour planes written */
    int with_alpha, bit_depth, interlaced;
} file_case;

static const file_case file_cases[] = {
    {"rgb8.png", 3, 0, 8, 0},   {"rgba8.png", 3, 1, 8, 0},      {"rgb16.png", 3, 0, 16, 0},
    {"grey16.png", 1, 0, 16, 0}, {"greyalpha8.png", 1, 1, 8, 0}, {"rgb.jpg", 3, 0, 8, 0},
    {"grey.jpg", 1, 0, 8, 0},   {"adam7.png", 3, 0, 8, 1},       {"adam7_rgba.png", 3, 1, 8, 1},
};

static void make_file(const file_case *fc, int height, int width, char *path, size_t size) {
    tmp_file(path, size, fc->name);
    adn_image px = pattern_image(fc->channels, height, width, 3);
    adn_image alpha = fc->with_alpha ? pattern_image(1, height, width, 9) : (adn_image){0};
    if (fc->interlaced)
        write_interlaced_png(path, &px, fc->with_alpha ? &alpha : NULL);
    else
        write_image(path, &px, fc->with_alpha ? &alpha : NULL, fc->bit_depth);
    adn_image_free(&px);
    adn_image_free(&alpha);
}

START_TEST(test_resized_read_equals_whole_read_then_resize) {
    const file_case *fc = &file_cases[_i];
    char path[300];
    make_file(fc, 40, 64, path, sizeof path);
    for (size_t k = 0; k < sizeof size_cases / sizeof size_cases[0]; ++k) {
        check_resized_read(path, ADN_PIXELS_RGB, 0, size_cases[k].short_side, size_cases[k].max_side,
                           size_cases[k].height, size_cases[k].width);
        check_resized_read(path, ADN_PIXELS_GRAY, 0, size_cases[k].short_side, size_cases[k].max_side,
                           size_cases[k].height, size_cases[k].width);
    }
    check_resized_read(path, ADN_PIXELS_GRAY, 1, 20, 0, 20, 32); /* raw values (depth maps) */
    unlink(path);
}
END_TEST

/* Portrait and square files: the rule picks the other side. */
START_TEST(test_size_rule_portrait_and_square) {
    char path[300];
    const file_case fc = {"portrait.png", 3, 0, 8, 0};
    make_file(&fc, 90, 30, path, sizeof path);
    check_resized_read(path, ADN_PIXELS_RGB, 0, 10, 0, 30, 10);   /* f = 1/3 */
    check_resized_read(path, ADN_PIXELS_RGB, 0, 0, 45, 45, 15);   /* f = 1/2 */
    check_resized_read(path, ADN_PIXELS_RGB, 0, 20, 50, 50, 17);  /* 90 * 2/3 = 60 > 50: f = 5/9, 16.7 */
    unlink(path);
    const file_case sq = {"square.png", 3, 0, 8, 0};
    make_file(&sq, 33, 33, path, sizeof path);
    check_resized_read(path, ADN_PIXELS_RGB, 0, 16, 0, 16, 16);
    check_resized_read(path, ADN_PIXELS_RGB, 0, 0, 20, 20, 20);
    unlink(path);
}
END_TEST

/* The same bytes from memory give the same result. */
START_TEST(test_resized_read_from_memory) {
    char path[300];
    make_file(&file_cases[0], 40, 64, path, sizeof path);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static uint8_t buf[1 << 20];
    const size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    adn_read_params p = adn_read_default_params();
    p.short_side = 13;
    adn_image a = {0}, b = {0};
    ck_assert_int_eq(adn_image_read(path, &p, &a, NULL, NULL), ADN_OK);
    ck_assert_int_eq(adn_image_read_memory(buf, n, &p, &b, NULL, NULL), ADN_OK);
    ck_assert(same_image(&a, &b));
    adn_image_free(&a);
    adn_image_free(&b);
    unlink(path);
}
END_TEST

/* decoder_scaling: same size as the exact path, a JPEG really decoded smaller (pixels differ but
 * stay close: both are the same picture), and a PNG unaffected. */
START_TEST(test_decoder_scaling) {
    char path[300];
    const file_case jpg = {"scaled.jpg", 3, 0, 8, 0};
    make_file(&jpg, 160, 256, path, sizeof path);
    adn_read_params p = adn_read_default_params();
    p.short_side = 20; /* 1/8 of the file: DCT scale 1/8 exactly */
    adn_image exact = {0}, scaled = {0};
    ck_assert_int_eq(adn_image_read(path, &p, &exact, NULL, NULL), ADN_OK);
    p.decoder_scaling = 1;
    adn_image_info info = {.struct_size = sizeof info};
    ck_assert_int_eq(adn_image_read(path, &p, &scaled, NULL, &info), ADN_OK);
    ck_assert_int_eq(info.width, 256);
    ck_assert_int_eq(info.height, 160);
    ck_assert_int_eq(scaled.height, 20);
    ck_assert_int_eq(scaled.width, 32);
    ck_assert(!same_image(&exact, &scaled));
    /* 1/8 DCT scaling is the 8x8 block mean: compare with that, from the whole decode. */
    adn_image whole = {0};
    ck_assert_int_eq(adn_image_read(path, NULL, &whole, NULL, NULL), ADN_OK);
    double worst = 0;
    for (int c = 0; c < 3; ++c)
        for (int by = 0; by < 20; ++by)
            for (int bx = 0; bx < 32; ++bx) {
                double sum = 0;
                for (int y = 0; y < 8; ++y)
                    for (int x = 0; x < 8; ++x) sum += whole.data[((size_t)c * 160 + by * 8 + y) * 256 + bx * 8 + x];
                const double d = fabs(sum / 64 - scaled.data[((size_t)c * 20 + by) * 32 + bx]);
                worst = d > worst ? d : worst;
            }
    ck_assert_msg(worst < 0.06, "1/8 DCT decode is %.3f from the 8x8 block means", worst);
    adn_image_free(&exact);
    adn_image_free(&scaled);
    adn_image_free(&whole);
    unlink(path);

    const file_case png = {"scaled.png", 3, 0, 8, 0};
    make_file(&png, 40, 64, path, sizeof path);
    p.short_side = 13;
    p.decoder_scaling = 0;
    ck_assert_int_eq(adn_image_read(path, &p, &exact, NULL, NULL), ADN_OK);
    p.decoder_scaling = 1;
    ck_assert_int_eq(adn_image_read(path, &p, &scaled, NULL, NULL), ADN_OK);
    ck_assert(same_image(&exact, &scaled));
    adn_image_free(&exact);
    adn_image_free(&scaled);
    unlink(path);
}
END_TEST

START_TEST(test_resize_argument_errors) {
    char path[300];
    make_file(&file_cases[0], 40, 64, path, sizeof path);
    adn_image img = {0};
    adn_read_params p = adn_read_default_params();
    p.short_side = -1;
    ck_assert_int_eq(adn_image_read(path, &p, &img, NULL, NULL), ADN_ERR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(adn_last_error(), "short_side"));
    p = adn_read_default_params();
    p.max_side = -5;
    ck_assert_int_eq(adn_image_read(path, &p, &img, NULL, NULL), ADN_ERR_INVALID_ARGUMENT);
    p = adn_read_default_params();
    p.decoder_scaling = 2;
    ck_assert_int_eq(adn_image_read(path, &p, &img, NULL, NULL), ADN_ERR_INVALID_ARGUMENT);
    /* An enlargement past the pixel limit is refused before anything is allocated for it. */
    p = adn_read_default_params();
    p.short_side = 4000;
    p.max_pixels = 10000000;
    ck_assert_int_eq(adn_image_read(path, &p, &img, NULL, NULL), ADN_ERR_TOO_LARGE);
    ck_assert_msg(strstr(adn_last_error(), "6400x4000") != NULL, "%s", adn_last_error());
    ck_assert_ptr_null(img.data);
    /* The file's own size is still checked against the limit. */
    p = adn_read_default_params();
    p.short_side = 4;
    p.max_pixels = 1000;
    ck_assert_int_eq(adn_image_read(path, &p, &img, NULL, NULL), ADN_ERR_TOO_LARGE);
    /* A caller compiled before these fields (shorter struct) gets the whole image. */
    adn_read_params old = adn_read_default_params();
    old.struct_size = offsetof(adn_read_params, short_side);
    ck_assert_int_eq(adn_image_read(path, &old, &img, NULL, NULL), ADN_OK);
    ck_assert_int_eq(img.width, 64);
    adn_image_free(&img);
    unlink(path);
}
END_TEST

/* A truncated file fails as without resizing, and leaves nothing behind. */
START_TEST(test_resized_read_of_truncated_files) {
    for (int k = 0; k < 2; ++k) {
        char path[300];
        make_file(&file_cases[k == 0 ? 0 : 5], 40, 64, path, sizeof path);
        FILE *f = fopen(path, "rb+");
        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        const long size = ftell(f);
        fclose(f);
        ck_assert_int_eq(truncate(path, size / 2), 0);
        adn_read_params p = adn_read_default_params();
        p.short_side = 10;
        adn_image img = {0}, alpha = {0};
        ck_assert_int_eq(adn_image_read(path, &p, &img, &alpha, NULL), ADN_ERR_FORMAT);
        ck_assert_ptr_null(img.data);
        ck_assert_ptr_null(alpha.data);
        unlink(path);
    }
}
END_TEST

int main(void) {
    snprintf(tmp_dir, sizeof tmp_dir, "/tmp/adn_read_resize_XXXXXX");
    if (!mkdtemp(tmp_dir)) return 99;
    Suite *s = suite_create("read_resize");
    TCase *tc = tcase_create("read_resize");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_resized_read_equals_whole_read_then_resize, 0,
                        (int)(sizeof file_cases / sizeof file_cases[0]));
    tcase_add_test(tc, test_size_rule_portrait_and_square);
    tcase_add_test(tc, test_resized_read_from_memory);
    tcase_add_test(tc, test_decoder_scaling);
    tcase_add_test(tc, test_resize_argument_errors);
    tcase_add_test(tc, test_resized_read_of_truncated_files);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    const int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    rmdir(tmp_dir);
    return failed ? 1 : 0;
}
