/* The bytes of a bundle's module files, read and verified in C before the backend parses them
 * (lib/bundle_files.c).  Never installed. */
#ifndef ADN_BUNDLE_FILES_H
#define ADN_BUNDLE_FILES_H

#include "backend.h"
#include "internal.h"
#include "manifest.h"

/** Largest module file accepted (a MiDaS or DPT network is well under 2 GB). */
#define ADN_MODULE_MAX_BYTES ((uint64_t)4 << 30)

typedef struct adn_bundle_files {
    adn_module_bytes module[ADN_MODULE_COUNT]; /* data NULL for an absent depth.pt */
    int sealed;                                /* 1: manifest.txt was present and matched */
    adn_manifest manifest;                     /* when sealed */
} adn_bundle_files;

/** Reads encoder.pt, decoder.pt and (with load_depth, when present) depth.pt of bundle_dir into
 *  memory.  Each must be a plain regular file (lib/regular_file.h).  A bundle with manifest.txt is
 *  checked against it (listing, sizes, SHA-256); one without is refused unless trust_unsealed, and
 *  then each module must pass the zip check (lib/zip_check.h).  On failure *out holds nothing.
 *  Release with adn_bundle_files_release. */
adn_status adn_bundle_files_read(const char *bundle_dir, int load_depth, int trust_unsealed, adn_bundle_files *out);

void adn_bundle_files_release(adn_bundle_files *files);

#endif
