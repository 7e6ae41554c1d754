/* fault_driver.c — runs one operation of libadain_dcs again and again under fail_malloc.so
 * (LD_PRELOAD), failing allocation N = FROM, FROM+1, ... of it, until a run in which the N-th
 * allocation never came (the operation needs fewer).  Every run must end cleanly: ADN_OK, or
 * ADN_ERR_OUT_OF_MEMORY with a one-line message; and then
 *   - read:    the pixels equal those of an unarmed read;
 *   - write:   on success the file equals an unarmed write byte for byte; on failure the old file
 *              at the path is untouched and no other file is left in its folder;
 *   - stylize: (model loaded and warmed up before arming) style, context and adn_stylize; on
 *              success the output equals the unarmed one bit for bit; on failure the call left no
 *              output, and the same context, unarmed, then gives the reference output.
 * A crash, abort or hang is seen by the runner (run_fault_injection.py), which restarts the driver
 * after that N; each run begins with a line "begin N" on stdout, and ends with "ok N ..." (or
 * "FAIL N ..." and exit status 1).  "complete N" means allocation N was never reached: done.
 *
 * Usage: fault_driver read IMAGE [FROM]
 *        fault_driver read-memory IMAGE [FROM]
 *        fault_driver write IMAGE OUT_DIR [FROM]          (OUT_DIR empty; the format is IMAGE's)
 *        fault_driver stylize BUNDLE CONTENT STYLE [FROM]
 *        fault_driver stylize-color BUNDLE CONTENT STYLE [FROM]   (with preserve_color = 1)
 *        fault_driver stylize-first BUNDLE CONTENT STYLE N        (one run, the first call: below)
 *        fault_driver load BUNDLE N                               (one run of adn_model_load: below) */
#define _DEFAULT_SOURCE
#include "adain_dcs.h"

#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef void (*arm_fn)(long);
typedef long (*disarm_fn)(void);
typedef int (*fired_fn)(void);
static arm_fn shim_arm;
static disarm_fn shim_disarm;
static fired_fn shim_fired;

/* Output goes through write(2): nothing buffered is lost when the process dies. */
static void say(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0 && write(STDOUT_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) exit(3);
}

static void die(const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    say("FAIL %s\n", line);
    exit(1);
}

/* --- one armed operation ---------------------------------------------------------------------- */

typedef struct outcome {
    adn_status status;
    int fired;
    long allocations;
} outcome;

/* The status must be OK, or OUT_OF_MEMORY with a message, and OUT_OF_MEMORY only when a failure
 * was injected. */
static void check_status(long n, const char *what, const outcome *o) {
    const char *message = adn_last_error();
    if (o->status == ADN_OK) return;
    if (o->status != ADN_ERR_OUT_OF_MEMORY)
        die("%ld %s: an allocation failure gave %s: %s", n, what, adn_status_str(o->status), message);
    if (!o->fired) die("%ld %s: OUT_OF_MEMORY without an injected failure: %s", n, what, message);
    if (message[0] == '\0' || strchr(message, '\n')) die("%ld %s: OUT_OF_MEMORY with message '%s'", n, what, message);
}

static void arm(long n) {
    adn_clear_error();
    shim_arm(n);
}

static void disarm(outcome *o) {
    o->allocations = shim_disarm();
    o->fired = shim_fired();
}

static int same_image(const adn_image *a, const adn_image *b) {
    if (a->channels != b->channels || a->height != b->height || a->width != b->width) return 0;
    const size_t count = (size_t)a->channels * (size_t)a->height * (size_t)a->width;
    return memcmp(a->data, b->data, count * sizeof(float)) == 0;
}

static unsigned char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *data = NULL;
    *size = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long length = ftell(f);
        if (length >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc((size_t)length + 1)) &&
            fread(data, 1, (size_t)length, f) == (size_t)length)
            *size = (size_t)length;
    }
    fclose(f);
    return data;
}

/* --- read ------------------------------------------------------------------------------------ */

