/* SHA-256 (FIPS 180-4), for the bundle manifest (lib/manifest.c).  Never installed. */
#ifndef ADN_SHA256_H
#define ADN_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define ADN_SHA256_BYTES 32

typedef struct adn_sha256_state {
    uint32_t h[8];
    uint64_t length;     /* bytes hashed so far */
    uint8_t block[64];   /* a partial block */
    size_t used;         /* bytes in block */
} adn_sha256_state;

void adn_sha256_init(adn_sha256_state *s);
void adn_sha256_update(adn_sha256_state *s, const void *data, size_t size);
void adn_sha256_final(adn_sha256_state *s, uint8_t digest[ADN_SHA256_BYTES]);

/** The digest of size bytes in one call. */
void adn_sha256(const void *data, size_t size, uint8_t digest[ADN_SHA256_BYTES]);

/** 1 if the CPU's SHA instructions are used (x86-64 with SHA-NI), 0 for the portable code. */
int adn_sha256_is_accelerated(void);
/** Tests: on = 0 forces the portable code, on = 1 uses the SHA instructions where the CPU has them. */
void adn_sha256_use_accelerated(int on);

/** Lower-case hex of a digest into hex (65 bytes with the terminating NUL). */
void adn_sha256_hex(const uint8_t digest[ADN_SHA256_BYTES], char hex[2 * ADN_SHA256_BYTES + 1]);

#endif
