// The Dice kernel: counts common bits of Bloom-filter rows, tiled so a block of B stays in L1 while a block of A
// sweeps it, with the implementation chosen at run time from what the processor has (so one binary runs
// everywhere and still uses POPCNT or AVX-512 VPOPCNTDQ where they exist).
#include "blindmatch_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { B_TILE = 128 };

static int forced_level = -1;

static int detected_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") &&
        __builtin_cpu_supports("avx512dq"))
        return 2;
    if (__builtin_cpu_supports("popcnt")) return 1;
#endif
    return 0;
}

// Read and written atomically: worker threads may ask for the level while the first caller sets it.
int bm_kernel_level(void) {
    int level = __atomic_load_n(&forced_level, __ATOMIC_RELAXED);
    if (level < 0) {
        level = detected_level();
        __atomic_store_n(&forced_level, level, __ATOMIC_RELAXED);
    }
    return level;
}

int bm_kernel_set_level(int level) {
    int available = detected_level();
    int chosen = level < available ? (level < 0 ? 0 : level) : available;
    __atomic_store_n(&forced_level, chosen, __ATOMIC_RELAXED);
    return chosen;
}

// Portable: the compiler's popcount without target features (a table or bit tricks).
static inline uint32_t common_portable(const uint64_t *a, const uint64_t *b, size_t words) {
    uint32_t total = 0;
    for (size_t w = 0; w < words; w++) {
        uint64_t x = a[w] & b[w];
        x = x - ((x >> 1) & 0x5555555555555555ULL);
        x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
        x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
        total += (uint32_t)((x * 0x0101010101010101ULL) >> 56);
    }
    return total;
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) static inline uint32_t common_popcnt(const uint64_t *a, const uint64_t *b,
                                                                       size_t words) {
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    size_t w = 0;
    for (; w + 4 <= words; w += 4) {
        t0 += (uint64_t)__builtin_popcountll(a[w] & b[w]);
        t1 += (uint64_t)__builtin_popcountll(a[w + 1] & b[w + 1]);
        t2 += (uint64_t)__builtin_popcountll(a[w + 2] & b[w + 2]);
        t3 += (uint64_t)__builtin_popcountll(a[w + 3] & b[w + 3]);
    }
    for (; w < words; w++) t0 += (uint64_t)__builtin_popcountll(a[w] & b[w]);
    return (uint32_t)(t0 + t1 + t2 + t3);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline uint32_t common_avx512(const uint64_t *a,
                                                                                         const uint64_t *b,
                                                                                         size_t words) {
    __m512i sum = _mm512_setzero_si512();
    size_t w = 0;
    for (; w + 8 <= words; w += 8) {
        __m512i x = _mm512_and_si512(_mm512_loadu_si512((const void *)(a + w)), _mm512_loadu_si512((const void *)(b + w)));
        sum = _mm512_add_epi64(sum, _mm512_popcnt_epi64(x));
    }
    uint64_t total = (uint64_t)_mm512_reduce_add_epi64(sum);
    for (; w < words; w++) total += (uint64_t)__builtin_popcountll(a[w] & b[w]);
    return (uint32_t)total;
}
#endif

uint32_t bm_common_bits(const uint64_t *a, const uint64_t *b, size_t words) {
#if defined(__x86_64__)
    switch (bm_kernel_level()) {
    case 2: return common_avx512(a, b, words);
    case 1: return common_popcnt(a, b, words);
    default: break;
    }
#endif
    return common_portable(a, b, words);
}

// One tiled sweep, generic in how common bits are counted. `COUNT` is an inline function of (a_row, b_row, words).
#define DEFINE_SWEEP(NAME, ATTRIBUTES, COUNT)                                                                        \
    ATTRIBUTES static size_t NAME(const uint64_t *a, const uint32_t *pop_a, size_t a_count, uint32_t a_first,      \
                                  const uint64_t *b, const uint32_t *pop_b, size_t b_count, uint32_t b_first,      \
                                  size_t words, uint64_t p, uint64_t q, bm_candidate *out, size_t capacity) {      \
        size_t found = 0;                                                                                          \
        const uint64_t twice_q = 2 * q;                                                                            \
        for (size_t tile = 0; tile < b_count; tile += B_TILE) {                                                    \
            size_t tile_end = tile + B_TILE < b_count ? tile + B_TILE : b_count;                                   \
            for (size_t i = 0; i < a_count; i++) {                                                                 \
                const uint64_t *row_a = a + i * words;                                                             \
                const uint64_t pa = pop_a[i];                                                                      \
                for (size_t j = tile; j < tile_end; j++) {                                                         \
                    uint64_t common = COUNT(row_a, b + j * words, words);                                          \
                    if (common != 0 && twice_q * common >= p * (pa + pop_b[j])) {                                                 \
                        if (found == capacity) return SIZE_MAX;                                                    \
                        out[found].a = a_first + (uint32_t)i;                                                      \
                        out[found].b = b_first + (uint32_t)j;                                                      \
                        out[found].common = (uint32_t)common;                                                      \
                        found++;                                                                                   \
                    }                                                                                              \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        return found;                                                                                              \
    }

DEFINE_SWEEP(sweep_portable, , common_portable)
#if defined(__x86_64__)
DEFINE_SWEEP(sweep_popcnt, __attribute__((target("popcnt"))), common_popcnt)

// 1024-bit rows, the default filter length. One row of A stays in two 512-bit registers while eight rows of B at a
// time are intersected; the eight per-lane popcount vectors are summed by a transposing tree (21 instructions for 8
// pairs instead of a horizontal reduction per pair), and the threshold is tested for all eight at once in 64-bit
// integers: 2q·common ≥ p·(pop_a + pop_b).
__attribute__((target("avx512f,avx512vpopcntdq,avx512dq"))) static inline __m512i sum8(__m512i v0, __m512i v1,
                                                                                       __m512i v2, __m512i v3,
                                                                                       __m512i v4, __m512i v5,
                                                                                       __m512i v6, __m512i v7) {
    __m512i s01 = _mm512_add_epi64(_mm512_unpacklo_epi64(v0, v1), _mm512_unpackhi_epi64(v0, v1));
    __m512i s23 = _mm512_add_epi64(_mm512_unpacklo_epi64(v2, v3), _mm512_unpackhi_epi64(v2, v3));
    __m512i s45 = _mm512_add_epi64(_mm512_unpacklo_epi64(v4, v5), _mm512_unpackhi_epi64(v4, v5));
    __m512i s67 = _mm512_add_epi64(_mm512_unpacklo_epi64(v6, v7), _mm512_unpackhi_epi64(v6, v7));
    __m512i u0123 = _mm512_add_epi64(_mm512_shuffle_i64x2(s01, s23, 0x88), _mm512_shuffle_i64x2(s01, s23, 0xDD));
    __m512i u4567 = _mm512_add_epi64(_mm512_shuffle_i64x2(s45, s67, 0x88), _mm512_shuffle_i64x2(s45, s67, 0xDD));
    return _mm512_add_epi64(_mm512_shuffle_i64x2(u0123, u4567, 0x88), _mm512_shuffle_i64x2(u0123, u4567, 0xDD));
}

#define BM_HALF_COUNT(REGISTER, K, OFFSET)                                                                           \
    _mm512_popcnt_epi64(_mm512_and_si512(REGISTER, _mm512_load_si512((const void *)(r + (K) * 16 + (OFFSET)))))

// First the low 512 bits of eight rows of B; the high half is counted only when the bound
// common ≤ common_low + min(high_a, high_b) could still reach the threshold for one of the eight (for most pairs of
// different people it cannot, which halves the work).
__attribute__((target("avx512f,avx512vpopcntdq,avx512dq"))) static size_t sweep_avx512_1024(
    const uint64_t *a, const uint32_t *pop_a, const uint32_t *high_a, size_t a_count, uint32_t a_first,
    const uint64_t *b, const uint32_t *pop_b, const uint32_t *high_b, size_t b_count, uint32_t b_first, uint64_t p,
    uint64_t q, bm_candidate *out, size_t capacity) {
    size_t found = 0;
    const uint64_t twice_q = 2 * q;
    const __m512i twice_q_vector = _mm512_set1_epi64((long long)twice_q);
    const __m512i p_vector = _mm512_set1_epi64((long long)p);
    for (size_t tile = 0; tile < b_count; tile += B_TILE) {
        size_t tile_end = tile + B_TILE < b_count ? tile + B_TILE : b_count;
        for (size_t i = 0; i < a_count; i++) {
            const __m512i a0 = _mm512_load_si512((const void *)(a + i * 16));
            const __m512i a1 = _mm512_load_si512((const void *)(a + i * 16 + 8));
            const uint64_t pa = pop_a[i];
            const __m512i pa_vector = _mm512_set1_epi64((long long)pa);
            const __m512i high_a_vector = _mm512_set1_epi64((long long)high_a[i]);
            size_t j = tile;
            for (; j + 8 <= tile_end; j += 8) {
                const uint64_t *r = b + j * 16;
                __m512i low = sum8(BM_HALF_COUNT(a0, 0, 0), BM_HALF_COUNT(a0, 1, 0), BM_HALF_COUNT(a0, 2, 0),
                                   BM_HALF_COUNT(a0, 3, 0), BM_HALF_COUNT(a0, 4, 0), BM_HALF_COUNT(a0, 5, 0),
                                   BM_HALF_COUNT(a0, 6, 0), BM_HALF_COUNT(a0, 7, 0));
                __m512i pops = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(pop_b + j)));
                __m512i highs = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(high_b + j)));
                __m512i rhs = _mm512_mullo_epi64(_mm512_add_epi64(pops, pa_vector), p_vector);
                __m512i bound = _mm512_add_epi64(low, _mm512_min_epu64(highs, high_a_vector));
                if (!_mm512_cmpge_epu64_mask(_mm512_mullo_epi64(bound, twice_q_vector), rhs)) continue;
                __m512i total = _mm512_add_epi64(
                    low, sum8(BM_HALF_COUNT(a1, 0, 8), BM_HALF_COUNT(a1, 1, 8), BM_HALF_COUNT(a1, 2, 8),
                              BM_HALF_COUNT(a1, 3, 8), BM_HALF_COUNT(a1, 4, 8), BM_HALF_COUNT(a1, 5, 8),
                              BM_HALF_COUNT(a1, 6, 8), BM_HALF_COUNT(a1, 7, 8)));
                __m512i lhs = _mm512_mullo_epi64(total, twice_q_vector);
                // Two empty filters share nothing: Dice 0, never a match.
                __mmask8 hits = _mm512_cmpge_epu64_mask(lhs, rhs) & _mm512_test_epi64_mask(total, total);
                if (hits) {
                    uint64_t sums[8];
                    _mm512_storeu_si512((void *)sums, total);
                    while (hits) {
                        unsigned k = (unsigned)__builtin_ctz(hits);
                        hits &= (__mmask8)(hits - 1);
                        if (found == capacity) return SIZE_MAX;
                        out[found++] =
                            (bm_candidate){a_first + (uint32_t)i, b_first + (uint32_t)(j + k), (uint32_t)sums[k]};
                    }
                }
            }
            for (; j < tile_end; j++) {
                uint64_t common = common_avx512(a + i * 16, b + j * 16, 16);
                if (common != 0 && twice_q * common >= p * (pa + pop_b[j])) {
                    if (found == capacity) return SIZE_MAX;
                    out[found++] = (bm_candidate){a_first + (uint32_t)i, b_first + (uint32_t)j, (uint32_t)common};
                }
            }
        }
    }
    return found;
}

DEFINE_SWEEP(sweep_avx512, __attribute__((target("avx512f,avx512vpopcntdq"))), common_avx512)
#endif

size_t bm_dice_candidates(const uint64_t *a, const uint32_t *pop_a, const uint32_t *high_a, size_t a_count,
                          uint32_t a_first, const uint64_t *b, const uint32_t *pop_b, const uint32_t *high_b,
                          size_t b_count, uint32_t b_first, size_t words, uint64_t p, uint64_t q,
                          bm_candidate *out, size_t capacity) {
#if defined(__x86_64__)
    switch (bm_kernel_level()) {
    case 2:
        if (words == 16)
            return sweep_avx512_1024(a, pop_a, high_a, a_count, a_first, b, pop_b, high_b, b_count, b_first, p, q, out,
                                     capacity);
        return sweep_avx512(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, words, p, q, out, capacity);
    case 1:
        return sweep_popcnt(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, words, p, q, out, capacity);
    default: break;
    }
#endif
    return sweep_portable(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, words, p, q, out, capacity);
}
