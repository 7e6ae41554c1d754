/* adn-bench: times the stages of AdaIN-DCS through the public API (a context's stage timings,
 * adn_context_get_timings; model load and adn_style_create by the clock around the call) and, when
 * given a reference command, the same work in the independent PyTorch reference run in the same
 * invocation, printing medians and the ratio reference / library.
 *
 *   adn-bench --models DIR [--sizes 256,512] [--runs 5] [--threads N]
 *             [--reference "/usr/bin/python3 tests/ref/bench_ref.py"]
 *
 * The reference command is run as `CMD --bundle DIR --sizes S --runs N --threads T` and prints lines
 * "stage size milliseconds" (medians); stages: load style_encode content_encode depth adain_blend
 * decode total. */
#include "adain_dcs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SIZES 8
#define MAX_RUNS 101
#define N_STAGES 7

static const char *const stage_names[N_STAGES] = {"load", "style_encode", "content_encode", "depth", "adain_blend", "decode", "total"};

typedef struct bench_options {
    const char *models;
    const char *reference;
    int sizes[MAX_SIZES];
    int n_sizes;
    int runs;
    int threads;
} bench_options;

/* Medians per stage and size: [stage][size index]. */
typedef struct bench_table {
    double ms[N_STAGES][MAX_SIZES];
    int have[N_STAGES][MAX_SIZES];
} bench_table;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *values, int n) {
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
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

static int parse_sizes(const char *text, bench_options *o) {
    o->n_sizes = 0;
    char *copy = strdup(text);
    for (char *tok = strtok(copy, ","); tok && o->n_sizes < MAX_SIZES; tok = strtok(NULL, ",")) {
        int v = atoi(tok);
        if (v < 8 || v > 8192) {
            free(copy);
            return -1;
        }
        o->sizes[o->n_sizes++] = v;
    }
    free(copy);
    return o->n_sizes ? 0 : -1;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: adn-bench --models DIR [--sizes 256,512] [--runs N] [--threads N] [--reference CMD]\n"
            "Times model load, style encode, content encode, depth, AdaIN+blend and decode (median of N\n"
            "runs) and, with --reference, the same stages in the PyTorch reference, with ratios.\n");
}

static int parse_options(int argc, char **argv, bench_options *o) {
    static const struct option longopts[] = {{"models", required_argument, 0, 'm'}, {"sizes", required_argument, 0, 's'},
                                             {"runs", required_argument, 0, 'r'},   {"threads", required_argument, 0, 't'},
                                             {"reference", required_argument, 0, 'R'}, {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->runs = 5;
    parse_sizes("256,512", o);
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': o->models = optarg; break;
        case 's':
            if (parse_sizes(optarg, o)) return fprintf(stderr, "adn-bench: bad --sizes '%s'\n", optarg), 1;
            break;
        case 'r': o->runs = atoi(optarg); break;
        case 't': o->threads = atoi(optarg); break;
        case 'R': o->reference = optarg; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 1;
        }
    }
    if (!o->models || o->runs < 1 || o->runs > MAX_RUNS || o->threads < 0) {
        usage(stderr);
        return 1;
    }
    return 0;
}

static int bench_library(const bench_options *o, bench_table *t) {
    adn_model_params mp = adn_model_default_params();
    mp.n_threads = o->threads;
    double loads[MAX_RUNS];
    adn_model *model = NULL;
    for (int r = 0; r < o->runs; ++r) {
        adn_model_free(model);
        double start = now_ms();
        if (adn_model_load(o->models, &mp, &model) != ADN_OK) {
            fprintf(stderr, "adn-bench: %s: %s\n", o->models, adn_last_error());
            return 2;
        }
        loads[r] = now_ms() - start;
    }
    for (int i = 0; i < o->n_sizes; ++i) t->ms[0][i] = median(loads, o->runs), t->have[0][i] = 1;
    adn_context *ctx = NULL;
    if (adn_context_create(model, NULL, &ctx) != ADN_OK) {
        fprintf(stderr, "adn-bench: %s\n", adn_last_error());
        adn_model_free(model);
        return 2;
    }
    int rc = 0;
    for (int i = 0; rc == 0 && i < o->n_sizes; ++i) {
        adn_image content = {0}, style = {0}, out = {0};
        double samples[N_STAGES][MAX_RUNS];
        adn_style *s = NULL;
        if (make_image(&content, o->sizes[i], 1) || make_image(&style, o->sizes[i], 2)) rc = 2;
        /* adn_style_create runs on no context, so it has no stage timings: the clock around it. */
        for (int r = 0; rc == 0 && r < o->runs; ++r) {
            adn_style_free(s);
            s = NULL;
            double start = now_ms();
            if (adn_style_create(model, &style, &s) != ADN_OK) rc = 2;
            samples[1][r] = now_ms() - start;
        }
        const adn_style *styles[] = {s};
        /* warm-up: first-call buffer allocations and JIT */
        if (rc == 0 && adn_stylize(ctx, &content, styles, 1, NULL, &out) != ADN_OK) rc = 2;
        for (int r = 0; rc == 0 && r < o->runs; ++r) {
            adn_timings tm = {.struct_size = sizeof tm};
            if (adn_stylize(ctx, &content, styles, 1, NULL, &out) != ADN_OK ||
                adn_context_get_timings(ctx, &tm) != ADN_OK) {
                rc = 2;
                break;
            }
            samples[2][r] = tm.content_encode_ms;
            samples[3][r] = tm.depth_ms;
            samples[4][r] = tm.adain_blend_ms;
            samples[5][r] = tm.decode_ms;
            samples[6][r] = tm.total_ms;
        }
        if (rc != 0)
            fprintf(stderr, "adn-bench: size %d: %s\n", o->sizes[i], adn_last_error());
        else
            for (int k = 1; k < N_STAGES; ++k) t->ms[k][i] = median(samples[k], o->runs), t->have[k][i] = 1;
        adn_style_free(s);
        adn_image_free(&out);
        adn_image_free(&content);
        adn_image_free(&style);
    }
    adn_context_free(ctx);
    adn_model_free(model);
    return rc;
}

