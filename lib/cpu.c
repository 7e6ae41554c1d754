/* CPU extension detection with cpuid.  An extension counts only when the OS also saves its
 * registers (XCR0 via xgetbv): a hypervisor may advertise AVX-512 in cpuid and leave it off. */
#include "cpu.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XCR0 bits: SSE/AVX state (1, 2), AVX-512 opmask / ZMM_Hi256 / Hi16_ZMM (5, 6, 7), AMX tile
 * config / tile data (17, 18). */
#define XCR0_AVX ((1u << 1) | (1u << 2))
#define XCR0_AVX512 (XCR0_AVX | (1u << 5) | (1u << 6) | (1u << 7))
#define XCR0_AMX ((1u << 17) | (1u << 18))

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static adn_cpu_isa detect(void) {
    adn_cpu_isa isa;
    memset(&isa, 0, sizeof isa);
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return isa;
    const int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1;
    if (!osxsave || !avx) return isa;
    const unsigned long long xcr0 = read_xcr0();
    if (__get_cpuid_max(0, NULL) < 7) return isa;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned int leaf7_ebx = ebx, leaf7_edx = edx, max_subleaf = eax;
    isa.avx2 = (leaf7_ebx >> 5) & 1 && (xcr0 & XCR0_AVX) == XCR0_AVX;
    isa.avx512f = (leaf7_ebx >> 16) & 1 && (xcr0 & XCR0_AVX512) == XCR0_AVX512;
    if (max_subleaf >= 1) {
        __cpuid_count(7, 1, eax, ebx, ecx, edx);
        isa.avx512_bf16 = isa.avx512f && ((eax >> 5) & 1);
    }
    /* AMX-BF16 is leaf 7 EDX bit 22, AMX-TILE bit 24. */
    isa.amx_bf16 = (leaf7_edx >> 22) & 1 && (leaf7_edx >> 24) & 1 && (xcr0 & XCR0_AMX) == XCR0_AMX;
    return isa;
}
#else
static adn_cpu_isa detect(void) {
    adn_cpu_isa isa;
    memset(&isa, 0, sizeof isa);
    return isa;
}
#endif

adn_cpu_isa adn_cpu_detect(void) {
    /* cpuid is cheap and its answer never changes, so no caching (and no race) is needed. */
    return detect();
}

int adn_cpu_has_native_bf16(void) {
    adn_cpu_isa isa = adn_cpu_detect();
    return isa.avx512_bf16 || isa.amx_bf16;
}

const char *adn_cpu_best_isa(void) {
    adn_cpu_isa isa = adn_cpu_detect();
    if (isa.amx_bf16) return "amx_bf16";
    if (isa.avx512_bf16) return "avx512_bf16";
    if (isa.avx512f) return "avx512f";
    if (isa.avx2) return "avx2";
    return "baseline";
}

int adn_cpu_has(const char *name) {
    if (!name) return 0;
    adn_cpu_isa isa = adn_cpu_detect();
    if (strcmp(name, "avx2") == 0) return isa.avx2;
    if (strcmp(name, "avx512f") == 0) return isa.avx512f;
    if (strcmp(name, "avx512_bf16") == 0) return isa.avx512_bf16;
    if (strcmp(name, "amx_bf16") == 0) return isa.amx_bf16;
    return 0;
}
