/*
 * cli_common.h — pieces shared by adn-stylize and adn-video: messages and exit codes, number and
 * list parsing, the options both programs take, model and style loading, progress display.
 * Everything here uses only the public API (adain_dcs.h).
 */
#ifndef ADN_EXAMPLES_CLI_COMMON_H
#define ADN_EXAMPLES_CLI_COMMON_H

#include <getopt.h>
#include <stdint.h>

#include "adain_dcs.h"
#include "cli_paths.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_USAGE = 1, CLI_EXIT_INPUT = 2 };

#if defined(__GNUC__)
#  define CLI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define CLI_PRINTF(fmt, args)
#endif

/* ---- messages ------------------------------------------------------------------------------ */

/** Name used as the prefix of every message (the program's name). */
void cli_set_program_name(const char *name);
const char *cli_program_name(void);
/** "prog: message" on stderr. */
void cli_error(const char *fmt, ...) CLI_PRINTF(1, 2);
/** "prog: message" and a pointer to --help on stderr; returns -1 (so a parser can return it). */
int cli_usage_error(const char *fmt, ...) CLI_PRINTF(1, 2);

/* ---- parsing (each returns 0, or -1 after printing a usage error naming the option) ---------- */

int cli_parse_float(const char *option, const char *text, float lo, float hi, float *out);
int cli_parse_int(const char *option, const char *text, int32_t lo, int32_t hi, int32_t *out);
/** Comma-separated finite reals; *count receives how many (at most max). */
int cli_parse_float_list(const char *option, const char *text, float *out, int max, int *count);
/** auto, cpu, cuda or cuda:N (GPU N, 0..1023); *index receives N (0 otherwise). */
int cli_parse_device(const char *text, adn_device *out, int32_t *index);
/** A whole number of bytes or pixels in lo..hi, with an optional K, M or G suffix (powers of
 *  1024) when allow_suffix. */
int cli_parse_u64(const char *option, const char *text, uint64_t lo, uint64_t hi, int allow_suffix, uint64_t *out);

/** Splits "a,b,c" into a NULL-terminated array of copies (free with cli_free_list); NULL when out
 *  of memory.  Empty items are kept, so the caller can complain about them. */
char **cli_split_list(const char *text, int *count);
void cli_free_list(char **list);

/* ---- options shared by both programs ------------------------------------------------------- */

#define CLI_MAX_STYLES 64
/** Largest --content-size / --style-size: a square of this side is 2^28 pixels, the library's
 *  default limit for images read from files, so a resize cannot make a bigger one. */
#define CLI_MAX_LONG_SIDE 16384

typedef struct cli_shared_options {
    const char *models;
    const char *styles;          /* --style FILE[,FILE..] as given */
    float alpha;
    int has_depth_range;
    float depth_lo, depth_hi;
    int no_depth;
    adn_device device;
    int32_t cuda_index;          /* --device cuda:N */
    uint64_t memory_budget;      /* adn_context_params.memory_budget_bytes (0 = the library's default);
                                    set by a program's own option, e.g. adn-stylize --memory-budget */
    int32_t threads;
    int trust_unsealed;          /* --trust-unsealed: adn_model_params.trust_unsealed */
    int preserve_color;
    int32_t style_size;
    int quiet;
    int n_weights;               /* --interp-weights: 0 = not given */
    float weights[CLI_MAX_STYLES];
} cli_shared_options;

/* getopt_long codes of the shared options (beyond any single character). */
enum {
    CLI_OPT_MODELS = 1000, CLI_OPT_STYLE, CLI_OPT_ALPHA, CLI_OPT_DEPTH_RANGE, CLI_OPT_NO_DEPTH,
    CLI_OPT_DEVICE, CLI_OPT_THREADS, CLI_OPT_PRESERVE_COLOR, CLI_OPT_STYLE_SIZE, CLI_OPT_QUIET,
    CLI_OPT_INTERP_WEIGHTS, CLI_OPT_TRUST_UNSEALED, CLI_OPT_FIRST_PROGRAM_OPTION
};

