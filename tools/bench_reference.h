/* The eager PyTorch reference as a co-process of tools/adn-bench (tests/ref/bench_ref.py --serve):
 * started once, asked for one timed run at a time, so its runs interleave with the library's. */
#ifndef ADN_BENCH_REFERENCE_H
#define ADN_BENCH_REFERENCE_H

#include <stdio.h>
#include <sys/types.h>

typedef struct bench_reference {
    pid_t pid;
    FILE *to;   /* its stdin */
    FILE *from; /* its stdout */
    double load_ms;
    char error[512]; /* why it failed, "" while it works */
} bench_reference;

/** Stage times of one reference run, in milliseconds (negative where it did not say). */
typedef struct bench_reference_run {
    double style_encode_ms, content_encode_ms, depth_ms, adain_blend_ms, decode_ms, total_ms;
    double peak_rss_mib;
} bench_reference_run;

/** Starts `command --bundle DIR --threads T --serve` through /bin/sh and waits for it to say it
 *  has loaded.  0 on success; otherwise r->error says why and the process is gone. */
int bench_reference_start(bench_reference *r, const char *command, const char *bundle, int threads);

/** One run at size x size.  0 on success; otherwise r->error says why (the reference stays
 *  usable only if it answered with an error line). */
int bench_reference_run_once(bench_reference *r, int size, bench_reference_run *out);

/** Asks it to quit and waits for it (safe on a reference that failed to start). */
void bench_reference_stop(bench_reference *r);

#endif
