/* cli_common.c — shared pieces of the command-line programs (see cli_common.h). */
#include "cli_common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *program_name = "adn";

void cli_set_program_name(const char *name)
{
    const char *slash = strrchr(name, '/');
    program_name = slash ? slash + 1 : name;
}

const char *cli_program_name(void)
{
    return program_name;
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", program_name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", program_name);
    va_end(ap);
    return -1;
}

/* ---- parsing ------------------------------------------------------------------------------- */

/* strtof that insists on a whole, finite number. */
static int to_float(const char *text, float *out)
{
    char *end = NULL;
    errno = 0;
    float value = strtof(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(value))
        return -1;
    *out = value;
    return 0;
}

int cli_parse_float(const char *option, const char *text, float lo, float hi, float *out)
{
    float value;
    if (to_float(text, &value) != 0 || value < lo || value > hi) {
        return cli_usage_error("--%s: '%s' is not a number in [%g, %g]", option, text, lo, hi);
    }
    *out = value;
    return 0;
}

int cli_parse_int(const char *option, const char *text, int32_t lo, int32_t hi, int32_t *out)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || value < lo || value > hi) {
        cli_usage_error("--%s: '%s' is not a whole number in %ld..%ld", option, text, (long)lo, (long)hi);
        return -1;
    }
    *out = (int32_t)value;
    return 0;
}

char **cli_split_list(const char *text, int *count)
{
    int n = 1;
    for (const char *c = text; *c; c++)
        n += *c == ',';
    char **list = calloc((size_t)n + 1, sizeof *list);
    if (!list)
        return NULL;
    const char *start = text;
    for (int i = 0; i < n; i++) {
        const char *comma = strchr(start, ',');
        size_t len = comma ? (size_t)(comma - start) : strlen(start);
        list[i] = malloc(len + 1);
        if (!list[i]) {
            cli_free_list(list);
            return NULL;
        }
        memcpy(list[i], start, len);
        list[i][len] = '\0';
        start = comma ? comma + 1 : start + len;
    }
    *count = n;
    return list;
}

void cli_free_list(char **list)
{
    if (!list)
        return;
    for (char **item = list; *item; item++)
        free(*item);
    free(list);
}

int cli_parse_float_list(const char *option, const char *text, float *out, int max, int *count)
{
    int n = 0;
    char **items = cli_split_list(text, &n);
    if (!items) {
        cli_error("out of memory");
        return -1;
    }
    int ok = n <= max;
    for (int i = 0; ok && i < n; i++)
        ok = to_float(items[i], &out[i]) == 0;
    cli_free_list(items);
    if (!ok) {
        cli_usage_error("--%s: '%s' is not a comma-separated list of at most %d numbers", option, text, max);
        return -1;
    }
    *count = n;
    return 0;
}

int cli_parse_device(const char *text, adn_device *out, int32_t *index)
{
    static const struct { const char *name; adn_device device; } names[] = {
        {"auto", ADN_DEVICE_AUTO}, {"cpu", ADN_DEVICE_CPU}, {"cuda", ADN_DEVICE_CUDA}};
    *index = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(text, names[i].name) == 0) {
            *out = names[i].device;
            return 0;
        }
    }
    if (strncmp(text, "cuda:", 5) == 0) {
        char *end = NULL;
        errno = 0;
        long n = strtol(text + 5, &end, 10);
        if (end != text + 5 && *end == '\0' && errno == 0 && n >= 0 && n <= 1023) {
            *out = ADN_DEVICE_CUDA;
            *index = (int32_t)n;
            return 0;
        }
    }
    cli_usage_error("--device: '%s' is not one of auto, cpu, cuda, cuda:N (N = 0..1023)", text);
    return -1;
}

int cli_parse_u64(const char *option, const char *text, uint64_t lo, uint64_t hi, int allow_suffix, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long value = text[0] == '-' ? 0 : strtoull(text, &end, 10);
    int shift = 0;
    if (end && allow_suffix && end != text && end[0] && !end[1]) {
        shift = end[0] == 'K' || end[0] == 'k' ? 10 : end[0] == 'M' || end[0] == 'm' ? 20
              : end[0] == 'G' || end[0] == 'g' ? 30 : -1;
        end += shift >= 0;
    }
    int ok = end && end != text && *end == '\0' && errno == 0 && shift >= 0 && value <= (UINT64_MAX >> shift);
    uint64_t scaled = ok ? (uint64_t)value << shift : 0;
    if (!ok || scaled < lo || scaled > hi) {
        cli_usage_error("--%s: '%s' is not a whole number in %llu..%llu%s", option, text, (unsigned long long)lo,
                        (unsigned long long)hi, allow_suffix ? " (K, M or G may follow)" : "");
        return -1;
    }
    *out = scaled;
    return 0;
}

