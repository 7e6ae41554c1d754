/* A structural check of a TorchScript archive (a zip file) in C, before libtorch parses it: only
 * for bundles loaded with adn_model_params.trust_unsealed (a sealed bundle's files are checked
 * by their SHA-256 instead, lib/manifest.c).  Never installed. */
#ifndef ADN_ZIP_CHECK_H
#define ADN_ZIP_CHECK_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

/** Most records an archive may have (a deep network has a few hundred). */
#define ADN_ZIP_MAX_ENTRIES 16384
/** Most bytes all records together may expand to. */
#define ADN_ZIP_MAX_TOTAL_BYTES ((uint64_t)4 << 30)

/** Checks that data[0..size) is a zip archive laid out the way torch.jit.save writes one: an end
 *  of central directory record ending the file (ZIP64 end records allowed between it and the
 *  central directory, but no ZIP64 sizes), a central directory that agrees with it, every record's
 *  local header and data inside the file before the central directory without overlapping another,
 *  only stored or deflated records (not encrypted) with a plausible size, at most
 *  ADN_ZIP_MAX_ENTRIES records expanding to at most ADN_ZIP_MAX_TOTAL_BYTES, all under one top
 *  folder P holding P/data.pkl, P/constants.pkl, P/version (or P/.data/version) and P/code/,
 *  and (in builds with zlib) every record inflating to exactly its declared size with its CRC-32.
 *  Fails with ADN_ERR_MODEL ("NAME: not a TorchScript archive: ...") or ADN_ERR_OUT_OF_MEMORY. */
adn_status adn_zip_check(const uint8_t *data, size_t size, const char *name);

#endif
