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
#include "cli_compare.h"
#include "cli_depth_score.h"
#include "cli_paths.h"

static const char usage_text[] =
    "Usage: adn-stylize --models DIR --content FILE --style FILE[,FILE..] --out FILE [OPTIONS]\n"
    "  or:  adn-stylize --models DIR --content-dir DIR --style-dir DIR --out-dir DIR [OPTIONS]\n"
    "\n"
    "(--content and --content-dir, --style and --style-dir, --out and --out-dir mix freely.)\n"
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
    "  --jpeg-quality Q       quality of JPEG outputs, 1..100 (default 95; 90 and above keep full\n"
    "                         colour resolution, 4:4:4)\n"
    "  --png-16               write PNG outputs with 16 bits per sample (default 8)\n"
    "  --save-original        also write each output's inputs as the network saw them (after\n"
    "                         --content-size, --style-size, --max-side and --crop), next to it:\n"
    "                         OUT_content.EXT and OUT_style.EXT (mixed styles: OUT_style1.EXT, ..)\n"
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
    "                         resized to the content if the sizes differ.  Coming from AdaIN-style\n"
    "                         (Lua): its -mask gives WHITE to the FIRST of two styles; here white\n"
    "                         goes to the second, so give the styles in the other order (or invert\n"
    "                         the mask) to reuse a Lua mask.\n"
    "  --preserve-color       keep the content's colours (CORAL colour transfer onto each style)\n"
    "\n"
    "Sizes (pytorch-AdaIN and AdaIN-style users: --content-size and --style-size mean the SHORT side\n"
    "there too; --max-side is what --content-size meant here before):\n"
    "  --content-size N       resize each content so its short side is N (the long side keeps the\n"
    "                         aspect ratio, rounded; at most 16384).  Default 0: keep the content's\n"
    "                         size.  The peers default to 512 (give --content-size 512 to match\n"
    "                         them); here the default keeps the size because the output then lines\n"
    "                         up pixel for pixel with the content, --mask, --depth and\n"
    "                         --save-depth, and the library's memory budget runs large images over\n"
    "                         tiles instead of running out of memory.\n"
    "  --style-size N         the same for each style (default 0 = keep)\n"
    "  --max-side N           then shrink (never enlarge) contents and styles so that their long\n"
    "                         side is at most N (default 0 = no limit)\n"
    "  --crop                 then keep the centre square of contents and styles (as the peers'\n"
    "                         --crop), and of --mask, --regions and --depth\n"
    "                         Resizing is bilinear with half-pixel centres, no antialiasing\n"
    "                         (F.interpolate(align_corners=False), docs/METHOD.md section 5), done\n"
    "                         while the file is decoded: the file's pixels are never all in memory,\n"
    "                         and the result equals decoding the whole file and resizing it.\n"
    "  --fast-decode          resize JPEGs partly in the decoder (libjpeg's DCT scaling by 1/2,\n"
    "                         1/4 or 1/8 down to no less than the size asked for, then the resize\n"
    "                         above): faster and smoother on large photos, but the pixels differ\n"
    "                         slightly from the exact resize (no effect on PNG)\n"
    "  --max-pixels N         refuse any input image (and any resize) above N pixels (default\n"
    "                         268435456 = 16384 x 16384)\n"
    "  --memory-budget BYTES  most memory one stylization may plan for (K, M or G may follow): a\n"
    "                         larger image runs over tiles, and one that cannot fit even so is\n"
    "                         refused before any work with the estimate (default 0: the library's\n"
    "                         default, the image's own buffers plus 768 MiB for the networks)\n"
    "\n"
    "Comparing with plain AdaIN (the paper's user-study protocol):\n"
    "  --compare FILE         also write one labelled panel: content | depth D (black = near) |\n"
    "                         AdaIN with a uniform alpha equal to the mean of the strength map S |\n"
    "                         AdaIN-DCS (the output) | strength S (white = full style).  Single\n"
    "                         output only; for batches use --compare-dir\n"
    "  --compare-dir DIR      one panel per output into DIR (created if missing), named\n"
    "                         CONTENT_compare_STYLE.png\n"
    "  --report               print, for each output, how well AdaIN (uniform alpha = mean S) and\n"
    "                         AdaIN-DCS keep the content's depth: the bundle's depth network is run\n"
    "                         on the content and on each output (clamped to [0,1]), giving\n"
    "                         normalised depths D (0 = near), and the numbers are the Pearson and\n"
    "                         the Spearman (rank, ties averaged) correlation of D_output with\n"
    "                         D_content (1 = the same depth order), and the scale-invariant error\n"
    "                         of Eigen et al. 2014 (their eq. 1, lambda = 1) on z = 1 + D:\n"
    "                         g = ln z_output - ln z_content, si = mean(g^2) - mean(g)^2 (0 = the\n"
    "                         same depth up to a scale).  Needs depth.pt in the bundle.  With the\n"
    "                         analytic bundle, whose depth is the luma, it measures how well the\n"
    "                         light-and-dark pattern survives, not geometry (and with its\n"
    "                         ground-plane depth, which ignores the picture, it is trivially 1\n"
    "                         and 0).\n"
    "\n"
    "Other:\n"
    "  --device auto|cpu|cuda|cuda:N  where to run (default auto: CUDA when available; cuda:N =\n"
    "                         GPU N)\n"
    "  --threads N            CPU threads (default 0 = all cores)\n"
    "  --trust-unsealed       also load a bundle without manifest.txt (made by hand), after a\n"
    "                         structural check of its files; better: seal it once with\n"
    "                         'adn-export --seal DIR'.  A bundle is code: load only bundles\n"
    "                         you trust\n"
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
    "names, --save-depth, --save-strength, --save-original names, --compare and the --compare-dir\n"
    "names) must be a distinct file from every other output and from every input (contents,\n"
    "styles, --mask, --regions, --depth, the bundle's files), compared as the files the paths lead\n"
    "to (symbolic links, './a' and 'a' are one file), and its folder must exist (--out-dir and\n"
    "--compare-dir are created) and be writable.  An existing output file of another run is\n"
    "replaced.\n"
    "\n"
    "Exit status: 0 success, 1 usage error (including an output that clashes with another path or\n"
    "cannot be written, and a colour --depth without --depth-from-rgb), 2 input, model or output\n"
    "error (all failures of a batch are listed at the end).\n";

