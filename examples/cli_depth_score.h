/*
 * cli_depth_score.h — how well a stylization keeps the depth of its content (adn-stylize
 * --report).  Both maps are normalised depths D in [0,1] (0 = near) of the same size: the depth
 * network's estimate of the content and of the output.  bindings/python/adain_dcs/metrics.py
 * computes the same three numbers.
 */
#ifndef ADN_EXAMPLES_CLI_DEPTH_SCORE_H
#define ADN_EXAMPLES_CLI_DEPTH_SCORE_H

#include <stddef.h>

typedef struct cli_depth_score {
    double pearson;   /* correlation of the values; NaN when either map is constant */
    double spearman;  /* correlation of their ranks (ties share their mean rank); NaN likewise */
    double si_error;  /* scale-invariant error (Eigen et al. 2014, eq. 1 with lambda = 1) of
                         z = 1 + D: g_i = ln z_out,i - ln z_content,i,
                         si = (1/n) sum g_i^2 - ((1/n) sum g_i)^2;  0 = equal up to a scale */
} cli_depth_score;

/** The score of `output` against `content` (n values each, n >= 1).  Returns 0, or -1 when out of
 *  memory (for the ranks). */
int cli_depth_score_compute(const float *content, const float *output, size_t n, cli_depth_score *score);

#endif
