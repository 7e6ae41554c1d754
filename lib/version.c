/* Runtime version and compiled-in features. */
#include "internal.h"
#include "backend.h"
#include "cpu.h"

#include <string.h>

const char *adn_version(void) { return ADN_VERSION_STRING; }

int adn_version_number(void) { return ADN_VERSION_NUMBER; }

int adn_has_feature(const char *name) {
    if (!name) return 0;
    const adn_backend_ops *backend = adn_backend_default();
    if (strcmp(name, "torch") == 0) return backend && strcmp(backend->name, "torch") == 0;
    if (strcmp(name, "cuda") == 0) return backend && backend->has_cuda;
    /* Not compiled in but found at run time: what the CPU can do (lib/cpu.c). */
    if (strcmp(name, "bf16") == 0) return backend && adn_cpu_has_native_bf16();
    if (adn_cpu_has(name)) return 1;
#ifdef ADN_HAVE_PNG
    if (strcmp(name, "png") == 0) return 1;
#endif
#ifdef ADN_HAVE_JPEG
    if (strcmp(name, "jpeg") == 0) return 1;
#endif
    return 0;
}
