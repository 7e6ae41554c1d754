/* The manifest of a sealed bundle, manifest.txt (docs/MODELS.md §1): the size and SHA-256 of every
 * module file and the contract attributes they declared, written by tools/adn-export.  lib/ checks
 * a bundle against it before libtorch reads a byte (lib/bundle_files.c).  Never installed. */
#ifndef ADN_MANIFEST_H
#define ADN_MANIFEST_H

#include "backend.h"
#include "internal.h"
#include "sha256.h"

#define ADN_MANIFEST_FILE "manifest.txt"
/** The manifest format this library reads ("adn-manifest 1"). */
#define ADN_MANIFEST_FORMAT 1
/** Largest manifest.txt accepted (a real one is well under 2 KB). */
#define ADN_MANIFEST_MAX_BYTES 65536

/** The module files of a bundle, in this order everywhere. */
typedef enum adn_module_id { ADN_MODULE_ENCODER = 0, ADN_MODULE_DECODER = 1, ADN_MODULE_DEPTH = 2 } adn_module_id;
#define ADN_MODULE_COUNT 3

/** "encoder.pt", "decoder.pt", "depth.pt". */
const char *adn_module_file_name(adn_module_id id);

typedef struct adn_manifest_file {
    int listed;
    uint64_t size;
    uint8_t sha256[ADN_SHA256_BYTES];
} adn_manifest_file;

typedef struct adn_manifest {
    int32_t format;
    char exporter[64];                         /* e.g. "adn-export 0.2.0" */
    adn_manifest_file files[ADN_MODULE_COUNT];
    adn_bundle_attrs attrs;                    /* as the modules declared them when sealed; absent
                                                  ones are "" / -1, as the backend reports them */
} adn_manifest;

/** Parses size bytes of manifest text.  Errors are ADN_ERR_MODEL ("manifest.txt: line N: ...",
 *  saying how to re-seal). */
adn_status adn_manifest_parse(const char *text, size_t size, adn_manifest *out);

/** Checks a module file's bytes against its manifest entry (listed, size, SHA-256). */
adn_status adn_manifest_check_file(const adn_manifest *m, adn_module_id id, const uint8_t *data, size_t size);

/** Checks the attributes the backend found in the loaded modules against the manifest's. */
adn_status adn_manifest_check_attrs(const adn_manifest *m, const adn_bundle_attrs *found);

/** The advice every manifest message ends with. */
#define ADN_SEAL_ADVICE "re-export the bundle with tools/adn-export, or seal one you trust with `adn-export --seal DIR`"

#endif
