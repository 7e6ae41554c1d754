/*
 * adn-video — stylizes a YUV4MPEG2 (Y4M) video stream frame by frame with libadain_dcs:
 *
 *     ffmpeg -i in.mp4 -f yuv4mpegpipe - | adn-video --style s.jpg --models M | ffmpeg -i - out.mp4
 *
 * The style is encoded once and every frame is rendered on one context, which smooths the depth
 * (and, if asked, AdaIN's content statistics) over time inside the library and restarts at scene
 * cuts (adn_context_set_temporal, experimental API), so the output does not flicker: one pass per
 * frame.  --stats measures the flicker that is left (docs/METHOD.md §8).
 */
#define ADN_EXPERIMENTAL_API /* adn_temporal_params, adn_context_set_temporal */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adain_dcs.h"
#include "cli_atomic_file.h"
#include "cli_common.h"
#include "cli_paths.h"
#include "y4m.h"

static const char usage_text[] =
    "Usage: adn-video --models DIR --style FILE[,FILE..] [OPTIONS] < in.y4m > out.y4m\n"
    "\n"
    "Stylizes a YUV4MPEG2 stream (AdaIN-DCS), e.g.\n"
    "  ffmpeg -i in.mp4 -f yuv4mpegpipe - | adn-video --style s.jpg --models M | ffmpeg -i - out.mp4\n"
    "\n"
    "Input: 8-bit Y4M, 4:2:0 (C420jpeg, C420mpeg2, C420paldv, C420) or 4:4:4 (C444).  The output\n"
    "has the same header.  Colours are BT.601, limited range (Y 16..235, Cb/Cr 16..240) unless the\n"
    "header says XCOLORRANGE=FULL (or X-COLORRANGE=FULL).  Chroma is interpolated bilinearly from\n"
    "its sample positions (centred for C420jpeg/C420, left for C420mpeg2, top-left for C420paldv)\n"
    "and averaged back onto them.  RGB is not clipped to [0,1] in between (super-whites survive);\n"
    "the output codes are clipped to 0..255.\n"
    "\n"
    "Options:\n"
    "  --models DIR           model bundle (encoder.pt, decoder.pt, optional depth.pt)\n"
    "  --style FILE[,FILE..]  style image(s), encoded once; several are mixed (equal weights\n"
    "                         unless --interp-weights)\n"
    "  --interp-weights W1,.. one weight per style (>= 0, normalised to sum 1)\n"
    "  --style-size N         resize each style so its SHORT side is N first, as adn-stylize and\n"
    "                         the peers (0 = keep; default)\n"
    "  --max-side N           then shrink each style so its long side is at most N (0 = no limit)\n"
    "  --max-pixels N         refuse a style image, or a video frame size, above N pixels\n"
    "                         (default 268435456 = 16384 x 16384)\n"
    "  --memory-budget BYTES  most memory one frame may plan for (K, M or G may follow): larger\n"
    "                         frames run over tiles with the same result, and a frame that cannot\n"
    "                         fit even so is refused before any work with the estimate (default 0:\n"
    "                         the library's default, the frame's own buffers plus 768 MiB)\n"
    "  --alpha A              global strength in [0,1] (default 1)\n"
    "  --depth-range LO,HI    strength at the nearest and farthest depth, each in [0,1] (default 0,1)\n"
    "  --no-depth             no depth: plain AdaIN with strength --alpha everywhere\n"
    "  --depth-ema A          weight of the previous frames in the depth moving average, in [0,1)\n"
    "                         (default 0.8; 0 = no smoothing)\n"
    "  --range-ema B          weight of the previous frames in the moving average of the raw\n"
    "                         depth's min and max that normalise it, in [0,1) (default 0 = each\n"
    "                         frame's own min and max)\n"
    "  --content-ema C        weight of the previous frames in the moving average of the content\n"
    "                         feature statistics (per-channel mean and std) that AdaIN normalises\n"
    "                         with, in [0,1) (default 0 = each frame's own)\n"
    "  --scene-cut T          a frame whose mean |in_t - in_t-1| (RGB in [0,1]) is above T is a\n"
    "                         scene cut: the moving averages restart there (default 0 = off)\n"
    "  --stats                at the end, print to stderr: frames, size, frame rate, aspect, the\n"
    "                         flicker (mean |out_t - out_t-1| / mean |in_t - in_t-1| over the\n"
    "                         8-bit samples; 1.0 = no flicker added), the library's median time\n"
    "                         per frame and the frames per second\n"
    "  --depth-size N         deprecated, ignored (with a warning): the depth is now made in the\n"
    "                         frame's own pass; the depth network picks its own input size\n"
    "  --preserve-color       keep the frame's colours (CORAL colour transfer onto the style)\n"
    "  --device auto|cpu|cuda where to run (default auto)\n"
    "  --threads N            CPU threads (default 0 = all cores)\n"
    "  --trust-unsealed       also load a bundle without manifest.txt (made by hand), after a\n"
    "                         structural check of its files; better: seal it once with\n"
    "                         'adn-export --seal DIR'.  A bundle is code: load only bundles\n"
    "                         you trust\n"
    "  --input FILE           read this file instead of standard input ('-' = stdin)\n"
    "  --output FILE          write this file instead of standard output ('-' = stdout)\n"
    "  --quiet                no progress (it is shown only when stderr is a terminal)\n"
    "  --version              print the library version and exit\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "The output header is the input's, so the frame rate (F), pixel aspect (A), interlacing (I) and\n"
    "every other tag pass through unchanged; the audio does not travel in Y4M.  To put the\n"
    "original audio back:\n"
    "  ffmpeg -i in.mp4 -f yuv4mpegpipe - | adn-video --style s.jpg --models M |\n"
    "    ffmpeg -i - -i in.mp4 -map 0:v -map 1:a? -c:a copy -shortest out.mp4\n"
    "\n"
    "Depth smoothing (in the library, one pass per frame): frame t's raw depth d_t from the depth\n"
    "network is normalised with lo'_t = B lo'_{t-1} + (1 - B) min d_t and hi'_t likewise from\n"
    "max d_t, D_t = clamp((d_t - lo'_t) / (hi'_t - lo'_t), 0, 1), then averaged per pixel:\n"
    "D'_t = A D'_{t-1} + (1 - A) D_t, and D'_t sets the strength of frame t.  The first frame\n"
    "starts the averages at its own values.  --content-ema C smooths the content statistics the\n"
    "same way: mu'_t = C mu'_{t-1} + (1 - C) mu_t, sigma'_t likewise, and AdaIN normalises frame\n"
    "t with mu'_t, sigma'_t.  A scene cut (--scene-cut) restarts all of them.\n"
    "\n"
    "Nothing is overwritten by mistake: before any work, --output must be a file other than the\n"
    "input, the styles and the bundle's files (compared as the files the paths lead to: symbolic\n"
    "links, './a' and 'a' are one file), and its folder must exist and be writable.\n"
    "\n"
    "Exit status: 0 success, 1 usage error (including an --output that clashes with an input or\n"
    "cannot be written), 2 input or model error (bad header, truncated frame, unsupported\n"
    "colourspace, absurd size).  On standard output the frames written before an error form a\n"
    "valid stream.  --output FILE appears (or replaces the old file) only once the whole stream is\n"
    "written and on disk: after an error, or if the program is killed, the old file is unchanged\n"
    "and no partial or temporary file is left (a FIFO or device given as --output is written\n"
    "directly).\n";

