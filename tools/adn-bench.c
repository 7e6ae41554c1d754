/* adn-bench: one benchmark run that compares, on the same weights and interleaved repeat by
 * repeat, the library in each precision, the eager PyTorch reference (a co-process, timed inside
 * its own process) and the zero-padding "limit" network (adn-export --benchmark-zero-padding: the
 * speed of direct convolution without exact padding; NOT the method's numbers).
 *
 *   adn-bench --models DIR [--limit-models DIR] [--reference CMD] [--sizes 256,512]
 *             [--precisions fp32,bf16] [--repeats N] [--threads N] [--pause-ms MS] [--json]
 *
 * The reference command is run as `CMD --bundle DIR --threads T --serve` (tests/ref/bench_ref.py).
 * With --json it prints a JSON array with one object per size and precision (docs/PERFORMANCE.md
 * is generated from it by tools/perf_table.py); a precision the machine cannot run gives an object
 * whose "error" says why.  Timings are medians over the repeats, after one warm-up run of each
 * configuration; only ratios measured in one run mean anything on a shared machine. */
#include "adain_dcs.h"
#include "bench_measure.h"
#include "bench_reference.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SIZES 8
#define MAX_PRECISIONS 3
#define MAX_REPEATS 101
#define ERROR_SIZE 512

/* METHOD.md §7: encoder + decoder are about 253 GFLOP at 512 x 512, in proportion to the pixels. */
#define GFLOP_AT_512 253.0

enum { ST_STYLE, ST_ENCODE, ST_DEPTH, ST_BLEND, ST_DECODE, ST_TOTAL, N_STAGES };
static const char *const stage_names[N_STAGES] = {"style_encode", "content_encode", "depth", "adain_blend", "decode", "total"};

typedef struct bench_options {
    const char *models, *limit_models, *reference;
    int sizes[MAX_SIZES], n_sizes;
    adn_precision precisions[MAX_PRECISIONS];
    int n_precisions;
    int repeats, threads, json;
    int pause_ms; /* idle before each run: every recorded run is a first call after a pause */
} bench_options;

/* Samples of one configuration at one size. */
typedef struct size_samples {
    double ms[N_STAGES][MAX_REPEATS];
    int n;
    double style_create_ms; /* adn_style_create, the clock around it */
    double peak_rss_mib;    /* the most any of its runs reached */
    adn_image out;          /* the last output, for PSNR */
} size_samples;

/* A bundle loaded in one precision, with its context and one style per size. */
typedef struct configuration {
    adn_model *model;
    adn_context *ctx;
    adn_style *style[MAX_SIZES];
    double load_ms;
    char error[ERROR_SIZE]; /* "" while it works */
    size_samples at[MAX_SIZES];
} configuration;

typedef struct reference_samples {
    double ms[N_STAGES][MAX_REPEATS];
    int n;
    double peak_rss_mib;
} reference_samples;

typedef struct bench {
    bench_options o;
    configuration library[MAX_PRECISIONS], limit[MAX_PRECISIONS];
    configuration fp32_baseline; /* for PSNR when fp32 itself is not asked for */
    bench_reference reference;
    int have_reference;
    char reference_error[ERROR_SIZE];
    reference_samples ref_at[MAX_SIZES];
    adn_image content[MAX_SIZES], style_image[MAX_SIZES];
    char limit_mismatch[ERROR_SIZE];
    double load_start, load_end;
} bench;

static const char *precision_name(adn_precision p) {
    return p == ADN_PRECISION_BF16 ? "bf16" : p == ADN_PRECISION_FP16 ? "fp16" : "fp32";
}

/* The best of the CPU extensions the precisions depend on (adn_has_feature, lib/cpu.c). */
static const char *cpu_isa(void) {
    if (adn_has_feature("amx_bf16")) return "AMX-BF16";
    if (adn_has_feature("avx512_bf16")) return "AVX-512-BF16";
    if (adn_has_feature("avx512f")) return "AVX-512";
    if (adn_has_feature("avx2")) return "AVX2";
    return "baseline";
}

