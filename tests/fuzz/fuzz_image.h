/* fuzz_image.h — the body shared by the PNG and JPEG targets (fuzz_image.c). */
#ifndef ADN_FUZZ_IMAGE_H
#define ADN_FUZZ_IMAGE_H

#include "adain_dcs.h"

#include <stddef.h>
#include <stdint.h>

/** Decodes data through adn_image_read_memory as `format` (the signature is written over the first
 *  bytes so every input reaches that codec) and checks what comes back. */
void fuzz_decode_image(const uint8_t *data, size_t size, adn_file_format format);

#endif