enum {
    OPT_CONTENT = CLI_OPT_FIRST_PROGRAM_OPTION, OPT_CONTENT_DIR, OPT_STYLE_DIR, OPT_OUT, OPT_OUT_DIR,
    OPT_OUT_EXT, OPT_DEPTH, OPT_DEPTH_IS_DISPARITY, OPT_DEPTH_INVALID, OPT_MASK, OPT_REGIONS,
    OPT_CONTENT_SIZE, OPT_SAVE_DEPTH, OPT_SAVE_STRENGTH, OPT_DEPTH_FROM_RGB, OPT_VERSION, OPT_MAX_SIDE, OPT_CROP,
    OPT_SAVE_ORIGINAL, OPT_JPEG_QUALITY, OPT_PNG_16, OPT_MAX_PIXELS, OPT_MEMORY_BUDGET, OPT_FAST_DECODE,
    OPT_COMPARE, OPT_COMPARE_DIR, OPT_REPORT
};

typedef struct options {
    cli_shared_options shared;
    const char *content, *content_dir, *style_dir;
    const char *out, *out_dir, *out_ext;
    const char *depth, *mask, *regions;
    int depth_is_disparity, has_invalid, depth_from_rgb;
    float invalid_value;
    int32_t content_size, max_side;
    int crop, save_original, png_16, fast_decode, report;
    int32_t jpeg_quality;
    uint64_t max_pixels;
    const char *save_depth, *save_strength;
    const char *compare, *compare_dir;
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
    adn_image *style_images;    /* the styles as encoded, kept for --save-original (else NULL) */
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
    case OPT_MAX_SIDE: return cli_parse_int("max-side", arg, 0, CLI_MAX_LONG_SIDE, &o->max_side);
    case OPT_CROP: o->crop = 1; return 0;
    case OPT_FAST_DECODE: o->fast_decode = 1; return 0;
    case OPT_MAX_PIXELS: return cli_parse_u64("max-pixels", arg, 1, UINT64_MAX, 0, &o->max_pixels);
    case OPT_MEMORY_BUDGET:
        return cli_parse_u64("memory-budget", arg, 0, UINT64_MAX, 1, &o->shared.memory_budget);
    case OPT_SAVE_DEPTH: o->save_depth = arg; return 0;
    case OPT_SAVE_STRENGTH: o->save_strength = arg; return 0;
    case OPT_SAVE_ORIGINAL: o->save_original = 1; return 0;
    case OPT_JPEG_QUALITY: return cli_parse_int("jpeg-quality", arg, 1, 100, &o->jpeg_quality);
    case OPT_PNG_16: o->png_16 = 1; return 0;
    case OPT_COMPARE: o->compare = arg; return 0;
    case OPT_COMPARE_DIR: o->compare_dir = arg; return 0;
    case OPT_REPORT: o->report = 1; return 0;
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
        {"max-side", required_argument, NULL, OPT_MAX_SIDE},
        {"crop", no_argument, NULL, OPT_CROP},
        {"fast-decode", no_argument, NULL, OPT_FAST_DECODE},
        {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"memory-budget", required_argument, NULL, OPT_MEMORY_BUDGET},
        {"save-original", no_argument, NULL, OPT_SAVE_ORIGINAL},
        {"jpeg-quality", required_argument, NULL, OPT_JPEG_QUALITY},
        {"png-16", no_argument, NULL, OPT_PNG_16},
        {"compare", required_argument, NULL, OPT_COMPARE},
        {"compare-dir", required_argument, NULL, OPT_COMPARE_DIR},
        {"report", no_argument, NULL, OPT_REPORT},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    cli_shared_defaults(&o->shared);
    o->jpeg_quality = 95;
    o->max_pixels = ADN_DEFAULT_MAX_PIXELS;
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
    else if (o->compare && o->compare_dir)
        problem = "--compare FILE and --compare-dir DIR exclude each other";
    else if (s->no_depth && (o->compare || o->compare_dir || o->report))
        problem = "--compare, --compare-dir and --report compare depth-aware with plain AdaIN; not with --no-depth";
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
    if (o->compare && n_outputs != 1)
        return cli_usage_error("--compare names one panel but this run makes %d images; use --compare-dir",
                               n_outputs);
    return 0;
}

