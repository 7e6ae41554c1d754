/*
 * adn-stylize — renders images in the style of other images with libadain_dcs (public API only).
 *
 * One run loads the model once, encodes every style once, then renders each content image with
 * each style (a batch), or with all styles mixed (--interp-weights, --regions).  A bad input file
 * does not stop a batch: the failures are listed at the end and the exit status is 2.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "adain_dcs.h"
#include "cli_common.h"
#include "cli_paths.h"

static const char usage_text[] =
    "Usage: adn-stylize --models DIR (--content FILE | --content-dir DIR)\n"
    "                   (--style FILE[,FILE..] | --style-dir DIR) (--out FILE | --out-dir DIR) [OPTIONS]\n"
    "\n"
    "Renders content images in the style of style images (AdaIN-DCS): near parts of the scene keep\n"
    "their detail, far parts take the style.  PNG and JPEG are read (by their contents) and written\n"
    "(by the output name's extension).\n"
    "\n"
    "Inputs and outputs:\n"
    "  --models DIR           model bundle (encoder.pt, decoder.pt, optional depth.pt)\n"
    "  --content FILE         one content image\n"
    "  --content-dir DIR      every .png/.jpg/.jpeg in DIR (sorted by name)\n"
    "  --style FILE[,FILE..]  style image(s); several styles without --interp-weights or --regions\n"
    "                         make a batch: each content is rendered once per style\n"
    "  --style-dir DIR        every .png/.jpg/.jpeg in DIR as styles (sorted by name)\n"
    "  --out FILE             output image (only when the run makes exactly one image)\n"
    "  --out-dir DIR          output folder (created if missing); names are\n"
    "                         CONTENT_stylized_STYLE.EXT (mixed styles: STYLE1+STYLE2+..)\n"
    "  --out-ext EXT          png, jpg or jpeg for --out-dir names (default: the content's own\n"
    "                         extension when it is one of those, else png)\n"
    "\n"
    "Style strength and depth:\n"
    "  --alpha A              global strength in [0,1] (default 1; 0 returns the content)\n"
    "  --depth-range LO,HI    strength at the nearest and farthest depth, each in [0,1]\n"
    "                         (default 0,1; LO > HI stylizes near things more)\n"
    "  --depth FILE           use this depth map instead of the depth network: a grey PNG (8 or\n"
    "                         16 bit) read as raw stored values; any size (resized bilinearly,\n"
    "                         or nearest-neighbour with --depth-invalid, so the marker survives);\n"
    "                         larger = farther unless --depth-is-disparity.  A colour file is\n"
    "                         refused (unless all its pixels are grey, R = G = B)\n"
    "  --depth-from-rgb       accept a colour --depth file and use its luma\n"
    "                         0.299 R + 0.587 G + 0.114 B as the depth\n"
    "  --depth-is-disparity   the --depth map is disparity / inverse depth (larger = nearer)\n"
    "  --depth-invalid V      pixels of the --depth map whose raw value is V are unknown (e.g. 0\n"
    "                         for Middlebury and Kinect files): left out of the normalisation and\n"
    "                         taken as farthest, D = 1.  In the strength map each 8x8 block\n"
    "                         averages its valid pixels only; a block with no valid pixel gets\n"
    "                         R(1) = HI of --depth-range, which is full style with the default\n"
    "                         range 0,1 (see --save-strength)\n"
    "  --no-depth             no depth at all: plain AdaIN with strength --alpha everywhere\n"
    "  --mask FILE            grey image scaling the strength per pixel (white = full style, black\n"
    "                         = content); resized to the content if the sizes differ\n"
    "\n"
    "Several styles at once:\n"
    "  --interp-weights W1,W2,..  mix all styles with these weights (>= 0, normalised to sum 1;\n"
    "                         one per style)\n"
    "  --regions MASK         give each style its own region of the picture.  Rule: if every pixel\n"
    "                         of MASK is grey (R = G = B), grey level v in [0,1] goes to style\n"
    "                         floor(v K) + 1 of K styles (2 styles: dark = 1st, light = 2nd; 3\n"
    "                         styles: black, mid grey, white); otherwise (colour, K <= 3) each pixel\n"
    "                         goes to the style of its strongest channel among the first K (red =\n"
    "                         1st, green = 2nd, blue = 3rd; ties go to the earlier style).  MASK is\n"
    "                         resized to the content if the sizes differ.\n"
    "  --preserve-color       keep the content's colours (CORAL colour transfer onto each style)\n"
    "\n"
    "Sizes:\n"
    "  --content-size N       resize each content so its long side is N first (0 = keep; default;\n"
    "                         at most 16384)\n"
    "  --style-size N         resize each style so its long side is N first (0 = keep; default;\n"
    "                         at most 16384)\n"
    "\n"
    "Other:\n"
    "  --device auto|cpu|cuda where to run (default auto: CUDA when available)\n"
    "  --threads N            CPU threads (default 0 = all cores)\n"
    "  --save-depth FILE      also write the normalised depth D (0 = near, content size; PNG is\n"
    "                         16-bit) -- single content only\n"
    "  --save-strength FILE   also write the strength map S (at feature resolution, 1/8 of the\n"
    "                         padded content size; PNG is 16-bit) -- single content only\n"
    "  --quiet                no progress bar (it is shown only on a terminal, for batches)\n"
    "  --version              print the library version and exit\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "The content's alpha channel, if any, is carried to PNG outputs.\n"
    "\n"
    "Nothing is overwritten by mistake: before any work, every output (--out, the --out-dir\n"
    "names, --save-depth, --save-strength) must be a distinct file from every other output and\n"
    "from every input (contents, styles, --mask, --regions, --depth, the bundle's files), compared\n"
    "as the files the paths lead to (symbolic links, './a' and 'a' are one file), and its folder\n"
    "must exist (--out-dir is created) and be writable.  An existing output file of another run is\n"
    "replaced.\n"
    "\n"
    "Exit status: 0 success, 1 usage error (including an output that clashes with another path or\n"
    "cannot be written, and a colour --depth without --depth-from-rgb), 2 input, model or output\n"
    "error (all failures of a batch are listed at the end).\n";

enum {
    OPT_CONTENT = CLI_OPT_FIRST_PROGRAM_OPTION, OPT_CONTENT_DIR, OPT_STYLE_DIR, OPT_OUT, OPT_OUT_DIR,
    OPT_OUT_EXT, OPT_DEPTH, OPT_DEPTH_IS_DISPARITY, OPT_DEPTH_INVALID, OPT_MASK, OPT_REGIONS,
    OPT_CONTENT_SIZE, OPT_SAVE_DEPTH, OPT_SAVE_STRENGTH, OPT_DEPTH_FROM_RGB, OPT_VERSION
};

typedef struct options {
    cli_shared_options shared;
    const char *content, *content_dir, *style_dir;
    const char *out, *out_dir, *out_ext;
    const char *depth, *mask, *regions;
    int depth_is_disparity, has_invalid, depth_from_rgb;
    float invalid_value;
    int32_t content_size;
    const char *save_depth, *save_strength;
} options;

typedef struct path_list {
    char **items;
    int count;
} path_list;

/* Everything a content image needs that is prepared once per run. */
typedef struct run_context {
    const options *opt;
    adn_model *model;
    adn_context *context;       /* the one context every image of the run is rendered on */
    int n_styles;
    adn_style **styles;         /* NULL where a style failed to load or encode */
    const path_list *style_paths;
    int combined;               /* 1: all styles mixed into one output per content */
    adn_image mask;             /* as read (any size) or empty */
    adn_image regions;          /* K one-hot masks at the region map's size, or empty */
    adn_image depth;            /* caller depth in raw units, or empty */
    int saved_maps;             /* --save-depth / --save-strength written */
} run_context;

