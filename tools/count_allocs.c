/* Counts heap allocations of at least 4 KiB made during repeated adn_stylize calls at one size,
 * after a first (warm-up) call: what the library and the backend allocate per call in steady
 * state.  malloc/calloc/realloc/posix_memalign are interposed in this program, so calls from
 * libadain_dcs and libtorch are seen too.  Build against the 0.1 API with -DADN_OLD_API to count
 * the old library the same way.
 *   count_allocs BUNDLE_DIR SIZE [depth]   (prints one line: allocations per call) */
#define _GNU_SOURCE
#include "adain_dcs.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static int counting;
static long big_allocations, own_allocations; /* all, and those made by libadain_dcs's own code */
#define BIG 4096

static void note(size_t size, void *caller) {
    if (!counting || size < BIG) return;
    __atomic_add_fetch(&big_allocations, 1, __ATOMIC_RELAXED);
    Dl_info info;
    counting = 0; /* dladdr may allocate */
    if (dladdr(caller, &info) && info.dli_fname && strstr(info.dli_fname, "libadain_dcs"))
        __atomic_add_fetch(&own_allocations, 1, __ATOMIC_RELAXED), getenv("ADN_COUNT_VERBOSE") && fprintf(stderr, "own: %zu bytes from %s+%#lx\n", size, info.dli_sname ? info.dli_sname : "?", (unsigned long)((char *)caller - (char *)info.dli_fbase));
    counting = 1;
}
void *malloc(size_t size) { note(size, __builtin_return_address(0)); return __libc_malloc(size); }
void *calloc(size_t n, size_t size) { note(n * size, __builtin_return_address(0)); return __libc_calloc(n, size); }
void *realloc(void *p, size_t size) { note(size, __builtin_return_address(0)); return __libc_realloc(p, size); }
int posix_memalign(void **out, size_t alignment, size_t size) {
    note(size, __builtin_return_address(0));
    *out = __libc_memalign(alignment, size);
    return *out ? 0 : 12;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: count_allocs BUNDLE_DIR SIZE [calls]\n");
        return 2;
    }
    const int size = atoi(argv[2]), calls = argc > 3 ? atoi(argv[3]) : 5;
    adn_model_params mp = adn_model_default_params();
    mp.device = ADN_DEVICE_CPU;
    mp.n_threads = 1;
    adn_model *m = NULL;
    if (adn_model_load(argv[1], &mp, &m) != ADN_OK) {
        fprintf(stderr, "%s\n", adn_last_error());
        return 1;
    }
    adn_image content = {0}, out = {0};
#ifdef ADN_OLD_API
    adn_image_alloc(&content, 3, size + 3, size - 5); /* (C, W, H) in 0.1 */
#else
    adn_image_alloc(&content, 3, size - 5, size + 3);
#endif
    for (size_t i = 0; i < 3 * (size_t)content.width * content.height; ++i) content.data[i] = (float)(i % 97) / 97.0f;
    adn_style *s = NULL;
    adn_style_create(m, &content, &s);
    const adn_style *one[] = {s};
#ifdef ADN_OLD_API
    adn_model *target = m;
#else
    adn_context *target = NULL;
    adn_context_create(m, NULL, &target);
#endif
    adn_status st = adn_stylize(target, &content, one, 1, NULL, &out); /* warm-up: buffers made here */
    counting = 1;
    for (int i = 0; i < calls && st == ADN_OK; ++i) st = adn_stylize(target, &content, one, 1, NULL, &out);
    counting = 0;
    if (st != ADN_OK) {
        fprintf(stderr, "%s\n", adn_last_error());
        return 1;
    }
    printf("per adn_stylize call (%dx%d content, %d calls after a warm-up): %.1f allocations of >= %d bytes, "
           "%.1f of them by libadain_dcs itself\n",
           content.height, content.width, calls, (double)big_allocations / calls, BIG, (double)own_allocations / calls);
#ifndef ADN_OLD_API
    adn_context_free(target);
#endif
    adn_style_free(s);
    adn_image_free(&out);
    adn_image_free(&content);
    adn_model_free(m);
    return 0;
}
