/*
 * adn-video — stylizes a YUV4MPEG2 (Y4M) video stream frame by frame with libadain_dcs:
 *
 *     ffmpeg -i in.mp4 -f yuv4mpegpipe - | adn-video --style s.jpg --models M | ffmpeg -i - out.mp4
 *
 * The style is encoded once.  The depth map is smoothed over time (an exponential moving average)
 * so the strength does not flicker; see depth_pass() for how that is done with the public API.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adain_dcs.h"
#include "cli_common.h"
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
    "  --depth-ema A          weight of the previous frames in the depth moving average, in [0,1]\n"
    "                         (default 0.8; 0 = no smoothing)\n"
    "  --depth-size N         long side at which the depth of each frame is measured (default 256,\n"
    "                         the depth network's own input size; 0 = the full frame)\n"
    "  --preserve-color       keep the frame's colours (CORAL colour transfer onto the style)\n"
    "  --device auto|cpu|cuda where to run (default auto)\n"
    "  --threads N            CPU threads (default 0 = all cores)\n"
    "  --input FILE           read this file instead of standard input ('-' = stdin)\n"
    "  --output FILE          write this file instead of standard output ('-' = stdout)\n"
    "  --quiet                no progress (it is shown only when stderr is a terminal)\n"
    "  --version              print the library version and exit\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "Depth smoothing: each frame's depth D_t comes from the depth network (adn_stylize's out_depth,\n"
    "run on a copy of the frame scaled to --depth-size with alpha 0, which costs an encoder and\n"
    "decoder pass at that small size only); the smoothed map E_t = A E_{t-1} + (1 - A) D_t is then\n"
    "given back as the caller's depth for the full-size frame.  So each frame has one full-size\n"
    "pass and one small one.\n"
    "\n"
    "Exit status: 0 success, 1 usage error, 2 input or model error (bad header, truncated frame,\n"
    "unsupported colourspace, absurd size).  Frames written before an error form a valid stream.\n";

enum { OPT_DEPTH_EMA = CLI_OPT_FIRST_PROGRAM_OPTION, OPT_DEPTH_SIZE, OPT_INPUT, OPT_OUTPUT, OPT_VERSION };

typedef struct options {
    cli_shared_options shared;
    float depth_ema;
    int32_t depth_size;
    const char *input, *output;
} options;

/* Everything the frame loop keeps from one frame to the next. */
typedef struct video {
    const options *opt;
    adn_model *model;
    adn_style **styles;
    int n_styles;
    int smooth_depth;              /* 1: the two-pass EMA path; 0: one pass per frame */
    adn_image rgb, out;            /* full frame */
    adn_image small, small_out;    /* the frame at --depth-size, for the depth pass */
    adn_image frame_depth, smoothed;
    long frames;
} video;

/* ---- options ------------------------------------------------------------------------------- */

