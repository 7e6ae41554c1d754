/* Measuring for tools/adn-bench: clocks, medians, PSNR, peak RSS, load average. */
#ifndef ADN_BENCH_MEASURE_H
#define ADN_BENCH_MEASURE_H

#include <stddef.h>

/** Monotonic wall clock in milliseconds. */
double bench_now_ms(void);

/** Median of n values (sorts them in place); 0 for n = 0. */
double bench_median(double *values, int n);

/** PSNR in dB between two float images of n values, both clamped to [0,1] and rounded to 8 bits
 *  first (what a written file would hold); a negative value when they are identical. */
double bench_psnr_8bit(const float *a, const float *b, size_t n);

/** Resets this process's peak resident set size to the current one (Linux /proc/self/clear_refs);
 *  0 on success. */
int bench_reset_peak_rss(void);

/** Peak resident set size since the last reset (or the start), in MiB (VmHWM); negative if unknown. */
double bench_peak_rss_mib(void);

/** 1-minute load average, or a negative value if unknown. */
double bench_load_average(void);

#endif
