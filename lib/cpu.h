/* What the CPU running this process can do, as far as the library's precisions care (cpuid and
 * the OS's enabled register state).  Never installed. */
#ifndef ADN_CPU_H
#define ADN_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct adn_cpu_isa {
    int avx2;        /* AVX2 with YMM state enabled by the OS */
    int avx512f;     /* AVX-512 Foundation with ZMM and opmask state enabled */
    int avx512_bf16; /* AVX512_BF16 (Cooper Lake, Sapphire Rapids, AMD Zen 4 and later) */
    int amx_bf16;    /* AMX-BF16 with tile state enabled (Sapphire Rapids and later) */
} adn_cpu_isa;

/** The CPU's extensions (cpuid on every call: cheap, and thread-safe; all 0 on non-x86). */
adn_cpu_isa adn_cpu_detect(void);

/** 1 if the CPU computes bf16 natively: AVX512_BF16 or AMX-BF16 (what ADN_PRECISION_BF16 needs). */
int adn_cpu_has_native_bf16(void);

/** The best of AMX-BF16, AVX-512-BF16, AVX-512, AVX2 the CPU has, as a static name ("amx_bf16",
 *  "avx512_bf16", "avx512f", "avx2"), or "baseline" for none of them. */
const char *adn_cpu_best_isa(void);

/** 1 if `name` is one of "avx2", "avx512f", "avx512_bf16", "amx_bf16" and the CPU has it. */
int adn_cpu_has(const char *name);

#ifdef __cplusplus
}
#endif

#endif