static outcome read_once(const char *path, const unsigned char *bytes, size_t size, long n, adn_image *pixels) {
    outcome o;
    adn_image alpha = {0};
    arm(n);
    o.status = bytes ? adn_image_read_memory(bytes, size, NULL, pixels, &alpha, NULL)
                     : adn_image_read(path, NULL, pixels, &alpha, NULL);
    disarm(&o);
    adn_image_free(&alpha);
    return o;
}

static int run_read(const char *path, int from_memory, long from) {
    size_t size = 0;
    unsigned char *bytes = from_memory ? slurp(path, &size) : NULL;
    if (from_memory && !bytes) die("0 cannot read %s", path);
    adn_image reference = {0};
    outcome ref = read_once(path, bytes, size, 0, &reference);
    if (ref.status != ADN_OK) die("0 unarmed read of %s: %s", path, adn_last_error());
    say("allocations %ld\n", ref.allocations);
    for (long n = from;; ++n) {
        say("begin %ld\n", n);
        adn_image pixels = {0};
        outcome o = read_once(path, bytes, size, n, &pixels);
        check_status(n, "read", &o);
        if (o.status == ADN_OK && !same_image(&pixels, &reference)) die("%ld read: pixels differ after success", n);
        if (o.status != ADN_OK && pixels.data) die("%ld read: failure left pixels", n);
        adn_image_free(&pixels);
        say("ok %ld %s fired=%d\n", n, adn_status_str(o.status), o.fired);
        if (!o.fired) {
            say("complete %ld\n", n);
            break;
        }
    }
    adn_image_free(&reference);
    free(bytes);
    return 0;
}

/* --- write ----------------------------------------------------------------------------------- */

static const unsigned char old_bytes[] = "the previous file, which a failed write must leave alone\n";

static void put_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) die("0 cannot write %s", path);
}

/* Number of entries in dir other than . and .. */
static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) die("0 cannot list %s", dir);
    int count = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) ++count;
    closedir(d);
    return count;
}

static int run_write(const char *image, const char *dir, long from) {
    adn_image pixels = {0};
    if (adn_image_read(image, NULL, &pixels, NULL, NULL) != ADN_OK) die("0 cannot read %s: %s", image, adn_last_error());
    const char *dot = strrchr(image, '.');
    char target[4096], reference_path[4096];
    snprintf(target, sizeof target, "%s/out%s", dir, dot ? dot : ".png");
    snprintf(reference_path, sizeof reference_path, "%s/reference%s", dir, dot ? dot : ".png");
    outcome ref;
    arm(0);
    ref.status = adn_image_write(reference_path, &pixels, NULL, NULL);
    disarm(&ref);
    if (ref.status != ADN_OK) die("0 unarmed write: %s", adn_last_error());
    size_t reference_size = 0;
    unsigned char *reference = slurp(reference_path, &reference_size);
    if (!reference) die("0 cannot read back %s", reference_path);
    unlink(reference_path);
    say("allocations %ld\n", ref.allocations);
    for (long n = from;; ++n) {
        say("begin %ld\n", n);
        put_file(target, old_bytes, sizeof old_bytes);
        outcome o;
        arm(n);
        o.status = adn_image_write(target, &pixels, NULL, NULL);
        disarm(&o);
        check_status(n, "write", &o);
        size_t size = 0;
        unsigned char *now = slurp(target, &size);
        if (o.status == ADN_OK && (!now || size != reference_size || memcmp(now, reference, size) != 0))
            die("%ld write: the file differs from an unarmed write", n);
        if (o.status != ADN_OK && (!now || size != sizeof old_bytes || memcmp(now, old_bytes, size) != 0))
            die("%ld write: a failed write changed the old file", n);
        if (count_entries(dir) != 1) die("%ld write: %d files left in %s", n, count_entries(dir), dir);
        free(now);
        say("ok %ld %s fired=%d\n", n, adn_status_str(o.status), o.fired);
        if (!o.fired) {
            say("complete %ld\n", n);
            break;
        }
    }
    unlink(target);
    free(reference);
    adn_image_free(&pixels);
    return 0;
}

