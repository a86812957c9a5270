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
        __m512i x =
            _mm512_and_si512(_mm512_loadu_si512((const void *)(a + w)), _mm512_loadu_si512((const void *)(b + w)));
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
                    if (common != 0 && twice_q * common >= p * (pa + pop_b[j])) {                              \
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

// 1024-bit rows, the default filter length. Sixteen rows of A are held transposed, 32-bit word by word (lane l of
// vector k is word k of row l), so each row of B is compared with all sixteen at once: word k of B is broadcast,
// ANDed with vector k and counted, and the counts add up lane by lane with no horizontal reduction. For the low
// 512 bits of sixteen pairs that is 16 ANDs, 16 VPOPCNTDs and 15 adds, with the sixteen low vectors in registers.
//
// The high half is counted only when the bound common ≤ low + min(high_a, high_b) could still reach the threshold
// for one of the sixteen; for most pairs of different people it cannot. The bound is tested against
// ⌊p·pop_a / 2q⌋ + ⌊p·pop_b / 2q⌋, which is at most p·(pop_a + pop_b) / 2q, so it never drops a pair that
// qualifies; a pair that passes is decided exactly: 2q·common ≥ p·(pop_a + pop_b).
enum { A_GROUP = 16, A_GROUPS_PER_CALL = 2 };

#define BM_LANE_COUNT(VECTOR, WORD) _mm512_popcnt_epi32(_mm512_and_si512(VECTOR, _mm512_set1_epi32((int)(WORD))))

// Σ popcount(rows[k] & broadcast(words[k])) for k < 16, lane by lane.
__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m512i count16(const __m512i *rows,
                                                                                const uint32_t *words) {
    __m512i sums[4];
    for (int k = 0; k < 4; k++)
        sums[k] = _mm512_add_epi32(
            _mm512_add_epi32(BM_LANE_COUNT(rows[4 * k], words[4 * k]),
                             BM_LANE_COUNT(rows[4 * k + 1], words[4 * k + 1])),
            _mm512_add_epi32(BM_LANE_COUNT(rows[4 * k + 2], words[4 * k + 2]),
                             BM_LANE_COUNT(rows[4 * k + 3], words[4 * k + 3])));
    return _mm512_add_epi32(_mm512_add_epi32(sums[0], sums[1]), _mm512_add_epi32(sums[2], sums[3]));
}

// At most A_GROUP × A_GROUPS_PER_CALL rows of A against any number of rows of B.
__attribute__((target("avx512f,avx512vpopcntdq"))) static size_t sweep_avx512_1024_block(
    const uint64_t *a, const uint32_t *pop_a, const uint32_t *high_a, size_t a_count, uint32_t a_first,
    const uint64_t *b, const uint32_t *pop_b, const uint32_t *high_b, size_t b_count, uint32_t b_first, uint64_t p,
    uint64_t q, bm_candidate *out, size_t capacity) {
    size_t found = 0;
    const uint64_t twice_q = 2 * q;
    // A transposed: group g, word k, lane l. Lanes past the last row stay zero and are masked off.
    __m512i vertical[A_GROUPS_PER_CALL][32];
    __m512i floor_a[A_GROUPS_PER_CALL], high_a_lanes[A_GROUPS_PER_CALL];
    __mmask16 valid[A_GROUPS_PER_CALL];
    size_t groups = (a_count + A_GROUP - 1) / A_GROUP;
    for (size_t g = 0; g < groups; g++) {
        uint32_t words[32][A_GROUP] __attribute__((aligned(64))) = {{0}};
        uint32_t floors[A_GROUP] __attribute__((aligned(64))) = {0};
        uint32_t highs[A_GROUP] __attribute__((aligned(64))) = {0};
        size_t lanes = a_count - g * A_GROUP < A_GROUP ? a_count - g * A_GROUP : A_GROUP;
        for (size_t l = 0; l < lanes; l++) {
            size_t row = g * A_GROUP + l;
            const uint32_t *row_words = (const uint32_t *)(a + row * 16);
            for (size_t k = 0; k < 32; k++) words[k][l] = row_words[k];
            floors[l] = (uint32_t)(p * pop_a[row] / twice_q);
            highs[l] = high_a[row];
        }
        for (size_t k = 0; k < 32; k++) vertical[g][k] = _mm512_load_si512((const void *)words[k]);
        floor_a[g] = _mm512_load_si512((const void *)floors);
        high_a_lanes[g] = _mm512_load_si512((const void *)highs);
        valid[g] = (__mmask16)((1u << lanes) - 1);
    }
    uint32_t floor_b[B_TILE];
    for (size_t tile = 0; tile < b_count; tile += B_TILE) {
        size_t tile_end = tile + B_TILE < b_count ? tile + B_TILE : b_count;
        for (size_t j = tile; j < tile_end; j++) floor_b[j - tile] = (uint32_t)(p * pop_b[j] / twice_q);
        for (size_t g = 0; g < groups; g++) {
            const __m512i *rows = vertical[g];
            const __m512i floors = floor_a[g], highs = high_a_lanes[g];
            for (size_t j = tile; j < tile_end; j++) {
                const uint32_t *row_b = (const uint32_t *)(b + j * 16);
                __m512i low = count16(rows, row_b);
                __m512i bound = _mm512_add_epi32(low, _mm512_min_epu32(highs, _mm512_set1_epi32((int)high_b[j])));
                __m512i needed = _mm512_add_epi32(floors, _mm512_set1_epi32((int)floor_b[j - tile]));
                __mmask16 open = _mm512_mask_cmpge_epu32_mask(valid[g], bound, needed);
                if (!open) continue;
                uint32_t sums[A_GROUP] __attribute__((aligned(64)));
                _mm512_store_si512((void *)sums, _mm512_add_epi32(low, count16(rows + 16, row_b + 16)));
                while (open) {
                    unsigned l = (unsigned)__builtin_ctz(open);
                    open &= (__mmask16)(open - 1);
                    size_t row = g * A_GROUP + l;
                    uint64_t common = sums[l];
                    // Two empty filters share nothing: Dice 0, never a match.
                    if (common == 0 || twice_q * common < p * ((uint64_t)pop_a[row] + pop_b[j])) continue;
                    if (found == capacity) return SIZE_MAX;
                    out[found++] = (bm_candidate){a_first + (uint32_t)row, b_first + (uint32_t)j, (uint32_t)common};
                }
            }
        }
    }
    return found;
}

// More rows of A than one block holds are taken a block at a time.
__attribute__((target("avx512f,avx512vpopcntdq"))) static size_t sweep_avx512_1024(
    const uint64_t *a, const uint32_t *pop_a, const uint32_t *high_a, size_t a_count, uint32_t a_first,
    const uint64_t *b, const uint32_t *pop_b, const uint32_t *high_b, size_t b_count, uint32_t b_first, uint64_t p,
    uint64_t q, bm_candidate *out, size_t capacity) {
    const size_t step = A_GROUP * A_GROUPS_PER_CALL;
    size_t found = 0;
    for (size_t first = 0; first < a_count; first += step) {
        size_t count = a_count - first < step ? a_count - first : step;
        size_t more = sweep_avx512_1024_block(a + first * 16, pop_a + first, high_a + first, count,
                                              a_first + (uint32_t)first, b, pop_b, high_b, b_count, b_first, p, q,
                                              out + found, capacity - found);
        if (more == SIZE_MAX) return SIZE_MAX;
        found += more;
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