static int size_index(const bench_options *o, int size) {
    for (int i = 0; i < o->n_sizes; ++i)
        if (o->sizes[i] == size) return i;
    return -1;
}

static int stage_index(const char *name) {
    for (int k = 0; k < N_STAGES; ++k)
        if (strcmp(stage_names[k], name) == 0) return k;
    return -1;
}

static int bench_reference(const bench_options *o, bench_table *t) {
    char sizes[128] = "", command[4096];
    for (int i = 0; i < o->n_sizes; ++i) snprintf(sizes + strlen(sizes), sizeof sizes - strlen(sizes), "%s%d", i ? "," : "", o->sizes[i]);
    snprintf(command, sizeof command, "%s --bundle '%s' --sizes %s --runs %d --threads %d", o->reference, o->models, sizes, o->runs, o->threads);
    FILE *p = popen(command, "r");
    if (!p) return fprintf(stderr, "adn-bench: cannot run %s\n", command), 2;
    char stage[64];
    int size;
    double ms;
    char line[256];
    while (fgets(line, sizeof line, p)) {
        if (sscanf(line, "%63s %d %lf", stage, &size, &ms) != 3) continue;
        int k = stage_index(stage), i = size_index(o, size);
        if (k >= 0 && i >= 0) t->ms[k][i] = ms, t->have[k][i] = 1;
    }
    int rc = pclose(p);
    if (rc != 0) return fprintf(stderr, "adn-bench: reference command failed (%d): %s\n", rc, command), 2;
    return 0;
}

static void print_table(const bench_options *o, const bench_table *lib, const bench_table *ref) {
    printf("%-15s %6s %12s %12s %9s\n", "stage", "size", "library ms", "reference ms", "ref/lib");
    for (int i = 0; i < o->n_sizes; ++i)
        for (int k = 0; k < N_STAGES; ++k) {
            printf("%-15s %6d %12.2f", stage_names[k], o->sizes[i], lib->ms[k][i]);
            if (ref && ref->have[k][i])
                printf(" %12.2f %9.2f\n", ref->ms[k][i], lib->ms[k][i] > 0 ? ref->ms[k][i] / lib->ms[k][i] : 0.0);
            else
                printf(" %12s %9s\n", "-", "-");
        }
    for (int i = 0; i < o->n_sizes; ++i) {
        /* METHOD.md §7: about 253 GFLOP at 512x512 for encoder + decoder, scaling with the pixel count. */
        double gflop = 253.0 * (double)o->sizes[i] * o->sizes[i] / (512.0 * 512.0);
        double ms = lib->ms[2][i] + lib->ms[5][i];
        printf("size %d: encode+decode %.1f ms = %.1f GFLOP/s (of %.1f GFLOP)\n", o->sizes[i], ms, gflop / (ms * 1e-3), gflop);
    }
}

int main(int argc, char **argv) {
    bench_options o;
    if (parse_options(argc, argv, &o)) return 1;
    bench_table lib, ref;
    memset(&lib, 0, sizeof lib);
    memset(&ref, 0, sizeof ref);
    printf("libadain_dcs %s, bundle %s, median of %d runs, threads %d (0 = all cores)\n", adn_version(), o.models, o.runs, o.threads);
    int rc = bench_library(&o, &lib);
    if (rc) return rc;
    if (o.reference && (rc = bench_reference(&o, &ref))) return rc;
    print_table(&o, &lib, o.reference ? &ref : NULL);
    return 0;
}