/* --- stylize --------------------------------------------------------------------------------- */

typedef struct stylize_job {
    const adn_model *model;
    const adn_image *content, *style_image;
    adn_stylize_params params;
} stylize_job;

/* Style, context and one call: the steps of a program that already has a model. */
static outcome stylize_once(const stylize_job *job, long n, adn_image *out, adn_context **kept) {
    outcome o;
    adn_style *style = NULL;
    adn_context *ctx = NULL;
    arm(n);
    o.status = adn_style_create(job->model, job->style_image, &style);
    if (o.status == ADN_OK) o.status = adn_context_create(job->model, NULL, &ctx);
    if (o.status == ADN_OK)
        o.status = adn_stylize(ctx, job->content, (const adn_style *const *)&style, 1, &job->params, out);
    disarm(&o);
    /* A failed adn_stylize must leave its context usable: the caller retries it, unarmed. */
    if (o.status != ADN_OK && ctx && style && kept) {
        if (out->data) die("%ld stylize: the failed call left an output", n);
        adn_image again = {0};
        if (adn_stylize(ctx, job->content, (const adn_style *const *)&style, 1, &job->params, &again) == ADN_OK)
            *out = again;
        else
            die("%ld stylize: the context failed again unarmed: %s", n, adn_last_error());
        *kept = ctx;
        ctx = NULL;
    }
    adn_context_free(ctx);
    adn_style_free(style);
    return o;
}

/* An image file resized to 3 x height x width. */
static void read_small(const char *path, int32_t height, int32_t width, adn_image *out) {
    adn_image full = {0};
    if (adn_image_read(path, NULL, &full, NULL, NULL) != ADN_OK) die("0 cannot read %s: %s", path, adn_last_error());
    if (adn_image_alloc(out, 3, height, width) != ADN_OK ||
        adn_resize_bilinear(full.data, 3, full.height, full.width, out->data, height, width) != ADN_OK)
        die("0 cannot resize %s: %s", path, adn_last_error());
    adn_image_free(&full);
}

static int run_stylize(const char *bundle, const char *content_path, const char *style_path, long from, int color) {
    adn_model *model = NULL;
    adn_model_params mp = adn_model_default_params();
    if (adn_model_load(bundle, &mp, &model) != ADN_OK) die("0 cannot load %s: %s", bundle, adn_last_error());
    /* Small images whose sides are not multiples of 8 (padding and cropping run too): each run
     * stays fast while taking every step of the pipeline. */
    adn_image content = {0}, style = {0};
    read_small(content_path, 27, 37, &content);
    read_small(style_path, 21, 19, &style);
    stylize_job job = {.model = model, .content = &content, .style_image = &style, .params = adn_stylize_default_params()};
    job.params.preserve_color = color;

    /* Warm-up: the first calls of a TorchScript module profile and optimise its graph, and the
     * thread pool starts; a program's later calls (the steady state under test) do neither. */
    adn_image reference = {0};
    outcome ref = {0};
    for (int i = 0; i < 3; ++i) {
        adn_image_free(&reference);
        ref = stylize_once(&job, 0, &reference, NULL);
        if (ref.status != ADN_OK) die("0 unarmed stylize: %s", adn_last_error());
    }
    say("allocations %ld\n", ref.allocations);
    for (long n = from;; ++n) {
        say("begin %ld\n", n);
        adn_image out = {0};
        adn_context *kept = NULL;
        outcome o = stylize_once(&job, n, &out, &kept);
        check_status(n, "stylize", &o);
        /* No output only when the style or the context could not be made (no call to retry). */
        if ((o.status == ADN_OK || out.data) && !same_image(&out, &reference))
            die("%ld stylize: the output differs from the unarmed one (%s)", n,
                o.status == ADN_OK ? "after success" : "retried after the failure");
        adn_context_free(kept);
        adn_image_free(&out);
        say("ok %ld %s fired=%d\n", n, adn_status_str(o.status), o.fired);
        if (!o.fired) {
            say("complete %ld\n", n);
            break;
        }
    }
    adn_image_free(&reference);
    adn_image_free(&content);
    adn_image_free(&style);
    adn_model_free(model);
    return 0;
}

