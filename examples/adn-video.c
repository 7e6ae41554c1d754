/*
 * adn-video — stylizes a YUV4MPEG2 (Y4M) video stream frame by frame with libadain_dcs:
 *
 *     ffmpeg -i in.mp4 -f yuv4mpegpipe - | adn-video --style s.jpg --models M | ffmpeg -i - out.mp4
 *
 * The style is encoded once and every frame is rendered on one context, which smooths the depth
 * over time inside the library (adn_context_set_temporal, experimental API) so the strength does
 * not flicker: one pass per frame.
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
    "  --style-size N         resize each style so its long side is N first (0 = keep; default)\n"
    "  --alpha A              global strength in [0,1] (default 1)\n"
    "  --depth-range LO,HI    strength at the nearest and farthest depth, each in [0,1] (default 0,1)\n"
    "  --no-depth             no depth: plain AdaIN with strength --alpha everywhere\n"
    "  --depth-ema A          weight of the previous frames in the depth moving average, in [0,1)\n"
    "                         (default 0.8; 0 = no smoothing)\n"
    "  --range-ema B          weight of the previous frames in the moving average of the raw\n"
    "                         depth's min and max that normalise it, in [0,1) (default 0 = each\n"
    "                         frame's own min and max)\n"
    "  --depth-size N         deprecated, ignored (with a warning): the depth is now made in the\n"
    "                         frame's own pass; the depth network picks its own input size\n"
    "  --preserve-color       keep the frame's colours (CORAL colour transfer onto the style)\n"
    "  --device auto|cpu|cuda where to run (default auto)\n"
    "  --threads N            CPU threads (default 0 = all cores)\n"
    "  --input FILE           read this file instead of standard input ('-' = stdin)\n"
    "  --output FILE          write this file instead of standard output ('-' = stdout)\n"
    "  --quiet                no progress (it is shown only when stderr is a terminal)\n"
    "  --version              print the library version and exit\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "Depth smoothing (in the library, one pass per frame): frame t's raw depth d_t from the depth\n"
    "network is normalised with lo'_t = B lo'_{t-1} + (1 - B) min d_t and hi'_t likewise from\n"
    "max d_t, D_t = clamp((d_t - lo'_t) / (hi'_t - lo'_t), 0, 1), then averaged per pixel:\n"
    "D'_t = A D'_{t-1} + (1 - A) D_t, and D'_t sets the strength of frame t.  The first frame\n"
    "starts the averages at its own values.\n"
    "\n"
    "Nothing is overwritten by mistake: before any work, --output must be a file other than the\n"
    "input, the styles and the bundle's files (compared as the files the paths lead to: symbolic\n"
    "links, './a' and 'a' are one file), and its folder must exist and be writable.\n"
    "\n"
    "Exit status: 0 success, 1 usage error (including an --output that clashes with an input or\n"
    "cannot be written), 2 input or model error (bad header, truncated frame, unsupported\n"
    "colourspace, absurd size).  Frames written before an error form a valid stream.\n";

enum {
    OPT_DEPTH_EMA = CLI_OPT_FIRST_PROGRAM_OPTION, OPT_RANGE_EMA, OPT_DEPTH_SIZE, OPT_INPUT, OPT_OUTPUT,
    OPT_VERSION
};

typedef struct options {
    cli_shared_options shared;
    float depth_ema, range_ema;
    const char *input, *output;
} options;

/* Everything the frame loop keeps from one frame to the next. */
typedef struct video {
    const options *opt;
    adn_model *model;
    adn_context *context;          /* one per stream: it holds the temporal depth state */
    adn_style **styles;
    int n_styles;
    adn_image rgb, out;            /* full frame */
    long frames;
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

static int open_output(const options *o, FILE **out)
{
    *out = is_stdio(o->output) ? stdout : fopen(o->output, "wb");
    if (!*out) {
        cli_error("cannot open output '%s': %s", o->output, strerror(errno));
        return -1;
    }
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
        if (cli_read_style(paths[k], v->opt->shared.style_size, &img) != ADN_OK ||
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
    adn_status st = adn_context_set_temporal(v->context, &tp);
    if (st != ADN_OK) {
        cli_error("--depth-ema / --range-ema: %s (%s)", adn_last_error(), adn_status_str(st));
        return -1;
    }
    return 0;
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
    cli_progress bar;
    cli_progress_start(&bar, 0, v->opt->shared.quiet);
    int rc = CLI_EXIT_OK, got;
    while ((got = y4m_read_frame(in, &frame, err, sizeof err)) == 1) {
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
}

static int run(const options *o, FILE *in, FILE **out_file)
{
    y4m_header header;
    char err[512];
    if (y4m_read_header(in, &header, err, sizeof err) != 0) {
        cli_error("%s: %s", is_stdio(o->input) ? "standard input" : o->input, err);
        return CLI_EXIT_INPUT;
    }
    video v = {0};
    v.opt = o;
    int rc = CLI_EXIT_INPUT;
    if (setup_model(&v) != 0 || open_output(o, out_file) != 0) {
        /* message already printed */
    } else if (y4m_write_header(*out_file, &header) != 0 || fflush(*out_file) != 0) {
        cli_error("cannot write the output: %s", strerror(errno));
    } else {
        double start = cli_seconds();
        rc = process_frames(&v, in, *out_file, &header);
        double seconds = cli_seconds() - start;
        if (!o->shared.quiet && isatty(STDERR_FILENO))
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
    FILE *in = NULL, *out = NULL;
    int rc = open_input(&o, &in);
    if (rc == CLI_EXIT_OK)
        rc = run(&o, in, &out);
    if (in && in != stdin)
        fclose(in);
    if (out && out != stdout && fclose(out) != 0 && rc == CLI_EXIT_OK) {
        cli_error("cannot write output '%s': %s", o.output, strerror(errno));
        rc = CLI_EXIT_INPUT;
    }
    return rc;
}
