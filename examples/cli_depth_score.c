/* cli_depth_score.c — Pearson, Spearman and scale-invariant error of two depth maps (see
 * cli_depth_score.h).  Everything is accumulated in double. */
#include "cli_depth_score.h"

#include <math.h>
#include <stdlib.h>

/* Pearson correlation of x and y; NaN when either has no spread. */
static double pearson(const double *x, const double *y, size_t n)
{
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

typedef struct ranked {
    float value;
    size_t index;
} ranked;

static int compare_ranked(const void *a, const void *b)
{
    const float x = ((const ranked *)a)->value, y = ((const ranked *)b)->value;
    return (x > y) - (x < y);
}

/* Ranks 1..n of values into rank; tied values all get the mean of the ranks they span. */
static int fractional_ranks(const float *values, size_t n, double *rank)
{
    ranked *order = malloc(n * sizeof *order);
    if (!order)
        return -1;
    for (size_t i = 0; i < n; i++)
        order[i] = (ranked){.value = values[i], .index = i};
    qsort(order, n, sizeof *order, compare_ranked);
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n && order[end].value == order[start].value)
            end++;
        const double mean_rank = 0.5 * (double)(start + 1 + end); /* ranks start+1 .. end */
        for (size_t k = start; k < end; k++)
            rank[order[k].index] = mean_rank;
        start = end;
    }
    free(order);
    return 0;
}

int cli_depth_score_compute(const float *content, const float *output, size_t n, cli_depth_score *score)
{
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    int rc = a && b ? 0 : -1;
    if (rc == 0) {
        double sum_g = 0, sum_g2 = 0;
        for (size_t i = 0; i < n; i++) {
            a[i] = content[i];
            b[i] = output[i];
            const double g = log1p((double)output[i]) - log1p((double)content[i]);
            sum_g += g;
            sum_g2 += g * g;
        }
        score->pearson = pearson(a, b, n);
        score->si_error = sum_g2 / (double)n - (sum_g / (double)n) * (sum_g / (double)n);
        rc = fractional_ranks(content, n, a) == 0 && fractional_ranks(output, n, b) == 0 ? 0 : -1;
        if (rc == 0)
            score->spearman = pearson(a, b, n);
    }
    free(a);
    free(b);
    return rc;
}