/* The first adn_stylize after loading, armed at allocation n, once per process: the first call of
 * a TorchScript module profiles and optimises its graph, which later calls do not repeat, so each
 * n needs a fresh process (run_fault_injection.py --first-call). */
static int run_stylize_first(const char *bundle, const char *content_path, const char *style_path, long n) {
    adn_model *model = NULL;
    adn_model_params mp = adn_model_default_params();
    if (adn_model_load(bundle, &mp, &model) != ADN_OK) die("0 cannot load %s: %s", bundle, adn_last_error());
    adn_image content = {0}, style = {0}, out = {0};
    read_small(content_path, 27, 37, &content);
    read_small(style_path, 21, 19, &style);
    stylize_job job = {.model = model, .content = &content, .style_image = &style, .params = adn_stylize_default_params()};
    say("begin %ld\n", n);
    adn_context *kept = NULL;
    outcome o = stylize_once(&job, n, &out, &kept);
    check_status(n, "first stylize", &o);
    say("allocations %ld\n", o.allocations);
    say("ok %ld %s fired=%d\n", n, adn_status_str(o.status), o.fired);
    if (!o.fired) say("complete %ld\n", n);
    adn_context_free(kept);
    adn_image_free(&out);
    adn_image_free(&content);
    adn_image_free(&style);
    adn_model_free(model);
    return 0;
}

/* adn_model_load armed at allocation n, once per process (run_fault_injection.py --load): out of
 * the test's scope, since libtorch aborts or exits at several sites while loading
 * (docs/RELIABILITY.md), but the runner lists those sites. */
static int run_load(const char *bundle, long n) {
    adn_model *model = NULL;
    adn_model_params mp = adn_model_default_params();
    say("begin %ld\n", n);
    outcome o;
    arm(n);
    o.status = adn_model_load(bundle, &mp, &model);
    disarm(&o);
    check_status(n, "load", &o);
    if (o.status != ADN_OK && model) die("%ld load: failure left a model", n);
    say("allocations %ld\n", o.allocations);
    say("ok %ld %s fired=%d\n", n, adn_status_str(o.status), o.fired);
    if (!o.fired) say("complete %ld\n", n);
    adn_model_free(model);
    return 0;
}

static long from_arg(int argc, char **argv, int index) { return argc > index ? strtol(argv[index], NULL, 10) : 1; }

int main(int argc, char **argv) {
    shim_arm = (arm_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "fail_malloc_arm");
    shim_disarm = (disarm_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "fail_malloc_disarm");
    shim_fired = (fired_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "fail_malloc_fired");
    if (!shim_arm || !shim_disarm || !shim_fired) die("0 run with LD_PRELOAD=fail_malloc.so");
    if (argc >= 3 && strcmp(argv[1], "read") == 0) return run_read(argv[2], 0, from_arg(argc, argv, 3));
    if (argc >= 3 && strcmp(argv[1], "read-memory") == 0) return run_read(argv[2], 1, from_arg(argc, argv, 3));
    if (argc >= 4 && strcmp(argv[1], "write") == 0) return run_write(argv[2], argv[3], from_arg(argc, argv, 4));
    if (argc >= 5 && strcmp(argv[1], "stylize") == 0)
        return run_stylize(argv[2], argv[3], argv[4], from_arg(argc, argv, 5), 0);
    if (argc >= 3 && strcmp(argv[1], "load") == 0) return run_load(argv[2], from_arg(argc, argv, 3));
    if (argc >= 5 && strcmp(argv[1], "stylize-first") == 0)
        return run_stylize_first(argv[2], argv[3], argv[4], from_arg(argc, argv, 5));
    if (argc >= 5 && strcmp(argv[1], "stylize-color") == 0)
        return run_stylize(argv[2], argv[3], argv[4], from_arg(argc, argv, 5), 1);
    fprintf(stderr, "usage: see the top of fault_driver.c\n");
    return 2;
}