/* ---- shared options ------------------------------------------------------------------------ */

void cli_shared_defaults(cli_shared_options *o)
{
    memset(o, 0, sizeof *o);
    o->alpha = 1.0f;
    o->depth_lo = 0.0f;
    o->depth_hi = 1.0f;
    o->device = ADN_DEVICE_AUTO;
}

static int parse_depth_range(const char *arg, cli_shared_options *o)
{
    float range[2];
    int n = 0;
    if (cli_parse_float_list("depth-range", arg, range, 2, &n) != 0)
        return -1;
    if (n != 2 || range[0] < 0 || range[0] > 1 || range[1] < 0 || range[1] > 1) {
        cli_usage_error("--depth-range: '%s' is not LO,HI with both in [0, 1]", arg);
        return -1;
    }
    o->has_depth_range = 1;
    o->depth_lo = range[0];
    o->depth_hi = range[1];
    return 0;
}

static int parse_weights(const char *arg, cli_shared_options *o)
{
    if (cli_parse_float_list("interp-weights", arg, o->weights, CLI_MAX_STYLES, &o->n_weights) != 0)
        return -1;
    double sum = 0;
    for (int i = 0; i < o->n_weights; i++) {
        if (o->weights[i] < 0) {
            cli_usage_error("--interp-weights: weights must be >= 0 (got %g)", o->weights[i]);
            return -1;
        }
        sum += o->weights[i];
    }
    if (!(sum > 0)) {
        cli_usage_error("--interp-weights: the weights must not all be 0");
        return -1;
    }
    return 0;
}

int cli_shared_option(int code, const char *arg, cli_shared_options *o)
{
    int rc = 0;
    switch (code) {
    case CLI_OPT_MODELS: o->models = arg; break;
    case CLI_OPT_STYLE: o->styles = arg; break;
    case CLI_OPT_ALPHA: rc = cli_parse_float("alpha", arg, 0.0f, 1.0f, &o->alpha); break;
    case CLI_OPT_DEPTH_RANGE: rc = parse_depth_range(arg, o); break;
    case CLI_OPT_NO_DEPTH: o->no_depth = 1; break;
    case CLI_OPT_DEVICE: rc = cli_parse_device(arg, &o->device, &o->cuda_index); break;
    case CLI_OPT_THREADS: rc = cli_parse_int("threads", arg, 0, ADN_MAX_THREADS, &o->threads); break;
    case CLI_OPT_PRESERVE_COLOR: o->preserve_color = 1; break;
    case CLI_OPT_STYLE_SIZE: rc = cli_parse_int("style-size", arg, 0, CLI_MAX_LONG_SIDE, &o->style_size); break;
    case CLI_OPT_QUIET: o->quiet = 1; break;
    case CLI_OPT_INTERP_WEIGHTS: rc = parse_weights(arg, o); break;
    case CLI_OPT_TRUST_UNSEALED: o->trust_unsealed = 1; break;
    default: return 0;
    }
    return rc == 0 ? 1 : -1;
}

/* ---- model and styles ---------------------------------------------------------------------- */

int cli_load_model(const cli_shared_options *o, adn_model **out)
{
    adn_model_params params = adn_model_default_params();
    params.device = o->device;
    params.cuda_device_index = o->cuda_index;
    params.n_threads = o->threads;
    params.load_depth = !o->no_depth;
    params.trust_unsealed = o->trust_unsealed;
    adn_status st = adn_model_load(o->models, &params, out);
    if (st != ADN_OK) {
        cli_error("cannot load the model bundle '%s': %s (%s)", o->models, adn_last_error(), adn_status_str(st));
        return -1;
    }
    return 0;
}

int cli_create_context(const cli_shared_options *o, const adn_model *model, adn_context **out)
{
    adn_context_params params = adn_context_default_params();
    params.memory_budget_bytes = o->memory_budget;
    if (o->has_depth_range) {
        params.depth_lo = o->depth_lo;
        params.depth_hi = o->depth_hi;
    }
    adn_status st = adn_context_create(model, &params, out);
    if (st != ADN_OK) {
        cli_error("cannot create a context%s: %s (%s)", o->has_depth_range ? " (--depth-range)" : "",
                  adn_last_error(), adn_status_str(st));
        *out = NULL;
        return -1;
    }
    return 0;
}

void cli_add_bundle_inputs(cli_path_set *paths, const char *dir)
{
    static const char *const files[] = {"encoder.pt", "decoder.pt", "depth.pt", "bundle.json", "manifest.txt"};
    const char *sep = (*dir && dir[strlen(dir) - 1] == '/') ? "" : "/";
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[8192];
        /* A longer path is past PATH_MAX: the bundle cannot be opened, so nothing to protect. */
        if ((size_t)snprintf(path, sizeof path, "%s%s%s", dir, sep, files[i]) < sizeof path)
            cli_path_set_add(paths, CLI_PATH_INPUT, "--models", path);
    }
}