/* A deterministic smooth test image (so statistics look like a photograph's, not noise). */
static int make_image(adn_image *img, int size, unsigned seed) {
    if (adn_image_alloc(img, 3, size, size) != ADN_OK) return -1; /* C, H, W */
    srand(seed);
    float phase[3] = {(float)((double)rand() / RAND_MAX), (float)((double)rand() / RAND_MAX), (float)((double)rand() / RAND_MAX)};
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x) {
                float v = 0.5f + 0.25f * ((float)((x * (c + 3) + y * 7) % 97) / 97.0f - 0.5f) + 0.2f * phase[c] * (float)(y) / (float)size;
                img->data[((size_t)c * size + y) * size + x] = v;
            }
    return 0;
}

/* ---- options -------------------------------------------------------------------------------- */

static int parse_sizes(const char *text, bench_options *o) {
    o->n_sizes = 0;
    char *copy = strdup(text);
    if (!copy) return -1;
    int bad = 0;
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        int v = atoi(tok);
        if (v < 16 || v > 8192 || o->n_sizes == MAX_SIZES) bad = 1;
        else o->sizes[o->n_sizes++] = v;
    }
    free(copy);
    return bad || !o->n_sizes ? -1 : 0;
}

static int parse_precisions(const char *text, bench_options *o) {
    o->n_precisions = 0;
    char *copy = strdup(text);
    if (!copy) return -1;
    int bad = 0;
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        adn_precision p;
        if (strcmp(tok, "fp32") == 0) p = ADN_PRECISION_FP32;
        else if (strcmp(tok, "bf16") == 0) p = ADN_PRECISION_BF16;
        else if (strcmp(tok, "fp16") == 0) p = ADN_PRECISION_FP16;
        else { bad = 1; continue; }
        for (int i = 0; i < o->n_precisions; ++i)
            if (o->precisions[i] == p) bad = 1;
        if (o->n_precisions == MAX_PRECISIONS) bad = 1;
        if (!bad) o->precisions[o->n_precisions++] = p;
    }
    free(copy);
    return bad || !o->n_precisions ? -1 : 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: adn-bench --models DIR [--limit-models DIR] [--reference CMD] [--sizes 256,512]\n"
            "                 [--precisions fp32,bf16] [--repeats N] [--threads N] [--pause-ms MS] [--json]\n"
            "Times adn_stylize with a cached style (stage medians over N repeats, after a warm-up) in\n"
            "each precision, and in the same run, interleaved: the zero-padding limit network\n"
            "(--limit-models, from adn-export --benchmark-zero-padding on the same weights) and the\n"
            "eager PyTorch reference (--reference \"/usr/bin/python3 tests/ref/bench_ref.py\").\n"
            "--pause-ms MS idles MS ms before every run (no settling runs), so that each is a first\n"
            "call after a pause, as an interactive caller makes them.\n"
            "--json prints one object per size and precision.  Sizes >= 16.\n");
}

