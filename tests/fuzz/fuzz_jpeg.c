/* fuzz_jpeg.c — libFuzzer target: JPEG bytes through adn_image_read_memory (see fuzz_image.c). */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_decode_image(data, size, ADN_FORMAT_JPEG);
    return 0;
}