typedef struct failures {
    char **lines;
    int count;
} failures;

/* ---- small helpers ------------------------------------------------------------------------- */

static void add_failure(failures *f, const char *fmt, ...) CLI_PRINTF(2, 3);
static void add_failure(failures *f, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char **grown = realloc(f->lines, sizeof *grown * (size_t)(f->count + 1));
    char *copy = malloc(strlen(line) + 1);
    if (!grown || !copy) {            /* out of memory: still say it on the spot */
        free(copy);
        if (grown)
            f->lines = grown;
        cli_error("%s", line);
        return;
    }
    strcpy(copy, line);
    f->lines = grown;
    f->lines[f->count++] = copy;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Extension without the dot ("" if none), of the last path component. */
static const char *extension(const char *path)
{
    const char *dot = strrchr(base_name(path), '.');
    return dot ? dot + 1 : "";
}

static int is_image_extension(const char *ext)
{
    return strcasecmp(ext, "png") == 0 || strcasecmp(ext, "jpg") == 0 || strcasecmp(ext, "jpeg") == 0;
}

/* File name without folder and extension, into buf. */
static void stem(const char *path, char *buf, size_t size)
{
    const char *name = base_name(path);
    const char *dot = strrchr(name, '.');
    size_t len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    snprintf(buf, size, "%.*s", (int)len, name);
}

static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s%s%s", dir, (*dir && dir[strlen(dir) - 1] == '/') ? "" : "/", name);
    return path;
}