adn_status cli_read_style(const char *path, const cli_size_options *size, adn_image *style)
{
    return cli_read_sized(path, size, ADN_PIXELS_RGB, 0, style, NULL, NULL);
}

adn_status cli_crop_centre_square(adn_image *img)
{
    const int32_t side = img->height < img->width ? img->height : img->width;
    if (img->height == side && img->width == side)
        return ADN_OK;
    adn_image square = {0};
    adn_status st = adn_image_alloc(&square, img->channels, side, side);
    if (st != ADN_OK)
        return st;
    const int32_t top = (img->height - side) / 2, left = (img->width - side) / 2;
    for (int32_t c = 0; c < img->channels; c++)
        for (int32_t y = 0; y < side; y++)
            memcpy(square.data + ((size_t)c * side + y) * side,
                   img->data + ((size_t)c * img->height + top + y) * img->width + left, sizeof(float) * (size_t)side);
    adn_image_free(img);
    *img = square;
    return ADN_OK;
}

adn_status cli_read_sized(const char *path, const cli_size_options *size, adn_pixel_mode mode, int raw_values,
                          adn_image *img, adn_image *alpha, adn_image_info *info)
{
    adn_read_params params = adn_read_default_params();
    params.mode = mode;
    params.raw_values = raw_values;
    params.short_side = size->short_side;
    params.max_side = size->max_side;
    params.decoder_scaling = size->decoder_scaling;
    if (size->max_pixels)
        params.max_pixels = size->max_pixels;
    adn_status st = adn_image_read(path, &params, img, alpha, info);
    if (st == ADN_OK && size->crop)
        st = cli_crop_centre_square(img);
    if (st == ADN_OK && size->crop && alpha && alpha->data)
        st = cli_crop_centre_square(alpha);
    if (st != ADN_OK) {
        adn_image_free(img);
        if (alpha)
            adn_image_free(alpha);
    }
    return st;
}

adn_status cli_resize_to(adn_image *img, int32_t height, int32_t width)
{
    if (img->width == width && img->height == height)
        return ADN_OK;
    adn_image resized = {0};
    adn_status st = adn_image_alloc(&resized, img->channels, height, width);
    if (st != ADN_OK)
        return st;
    st = adn_resize_bilinear(img->data, img->channels, img->height, img->width, resized.data, height, width);
    if (st != ADN_OK) {
        adn_image_free(&resized);
        return st;
    }
    adn_image_free(img);
    *img = resized;
    return ADN_OK;
}

/* ---- progress ------------------------------------------------------------------------------ */

double cli_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress_start(cli_progress *p, long total, int quiet)
{
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->total = total;
    p->start = cli_seconds();
}

void cli_progress_update(cli_progress *p, long done, const char *label)
{
    if (!p->enabled)
        return;
    double elapsed = cli_seconds() - p->start;
    double rate = elapsed > 0 ? done / elapsed : 0.0;
    if (p->total > 0) {
        enum { BAR = 24 };
        char bar[BAR + 1];
        long filled = done * BAR / p->total;
        for (int i = 0; i < BAR; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR] = '\0';
        fprintf(stderr, "\r[%s] %ld/%ld  %.2f/s  %-.36s\033[K", bar, done, p->total, rate, label ? label : "");
    } else {
        fprintf(stderr, "\r%ld %s  %.2f frames/s\033[K", done, label ? label : "", rate);
    }
    fflush(stderr);
}

void cli_progress_finish(cli_progress *p)
{
    if (p->enabled)
        fputc('\n', stderr);
}

int cli_parse_args(int argc, char **argv, const struct option *table, const char *usage_text, int version_code,
                   cli_shared_options *shared, cli_option_handler handler, void *program_options)
{
    opterr = 0; /* we print our own messages, with the --help hint */
    int code;
    while ((code = getopt_long(argc, argv, ":h", table, NULL)) != -1) {
        if (code == 'h') {
            fputs(usage_text, stdout);
            return 1;
        }
        if (code == version_code) {
            printf("%s (libadain_dcs %s)\n", cli_program_name(), adn_version());
            return 1;
        }
        if (code == '?')
            return cli_usage_error("unknown option '%s'", argv[optind - 1]);
        if (code == ':')
            return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        int handled = cli_shared_option(code, optarg, shared);
        if (handled < 0 || (handled == 0 && handler(code, optarg, program_options) != 0))
            return -1;
    }
    if (optind < argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    return 0;
}