static int program_option(int code, const char *arg, void *program_options)
{
    options *o = program_options;
    switch (code) {
    case OPT_DEPTH_EMA: return cli_parse_float("depth-ema", arg, 0.0f, 1.0f, &o->depth_ema);
    case OPT_DEPTH_SIZE: return cli_parse_int("depth-size", arg, 0, CLI_MAX_LONG_SIDE, &o->depth_size);
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
    o->depth_size = 256;
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

/* 1 if the output path names the very file being read (opening it for writing would empty it). */
static int output_is_input(const options *o, FILE *in)
{
    struct stat in_stat, out_stat;
    if (is_stdio(o->output) || fstat(fileno(in), &in_stat) != 0 || stat(o->output, &out_stat) != 0)
        return 0;
    return in_stat.st_dev == out_stat.st_dev && in_stat.st_ino == out_stat.st_ino;
}

/* Opens the input and checks the output; prints and returns the exit status on failure.  The
 * output itself is opened only once the header and the model are good (open_output), so a bad
 * start leaves no empty file behind. */
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
    if (output_is_input(o, *in)) {
        cli_usage_error("--output '%s' is the input file; it would be destroyed", o->output);
        return CLI_EXIT_USAGE;
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
    if (cli_load_model(&v->opt->shared, &v->model) != 0 || encode_styles(v) != 0)
        return -1;
    adn_model_info info;
    if (adn_model_get_info(v->model, &info) != ADN_OK) {
        cli_error("%s", adn_last_error());
        return -1;
    }
    v->smooth_depth = !v->opt->shared.no_depth && info.depth_kind != ADN_DEPTH_KIND_NONE &&
                      v->opt->depth_ema > 0.0f;
    return 0;
}

static adn_status allocate_buffers(video *v, const y4m_header *h)
{
    adn_status st = adn_image_alloc(&v->rgb, 3, h->width, h->height);
    if (st != ADN_OK || !v->smooth_depth)
        return st;
    int32_t size = v->opt->depth_size, longest = h->width > h->height ? h->width : h->height;
    if (size == 0 || size >= longest)
        return ADN_OK;   /* the depth pass uses the full frame */
    st = adn_image_alloc(&v->small, 3, h->width, h->height);
    return st == ADN_OK ? cli_resize_long_side(&v->small, size) : st;
}

/* ---- per frame ----------------------------------------------------------------------------- */

static adn_stylize_params base_params(const video *v)
{
    adn_stylize_params p = adn_stylize_default_params();
    p.alpha = v->opt->shared.alpha;
    p.preserve_color = v->opt->shared.preserve_color;
    p.style_weights = v->opt->shared.n_weights ? v->opt->shared.weights : NULL;
    p.depth_source = v->opt->shared.no_depth ? ADN_DEPTH_NONE : ADN_DEPTH_AUTO;
    return p;
}

/*
 * The depth of this frame, smoothed over time, into v->smoothed.
 *
 * The public API gives the network's depth only through adn_stylize(out_depth), which also runs
 * the encoder and decoder.  Doing that at full size and then stylizing again with the smoothed
 * map would double the cost of every frame.  The depth network looks at a small picture anyway
 * (MiDaS: long side 256), so the depth pass runs on a copy of the frame scaled to --depth-size
 * with alpha 0 and no colour preservation; only that small encode/decode is extra.  Its D (already
 * normalised, 0 = near) is averaged into E_t = A E_{t-1} + (1 - A) D_t, which the full-size pass
 * then takes as ADN_DEPTH_CALLER (a plain depth map: it is renormalised and resized there).
 */
static adn_status depth_pass(video *v)
{
    adn_image *frame = &v->rgb;
    if (v->small.data) {
        adn_status st = adn_resize_bilinear(v->rgb.data, 3, v->rgb.height, v->rgb.width, v->small.data,
                                            v->small.height, v->small.width);
        if (st != ADN_OK)
            return st;
        frame = &v->small;
    }
    adn_stylize_params p = adn_stylize_default_params();
    p.alpha = 0.0f;
    p.style_weights = v->opt->shared.n_weights ? v->opt->shared.weights : NULL;
    p.depth_source = ADN_DEPTH_NETWORK;
    p.out_depth = &v->frame_depth;
    adn_status st = adn_stylize(v->model, frame, (const adn_style *const *)v->styles, v->n_styles, &p,
                                &v->small_out);
    if (st != ADN_OK)
        return st;
    size_t n = (size_t)v->frame_depth.width * v->frame_depth.height;
    if (!v->smoothed.data) {   /* first frame: the average starts at its own depth */
        st = adn_image_alloc(&v->smoothed, 1, v->frame_depth.width, v->frame_depth.height);
        if (st == ADN_OK)
            memcpy(v->smoothed.data, v->frame_depth.data, sizeof(float) * n);
        return st;
    }
    const float a = v->opt->depth_ema;
    for (size_t i = 0; i < n; i++)
        v->smoothed.data[i] = a * v->smoothed.data[i] + (1.0f - a) * v->frame_depth.data[i];
    return ADN_OK;
}

static adn_status stylize_frame(video *v)
{
    adn_stylize_params p = base_params(v);
    if (v->smooth_depth) {
        adn_status st = depth_pass(v);
        if (st != ADN_OK)
            return st;
        p.depth_source = ADN_DEPTH_CALLER;
        p.depth = &v->smoothed;
    }
    return adn_stylize(v->model, &v->rgb, (const adn_style *const *)v->styles, v->n_styles, &p, &v->out);
}

/* Reads, stylizes and writes frames until the input ends.  Returns the exit status. */
static int process_frames(video *v, FILE *in, FILE *out, const y4m_header *h)
{
    y4m_frame frame;
    char err[512];
    if (y4m_frame_alloc(h, &frame) != 0 || allocate_buffers(v, h) != ADN_OK) {
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
    adn_model_free(v->model);
    adn_image *images[] = {&v->rgb, &v->out, &v->small, &v->small_out, &v->frame_depth, &v->smoothed};
    for (size_t i = 0; i < sizeof images / sizeof images[0]; i++)
        adn_image_free(images[i]);
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
