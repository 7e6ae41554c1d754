/* See bench_measure.h. */
#define _DEFAULT_SOURCE /* getloadavg */
#include "bench_measure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *values, int n) {
    if (n <= 0) return 0.0;
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

static int to_8bit(float v) {
    if (!(v > 0.0f)) return 0; /* also NaN */
    if (v >= 1.0f) return 255;
    return (int)lrintf(v * 255.0f);
}

double bench_psnr_8bit(const float *a, const float *b, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) {
        const double d = (double)(to_8bit(a[i]) - to_8bit(b[i]));
        sum += d * d;
    }
    if (sum == 0.0 || n == 0) return -1.0;
    return 10.0 * log10(255.0 * 255.0 / (sum / (double)n));
}

int bench_reset_peak_rss(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (!f) return -1;
    const int ok = fputs("5", f) >= 0; /* 5: reset the peak RSS to the current RSS */
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

double bench_peak_rss_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1.0;
    char line[256];
    double kib = -1.0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kib = strtod(line + 6, NULL);
    fclose(f);
    return kib < 0 ? -1.0 : kib / 1024.0;
}

double bench_load_average(void) {
    double load[1];
    return getloadavg(load, 1) == 1 ? load[0] : -1.0;
}