/* The struct option entries of the shared options, for a program's own table. */
#define CLI_SHARED_LONG_OPTIONS                                              \
    {"models", required_argument, NULL, CLI_OPT_MODELS},                     \
    {"style", required_argument, NULL, CLI_OPT_STYLE},                       \
    {"alpha", required_argument, NULL, CLI_OPT_ALPHA},                       \
    {"depth-range", required_argument, NULL, CLI_OPT_DEPTH_RANGE},           \
    {"no-depth", no_argument, NULL, CLI_OPT_NO_DEPTH},                       \
    {"device", required_argument, NULL, CLI_OPT_DEVICE},                     \
    {"threads", required_argument, NULL, CLI_OPT_THREADS},                   \
    {"preserve-color", no_argument, NULL, CLI_OPT_PRESERVE_COLOR},           \
    {"style-size", required_argument, NULL, CLI_OPT_STYLE_SIZE},             \
    {"quiet", no_argument, NULL, CLI_OPT_QUIET},                             \
    {"interp-weights", required_argument, NULL, CLI_OPT_INTERP_WEIGHTS},     \
    {"trust-unsealed", no_argument, NULL, CLI_OPT_TRUST_UNSEALED}

void cli_shared_defaults(cli_shared_options *o);
/** Handles one shared option.  Returns 1 if it was one (and was fine), 0 if the code is not a
 *  shared option, -1 after a usage error. */
int cli_shared_option(int code, const char *arg, cli_shared_options *o);

/** A program's handler for its own (non-shared) options: 0 fine, -1 after a usage error. */
typedef int (*cli_option_handler)(int code, const char *arg, void *program_options);

/** Runs getopt_long over argv with a program's table (CLI_SHARED_LONG_OPTIONS plus its own, with
 *  "help" as 'h' and "version" as version_code): answers --help (usage_text on stdout) and
 *  --version, reports unknown options, missing values and stray arguments, handles the shared
 *  options, and hands the rest to handler.  Returns 0 to run, 1 when --help/--version was
 *  answered, -1 after a usage error. */
int cli_parse_args(int argc, char **argv, const struct option *table, const char *usage_text, int version_code,
                   cli_shared_options *shared, cli_option_handler handler, void *program_options);

/* ---- model and styles ---------------------------------------------------------------------- */

/** Loads the bundle with the device/threads/--no-depth options.  Prints the error (naming the
 *  folder) and returns -1 on failure. */
int cli_load_model(const cli_shared_options *o, adn_model **out);

/** Creates a context for model with the --depth-range.  Prints the error and returns -1 on
 *  failure. */
int cli_create_context(const cli_shared_options *o, const adn_model *model, adn_context **out);

/** Adds the files of the model bundle in dir (encoder.pt, decoder.pt, depth.pt, bundle.json,
 *  manifest.txt) to
 *  paths as inputs, so that no output can overwrite them. */
void cli_add_bundle_inputs(cli_path_set *paths, const char *dir);

/** How an image is brought to the size it is used at, as it is read (adn-stylize's --content-size,
 *  --style-size, --max-side, --crop, --max-pixels, --fast-decode). */
typedef struct cli_size_options {
    int32_t short_side;      /* the shorter side becomes this (0 = keep) */
    int32_t max_side;        /* then the longer side is at most this (0 = no limit) */
    int crop;                /* then the centre square */
    uint64_t max_pixels;     /* the reader's pixel limit (of the file and of the result) */
    int decoder_scaling;     /* JPEG DCT scaling while decoding (pixels differ slightly) */
} cli_size_options;

/** Reads a style image at the size it is used at (cli_read_sized, RGB).  Prints nothing: on
 *  failure the status is returned and adn_last_error() says why. */
adn_status cli_read_style(const char *path, const cli_size_options *size, adn_image *style);

/** Reads an image resized while decoding (adn_read_params.short_side / max_side: the file's pixels
 *  are never all in memory) and then cropped to its centre square when size->crop.  alpha may be
 *  NULL.  Prints nothing; on failure both are empty and adn_last_error() says why. */
adn_status cli_read_sized(const char *path, const cli_size_options *size, adn_pixel_mode mode, int raw_values,
                          adn_image *img, adn_image *alpha, adn_image_info *info);

/** Crops img in place to its centre square: side s = min(H, W), top-left corner at
 *  (floor((H - s) / 2), floor((W - s) / 2)). */
adn_status cli_crop_centre_square(adn_image *img);


/** Resizes img in place to exactly height x width (no-op when it already is). */
adn_status cli_resize_to(adn_image *img, int32_t height, int32_t width);

/* ---- progress on stderr -------------------------------------------------------------------- */

typedef struct cli_progress {
    int enabled;  /* only when stderr is a terminal and not --quiet */
    long total;   /* 0 = unknown (a stream) */
    double start;
} cli_progress;

double cli_seconds(void);
void cli_progress_start(cli_progress *p, long total, int quiet);
/** Redraws the line: a bar for known totals, a count and a rate otherwise. */
void cli_progress_update(cli_progress *p, long done, const char *label);
/** Ends the line (a newline) if anything was drawn. */
void cli_progress_finish(cli_progress *p);

#endif