enum {
    OPT_DEPTH_EMA = CLI_OPT_FIRST_PROGRAM_OPTION, OPT_RANGE_EMA, OPT_DEPTH_SIZE, OPT_INPUT, OPT_OUTPUT,
    OPT_VERSION, OPT_CONTENT_EMA, OPT_SCENE_CUT, OPT_STATS, OPT_MAX_SIDE, OPT_MAX_PIXELS, OPT_MEMORY_BUDGET
};

typedef struct options {
    cli_shared_options shared;
    float depth_ema, range_ema, content_ema, scene_cut;
    int stats;
    int32_t max_side;
    uint64_t max_pixels;
    const char *input, *output;
} options;

/* What --stats reports: the frame-to-frame change of input and output (for the flicker) and the
 * library's time per frame. */
typedef struct video_stats {
    y4m_frame input, previous_input, previous_output; /* 8-bit frames as read and as written */
    double input_change, output_change;               /* sums over t >= 2 of mean |x_t - x_t-1| */
    double *frame_ms;                                 /* adn_timings.total_ms of every frame */
    long capacity;
} video_stats;

/* Everything the frame loop keeps from one frame to the next. */
typedef struct video {
    const options *opt;
    adn_model *model;
    adn_context *context;          /* one per stream: it holds the temporal depth state */
    adn_style **styles;
    int n_styles;
    adn_image rgb, out;            /* full frame */
    long frames;
    video_stats stats;             /* used with --stats only */
} video;