/* ---- inputs prepared once ------------------------------------------------------------------ */

/* How contents and styles are sized as they are read (cli_read_sized). */
static cli_size_options content_sizes(const options *o)
{
    return (cli_size_options){.short_side = o->content_size, .max_side = o->max_side, .crop = o->crop,
                              .max_pixels = o->max_pixels, .decoder_scaling = o->fast_decode};
}

static cli_size_options style_sizes(const options *o)
{
    cli_size_options sizes = content_sizes(o);
    sizes.short_side = o->shared.style_size;
    return sizes;
}

/* --mask, --regions and --depth keep their size as read (each content brings them to its own) but
 * are cropped like the contents. */
static cli_size_options side_input_sizes(const options *o)
{
    return (cli_size_options){.crop = o->crop, .max_pixels = o->max_pixels};
}

/* One-hot region masks (K x H x W) from the --regions image, by the rule in --help. */
static int read_regions(const options *o, const char *path, int k, adn_image *masks)
{
    adn_image img = {0};
    const cli_size_options sizes = side_input_sizes(o);
    adn_status st = cli_read_sized(path, &sizes, ADN_PIXELS_RGB, 0, &img, NULL, NULL);
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

static int read_grey(const options *o, const char *option, const char *path, adn_image *img)
{
    const cli_size_options sizes = side_input_sizes(o);
    if (cli_read_sized(path, &sizes, ADN_PIXELS_GRAY, 0, img, NULL, NULL) != ADN_OK) {
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
    const cli_size_options sizes = side_input_sizes(o);
    adn_image_info info = {.struct_size = sizeof info};
    if (cli_read_sized(o->depth, &sizes, ADN_PIXELS_GRAY, 1, depth, NULL, &info) != ADN_OK) {
        cli_error("cannot read --depth '%s': %s", o->depth, adn_last_error());
        return -1;
    }
    if (info.file_channels < 3 || o->depth_from_rgb)
        return 0;
    adn_image rgb = {0};
    if (cli_read_sized(o->depth, &sizes, ADN_PIXELS_RGB, 1, &rgb, NULL, NULL) != ADN_OK) {
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
    if (o->mask && read_grey(o, "mask", o->mask, &ctx->mask) != 0)
        return -1;
    if (o->depth) {
        int rc = read_depth(o, &ctx->depth);
        if (rc != 0)
            return rc;
    }
    if (o->regions && read_regions(o, o->regions, ctx->n_styles, &ctx->regions) != 0)
        return -1;
    return 0;
}

/* Reads and encodes every style once; failures are recorded and the style left NULL.  With
 * --save-original the images are kept (ctx->style_images) to be written next to each output. */
static void encode_styles(run_context *ctx, failures *f)
{
    const cli_size_options sizes = style_sizes(ctx->opt);
    for (int k = 0; k < ctx->n_styles; k++) {
        const char *path = ctx->style_paths->items[k];
        adn_image img = {0};
        if (cli_read_sized(path, &sizes, ADN_PIXELS_RGB, 0, &img, NULL, NULL) != ADN_OK) {
            add_failure(f, "style '%s': %s", path, adn_last_error());
            continue;
        }
        if (adn_style_create(ctx->model, &img, &ctx->styles[k]) != ADN_OK)
            add_failure(f, "style '%s': %s", path, adn_last_error());
        if (ctx->style_images && ctx->styles[k])
            ctx->style_images[k] = img;
        else
            adn_image_free(&img);
    }
}

/* The bundle must be able to make a depth map if --save-depth or --compare asks for one (a --depth
 * map does too), and --report always runs its depth network. */
static int check_depth_available(const run_context *ctx)
{
    const options *o = ctx->opt;
    adn_model_info info = {.struct_size = sizeof info};
    if (adn_model_get_info(ctx->model, &info) != ADN_OK || info.depth_kind != ADN_DEPTH_KIND_NONE)
        return 0;
    if (o->report) {
        cli_error("--report: the bundle '%s' has no depth module (depth.pt) to measure depth with",
                  o->shared.models);
        return -1;
    }
    if ((o->save_depth || o->compare || o->compare_dir) && !o->depth) {
        cli_error("%s: the bundle '%s' has no depth module (depth.pt) and no --depth was given",
                  o->save_depth ? "--save-depth" : o->compare ? "--compare" : "--compare-dir", o->shared.models);
        return -1;
    }
    return 0;
}

/* ---- one content image --------------------------------------------------------------------- */

/* DIR/CONTENT_WORD_STYLE1+STYLE2.EXT for content `content` with styles [first, first + count). */
static char *batch_name(const run_context *ctx, const char *dir, const char *content, int first, int count,
                        const char *word, const char *ext)
{
    char name[4096], part[1024];
    stem(content, part, sizeof part);
    size_t len = (size_t)snprintf(name, sizeof name, "%s_%s_", part, word);
    for (int k = first; k < first + count && len < sizeof name; k++) {
        stem(ctx->style_paths->items[k], part, sizeof part);
        len += (size_t)snprintf(name + len, sizeof name - len, "%s%s", k > first ? "+" : "", part);
    }
    if (len < sizeof name)
        snprintf(name + len, sizeof name - len, ".%s", ext);
    return join_path(dir, name);
}

static char *copy_string(const char *text)
{
    char *copy = malloc(strlen(text) + 1);
    return copy ? strcpy(copy, text) : NULL;
}

/* The output file name of content `content` with styles [first, first + count). */
static char *output_path(const run_context *ctx, const char *content, int first, int count)
{
    const options *o = ctx->opt;
    if (o->out)
        return copy_string(o->out);
    const char *ext = o->out_ext ? o->out_ext
                    : is_image_extension(extension(content)) ? extension(content) : "png";
    return batch_name(ctx, o->out_dir, content, first, count, "stylized", ext);
}

/* The --compare / --compare-dir panel of that output, or NULL when none is asked for (or out of
 * memory: *failed is then set). */
static char *panel_path(const run_context *ctx, const char *content, int first, int count, int *failed)
{
    const options *o = ctx->opt;
    char *path = o->compare       ? copy_string(o->compare)
                 : o->compare_dir ? batch_name(ctx, o->compare_dir, content, first, count, "compare", "png")
                                  : NULL;
    *failed = (o->compare || o->compare_dir) && !path;
    return path;
}

/* A file next to out_path: its name with suffix before the extension ("o/x.png", "_style2" ->
 * "o/x_style2.png"). */
static char *sibling_path(const char *out_path, const char *suffix)
{
    const char *name = base_name(out_path), *dot = strrchr(name, '.');
    const size_t stem_len = dot && dot != name ? (size_t)(dot - out_path) : strlen(out_path);
    const size_t len = strlen(out_path) + strlen(suffix) + 1;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%.*s%s%s", (int)stem_len, out_path, suffix, out_path + stem_len);
    return path;
}

/* The --save-original file of an output: index -1 is the content, k >= 0 the k-th of its count
 * styles (named _style when there is one, _style1, _style2, .. when they are mixed). */
static char *original_path(const char *out_path, int index, int count)
{
    char suffix[32];
    if (index < 0)
        snprintf(suffix, sizeof suffix, "_content");
    else if (count == 1)
        snprintf(suffix, sizeof suffix, "_style");
    else
        snprintf(suffix, sizeof suffix, "_style%d", index + 1);
    return sibling_path(out_path, suffix);
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
    const cli_size_options sizes = content_sizes(ctx->opt);
    adn_status st = cli_read_sized(path, &sizes, ADN_PIXELS_RGB, 0, &c->rgb, &c->alpha, NULL);
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

/* --jpeg-quality and --png-16, for the outputs and the copies of --save-original. */
static adn_write_params output_write_params(const options *o)
{
    adn_write_params params = adn_write_default_params();
    params.jpeg_quality = o->jpeg_quality;
    params.png_bit_depth = o->png_16 ? 16 : 8;
    return params;
}

/* The stylization asked for on the command line, for content c. */
static adn_stylize_params stylize_params(const run_context *ctx, const content_inputs *c)
{
    const options *o = ctx->opt;
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
    return p;
}

/* What one output (content with styles [first, first + count)) makes, as the calls return it. */
typedef struct job {
    const char *content_path;
    const content_inputs *c;
    int first, count;
    char *out_path, *panel;
    adn_image out, depth, strength; /* the output and its D and S */
    adn_image adain;                /* plain AdaIN at uniform alpha = mean S (--compare, --report) */
    double mean_strength;
} job;

static void free_job(job *j)
{
    free(j->out_path);
    free(j->panel);
    adn_image_free(&j->out);
    adn_image_free(&j->depth);
    adn_image_free(&j->strength);
    adn_image_free(&j->adain);
}

static const adn_style *const *job_styles(const run_context *ctx, const job *j)
{
    return (const adn_style *const *)(ctx->styles + j->first);
}

static double image_mean(const adn_image *img)
{
    const size_t n = (size_t)img->channels * (size_t)img->height * (size_t)img->width;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += img->data[i];
    return sum / (double)n;
}

/* The paper's user-study baseline: plain AdaIN (no depth, no mask) with one alpha everywhere, the
 * mean of the output's strength map S, and otherwise the same call. */
static adn_status stylize_uniform_adain(run_context *ctx, job *j)
{
    adn_stylize_params p = stylize_params(ctx, j->c);
    j->mean_strength = image_mean(&j->strength);
    p.alpha = (float)j->mean_strength;
    p.mask = NULL;
    p.depth = NULL;
    p.depth_source = ADN_DEPTH_NONE;
    p.depth_norm = (adn_depth_norm_params){0};
    return adn_stylize(ctx->context, &j->c->rgb, job_styles(ctx, j), j->count, &p, &j->adain);
}

static adn_status write_panel(const job *j)
{
    char adain_label[64];
    snprintf(adain_label, sizeof adain_label, "AdaIN, alpha=%.2f", j->mean_strength);
    const cli_panel_tile tiles[] = {
        {.image = &j->c->rgb, .block = 1, .label = "content"},
        {.image = &j->depth, .block = 1, .label = "depth D (black=near)"},
        {.image = &j->adain, .block = 1, .label = adain_label},
        {.image = &j->out, .block = 1, .label = "AdaIN-DCS"},
        {.image = &j->strength, .block = 8, .label = "strength S"},
    };
    return cli_compare_write(j->panel, tiles, 5, j->c->rgb.height, j->c->rgb.width, NULL);
}

/* A copy of img clamped to [0,1], as it is written as an image file. */
static adn_status clamped_copy(const adn_image *img, adn_image *out)
{
    adn_status st = adn_image_alloc(out, img->channels, img->height, img->width);
    const size_t n = (size_t)img->channels * (size_t)img->height * (size_t)img->width;
    for (size_t i = 0; st == ADN_OK && i < n; i++)
        out->data[i] = img->data[i] < 0.0f ? 0.0f : img->data[i] > 1.0f ? 1.0f : img->data[i];
    return st;
}

/* The depth network's normalised depth of an image (an output is clamped first). */
static adn_status depth_of(run_context *ctx, const adn_image *img, adn_image *depth)
{
    adn_image clamped = {0};
    adn_status st = clamped_copy(img, &clamped);
    if (st == ADN_OK)
        st = adn_estimate_depth(ctx->context, &clamped, depth);
    adn_image_free(&clamped);
    return st;
}

static void print_score_line(const char *name, const cli_depth_score *s)
{
    printf("  %-28s pearson %9.6f  spearman %9.6f  si %.6g\n", name, s->pearson, s->spearman, s->si_error);
}

/* --report: the depth of the content against the depth of each of the two outputs. */
static adn_status report_depth_scores(run_context *ctx, const job *j)
{
    adn_image content_depth = {0}, adain_depth = {0}, dcs_depth = {0};
    adn_status st = adn_estimate_depth(ctx->context, &j->c->rgb, &content_depth);
    if (st == ADN_OK)
        st = depth_of(ctx, &j->adain, &adain_depth);
    if (st == ADN_OK)
        st = depth_of(ctx, &j->out, &dcs_depth);
    cli_depth_score adain_score, dcs_score;
    const size_t n = (size_t)j->c->rgb.height * (size_t)j->c->rgb.width;
    if (st == ADN_OK && (cli_depth_score_compute(content_depth.data, adain_depth.data, n, &adain_score) != 0 ||
                         cli_depth_score_compute(content_depth.data, dcs_depth.data, n, &dcs_score) != 0))
        st = ADN_ERR_OUT_OF_MEMORY;
    if (st == ADN_OK) {
        char adain_name[64];
        snprintf(adain_name, sizeof adain_name, "AdaIN, uniform alpha %.4f", j->mean_strength);
        printf("depth preservation of '%s' (content '%s'):\n", j->out_path, j->content_path);
        print_score_line(adain_name, &adain_score);
        print_score_line("AdaIN-DCS", &dcs_score);
        fflush(stdout);
    }
    adn_image_free(&content_depth);
    adn_image_free(&adain_depth);
    adn_image_free(&dcs_depth);
    return st;
}

/* --save-original: the content and the styles of the output as they went in. */
static int save_originals(const run_context *ctx, const job *j, failures *f)
{
    const adn_write_params params = output_write_params(ctx->opt);
    for (int index = -1; index < j->count; index++) {
        char *path = original_path(j->out_path, index, j->count);
        const adn_image *img = index < 0 ? &j->c->rgb : &ctx->style_images[j->first + index];
        const adn_image *alpha = index < 0 && j->c->alpha.data ? &j->c->alpha : NULL;
        if (!path || adn_image_write(path, img, alpha, &params) != ADN_OK) {
            add_failure(f, "--save-original '%s': %s", path ? path : "?", path ? adn_last_error() : "out of memory");
            free(path);
            return -1;
        }
        free(path);
    }
    return 0;
}

/* --compare / --compare-dir and --report for an output already made. */
static void compare_with_adain(run_context *ctx, job *j, failures *f)
{
    const options *o = ctx->opt;
    if (stylize_uniform_adain(ctx, j) != ADN_OK)
        add_failure(f, "content '%s', plain AdaIN for comparison: %s", j->content_path, adn_last_error());
    else if (j->panel && write_panel(j) != ADN_OK)
        add_failure(f, "%s '%s': %s", o->compare ? "--compare" : "--compare-dir panel", j->panel, adn_last_error());
    else if (o->report && report_depth_scores(ctx, j) != ADN_OK)
        add_failure(f, "--report for '%s': %s", j->out_path, adn_last_error());
}

/* Renders one output (styles [first, first + count)) and writes it; records any failure. */
static void render_one(run_context *ctx, const char *content_path, content_inputs *c, int first,
                       int count, failures *f)
{
    const options *o = ctx->opt;
    int panel_failed = 0;
    job j = {.content_path = content_path, .c = c, .first = first, .count = count,
             .out_path = output_path(ctx, content_path, first, count),
             .panel = panel_path(ctx, content_path, first, count, &panel_failed)};
    for (int k = first; k < first + count; k++) {
        if (!ctx->styles[k]) {
            add_failure(f, "'%s' not made: style '%s' could not be used", j.out_path ? j.out_path : "?",
                        ctx->style_paths->items[k]);
            free_job(&j);
            return;
        }
    }
    const int comparing = j.panel || o->report;
    const int save_depth = !ctx->saved_maps && o->save_depth, save_strength = !ctx->saved_maps && o->save_strength;
    const int want_depth = save_depth || j.panel, want_strength = save_strength || comparing;
    const adn_stylize_params p = stylize_params(ctx, c);
    const adn_write_params wp = output_write_params(o);

    /* D and S of the call stay in the context until its next call: fetch them right after. */
    int made = 0;
    if (!j.out_path || panel_failed)
        add_failure(f, "'%s': out of memory", content_path);
    else if (adn_stylize(ctx->context, &c->rgb, job_styles(ctx, &j), count, &p, &j.out) != ADN_OK)
        add_failure(f, "content '%s': %s", content_path, adn_last_error());
    else if (want_depth && adn_context_get_depth(ctx->context, &j.depth) != ADN_OK)
        add_failure(f, "depth of '%s': %s", content_path, adn_last_error());
    else if (want_strength && adn_context_get_strength(ctx->context, &j.strength) != ADN_OK)
        add_failure(f, "strength of '%s': %s", content_path, adn_last_error());
    else if (adn_image_write(j.out_path, &j.out, c->alpha.data ? &c->alpha : NULL, &wp) != ADN_OK)
        add_failure(f, "output '%s': %s", j.out_path, adn_last_error());
    else if (save_depth && write_map(o->save_depth, &j.depth) != ADN_OK)
        add_failure(f, "--save-depth '%s': %s", o->save_depth, adn_last_error());
    else if (save_strength && write_map(o->save_strength, &j.strength) != ADN_OK)
        add_failure(f, "--save-strength '%s': %s", o->save_strength, adn_last_error());
    else
        made = 1;
    if (made) {
        ctx->saved_maps = 1;
        if (o->save_original && save_originals(ctx, &j, f) != 0)
            made = 0;
    }
    if (made && comparing)
        compare_with_adain(ctx, &j, f);
    free_job(&j);
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

/* A missing output folder (--out-dir, --compare-dir): its parent must take it (checked like an
 * output), then it is made, so that the names in it can be checked like any other file.  *created
 * says whether it was made here.  Prints and returns -1 on a problem. */
static int prepare_out_dir(const char *option, const char *dir, int *created)
{
    struct stat st;
    *created = 0;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return cli_usage_error("%s '%s' is not a folder", option, dir);
        return 0;
    }
    cli_path_set *paths = cli_path_set_new();
    cli_path_set_add(paths, CLI_PATH_OUTPUT, option, dir);
    if (check_path_set(paths) != 0)
        return -1;
    if (mkdir(dir, 0777) != 0)
        return cli_usage_error("cannot create output folder '%s': %s", dir, strerror(errno));
    *created = 1;
    return 0;
}

/* An output folder of the options, without trailing '/' ("out/" is the folder "out": a path that
 * ends in '/' is no file name to cli_paths), made when missing. */
typedef struct out_folder {
    char *path;  /* NULL when the option is not given */
    int created;
} out_folder;

static int open_out_folder(const char *option, const char *dir, out_folder *folder)
{
    folder->path = NULL;
    folder->created = 0;
    if (!dir)
        return 0;
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        len--;
    folder->path = malloc(len + 1);
    if (!folder->path) {
        cli_error("out of memory");
        return -1;
    }
    memcpy(folder->path, dir, len);
    folder->path[len] = '\0';
    return prepare_out_dir(option, folder->path, &folder->created);
}

/* Removes a folder made by this run when the run is refused (it is still empty then). */
static void close_out_folder(out_folder *folder, int refused)
{
    if (refused && folder->created)
        rmdir(folder->path);
    free(folder->path);
    folder->path = NULL;
}

/* Adds the files one output makes (the image, its panel, its --save-original copies) as outputs;
 * returns -1 when out of memory. */
static int add_job_outputs(const run_context *ctx, const char *content, int first, int count, cli_path_set *paths)
{
    const options *o = ctx->opt;
    int failed = 0;
    char *out = output_path(ctx, content, first, count);
    char *panel = panel_path(ctx, content, first, count, &failed);
    cli_path_set_add(paths, CLI_PATH_OUTPUT, o->out ? "--out" : "--out-dir output", out);
    cli_path_set_add(paths, CLI_PATH_OUTPUT, o->compare ? "--compare" : "--compare-dir panel", panel);
    for (int index = -1; out && o->save_original && index < count; index++) {
        char *copy = original_path(out, index, count);
        failed |= !copy;
        cli_path_set_add(paths, CLI_PATH_OUTPUT, "--save-original", copy);
        free(copy);
    }
    failed |= !out;
    free(out);
    free(panel);
    return failed ? -1 : 0;
}

/*
 * No silent data loss: every output must be a file of its own, distinct from every other output
 * and from every input, by the file its path leads to (cli_paths: device and inode, symlinks
 * followed; "./a" and "a" are one), and its folder must exist and be writable.  All of this is
 * checked before anything is read, loaded or computed.  A missing --out-dir or --compare-dir is
 * made first (so the names in it can be checked like any other) and removed again when the run
 * is refused, which then leaves no trace.  Prints and returns -1 on a problem.
 */
static int check_paths(const run_context *ctx, const path_list *contents)
{
    const options *o = ctx->opt;
    out_folder out_dir, compare_dir = {0};
    int rc = open_out_folder("--out-dir", o->out_dir, &out_dir);
    if (rc == 0)
        rc = open_out_folder("--compare-dir", o->compare_dir, &compare_dir);
    if (rc != 0) {
        close_out_folder(&out_dir, 1);
        close_out_folder(&compare_dir, 1);
        return -1;
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

    int out_of_memory = 0;
    const int per_content = ctx->combined ? 1 : ctx->n_styles;
    for (int i = 0; i < contents->count; i++)
        for (int job = 0; job < per_content; job++)
            out_of_memory |= add_job_outputs(ctx, contents->items[i], ctx->combined ? 0 : job,
                                             ctx->combined ? ctx->n_styles : 1, paths) != 0;
    cli_path_set_add(paths, CLI_PATH_OUTPUT, "--save-depth", o->save_depth);
    cli_path_set_add(paths, CLI_PATH_OUTPUT, "--save-strength", o->save_strength);

    rc = -1;
    if (out_of_memory) {
        cli_path_set_free(paths);
        cli_error("out of memory");
    } else {
        rc = check_path_set(paths);
    }
    close_out_folder(&out_dir, rc != 0);
    close_out_folder(&compare_dir, rc != 0);
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
    if (o->save_original)
        ctx.style_images = calloc((size_t)ctx.n_styles, sizeof *ctx.style_images);
    int rc = CLI_EXIT_INPUT, side = 0;
    if (!ctx.styles || (o->save_original && !ctx.style_images))
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
    for (int k = 0; ctx.style_images && k < ctx.n_styles; k++)
        adn_image_free(&ctx.style_images[k]);
    free(ctx.styles);
    free(ctx.style_images);
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
