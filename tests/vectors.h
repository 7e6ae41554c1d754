/* Reader for reference-vector files written by tests/ref/vecio.py (format described there). */
#ifndef ADN_TEST_VECTORS_H
#define ADN_TEST_VECTORS_H

#include <stddef.h>
#include <stdint.h>

typedef struct adn_vec {
    char *name;
    int32_t ndim;
    int32_t dims[8];
    size_t count;
    float *data;
} adn_vec;

typedef struct adn_vec_file {
    adn_vec *vecs;
    size_t count;
} adn_vec_file;

/** Loads a whole vector file; returns 0 on success, -1 on error (message on stderr). */
int adn_vec_load(const char *path, adn_vec_file *out);
void adn_vec_free(adn_vec_file *file);
/** The vector called name, or NULL. */
const adn_vec *adn_vec_find(const adn_vec_file *file, const char *name);
/** Like adn_vec_find but formats the name printf-style. */
const adn_vec *adn_vec_findf(const adn_vec_file *file, const char *fmt, ...);

/** Largest |a_i - b_i| over n values (NaN if either has a NaN where the other does not). */
double adn_max_abs_diff(const float *a, const float *b, size_t n);
/** Largest |b_i| (for "relative to scale" tolerances). */
double adn_max_abs(const float *b, size_t n);

/** Path of a reference vector file given by environment variable env (e.g. ADN_CORE_VECTORS), or
 *  NULL when unset (tests then skip, saying so). */
const char *adn_vec_path_from_env(const char *env);

#endif
