/* SHA-256 (FIPS 180-4).  It hashes every module of a bundle before torch reads it
 * (lib/manifest.c): the portable form below, and on x86-64 CPUs with the SHA extensions (most
 * since 2017-2019) the same compression with those instructions, about ten times faster, picked
 * at run time (docs/MODELS.md gives the measurements). */
#include "sha256.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ADN_SHA256_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

static const uint32_t round_constants[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static uint32_t rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static uint32_t load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void compress_block_portable(uint32_t h[8], const uint8_t block[64]) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) w[i] = load_be32(block + 4 * i);
    for (int i = 16; i < 64; ++i) {
        const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; ++i) {
        const uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + round_constants[i] + w[i];
        const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

#ifdef ADN_SHA256_X86
/* The SHA-NI form of compress_block_portable (Intel's published sequence): two rounds per
 * sha256rnds2, the state held as ABEF / CDGH, the message schedule by sha256msg1/msg2. */
__attribute__((target("sha,sse4.1,ssse3"))) static void compress_block_shani(uint32_t h[8], const uint8_t block[64]) {
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[0]), 0xB1); /* CDAB */
    __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[4]), 0x1B); /* EFGH */
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);                                              /* ABEF */
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);                                                  /* CDGH */
    const __m128i abef = state0, cdgh = state1;
    __m128i w[4];
    for (int i = 0; i < 16; ++i) {
        __m128i x;
        if (i < 4) {
            x = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(block + 16 * i)), byte_swap);
        } else { /* W[t] from W[t-16], W[t-15], W[t-7], W[t-2], four at a time */
            x = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
            x = _mm_add_epi32(x, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
            x = _mm_sha256msg2_epu32(x, w[(i + 3) & 3]);
        }
        w[i & 3] = x;
        __m128i msg = _mm_add_epi32(x, _mm_loadu_si128((const __m128i *)(const void *)&round_constants[4 * i]));
        state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
        msg = _mm_shuffle_epi32(msg, 0x0E);
        state0 = _mm_sha256rnds2_epu32(state0, state1, msg);
    }
    state0 = _mm_add_epi32(state0, abef);
    state1 = _mm_add_epi32(state1, cdgh);
    tmp = _mm_shuffle_epi32(state0, 0x1B);       /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1);    /* DCHG */
    state0 = _mm_blend_epi16(tmp, state1, 0xF0); /* h[0..3] */
    state1 = _mm_alignr_epi8(state1, tmp, 8);    /* h[4..7] */
    _mm_storeu_si128((__m128i *)(void *)&h[0], state0);
    _mm_storeu_si128((__m128i *)(void *)&h[4], state1);
}

static int cpu_has_sha_ni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9))) return 0; /* SSE4.1, SSSE3 */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 29) & 1u; /* SHA */
}
#endif

/* -1: not decided yet; 0: portable; 1: SHA-NI.  Deciding twice gives the same answer. */
static atomic_int accelerated = -1;

void adn_sha256_use_accelerated(int on) {
#ifdef ADN_SHA256_X86
    atomic_store(&accelerated, on && cpu_has_sha_ni());
#else
    (void)on;
    atomic_store(&accelerated, 0);
#endif
}

int adn_sha256_is_accelerated(void) {
    if (atomic_load(&accelerated) < 0) adn_sha256_use_accelerated(1);
    return atomic_load(&accelerated);
}

static void compress_block(uint32_t h[8], const uint8_t block[64]) {
#ifdef ADN_SHA256_X86
    if (adn_sha256_is_accelerated()) {
        compress_block_shani(h, block);
        return;
    }
#endif
    compress_block_portable(h, block);
}

void adn_sha256_init(adn_sha256_state *s) {
    static const uint32_t initial[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                        0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(s->h, initial, sizeof initial);
    s->length = 0;
    s->used = 0;
}

void adn_sha256_update(adn_sha256_state *s, const void *data, size_t size) {
    const uint8_t *p = data;
    if (size == 0) return; /* data may then be NULL, which memcpy must not see */
    s->length += size;
    if (s->used > 0) {
        const size_t take = size < 64 - s->used ? size : 64 - s->used;
        memcpy(s->block + s->used, p, take);
        s->used += take;
        p += take;
        size -= take;
        if (s->used < 64) return;
        compress_block(s->h, s->block);
        s->used = 0;
    }
    for (; size >= 64; p += 64, size -= 64) compress_block(s->h, p);
    memcpy(s->block, p, size);
    s->used = size;
}

void adn_sha256_final(adn_sha256_state *s, uint8_t digest[ADN_SHA256_BYTES]) {
    const uint64_t bits = s->length * 8u;
    s->block[s->used++] = 0x80;
    if (s->used > 56) {
        memset(s->block + s->used, 0, 64 - s->used);
        compress_block(s->h, s->block);
        s->used = 0;
    }
    memset(s->block + s->used, 0, 56 - s->used);
    for (int i = 0; i < 8; ++i) s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    compress_block(s->h, s->block);
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 4; ++j) digest[4 * i + j] = (uint8_t)(s->h[i] >> (24 - 8 * j));
}

void adn_sha256(const void *data, size_t size, uint8_t digest[ADN_SHA256_BYTES]) {
    adn_sha256_state s;
    adn_sha256_init(&s);
    adn_sha256_update(&s, data, size);
    adn_sha256_final(&s, digest);
}

void adn_sha256_hex(const uint8_t digest[ADN_SHA256_BYTES], char hex[2 * ADN_SHA256_BYTES + 1]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < ADN_SHA256_BYTES; ++i) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 15];
    }
    hex[2 * ADN_SHA256_BYTES] = '\0';
}