static void free_paths(path_list *list)
{
    for (int i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular .png/.jpg/.jpeg file of dir, sorted.  Prints and returns -1 on error. */
static int list_images(const char *dir, path_list *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("cannot open folder '%s': %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        if (entry->d_name[0] == '.' || !is_image_extension(extension(entry->d_name)))
            continue;
        char *path = join_path(dir, entry->d_name);
        struct stat st;
        char **grown = path ? realloc(out->items, sizeof *grown * (size_t)(out->count + 1)) : NULL;
        if (!grown) {
            free(path);
            closedir(d);
            cli_error("out of memory");
            return -1;
        }
        out->items = grown;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            out->items[out->count++] = path;
        else
            free(path);
    }
    closedir(d);
    if (out->count == 0) {
        cli_error("no .png, .jpg or .jpeg files in folder '%s'", dir);
        return -1;
    }
    qsort(out->items, (size_t)out->count, sizeof *out->items, compare_strings);
    return 0;
}

/* --content FILE (one item) or --style A,B,C as a list.  Prints and returns -1 on error. */
static int list_given(const char *text, int split, path_list *out)
{
    int n = 1;
    char **items = split ? cli_split_list(text, &n) : calloc(2, sizeof *items);
    if (items && !split && (items[0] = malloc(strlen(text) + 1)) != NULL)
        strcpy(items[0], text);
    if (!items || !items[0]) {
        cli_free_list(items);
        cli_error("out of memory");
        return -1;
    }
    out->items = items;
    out->count = n;
    return 0;
}

/* "a,,b", ",a" or "a," : a list with an empty file name. */
static int has_empty_item(const char *list)
{
    size_t len = strlen(list);
    return len == 0 || list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,") != NULL;
}

/* ---- options ------------------------------------------------------------------------------- */

/* Handles one of this program's own options: 0 fine, -1 usage error. */
static int program_option(int code, const char *arg, void *program_options)
{
    options *o = program_options;
    switch (code) {
    case OPT_CONTENT: o->content = arg; return 0;
    case OPT_CONTENT_DIR: o->content_dir = arg; return 0;
    case OPT_STYLE_DIR: o->style_dir = arg; return 0;
    case OPT_OUT: o->out = arg; return 0;
    case OPT_OUT_DIR: o->out_dir = arg; return 0;
    case OPT_OUT_EXT:
        o->out_ext = arg[0] == '.' ? arg + 1 : arg;
        if (!is_image_extension(o->out_ext))
            return cli_usage_error("--out-ext: '%s' is not png, jpg or jpeg", arg);
        return 0;
    case OPT_DEPTH: o->depth = arg; return 0;
    case OPT_DEPTH_IS_DISPARITY: o->depth_is_disparity = 1; return 0;
    case OPT_DEPTH_FROM_RGB: o->depth_from_rgb = 1; return 0;
    case OPT_DEPTH_INVALID:
        o->has_invalid = 1;
        return cli_parse_float("depth-invalid", arg, 0.0f, 65535.0f, &o->invalid_value);
    case OPT_MASK: o->mask = arg; return 0;
    case OPT_REGIONS: o->regions = arg; return 0;
    case OPT_CONTENT_SIZE: return cli_parse_int("content-size", arg, 0, CLI_MAX_LONG_SIDE, &o->content_size);
    case OPT_SAVE_DEPTH: o->save_depth = arg; return 0;
    case OPT_SAVE_STRENGTH: o->save_strength = arg; return 0;
    default: return cli_usage_error("unknown option");
    }
}

/* Returns 0 to run, 1 when --help/--version was answered, -1 on a usage error. */
static int parse_options(int argc, char **argv, options *o)
{
    static const struct option long_options[] = {
        CLI_SHARED_LONG_OPTIONS,
        {"content", required_argument, NULL, OPT_CONTENT},
        {"content-dir", required_argument, NULL, OPT_CONTENT_DIR},
        {"style-dir", required_argument, NULL, OPT_STYLE_DIR},
        {"out", required_argument, NULL, OPT_OUT},
        {"out-dir", required_argument, NULL, OPT_OUT_DIR},
        {"out-ext", required_argument, NULL, OPT_OUT_EXT},
        {"depth", required_argument, NULL, OPT_DEPTH},
        {"depth-is-disparity", no_argument, NULL, OPT_DEPTH_IS_DISPARITY},
        {"depth-from-rgb", no_argument, NULL, OPT_DEPTH_FROM_RGB},
        {"depth-invalid", required_argument, NULL, OPT_DEPTH_INVALID},
        {"mask", required_argument, NULL, OPT_MASK},
        {"regions", required_argument, NULL, OPT_REGIONS},
        {"content-size", required_argument, NULL, OPT_CONTENT_SIZE},
        {"save-depth", required_argument, NULL, OPT_SAVE_DEPTH},
        {"save-strength", required_argument, NULL, OPT_SAVE_STRENGTH},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    cli_shared_defaults(&o->shared);
    return cli_parse_args(argc, argv, long_options, usage_text, OPT_VERSION, &o->shared, program_option, o);
}

/* Checks the combinations that do not need any file.  Prints and returns -1 on error. */
static int check_options(const options *o)
{
    const cli_shared_options *s = &o->shared;
    const char *problem = NULL;
    if (!s->models)
        problem = "--models DIR is required";
    else if (!o->content == !o->content_dir)
        problem = "give exactly one of --content FILE and --content-dir DIR";
    else if (!s->styles == !o->style_dir)
        problem = "give exactly one of --style FILE[,FILE..] and --style-dir DIR";
    else if (s->styles && has_empty_item(s->styles))
        problem = "--style: empty file name in the list";
    else if (!o->out == !o->out_dir)
        problem = "give exactly one of --out FILE and --out-dir DIR";
    else if (o->out_ext && !o->out_dir)
        problem = "--out-ext goes with --out-dir";
    else if (s->n_weights && o->regions)
        problem = "--interp-weights and --regions exclude each other";
    else if (s->no_depth && o->depth)
        problem = "--no-depth and --depth exclude each other";
    else if ((o->depth_is_disparity || o->has_invalid || o->depth_from_rgb) && !o->depth)
        problem = "--depth-is-disparity, --depth-invalid and --depth-from-rgb describe a --depth FILE";
    else if (s->no_depth && o->save_depth)
        problem = "--save-depth has nothing to save with --no-depth";
    else if ((o->save_depth || o->save_strength) && o->content_dir)
        problem = "--save-depth and --save-strength need a single --content";
    if (problem) {
        cli_usage_error("%s", problem);
        return -1;
    }
    return 0;
}

/* Checks what depends on the number of styles.  Prints and returns -1 on error. */
static int check_style_count(const options *o, int n_styles, int n_outputs)
{
    if (o->shared.n_weights && o->shared.n_weights != n_styles)
        return cli_usage_error("--interp-weights has %d weights for %d styles", o->shared.n_weights, n_styles);
    if (o->out && n_outputs != 1)
        return cli_usage_error("--out names one file but this run makes %d images; use --out-dir", n_outputs);
    return 0;
}

/* ---- inputs prepared once ------------------------------------------------------------------ */

/* One-hot region masks (K x H x W) from the --regions image, by the rule in --help. */
static int read_regions(const char *path, int k, adn_image *masks)
{
    adn_image img = {0};
    adn_status st = adn_image_read(path, NULL, &img, NULL, NULL);
    if (st != ADN_OK) {
        cli_error("cannot read --regions '%s': %s", path, adn_last_error());
        return -1;
    }
    size_t n = (size_t)img.width * img.height;
    const float *r = img.data, *g = img.data + n, *b = img.data + 2 * n;
    int grey = 1;
    for (size_t i = 0; i < n && grey; i++)
        grey = r[i] == g[i] && g[i] == b[i];
    if (!grey && k > 3) {
        cli_error("--regions '%s' is a colour map, which names at most 3 styles, but there are %d; "
                  "use grey levels", path, k);
        adn_image_free(&img);
        return -1;
    }
    st = adn_image_alloc(masks, k, img.height, img.width);
    if (st != ADN_OK) {
        cli_error("--regions '%s': %s", path, adn_last_error());
        adn_image_free(&img);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int label = 0;
        if (grey) {
            label = (int)(r[i] * (float)k);
            label = label >= k ? k - 1 : (label < 0 ? 0 : label);
        } else {
            for (int c = 1; c < k; c++)
                if (img.data[c * n + i] > img.data[label * n + i])
                    label = c;
        }
        masks->data[(size_t)label * n + i] = 1.0f;
    }
    adn_image_free(&img);
    return 0;
}

static int read_grey(const char *option, const char *path, adn_image *img)
{
    adn_read_params params = adn_read_default_params();
    params.mode = ADN_PIXELS_GRAY;
    if (adn_image_read(path, &params, img, NULL, NULL) != ADN_OK) {
        cli_error("cannot read --%s '%s': %s", option, path, adn_last_error());
        return -1;
    }
    return 0;
}

/* --depth as raw stored values.  A colour file would silently become its luma, which is no depth
 * map, so it is refused unless --depth-from-rgb asks for exactly that; a colour file whose pixels
 * are all grey (R = G = B) is a grey map saved as RGB and gives its one channel unchanged.
 * Returns 0, -1 after a read error or -2 after refusing a colour map (both printed). */
static int read_depth(const options *o, adn_image *depth)
{
    adn_read_params params = adn_read_default_params();
    params.mode = ADN_PIXELS_GRAY;
    params.raw_values = 1;
    adn_image_info info = {.struct_size = sizeof info};
    if (adn_image_read(o->depth, &params, depth, NULL, &info) != ADN_OK) {
        cli_error("cannot read --depth '%s': %s", o->depth, adn_last_error());
        return -1;
    }
    if (info.file_channels < 3 || o->depth_from_rgb)
        return 0;
    adn_image rgb = {0};
    params.mode = ADN_PIXELS_RGB;
    if (adn_image_read(o->depth, &params, &rgb, NULL, NULL) != ADN_OK) {
        cli_error("cannot read --depth '%s': %s", o->depth, adn_last_error());
        adn_image_free(depth);
        return -1;
    }
    const size_t n = (size_t)rgb.height * (size_t)rgb.width;
    const float *r = rgb.data, *g = rgb.data + n, *b = rgb.data + 2 * n;
    size_t i = 0;
    while (i < n && r[i] == g[i] && g[i] == b[i])
        i++;
    if (i == n)
        memcpy(depth->data, r, sizeof(float) * n);
    adn_image_free(&rgb);
    if (i == n)
        return 0;
    adn_image_free(depth);
    cli_usage_error("--depth '%s' is a colour image (%d channels), not a grey depth map; give "
                    "--depth-from-rgb to use its luma 0.299 R + 0.587 G + 0.114 B as the depth",
                    o->depth, (int)info.file_channels);
    return -2;
}

/* Reads --mask, --regions and --depth.  Prints and returns -1 on a read error, -2 on a usage
 * error (a colour depth map). */
static int read_side_inputs(run_context *ctx)
{
    const options *o = ctx->opt;
    if (o->mask && read_grey("mask", o->mask, &ctx->mask) != 0)
        return -1;
    if (o->depth) {
        int rc = read_depth(o, &ctx->depth);
        if (rc != 0)
            return rc;
    }
    if (o->regions && read_regions(o->regions, ctx->n_styles, &ctx->regions) != 0)
        return -1;
    return 0;
}

/* Reads and encodes every style once; failures are recorded and the style left NULL. */
static void encode_styles(run_context *ctx, failures *f)
{
    for (int k = 0; k < ctx->n_styles; k++) {
        const char *path = ctx->style_paths->items[k];
        adn_image img = {0};
        if (cli_read_style(path, ctx->opt->shared.style_size, &img) != ADN_OK) {
            add_failure(f, "style '%s': %s", path, adn_last_error());
            continue;
        }
        if (adn_style_create(ctx->model, &img, &ctx->styles[k]) != ADN_OK)
            add_failure(f, "style '%s': %s", path, adn_last_error());
        adn_image_free(&img);
    }
}

/* The bundle must be able to make a depth map if --save-depth asks for one. */
static int check_depth_available(const run_context *ctx)
{
    adn_model_info info = {.struct_size = sizeof info};
    if (!ctx->opt->save_depth || ctx->opt->depth || adn_model_get_info(ctx->model, &info) != ADN_OK)
        return 0;
    if (info.depth_kind == ADN_DEPTH_KIND_NONE) {
        cli_error("--save-depth: the bundle '%s' has no depth module (depth.pt) and no --depth was given",
                  ctx->opt->shared.models);
        return -1;
    }
    return 0;
}

/* ---- one content image --------------------------------------------------------------------- */

/* The output file name of content `content` with styles [first, first + count). */
static char *output_path(const run_context *ctx, const char *content, int first, int count)
{
    const options *o = ctx->opt;
    if (o->out) {
        char *copy = malloc(strlen(o->out) + 1);
        return copy ? strcpy(copy, o->out) : NULL;
    }
    char name[4096], part[1024];
    stem(content, part, sizeof part);
    size_t len = (size_t)snprintf(name, sizeof name, "%s_stylized_", part);
    for (int k = first; k < first + count && len < sizeof name; k++) {
        stem(ctx->style_paths->items[k], part, sizeof part);
        len += (size_t)snprintf(name + len, sizeof name - len, "%s%s", k > first ? "+" : "", part);
    }
    const char *ext = o->out_ext ? o->out_ext
                    : is_image_extension(extension(content)) ? extension(content) : "png";
    if (len < sizeof name)
        snprintf(name + len, sizeof name - len, ".%s", ext);
    return join_path(o->out_dir, name);
}

static adn_status copy_resized(const adn_image *src, int32_t height, int32_t width, adn_image *dst)
{
    adn_status st = adn_image_alloc(dst, src->channels, src->height, src->width);
    if (st != ADN_OK)
        return st;
    memcpy(dst->data, src->data, sizeof(float) * (size_t)src->channels * src->height * src->width);
    st = cli_resize_to(dst, height, width);
    if (st != ADN_OK)
        adn_image_free(dst);
    return st;
}

/* A content image, its alpha and the per-pixel inputs brought to its size. */
typedef struct content_inputs {
    adn_image rgb, alpha, mask, regions;
    adn_image depth; /* the caller depth resized to this content, when it must be (see below) */
} content_inputs;

static void free_content(content_inputs *c)
{
    adn_image_free(&c->rgb);
    adn_image_free(&c->alpha);
    adn_image_free(&c->mask);
    adn_image_free(&c->regions);
    adn_image_free(&c->depth);
}

/* Nearest-neighbour resize (half-pixel centres) of a 1-channel map.  Used for a depth map with an
 * invalid value: bilinear weights would blend the invalid marker into real depths, while nearest
 * keeps every pixel either a real depth or exactly the marker. */
static adn_status resize_nearest(const adn_image *src, int32_t height, int32_t width, adn_image *dst)
{
    adn_status st = adn_image_alloc(dst, 1, height, width);
    if (st != ADN_OK)
        return st;
    for (int32_t y = 0; y < height; y++) {
        int64_t sy = (int64_t)(((double)y + 0.5) * src->height / height);
        sy = sy < src->height ? sy : src->height - 1;
        for (int32_t x = 0; x < width; x++) {
            int64_t sx = (int64_t)(((double)x + 0.5) * src->width / width);
            sx = sx < src->width ? sx : src->width - 1;
            dst->data[(int64_t)y * width + x] = src->data[sy * src->width + sx];
        }
    }
    return ADN_OK;
}

static adn_status load_content(const run_context *ctx, const char *path, content_inputs *c)
{
    adn_status st = adn_image_read(path, NULL, &c->rgb, &c->alpha, NULL);
    if (st == ADN_OK)
        st = cli_resize_long_side(&c->rgb, ctx->opt->content_size);
    if (st == ADN_OK && c->alpha.data)
        st = cli_resize_to(&c->alpha, c->rgb.height, c->rgb.width);
    if (st == ADN_OK && ctx->mask.data)
        st = copy_resized(&ctx->mask, c->rgb.height, c->rgb.width, &c->mask);
    if (st == ADN_OK && ctx->regions.data)
        st = copy_resized(&ctx->regions, c->rgb.height, c->rgb.width, &c->regions);
    /* The library resizes a caller depth map itself, bilinearly, except when it declares an
     * invalid value: then the map must match the content, so it is brought there here. */
    if (st == ADN_OK && ctx->depth.data && ctx->opt->has_invalid &&
        (ctx->depth.width != c->rgb.width || ctx->depth.height != c->rgb.height))
        st = resize_nearest(&ctx->depth, c->rgb.height, c->rgb.width, &c->depth);
    return st;
}

static adn_status write_map(const char *path, const adn_image *map)
{
    adn_write_params params = adn_write_default_params();
    params.png_bit_depth = 16;
    return adn_image_write(path, map, NULL, &params);
}

/* Renders one output (styles [first, first + count)) and writes it; records any failure. */
static void render_one(run_context *ctx, const char *content_path, content_inputs *c, int first,
                       int count, failures *f)
{
    const options *o = ctx->opt;
    char *out_path = output_path(ctx, content_path, first, count);
    for (int k = first; k < first + count; k++) {
        if (!ctx->styles[k]) {
            add_failure(f, "'%s' not made: style '%s' could not be used", out_path ? out_path : "?",
                        ctx->style_paths->items[k]);
            free(out_path);
            return;
        }
    }
    int want_maps = !ctx->saved_maps;
    adn_image out = {0}, depth = {0}, strength = {0};
    adn_stylize_params p = adn_stylize_default_params();
    p.alpha = o->shared.alpha;
    p.mask = c->mask.data ? &c->mask : NULL;
    p.region_masks = c->regions.data ? &c->regions : NULL;
    p.style_weights = o->shared.n_weights ? o->shared.weights : NULL;
    p.depth_source = o->shared.no_depth ? ADN_DEPTH_NONE : (ctx->depth.data ? ADN_DEPTH_CALLER : ADN_DEPTH_AUTO);
    p.depth = c->depth.data ? &c->depth : ctx->depth.data ? &ctx->depth : NULL;
    p.depth_norm.is_disparity = o->depth_is_disparity;
    p.depth_norm.has_invalid = o->has_invalid;
    p.depth_norm.invalid_value = o->invalid_value;
    p.preserve_color = o->shared.preserve_color;
    const int save_depth = want_maps && o->save_depth, save_strength = want_maps && o->save_strength;

    /* D and S of the call stay in the context until its next call: fetch them right after. */
    const adn_style *const *styles = (const adn_style *const *)(ctx->styles + first);
    if (!out_path)
        add_failure(f, "'%s': out of memory", content_path);
    else if (adn_stylize(ctx->context, &c->rgb, styles, count, &p, &out) != ADN_OK)
        add_failure(f, "content '%s': %s", content_path, adn_last_error());
    else if (save_depth && adn_context_get_depth(ctx->context, &depth) != ADN_OK)
        add_failure(f, "--save-depth '%s': %s", o->save_depth, adn_last_error());
    else if (save_strength && adn_context_get_strength(ctx->context, &strength) != ADN_OK)
        add_failure(f, "--save-strength '%s': %s", o->save_strength, adn_last_error());
    else if (adn_image_write(out_path, &out, c->alpha.data ? &c->alpha : NULL, NULL) != ADN_OK)
        add_failure(f, "output '%s': %s", out_path, adn_last_error());
    else if (save_depth && write_map(o->save_depth, &depth) != ADN_OK)
        add_failure(f, "--save-depth '%s': %s", o->save_depth, adn_last_error());
    else if (save_strength && write_map(o->save_strength, &strength) != ADN_OK)
        add_failure(f, "--save-strength '%s': %s", o->save_strength, adn_last_error());
    else
        ctx->saved_maps = 1;
    adn_image_free(&out);
    adn_image_free(&depth);
    adn_image_free(&strength);
    free(out_path);
}

/* All outputs of one content image; returns how many outputs it accounted for. */
static int render_content(run_context *ctx, const char *path, failures *f, cli_progress *bar, long *done)
{
    int outputs = ctx->combined ? 1 : ctx->n_styles;
    content_inputs c = {0};
    if (load_content(ctx, path, &c) != ADN_OK) {
        add_failure(f, "content '%s': %s", path, adn_last_error());
        *done += outputs;
        cli_progress_update(bar, *done, base_name(path));
        free_content(&c);
        return outputs;
    }
    for (int job = 0; job < outputs; job++) {
        render_one(ctx, path, &c, ctx->combined ? 0 : job, ctx->combined ? ctx->n_styles : 1, f);
        cli_progress_update(bar, ++*done, base_name(path));
    }
    free_content(&c);
    return outputs;
}

/* ---- the run ------------------------------------------------------------------------------- */

static int report_failures(const failures *f, long total)
{
    if (f->count == 0)
        return CLI_EXIT_OK;
    cli_error("%d problem%s (%ld image%s planned):", f->count, f->count == 1 ? "" : "s", total,
              total == 1 ? "" : "s");
    for (int i = 0; i < f->count; i++)
        fprintf(stderr, "  %s\n", f->lines[i]);
    return CLI_EXIT_INPUT;
}

/* Two planned outputs with one file name (a.jpg and a.jpeg, s.png and s.jpg) would silently
 * overwrite each other: refuse the run before any work.  Prints and returns -1 then. */
static int check_output_collisions(const run_context *ctx, const path_list *contents)
{
    const int per_content = ctx->combined ? 1 : ctx->n_styles;
    const int total = contents->count * per_content;
    char **paths = calloc((size_t)total, sizeof *paths);
    int rc = paths ? 0 : -1;
    for (int i = 0; rc == 0 && i < total; i++) {
        const int content = i / per_content, job = i % per_content;
        paths[i] = output_path(ctx, contents->items[content], ctx->combined ? 0 : job,
                               ctx->combined ? ctx->n_styles : 1);
        if (!paths[i]) {
            rc = -1;
            break;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(paths[i], paths[j]) == 0) {
                if (ctx->combined)
                    cli_usage_error("two outputs would both be written to '%s' (content '%s' and '%s'); "
                                    "rename an input or use --out-ext", paths[i],
                                    contents->items[j / per_content], contents->items[content]);
                else
                    cli_usage_error("two outputs would both be written to '%s' (content '%s' with style "
                                    "'%s', and content '%s' with style '%s'); rename an input or use "
                                    "--out-ext", paths[i], contents->items[j / per_content],
                                    ctx->style_paths->items[j % per_content], contents->items[content],
                                    ctx->style_paths->items[job]);
                rc = -1;
                break;
            }
    }
    if (!paths)
        cli_error("out of memory");
    for (int i = 0; paths && i < total; i++)
        free(paths[i]);
    free(paths);
    return rc;
}

/* Checks one set of paths; prints the first problem and returns -1, or returns 0. */
static int check_path_set(cli_path_set *paths)
{
    char msg[4096];
    int bad = cli_path_set_check(paths, msg, sizeof msg);
    cli_path_set_free(paths);
    return bad ? cli_usage_error("%s; nothing was done", msg) : 0;
}

/* A missing --out-dir: its parent must take it (checked like an output), then it is made, so that
 * the names in it can be checked like any other file.  *created says whether it was made here.
 * Prints and returns -1 on a problem. */
static int prepare_out_dir(const char *dir, int *created)
{
    struct stat st;
    *created = 0;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return cli_usage_error("--out-dir '%s' is not a folder", dir);
        return 0;
    }
    cli_path_set *paths = cli_path_set_new();
    cli_path_set_add(paths, CLI_PATH_OUTPUT, "--out-dir", dir);
    if (check_path_set(paths) != 0)
        return -1;
    if (mkdir(dir, 0777) != 0)
        return cli_usage_error("cannot create output folder '%s': %s", dir, strerror(errno));
    *created = 1;
    return 0;
}

/*
 * No silent data loss: every output must be a file of its own, distinct from every other output
 * and from every input, by the file its path leads to (cli_paths: device and inode, symlinks
 * followed; "./a" and "a" are one), and its folder must exist and be writable.  All of this is
 * checked before anything is read, loaded or computed.  A missing --out-dir is made first (so the
 * names in it can be checked like any other) and removed again when the run is refused, which
 * then leaves no trace.  Prints and returns -1 on a problem.
 */
static int check_paths(const run_context *ctx, const path_list *contents)
{
    const options *o = ctx->opt;
    int created = 0, out_of_memory = 0;
    char *out_dir = NULL;
    if (o->out_dir) {
        /* "out/" is the folder "out" (a path that ends in '/' is no file name to cli_paths). */
        size_t len = strlen(o->out_dir);
        while (len > 1 && o->out_dir[len - 1] == '/')
            len--;
        out_dir = malloc(len + 1);
        if (!out_dir) {
            cli_error("out of memory");
            return -1;
        }
        memcpy(out_dir, o->out_dir, len);
        out_dir[len] = '\0';
        if (prepare_out_dir(out_dir, &created) != 0) {
            free(out_dir);
            return -1;
        }
    }

    cli_path_set *paths = cli_path_set_new();
    for (int i = 0; i < contents->count; i++)
        cli_path_set_add(paths, CLI_PATH_INPUT, o->content ? "--content" : "--content-dir", contents->items[i]);
    for (int k = 0; k < ctx->n_styles; k++)
        cli_path_set_add(paths, CLI_PATH_INPUT, o->style_dir ? "--style-dir" : "--style", ctx->style_paths->items[k]);
    cli_path_set_add(paths, CLI_PATH_INPUT, "--mask", o->mask);
    cli_path_set_add(paths, CLI_PATH_INPUT, "--regions", o->regions);
    cli_path_set_add(paths, CLI_PATH_INPUT, "--depth", o->depth);
    cli_add_bundle_inputs(paths, o->shared.models);

    cli_path_set_add(paths, CLI_PATH_OUTPUT, "--out", o->out);
    if (o->out_dir) {
        const int per_content = ctx->combined ? 1 : ctx->n_styles;
        for (int i = 0; i < contents->count; i++)
            for (int job = 0; job < per_content; job++) {
                char *path = output_path(ctx, contents->items[i], ctx->combined ? 0 : job,
                                         ctx->combined ? ctx->n_styles : 1);
                out_of_memory |= !path;
                cli_path_set_add(paths, CLI_PATH_OUTPUT, "--out-dir output", path);
                free(path);
            }
    }
    cli_path_set_add(paths, CLI_PATH_OUTPUT, "--save-depth", o->save_depth);
    cli_path_set_add(paths, CLI_PATH_OUTPUT, "--save-strength", o->save_strength);

    int rc = -1;
    if (out_of_memory) {
        cli_path_set_free(paths);
        cli_error("out of memory");
    } else {
        rc = check_path_set(paths);
    }
    if (rc != 0 && created)
        rmdir(out_dir);   /* empty: it was made just now */
    free(out_dir);
    return rc;
}

static int run(const options *o, const path_list *contents, const path_list *style_paths)
{
    run_context ctx = {0};
    failures f = {0};
    ctx.opt = o;
    ctx.style_paths = style_paths;
    ctx.n_styles = style_paths->count;
    ctx.combined = o->shared.n_weights > 0 || o->regions != NULL;
    ctx.styles = calloc((size_t)ctx.n_styles, sizeof *ctx.styles);
    int rc = CLI_EXIT_INPUT, side = 0;
    if (!ctx.styles)
        cli_error("out of memory");
    else if (check_output_collisions(&ctx, contents) != 0 || check_paths(&ctx, contents) != 0)
        rc = CLI_EXIT_USAGE;
    else if ((side = read_side_inputs(&ctx)) != 0)
        rc = side == -2 ? CLI_EXIT_USAGE : CLI_EXIT_INPUT;
    else if (cli_load_model(&o->shared, &ctx.model) == 0 &&
             check_depth_available(&ctx) == 0 && cli_create_context(&o->shared, ctx.model, &ctx.context) == 0) {
        encode_styles(&ctx, &f);
        long total = (long)contents->count * (ctx.combined ? 1 : ctx.n_styles), done = 0;
        cli_progress bar;
        cli_progress_start(&bar, total > 1 ? total : 0, o->shared.quiet || total <= 1);
        for (int i = 0; i < contents->count; i++)
            render_content(&ctx, contents->items[i], &f, &bar, &done);
        cli_progress_finish(&bar);
        rc = report_failures(&f, total);
    }
    adn_context_free(ctx.context);
    for (int k = 0; ctx.styles && k < ctx.n_styles; k++)
        adn_style_free(ctx.styles[k]);
    free(ctx.styles);
    adn_model_free(ctx.model);
    adn_image_free(&ctx.mask);
    adn_image_free(&ctx.regions);
    adn_image_free(&ctx.depth);
    for (int i = 0; i < f.count; i++)
        free(f.lines[i]);
    free(f.lines);
    return rc;
}

/* The content and style files named by the options.  Prints and returns -1 on error. */
static int list_inputs(const options *o, path_list *contents, path_list *styles)
{
    int ok = (o->content ? list_given(o->content, 0, contents) : list_images(o->content_dir, contents)) == 0;
    if (ok)
        ok = (o->shared.styles ? list_given(o->shared.styles, 1, styles) : list_images(o->style_dir, styles)) == 0;
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    cli_set_program_name("adn-stylize");
    options o;
    int parsed = parse_options(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (check_options(&o) != 0)
        return CLI_EXIT_USAGE;
    path_list contents = {0}, styles = {0};
    int rc = CLI_EXIT_INPUT;
    if (list_inputs(&o, &contents, &styles) == 0) {
        int combined = o.shared.n_weights > 0 || o.regions != NULL;
        int n_outputs = contents.count * (combined ? 1 : styles.count);
        if (check_style_count(&o, styles.count, n_outputs) != 0)
            rc = CLI_EXIT_USAGE;
        else
            rc = run(&o, &contents, &styles);
    }
    free_paths(&contents);
    free_paths(&styles);
    return rc;
}
