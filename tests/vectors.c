#include "vectors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_u32(FILE *f, uint32_t *v) {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

static int read_record(FILE *f, adn_vec *v) {
    uint32_t name_len, ndim;
    if (read_u32(f, &name_len) || name_len > 4096) return -1;
    v->name = calloc(name_len + 1, 1);
    if (!v->name || fread(v->name, 1, name_len, f) != name_len) return -1;
    if (read_u32(f, &ndim) || ndim > 8) return -1;
    v->ndim = (int32_t)ndim;
    v->count = 1;
    for (uint32_t d = 0; d < ndim; ++d) {
        uint32_t dim;
        if (read_u32(f, &dim)) return -1;
        v->dims[d] = (int32_t)dim;
        v->count *= dim;
    }
    v->data = malloc(v->count ? v->count * sizeof(float) : 1);
    if (!v->data || fread(v->data, sizeof(float), v->count, f) != v->count) return -1;
    return 0;
}

int adn_vec_load(const char *path, adn_vec_file *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open reference vectors %s\n", path);
        return -1;
    }
    char magic[8];
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "ADNVEC1\n", 8) != 0) {
        fprintf(stderr, "%s is not a vector file\n", path);
        fclose(f);
        return -1;
    }
    size_t capacity = 0;
    for (;;) {
        int c = fgetc(f);
        if (c == EOF) break;
        ungetc(c, f);
        if (out->count == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            adn_vec *grown = realloc(out->vecs, capacity * sizeof *grown);
            if (!grown) break;
            out->vecs = grown;
        }
        adn_vec *v = &out->vecs[out->count++];
        memset(v, 0, sizeof *v);
        if (read_record(f, v)) {
            fprintf(stderr, "%s: truncated record %zu\n", path, out->count);
            fclose(f);
            adn_vec_free(out);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

void adn_vec_free(adn_vec_file *file) {
    for (size_t i = 0; i < file->count; ++i) {
        free(file->vecs[i].name);
        free(file->vecs[i].data);
    }
    free(file->vecs);
    memset(file, 0, sizeof *file);
}

const adn_vec *adn_vec_find(const adn_vec_file *file, const char *name) {
    for (size_t i = 0; i < file->count; ++i)
        if (strcmp(file->vecs[i].name, name) == 0) return &file->vecs[i];
    return NULL;
}

const adn_vec *adn_vec_findf(const adn_vec_file *file, const char *fmt, ...) {
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return adn_vec_find(file, name);
}

double adn_max_abs_diff(const float *a, const float *b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; ++i) {
        if (isnan(a[i]) != isnan(b[i])) return NAN;
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > worst) worst = d;
    }
    return worst;
}

double adn_max_abs(const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i)
        if (fabs((double)b[i]) > m) m = fabs((double)b[i]);
    return m;
}

const char *adn_vec_path_from_env(const char *env) {
    const char *p = getenv(env);
    return (p && *p) ? p : NULL;
}
