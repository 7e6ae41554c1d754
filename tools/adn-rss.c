/* adn-rss: one stylization of a large synthetic image, for measuring peak memory from outside
 * (docs/PERFORMANCE.md, "Memory"):
 *
 *   /usr/bin/time -v adn-rss --model DIR --size 4096x4096 [--budget default|untiled|BYTES]
 *                            [--style 256] [--threads N]
 *
 * It loads the bundle, encodes a style, makes a context with the given memory budget
 * (adn_context_params.memory_budget_bytes; "untiled" = UINT64_MAX, which never tiles; "default" =
 * 0) and runs one adn_stylize with the model's depth network, letting the library allocate the
 * output.  It prints one line: size, budget, wall milliseconds of the call, the stage timings and
 * the library's tiling message (its INFO log line), so the RSS that `time -v` reports can be read
 * next to what the library planned.  The content is a smooth deterministic pattern (the memory
 * does not depend on the pixels). */
#include "adain_dcs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct rss_options {
    const char *model;
    int height, width, style_size, threads;
    uint64_t budget;
    const char *budget_name;
} rss_options;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int make_image(adn_image *img, int height, int width) {
    if (adn_image_alloc(img, 3, height, width) != ADN_OK) return -1;
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < height; ++y)
            for (int x = 0; x < width; ++x)
                img->data[((size_t)c * height + y) * width + x] =
                    0.5f + 0.3f * ((float)((x * (c + 3) + y * 7) % 97) / 97.0f - 0.5f) + 0.15f * (float)y / (float)height;
    return 0;
}

/* The library's INFO lines about tiling, kept for the summary line. */
static char tiling_note[512];

static void keep_tiling_note(adn_log_level level, const char *message, void *user_data) {
    (void)user_data;
    if (level == ADN_LOG_INFO && strstr(message, " over tiles")) snprintf(tiling_note, sizeof tiling_note, "%s", message);
}

static int parse_size(const char *text, int *height, int *width) {
    char *end;
    long w = strtol(text, &end, 10), h = w;
    if (*end == 'x') h = strtol(end + 1, &end, 10);
    if (*end || w < 1 || h < 1 || w > 65536 || h > 65536) return -1;
    *width = (int)w; /* WxH, as screens are named: 7680x4320 is landscape */
    *height = (int)h;
    return 0;
}

static int parse_budget(const char *text, rss_options *o) {
    o->budget_name = text;
    if (strcmp(text, "default") == 0) {
        o->budget = 0;
    } else if (strcmp(text, "untiled") == 0) {
        o->budget = UINT64_MAX;
    } else {
        char *end;
        unsigned long long v = strtoull(text, &end, 10);
        if (*end || v == 0) return -1;
        o->budget = v;
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: adn-rss --model DIR --size WxH [--budget default|untiled|BYTES] [--style N] [--threads N]\n");
}

static int parse_options(int argc, char **argv, rss_options *o) {
    static const struct option long_options[] = {{"model", required_argument, 0, 'm'}, {"size", required_argument, 0, 's'},
                                                 {"budget", required_argument, 0, 'b'}, {"style", required_argument, 0, 'y'},
                                                 {"threads", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
                                                 {0, 0, 0, 0}};
    *o = (rss_options){.height = 1024, .width = 1024, .style_size = 256, .budget_name = "default"};
    int c;
    while ((c = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (c) {
        case 'm': o->model = optarg; break;
        case 's':
            if (parse_size(optarg, &o->height, &o->width)) return fprintf(stderr, "adn-rss: bad --size %s\n", optarg), -1;
            break;
        case 'b':
            if (parse_budget(optarg, o)) return fprintf(stderr, "adn-rss: bad --budget %s\n", optarg), -1;
            break;
        case 'y': o->style_size = atoi(optarg); break;
        case 't': o->threads = atoi(optarg); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (!o->model || o->style_size < 1) return usage(stderr), -1;
    return 0;
}

/* Model, style and context; the caller frees what it gets even on failure. */
static adn_status set_up(const rss_options *o, adn_model **model, adn_style **style, adn_context **ctx) {
    adn_model_params mp = adn_model_default_params();
    mp.device = ADN_DEVICE_CPU;
    mp.n_threads = o->threads;
    adn_status st = adn_model_load(o->model, &mp, model);
    if (st) return st;
    adn_image style_img = {0};
    if (make_image(&style_img, o->style_size, o->style_size)) return ADN_ERR_OUT_OF_MEMORY;
    st = adn_style_create(*model, &style_img, style);
    adn_image_free(&style_img);
    if (st) return st;
    adn_context_params cp = adn_context_default_params();
    cp.memory_budget_bytes = o->budget;
    return adn_context_create(*model, &cp, ctx);
}

int main(int argc, char **argv) {
    rss_options o;
    if (parse_options(argc, argv, &o)) return 2;
    adn_set_log_callback(keep_tiling_note, NULL, ADN_LOG_INFO);
    adn_model *model = NULL;
    adn_style *style = NULL;
    adn_context *ctx = NULL;
    adn_image content = {0}, out = {0};
    adn_status st = set_up(&o, &model, &style, &ctx);
    if (!st && make_image(&content, o.height, o.width)) st = ADN_ERR_OUT_OF_MEMORY;
    double ms = 0;
    if (!st) {
        const adn_style *styles[] = {style};
        const double start = now_ms();
        st = adn_stylize(ctx, &content, styles, 1, NULL, &out);
        ms = now_ms() - start;
    }
    adn_timings t = {.struct_size = sizeof t};
    if (!st) st = adn_context_get_timings(ctx, &t);
    if (st)
        fprintf(stderr, "adn-rss: %s: %s\n", adn_status_str(st), adn_last_error());
    else
        printf("size %dx%d budget %s: %.0f ms (encode %.0f, depth %.0f, adain+blend %.0f, decode %.0f); %s\n", o.width,
               o.height, o.budget_name, ms, t.content_encode_ms, t.depth_ms, t.adain_blend_ms, t.decode_ms,
               tiling_note[0] ? tiling_note : "untiled");
    adn_image_free(&out);
    adn_image_free(&content);
    adn_context_free(ctx);
    adn_style_free(style);
    adn_model_free(model);
    return st ? 1 : 0;
}