/* ---- options ------------------------------------------------------------------------------- */

/* A moving-average weight in [0, 1): 1 would freeze the first frame's depth for ever. */
static int parse_ema(const char *option, const char *arg, float *out)
{
    if (cli_parse_float(option, arg, 0.0f, 1.0f, out) != 0)
        return -1;
    if (*out >= 1.0f)
        return cli_usage_error("--%s: '%s' must be below 1 (1 would never let a new frame in)", option, arg);
    return 0;
}

static int program_option(int code, const char *arg, void *program_options)
{
    options *o = program_options;
    int32_t ignored;
    switch (code) {
    case OPT_DEPTH_EMA: return parse_ema("depth-ema", arg, &o->depth_ema);
    case OPT_RANGE_EMA: return parse_ema("range-ema", arg, &o->range_ema);
    case OPT_CONTENT_EMA: return parse_ema("content-ema", arg, &o->content_ema);
    case OPT_SCENE_CUT: return cli_parse_float("scene-cut", arg, 0.0f, 1.0f, &o->scene_cut);
    case OPT_STATS: o->stats = 1; return 0;
    case OPT_MAX_SIDE: return cli_parse_int("max-side", arg, 0, CLI_MAX_LONG_SIDE, &o->max_side);
    case OPT_MAX_PIXELS: return cli_parse_u64("max-pixels", arg, 1, UINT64_MAX, 0, &o->max_pixels);
    case OPT_MEMORY_BUDGET:
        return cli_parse_u64("memory-budget", arg, 0, UINT64_MAX, 1, &o->shared.memory_budget);
    case OPT_DEPTH_SIZE:
        if (cli_parse_int("depth-size", arg, 0, CLI_MAX_LONG_SIDE, &ignored) != 0)
            return -1;
        cli_error("warning: --depth-size is deprecated and ignored: the depth is now smoothed in "
                  "the library within each frame's one pass, with no extra depth pass to size");
        return 0;
    case OPT_INPUT: o->input = arg; return 0;
    case OPT_OUTPUT: o->output = arg; return 0;
    default: return cli_usage_error("unknown option");
    }
}

