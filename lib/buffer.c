/* Grow-only work buffers: a context keeps one per role, so a call at a size it has seen before
 * allocates nothing (the issue of per-call mallocs of full-size maps). */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

void *adn_buffer_reserve(adn_buffer *buf, size_t bytes, const char *what) {
    if (bytes == 0) bytes = 1;
    if (buf->capacity >= bytes) return buf->data;
    void *grown = realloc(buf->data, bytes);
    if (!grown) {
        adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for %s", bytes, what);
        return NULL;
    }
    buf->data = grown;
    buf->capacity = bytes;
    return grown;
}

float *adn_buffer_floats(adn_buffer *buf, int64_t count, const char *what) {
    if (count < 1) count = 1;
    if ((uint64_t)count > SIZE_MAX / sizeof(float)) {
        adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: %lld floats do not fit in memory", what, (long long)count);
        return NULL;
    }
    return adn_buffer_reserve(buf, (size_t)count * sizeof(float), what);
}

void adn_buffer_release(adn_buffer *buf) {
    if (!buf) return;
    free(buf->data);
    buf->data = NULL;
    buf->capacity = 0;
}

double adn_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}
