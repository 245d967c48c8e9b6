// Runtime dispatch for hot loops: with GCC on x86-64 Linux, a function marked
// MLAF_SIMD_CLONES is compiled for AVX-512 (x86-64-v4), AVX2 (x86-64-v3) and
// the baseline, and the loader picks the best one the CPU supports. The build
// stays portable (no -march=native) while the loops use the machine's width.
// Helpers called from such a function are MLAF_ALWAYS_INLINE so that they are
// compiled inside each clone.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MLAF_SIMD_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MLAF_SIMD_CLONES
#endif

// MLAF_NOINLINE keeps a helper out of the clones, compiled once for the baseline.
#if defined(__GNUC__)
#define MLAF_ALWAYS_INLINE inline __attribute__((always_inline))
#define MLAF_NOINLINE __attribute__((noinline))
#else
#define MLAF_ALWAYS_INLINE inline
#define MLAF_NOINLINE
#endif