/* Returns 0 to run, 1 when --help/--version was answered, -1 on a usage error. */
static int parse_options(int argc, char **argv, options *o)
{
    static const struct option long_options[] = {
        CLI_SHARED_LONG_OPTIONS,
        {"depth-ema", required_argument, NULL, OPT_DEPTH_EMA},
        {"range-ema", required_argument, NULL, OPT_RANGE_EMA},
        {"content-ema", required_argument, NULL, OPT_CONTENT_EMA},
        {"scene-cut", required_argument, NULL, OPT_SCENE_CUT},
        {"stats", no_argument, NULL, OPT_STATS},
        {"max-side", required_argument, NULL, OPT_MAX_SIDE},
        {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
        {"memory-budget", required_argument, NULL, OPT_MEMORY_BUDGET},
        {"depth-size", required_argument, NULL, OPT_DEPTH_SIZE},
        {"input", required_argument, NULL, OPT_INPUT},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    cli_shared_defaults(&o->shared);
    o->depth_ema = 0.8f;
    o->range_ema = 0.0f;
    o->max_pixels = ADN_DEFAULT_MAX_PIXELS;
    int parsed = cli_parse_args(argc, argv, long_options, usage_text, OPT_VERSION, &o->shared, program_option, o);
    if (parsed != 0)
        return parsed;
    if (!o->shared.models || !o->shared.styles)
        return cli_usage_error("--models DIR and --style FILE are required");
    int n_styles = 1;
    for (const char *c = o->shared.styles; *c; c++)
        n_styles += *c == ',';
    if (n_styles > CLI_MAX_STYLES)
        return cli_usage_error("--style: at most %d styles", CLI_MAX_STYLES);
    if (o->shared.n_weights && o->shared.n_weights != n_styles)
        return cli_usage_error("--interp-weights has %d weights for %d styles", o->shared.n_weights, n_styles);
    return 0;
}

static int is_stdio(const char *path)
{
    return !path || strcmp(path, "-") == 0;
}

/* 1 if the open descriptor fd is a regular file and path names the same one. */
static int fd_is_path(int fd, const char *path)
{
    struct stat fd_stat, path_stat;
    if (fstat(fd, &fd_stat) != 0 || !S_ISREG(fd_stat.st_mode) || stat(path, &path_stat) != 0)
        return 0;
    return fd_stat.st_dev == path_stat.st_dev && fd_stat.st_ino == path_stat.st_ino;
}

/*
 * No silent data loss, checked before anything is opened, read or loaded: --output must be
 * writable and differ from every input (--input, the styles, the bundle's files) by the file its
 * path leads to (cli_paths).  Standard input and output have no path, so where they are regular
 * files (shell redirections) their descriptors are compared with the paths on the other side.
 * Prints and returns -1 on a problem.
 */
static int check_paths(const options *o)
{
    int n = 0;
    char **styles = cli_split_list(o->shared.styles, &n);
    cli_path_set *paths = cli_path_set_new();
    if (!styles || !paths) {
        cli_free_list(styles);
        cli_path_set_free(paths);
        cli_error("out of memory");
        return -1;
    }
    if (!is_stdio(o->input))
        cli_path_set_add(paths, CLI_PATH_INPUT, "--input", o->input);
    for (int k = 0; k < n; k++)
        cli_path_set_add(paths, CLI_PATH_INPUT, "--style", styles[k]);
    cli_add_bundle_inputs(paths, o->shared.models);
    if (!is_stdio(o->output))
        cli_path_set_add(paths, CLI_PATH_OUTPUT, "--output", o->output);
    char msg[4096];
    int bad = cli_path_set_check(paths, msg, sizeof msg);
    cli_path_set_free(paths);
    if (bad) {
        cli_free_list(styles);
        return cli_usage_error("%s; nothing was done", msg);
    }

    const char *clash = NULL, *clash_use = NULL;
    if (is_stdio(o->output)) {           /* standard output against every input path */
        if (!is_stdio(o->input) && fd_is_path(STDOUT_FILENO, o->input))
            clash = o->input, clash_use = "--input";
        for (int k = 0; !clash && k < n; k++)
            if (fd_is_path(STDOUT_FILENO, styles[k]))
                clash = styles[k], clash_use = "--style";
    }
    if (!clash && is_stdio(o->input) && !is_stdio(o->output) && fd_is_path(STDIN_FILENO, o->output))
        clash = o->output, clash_use = "--output";
    int rc = 0;
    if (clash && strcmp(clash_use, "--output") == 0)
        rc = cli_usage_error("--output '%s' is the file on standard input (the input); it would be destroyed", clash);
    else if (clash)
        rc = cli_usage_error("standard output is the file %s '%s'; it would be destroyed", clash_use, clash);
    else if (is_stdio(o->output) && is_stdio(o->input)) {
        struct stat in_stat, out_stat;
        if (fstat(STDIN_FILENO, &in_stat) == 0 && fstat(STDOUT_FILENO, &out_stat) == 0 &&
            S_ISREG(in_stat.st_mode) && in_stat.st_dev == out_stat.st_dev && in_stat.st_ino == out_stat.st_ino)
            rc = cli_usage_error("standard output is the file on standard input; it would be destroyed");
    }
    cli_free_list(styles);
    return rc;
}

/* Opens the input; prints and returns the exit status on failure.  The output itself is opened
 * only once the header and the model are good (open_output), so a bad start leaves no empty file
 * behind. */
static int open_input(const options *o, FILE **in)
{
    if (is_stdio(o->output) && isatty(STDOUT_FILENO)) {
        cli_usage_error("refusing to write a video stream to a terminal; redirect the output or use "
                        "--output FILE");
        return CLI_EXIT_USAGE;
    }
    *in = is_stdio(o->input) ? stdin : fopen(o->input, "rb");
    if (!*in) {
        cli_error("cannot open input '%s': %s", o->input, strerror(errno));
        return CLI_EXIT_INPUT;
    }
    return CLI_EXIT_OK;
}

/* Standard output, or --output as a file that takes its name only once the stream is complete
 * (cli_atomic_file.h): a failure or a kill leaves the old file. */
static int open_output(const options *o, cli_atomic_file *file, FILE **out)
{
    if (is_stdio(o->output)) {
        *out = stdout;
        return 0;
    }
    if (cli_atomic_open(o->output, file) != 0)
        return -1;
    *out = file->stream;
    return 0;
}

/* ---- model and styles ---------------------------------------------------------------------- */

/* Reads and encodes the styles once.  Prints and returns -1 on failure. */
static int encode_styles(video *v)
{
    int n = 0;
    char **paths = cli_split_list(v->opt->shared.styles, &n);
    if (!paths || n > CLI_MAX_STYLES) {
        cli_free_list(paths);
        return cli_usage_error("--style: at most %d styles", CLI_MAX_STYLES);
    }
    v->styles = calloc((size_t)n, sizeof *v->styles);
    v->n_styles = n;
    int rc = v->styles ? 0 : -1;
    for (int k = 0; rc == 0 && k < n; k++) {
        adn_image img = {0};
        const cli_size_options size = {.short_side = v->opt->shared.style_size, .max_side = v->opt->max_side,
                                       .max_pixels = v->opt->max_pixels};
        if (cli_read_style(paths[k], &size, &img) != ADN_OK ||
            adn_style_create(v->model, &img, &v->styles[k]) != ADN_OK) {
            cli_error("style '%s': %s", paths[k], adn_last_error());
            rc = -1;
        }
        adn_image_free(&img);
    }
    cli_free_list(paths);
    return rc;
}

static int setup_model(video *v)
{
    const options *o = v->opt;
    if (cli_load_model(&o->shared, &v->model) != 0 || cli_create_context(&o->shared, v->model, &v->context) != 0 ||
        encode_styles(v) != 0)
        return -1;
    adn_temporal_params tp = adn_temporal_default_params();
    tp.depth_ema = o->depth_ema;
    tp.range_ema = o->range_ema;
    tp.content_stats_ema = o->content_ema;
    tp.scene_cut_threshold = o->scene_cut;
    adn_status st = adn_context_set_temporal(v->context, &tp);
    if (st != ADN_OK) {
        cli_error("--depth-ema / --range-ema / --content-ema / --scene-cut: %s (%s)", adn_last_error(),
                  adn_status_str(st));
        return -1;
    }
    return 0;
}

/* ---- --stats ------------------------------------------------------------------------------- */

static int stats_start(video_stats *s, const y4m_header *h)
{
    memset(s, 0, sizeof *s);
    if (y4m_frame_alloc(h, &s->input) != 0 || y4m_frame_alloc(h, &s->previous_input) != 0 ||
        y4m_frame_alloc(h, &s->previous_output) != 0)
        return -1;
    return 0;
}

static void stats_free(video_stats *s)
{
    y4m_frame_free(&s->input);
    y4m_frame_free(&s->previous_input);
    y4m_frame_free(&s->previous_output);
    free(s->frame_ms);
    memset(s, 0, sizeof *s);
}

/* Adds frame `index` (its input already in s->input, its output as written) and the library's
 * time for it.  Returns 0, or -1 when out of memory. */
static int stats_record(video_stats *s, const y4m_frame *output, long index, double ms)
{
    if (index > 0) {
        s->input_change += y4m_frame_mean_abs_difference(&s->input, &s->previous_input);
        s->output_change += y4m_frame_mean_abs_difference(output, &s->previous_output);
    }
    y4m_frame kept = s->previous_input; /* this input becomes the previous one */
    s->previous_input = s->input;
    s->input = kept;
    memcpy(s->previous_output.buffer, output->buffer, output->size);
    if (index >= s->capacity) {
        long grown = s->capacity ? 2 * s->capacity : 256;
        double *more = realloc(s->frame_ms, sizeof *more * (size_t)grown);
        if (!more)
            return -1;
        s->frame_ms = more;
        s->capacity = grown;
    }
    s->frame_ms[index] = ms;
    return 0;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the first n values (sorted in place). */
static double median_of(double *values, long n)
{
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

static void print_ratio(char *text, size_t size, int32_t num, int32_t den)
{
    if (num > 0 && den > 0)
        snprintf(text, size, "%d:%d", (int)num, (int)den);
    else
        snprintf(text, size, "unknown");
}

/* The --stats report, on stderr (stdout carries the video). */
static void stats_print(video_stats *s, const y4m_header *h, long frames, double seconds)
{
    const char *name = cli_program_name();
    char rate[32], aspect[32];
    print_ratio(rate, sizeof rate, h->rate_num, h->rate_den);
    print_ratio(aspect, sizeof aspect, h->aspect_num, h->aspect_den);
    fprintf(stderr, "%s: stats: %ld frames, %dx%d, frame rate %s, aspect %s\n", name, frames, (int)h->width,
            (int)h->height, rate, aspect);
    if (frames >= 2 && s->input_change > 0)
        fprintf(stderr, "%s: stats: flicker %.4f (mean |out_t - out_t-1| %.4f / mean |in_t - in_t-1| %.4f, 8-bit samples)\n",
                name, s->output_change / s->input_change, s->output_change / (double)(frames - 1),
                s->input_change / (double)(frames - 1));
    else
        fprintf(stderr, "%s: stats: flicker n/a (%s)\n", name,
                frames < 2 ? "fewer than two frames" : "the input never changes");
    if (frames >= 1)
        fprintf(stderr, "%s: stats: library %.2f ms per frame (median of %ld), %.2f frames/s overall\n", name,
                median_of(s->frame_ms, frames), frames, seconds > 0 ? (double)frames / seconds : 0.0);
}

/* ---- per frame ----------------------------------------------------------------------------- */

static adn_status stylize_frame(video *v)
{
    adn_stylize_params p = adn_stylize_default_params();
    p.alpha = v->opt->shared.alpha;
    p.preserve_color = v->opt->shared.preserve_color;
    p.style_weights = v->opt->shared.n_weights ? v->opt->shared.weights : NULL;
    p.depth_source = v->opt->shared.no_depth ? ADN_DEPTH_NONE : ADN_DEPTH_AUTO;
    /* v->out is allocated by the first frame and rewritten in place by every later one. */
    return adn_stylize(v->context, &v->rgb, (const adn_style *const *)v->styles, v->n_styles, &p, &v->out);
}

/* Reads, stylizes and writes frames until the input ends.  Returns the exit status. */
static int process_frames(video *v, FILE *in, FILE *out, const y4m_header *h)
{
    y4m_frame frame;
    char err[512];
    if (y4m_frame_alloc(h, &frame) != 0 || adn_image_alloc(&v->rgb, 3, h->height, h->width) != ADN_OK) {
        y4m_frame_free(&frame);
        cli_error("cannot allocate %dx%d frame buffers", h->width, h->height);
        return CLI_EXIT_INPUT;
    }
    if (v->opt->stats && stats_start(&v->stats, h) != 0) {
        y4m_frame_free(&frame);
        cli_error("cannot allocate the --stats frame buffers");
        return CLI_EXIT_INPUT;
    }
    cli_progress bar;
    cli_progress_start(&bar, 0, v->opt->shared.quiet);
    int rc = CLI_EXIT_OK, got;
    while ((got = y4m_read_frame(in, &frame, err, sizeof err)) == 1) {
        if (v->opt->stats) /* the frame buffer is about to receive the output */
            memcpy(v->stats.input.buffer, frame.buffer, frame.size);
        y4m_frame_to_rgb(h, &frame, v->rgb.data);
        if (stylize_frame(v) != ADN_OK) {
            cli_error("frame %ld: %s", v->frames + 1, adn_last_error());
            rc = CLI_EXIT_INPUT;
            break;
        }
        if (y4m_rgb_to_frame(h, v->out.data, &frame) != 0 || y4m_write_frame(out, &frame) != 0) {
            cli_error("cannot write frame %ld: %s", v->frames + 1, strerror(errno));
            rc = CLI_EXIT_INPUT;
            break;
        }
        adn_timings timings = {.struct_size = sizeof timings};
        if (v->opt->stats && (adn_context_get_timings(v->context, &timings) != ADN_OK ||
                              stats_record(&v->stats, &frame, v->frames, timings.total_ms) != 0)) {
            cli_error("frame %ld: cannot record --stats", v->frames + 1);
            rc = CLI_EXIT_INPUT;
            break;
        }
        cli_progress_update(&bar, ++v->frames, "frames");
    }
    cli_progress_finish(&bar);
    if (got < 0) {
        cli_error("frame %ld: %s", v->frames + 1, err);
        rc = CLI_EXIT_INPUT;
    }
    y4m_frame_free(&frame);
    return rc;
}

static void free_video(video *v)
{
    for (int k = 0; v->styles && k < v->n_styles; k++)
        adn_style_free(v->styles[k]);
    free(v->styles);
    adn_context_free(v->context);   /* contexts and styles before their model */
    adn_model_free(v->model);
    adn_image_free(&v->rgb);
    adn_image_free(&v->out);
    stats_free(&v->stats);
}

static int run(const options *o, FILE *in, cli_atomic_file *output)
{
    FILE *out = NULL;
    y4m_header header;
    char err[512];
    if (y4m_read_header(in, &header, err, sizeof err) != 0) {
        cli_error("%s: %s", is_stdio(o->input) ? "standard input" : o->input, err);
        return CLI_EXIT_INPUT;
    }
    if ((uint64_t)header.width * (uint64_t)header.height > o->max_pixels) {
        cli_error("%s: frames of %dx%d (WxH) pixels are above --max-pixels %llu",
                  is_stdio(o->input) ? "standard input" : o->input, (int)header.width, (int)header.height,
                  (unsigned long long)o->max_pixels);
        return CLI_EXIT_INPUT;
    }
    video v = {0};
    v.opt = o;
    int rc = CLI_EXIT_INPUT;
    if (setup_model(&v) != 0 || open_output(o, output, &out) != 0) {
        /* message already printed */
    } else if (y4m_write_header(out, &header) != 0 || fflush(out) != 0) {
        cli_error("cannot write the output: %s", strerror(errno));
    } else {
        double start = cli_seconds();
        rc = process_frames(&v, in, out, &header);
        double seconds = cli_seconds() - start;
        if (o->stats)
            stats_print(&v.stats, &header, v.frames, seconds);
        else if (!o->shared.quiet && isatty(STDERR_FILENO))
            fprintf(stderr, "%s: %ld frames in %.1f s (%.2f frames/s)\n", cli_program_name(), v.frames,
                    seconds, seconds > 0 ? v.frames / seconds : 0.0);
    }
    free_video(&v);
    return rc;
}

int main(int argc, char **argv)
{
    cli_set_program_name("adn-video");
    options o;
    int parsed = parse_options(argc, argv, &o);
    if (parsed != 0)
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (check_paths(&o) != 0)
        return CLI_EXIT_USAGE;
    FILE *in = NULL;
    cli_atomic_file output = {.dirfd = -1};
    int rc = open_input(&o, &in);
    if (rc == CLI_EXIT_OK)
        rc = run(&o, in, &output);
    if (in && in != stdin)
        fclose(in);
    if (output.stream && rc == CLI_EXIT_OK) {
        if (cli_atomic_commit(&output) != 0)
            rc = CLI_EXIT_INPUT;
    } else {
        cli_atomic_discard(&output); /* the old file, if any, stays */
    }
    return rc;
}