static int parse_options(int argc, char **argv, bench_options *o) {
    static const struct option longopts[] = {
        {"models", required_argument, 0, 'm'},     {"limit-models", required_argument, 0, 'l'},
        {"reference", required_argument, 0, 'R'},  {"sizes", required_argument, 0, 's'},
        {"precisions", required_argument, 0, 'p'}, {"repeats", required_argument, 0, 'r'},
        {"runs", required_argument, 0, 'r'},       {"threads", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},             {"help", no_argument, 0, 'h'},
        {"pause-ms", required_argument, 0, 'P'},
        {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->repeats = 5;
    parse_sizes("256,512", o);
    parse_precisions("fp32", o);
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->models = optarg; break;
        case 'l': o->limit_models = optarg; break;
        case 'R': o->reference = optarg; break;
        case 's':
            if (parse_sizes(optarg, o)) return fprintf(stderr, "adn-bench: bad --sizes '%s' (at most %d, each 16..8192)\n", optarg, MAX_SIZES), 1;
            break;
        case 'p':
            if (parse_precisions(optarg, o)) return fprintf(stderr, "adn-bench: bad --precisions '%s' (fp32, bf16, fp16)\n", optarg), 1;
            break;
        case 'r': o->repeats = atoi(optarg); break;
        case 't': o->threads = atoi(optarg); break;
        case 'P': o->pause_ms = atoi(optarg); break;
        case 'j': o->json = 1; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc || !o->models || o->repeats < 1 || o->repeats > MAX_REPEATS || o->threads < 0 || o->threads > ADN_MAX_THREADS ||
        o->pause_ms < 0 || o->pause_ms > 60000) {
        usage(stderr);
        return 1;
    }
    return 0;
}

/* ---- same weights ---------------------------------------------------------------------------- */

/* The sha256 values bundle.json records for the source weights, concatenated in order. */
static int source_hashes(const char *bundle, char *out, size_t size) {
    char path[4096];
    snprintf(path, sizeof path, "%s/bundle.json", bundle);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    out[0] = '\0';
    for (const char *at = strstr(text, "\"sha256\": \""); at; at = strstr(at + 1, "\"sha256\": \"")) {
        const char *hex = at + strlen("\"sha256\": \"");
        size_t len = strcspn(hex, "\"");
        if (strlen(out) + len + 2 >= size) return -1;
        strncat(out, hex, len);
        strcat(out, " ");
    }
    return 0;
}

static void check_same_weights(bench *b) {
    static char ours[2048], theirs[2048];
    if (source_hashes(b->o.models, ours, sizeof ours) != 0 || source_hashes(b->o.limit_models, theirs, sizeof theirs) != 0)
        snprintf(b->limit_mismatch, sizeof b->limit_mismatch, "cannot read bundle.json of both bundles to check their weights");
    else if (strcmp(ours, theirs) != 0 || !ours[0])
        snprintf(b->limit_mismatch, sizeof b->limit_mismatch, "%s was not exported from the same weights as %s", b->o.limit_models,
                 b->o.models);
}

/* ---- configurations ---------------------------------------------------------------------------- */

/* The library's message, which names the function that failed where it matters. */
static void set_error(configuration *c) { snprintf(c->error, sizeof c->error, "%s", adn_last_error()); }

static void load_configuration(bench *b, configuration *c, const char *dir, adn_precision precision) {
    adn_model_params mp = adn_model_default_params();
    mp.n_threads = b->o.threads;
    mp.precision = precision;
    mp.device = ADN_DEVICE_CPU;
    double start = bench_now_ms();
    if (adn_model_load(dir, &mp, &c->model) != ADN_OK) return set_error(c);
    c->load_ms = bench_now_ms() - start;
    /* The library's default budget; UINT64_MAX would never tile, which is not what callers get. */
    if (adn_context_create(c->model, NULL, &c->ctx) != ADN_OK) return set_error(c);
    for (int i = 0; i < b->o.n_sizes; ++i) {
        start = bench_now_ms();
        if (adn_style_create(c->model, &b->style_image[i], &c->style[i]) != ADN_OK) return set_error(c);
        c->at[i].style_create_ms = bench_now_ms() - start;
    }
}

static void free_configuration(configuration *c) {
    for (int i = 0; i < MAX_SIZES; ++i) {
        adn_style_free(c->style[i]);
        adn_image_free(&c->at[i].out);
    }
    adn_context_free(c->ctx);
    adn_model_free(c->model);
    memset(c, 0, sizeof *c);
}

/* One adn_stylize of size index i; record = 0 for the warm-up. */
static void run_configuration(bench *b, configuration *c, int i, int record) {
    if (c->error[0] || !c->model) return;
    size_samples *s = &c->at[i];
    const adn_style *styles[] = {c->style[i]};
    bench_reset_peak_rss();
    if (adn_stylize(c->ctx, &b->content[i], styles, 1, NULL, &s->out) != ADN_OK) return set_error(c);
    const double rss = bench_peak_rss_mib();
    if (rss > s->peak_rss_mib) s->peak_rss_mib = rss;
    adn_timings tm = {.struct_size = sizeof tm};
    if (adn_context_get_timings(c->ctx, &tm) != ADN_OK) return set_error(c);
    if (!record) return;
    const double v[N_STAGES] = {tm.style_encode_ms, tm.content_encode_ms, tm.depth_ms, tm.adain_blend_ms, tm.decode_ms, tm.total_ms};
    for (int k = 0; k < N_STAGES; ++k) s->ms[k][s->n] = v[k];
    s->n++;
}

static void run_reference(bench *b, int i, int record) {
    if (!b->have_reference || b->reference_error[0]) return;
    bench_reference_run run;
    if (bench_reference_run_once(&b->reference, b->o.sizes[i], &run) != 0) {
        snprintf(b->reference_error, sizeof b->reference_error, "%s", b->reference.error);
        return;
    }
    reference_samples *s = &b->ref_at[i];
    if (run.peak_rss_mib > s->peak_rss_mib) s->peak_rss_mib = run.peak_rss_mib;
    if (!record) return;
    const double v[N_STAGES] = {run.style_encode_ms, run.content_encode_ms, run.depth_ms, run.adain_blend_ms, run.decode_ms, run.total_ms};
    for (int k = 0; k < N_STAGES; ++k) s->ms[k][s->n] = v[k];
    s->n++;
}

/* --pause-ms: idle before a run. */
static void pause_before_run(const bench *b) {
    if (b->o.pause_ms <= 0) return;
    struct timespec ts = {b->o.pause_ms / 1000, (long)(b->o.pause_ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Every configuration once at size index i, in a fixed order.  The first run in this process
 * after the reference process has run is slower, whichever configuration it is (measured at 512²
 * on AVX-512 with a plain allocator: +240 ms content encode, +130 ms decode; a pause of 500 ms
 * does not remove it, one run does; idling alone causes it, see --pause-ms), and so, likewise,
 * may be the reference's first run after ours.  So each side first does one unrecorded settling
 * run, and every recorded run follows a run of its own side.  With --pause-ms every run instead
 * follows a pause: that first-call time is what is measured. */
static void run_round(bench *b, int i, int record) {
    const int settle = b->o.pause_ms == 0;
    if (settle && b->o.n_precisions > 0) run_configuration(b, &b->library[0], i, 0);
    for (int p = 0; p < b->o.n_precisions; ++p) {
        pause_before_run(b);
        run_configuration(b, &b->library[p], i, record);
        pause_before_run(b);
        run_configuration(b, &b->limit[p], i, record);
    }
    if (b->fp32_baseline.model && !record) run_configuration(b, &b->fp32_baseline, i, 0);
    if (settle) run_reference(b, i, 0);
    pause_before_run(b);
    run_reference(b, i, record);
}

/* ---- results --------------------------------------------------------------------------------- */

static double stage_median(const size_samples *s, int k) {
    double copy[MAX_REPEATS];
    memcpy(copy, s->ms[k], sizeof(double) * (size_t)s->n);
    return s->n ? bench_median(copy, s->n) : -1.0;
}

static double reference_median(const reference_samples *s, int k) {
    double copy[MAX_REPEATS];
    memcpy(copy, s->ms[k], sizeof(double) * (size_t)s->n);
    return s->n ? bench_median(copy, s->n) : -1.0;
}

static double gflops(int size, double encode_ms, double decode_ms) {
    const int padded = (size + 7) / 8 * 8;
    const double ms = encode_ms + decode_ms;
    return ms > 0 ? GFLOP_AT_512 * (double)padded * padded / (512.0 * 512.0) / (ms * 1e-3) : -1.0;
}

static const adn_image *fp32_output(const bench *b, int i) {
    for (int p = 0; p < b->o.n_precisions; ++p)
        if (b->o.precisions[p] == ADN_PRECISION_FP32 && !b->library[p].error[0]) return &b->library[p].at[i].out;
    return b->fp32_baseline.model && !b->fp32_baseline.error[0] ? &b->fp32_baseline.at[i].out : NULL;
}

static double psnr_vs_fp32(const bench *b, const configuration *c, int i) {
    const adn_image *ref = fp32_output(b, i), *out = &c->at[i].out;
    if (!ref || !ref->data || !out->data || c->error[0]) return -1.0;
    const double db = bench_psnr_8bit(out->data, ref->data, (size_t)3 * out->height * out->width);
    return db < 0 ? INFINITY : db; /* identical: reported as null ("no difference") */
}

static void json_number(const char *key, double v, int last) {
    if (v < 0 || !isfinite(v)) printf("    \"%s\": null%s\n", key, last ? "" : ",");
    else printf("    \"%s\": %.3f%s\n", key, v, last ? "" : ",");
}

static void json_string(const char *key, const char *v, int last) {
    if (!v || !v[0]) {
        printf("    \"%s\": null%s\n", key, last ? "" : ",");
        return;
    }
    printf("    \"%s\": \"", key);
    for (const char *c = v; *c; ++c) {
        if (*c == '"' || *c == '\\') putchar('\\');
        putchar((unsigned char)*c >= 0x20 ? *c : ' ');
    }
    printf("\"%s\n", last ? "" : ",");
}

static void json_stages(const char *key, const double *ms) {
    printf("    \"%s\": {", key);
    for (int k = 0; k < N_STAGES - 1; ++k) {
        if (ms[k] < 0) printf("%s\"%s\": null", k ? ", " : "", stage_names[k]);
        else printf("%s\"%s\": %.3f", k ? ", " : "", stage_names[k], ms[k]);
    }
    printf("},\n");
}

static void print_json_object(const bench *b, int i, int p, int last) {
    const configuration *lib = &b->library[p], *lim = &b->limit[p];
    const size_samples *ls = &lib->at[i], *ms = &lim->at[i];
    double lib_ms[N_STAGES], lim_ms[N_STAGES], ref_ms[N_STAGES];
    for (int k = 0; k < N_STAGES; ++k) {
        lib_ms[k] = lib->error[0] ? -1.0 : stage_median(ls, k);
        lim_ms[k] = lim->error[0] || !lim->model ? -1.0 : stage_median(ms, k);
        ref_ms[k] = b->reference_error[0] ? -1.0 : reference_median(&b->ref_at[i], k);
    }
    lib_ms[ST_STYLE] = lib->error[0] ? -1.0 : ls->style_create_ms; /* the cached style's encode */
    lim_ms[ST_STYLE] = lim->error[0] || !lim->model ? -1.0 : ms->style_create_ms;
    printf("  {\n");
    printf("    \"size\": %d,\n    \"precision\": \"%s\",\n", b->o.sizes[i], precision_name(b->o.precisions[p]));
    json_string("isa", cpu_isa(), 0);
    printf("    \"threads\": %d,\n    \"repeats\": %d,\n    \"pause_ms\": %d,\n", b->o.threads, b->o.repeats, b->o.pause_ms);
    json_string("error", lib->error, 0);
    json_number("library_total_ms", lib_ms[ST_TOTAL], 0);
    json_number("reference_total_ms", ref_ms[ST_TOTAL], 0);
    json_number("limit_total_ms", lim_ms[ST_TOTAL], 0);
    const double psnr = b->o.precisions[p] == ADN_PRECISION_FP32 ? -1.0 : psnr_vs_fp32(b, lib, i);
    json_number("psnr_vs_fp32_db", psnr, 0);
    json_number("limit_psnr_vs_fp32_db", lim->model ? psnr_vs_fp32(b, lim, i) : -1.0, 0);
    json_number("speedup_vs_reference", lib_ms[ST_TOTAL] > 0 && ref_ms[ST_TOTAL] > 0 ? ref_ms[ST_TOTAL] / lib_ms[ST_TOTAL] : -1.0, 0);
    json_number("fraction_of_limit", lib_ms[ST_TOTAL] > 0 && lim_ms[ST_TOTAL] > 0 ? lim_ms[ST_TOTAL] / lib_ms[ST_TOTAL] : -1.0, 0);
    json_stages("library_stages_ms", lib_ms);
    json_stages("reference_stages_ms", ref_ms);
    json_stages("limit_stages_ms", lim_ms);
    json_number("library_gflops", lib->error[0] ? -1.0 : gflops(b->o.sizes[i], lib_ms[ST_ENCODE], lib_ms[ST_DECODE]), 0);
    json_number("limit_gflops", lim_ms[ST_TOTAL] < 0 ? -1.0 : gflops(b->o.sizes[i], lim_ms[ST_ENCODE], lim_ms[ST_DECODE]), 0);
    json_number("reference_gflops", ref_ms[ST_TOTAL] < 0 ? -1.0 : gflops(b->o.sizes[i], ref_ms[ST_ENCODE], ref_ms[ST_DECODE]), 0);
    json_number("library_load_ms", lib->error[0] ? -1.0 : lib->load_ms, 0);
    json_number("reference_load_ms", b->have_reference && !b->reference_error[0] ? b->reference.load_ms : -1.0, 0);
    json_number("peak_rss_mib", lib->error[0] ? -1.0 : ls->peak_rss_mib, 0);
    json_number("reference_peak_rss_mib", b->reference_error[0] ? -1.0 : b->ref_at[i].peak_rss_mib, 0);
    json_string("reference_error", b->have_reference ? b->reference_error : "not run (no --reference)", 0);
    json_string("limit_error", !b->o.limit_models ? "not run (no --limit-models)" : lim->error[0] ? lim->error : b->limit_mismatch, 0);
    printf("    \"load_average\": [%.2f, %.2f]\n", b->load_start, b->load_end);
    printf("  }%s\n", last ? "" : ",");
}

/* One table cell; "-" where the value is missing (negative). */
static void print_cell(double v, int width, int decimals) {
    if (v < 0) printf(" %*s", width, "-");
    else printf(" %*.*f", width, decimals, v);
}

static void print_text(const bench *b) {
    printf("libadain_dcs %s, bundle %s, CPU %s, median of %d repeats, threads %d (0 = all cores), load average %.2f -> %.2f\n",
           adn_version(), b->o.models, cpu_isa(), b->o.repeats, b->o.threads, b->load_start, b->load_end);
    if (b->have_reference && b->reference_error[0]) printf("reference: %s\n", b->reference_error);
    if (b->limit_mismatch[0]) printf("limit: %s\n", b->limit_mismatch);
    printf("%-6s %-5s %-15s %11s %11s %11s %9s %9s\n", "size", "prec", "stage", "library ms", "reference", "limit", "ref/lib", "lim/lib");
    for (int i = 0; i < b->o.n_sizes; ++i)
        for (int p = 0; p < b->o.n_precisions; ++p) {
            const configuration *lib = &b->library[p], *lim = &b->limit[p];
            if (lib->error[0]) {
                printf("%-6d %-5s %s\n", b->o.sizes[i], precision_name(b->o.precisions[p]), lib->error);
                continue;
            }
            for (int k = 0; k < N_STAGES; ++k) {
                double l = k == ST_STYLE ? lib->at[i].style_create_ms : stage_median(&lib->at[i], k);
                double r = b->reference_error[0] ? -1.0 : reference_median(&b->ref_at[i], k);
                double z = lim->model && !lim->error[0] ? (k == ST_STYLE ? lim->at[i].style_create_ms : stage_median(&lim->at[i], k)) : -1.0;
                printf("%-6d %-5s %-15s %11.1f", b->o.sizes[i], precision_name(b->o.precisions[p]), stage_names[k], l);
                print_cell(r, 11, 1);
                print_cell(z, 11, 1);
                print_cell(r > 0 && l > 0 ? r / l : -1.0, 9, 2);
                print_cell(z > 0 && l > 0 ? z / l : -1.0, 9, 2);
                printf("\n");
            }
            const double psnr = b->o.precisions[p] == ADN_PRECISION_FP32 ? -1.0 : psnr_vs_fp32(b, lib, i);
            printf("       %.1f GFLOP/s (encode + decode), peak RSS %.0f MiB", gflops(b->o.sizes[i], stage_median(&lib->at[i], ST_ENCODE),
                                                                              stage_median(&lib->at[i], ST_DECODE)),
                   lib->at[i].peak_rss_mib);
            if (psnr > 0) printf(", PSNR vs fp32 %.1f dB", psnr);
            printf("\n");
        }
}

/* ---- main ------------------------------------------------------------------------------------ */

static int prepare(bench *b) {
    for (int i = 0; i < b->o.n_sizes; ++i)
        if (make_image(&b->content[i], b->o.sizes[i], 1) || make_image(&b->style_image[i], b->o.sizes[i], 2)) return -1;
    int has_fp32 = 0;
    for (int p = 0; p < b->o.n_precisions; ++p) {
        has_fp32 |= b->o.precisions[p] == ADN_PRECISION_FP32;
        load_configuration(b, &b->library[p], b->o.models, b->o.precisions[p]);
        if (b->o.limit_models) load_configuration(b, &b->limit[p], b->o.limit_models, b->o.precisions[p]);
    }
    if (!has_fp32) load_configuration(b, &b->fp32_baseline, b->o.models, ADN_PRECISION_FP32);
    if (b->o.limit_models) check_same_weights(b);
    if (b->o.reference) {
        b->have_reference = 1;
        if (bench_reference_start(&b->reference, b->o.reference, b->o.models, b->o.threads) != 0)
            snprintf(b->reference_error, sizeof b->reference_error, "%s", b->reference.error);
    }
    return 0;
}

int main(int argc, char **argv) {
    static bench b; /* large: samples of every configuration */
    if (parse_options(argc, argv, &b.o)) return 1;
    signal(SIGPIPE, SIG_IGN); /* a reference that died is reported, not fatal */
    b.load_start = bench_load_average();
    if (prepare(&b) != 0) return fprintf(stderr, "adn-bench: out of memory\n"), 2;
    if (b.library[0].error[0] && b.o.n_precisions == 1 && b.o.precisions[0] == ADN_PRECISION_FP32 && !b.o.json)
        return fprintf(stderr, "adn-bench: %s\n", b.library[0].error), 2;
    for (int i = 0; i < b.o.n_sizes; ++i) run_round(&b, i, 0); /* warm-up: first-call buffers, oneDNN primitives */
    for (int r = 0; r < b.o.repeats; ++r)
        for (int i = 0; i < b.o.n_sizes; ++i) run_round(&b, i, 1);
    if (b.have_reference) bench_reference_stop(&b.reference);
    b.load_end = bench_load_average();
    if (b.o.json) {
        printf("[\n");
        for (int i = 0; i < b.o.n_sizes; ++i)
            for (int p = 0; p < b.o.n_precisions; ++p) print_json_object(&b, i, p, i == b.o.n_sizes - 1 && p == b.o.n_precisions - 1);
        printf("]\n");
    } else {
        print_text(&b);
    }
    for (int p = 0; p < b.o.n_precisions; ++p) free_configuration(&b.library[p]), free_configuration(&b.limit[p]);
    free_configuration(&b.fp32_baseline);
    for (int i = 0; i < b.o.n_sizes; ++i) adn_image_free(&b.content[i]), adn_image_free(&b.style_image[i]);
    return 0;
}
