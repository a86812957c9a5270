// The Dice kernel: counts common bits of Bloom-filter rows, tiled so a block of B stays in L1 while a block of A
// sweeps it, with the implementation chosen at run time from what the processor has (so one binary runs
// everywhere and still uses POPCNT, AVX2 or AVX-512 VPOPCNTDQ where they exist).
#include "blindmatch_kernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { B_TILE = 128 };

static int forced_level = -1;

static int detected_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")) return 3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt")) return 2;
    if (__builtin_cpu_supports("popcnt")) return 1;
#endif
    return 0;
}

int bm_kernel_available_level(void) { return detected_level(); }

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
    case 3: return common_avx512(a, b, words);
    case 2:
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

// 1024-bit rows, the default filter length. A block of up to 32 rows of A is held transposed, 32-bit word by word
// (lane l of vector k is word k of row l of a group), so each row of B is compared with a whole group at once: word k
// of B is broadcast, ANDed with vector k and counted, and the counts add up lane by lane with no horizontal
// reduction.
//
// The high half is counted only when the bound common ≤ low + min(high_a, high_b) could still reach the threshold
// for one row of the group; for most pairs of different people it cannot. The bound is tested against
// ⌊p·pop_a / 2q⌋ + ⌊p·pop_b / 2q⌋, which is at most p·(pop_a + pop_b) / 2q, so it never drops a pair that
// qualifies; a pair that passes is decided exactly: 2q·common ≥ p·(pop_a + pop_b).
enum { BLOCK_ROWS = 32, ROW_WORDS32 = 32 };

// Rows are arrays of 64-bit words read here as 32-bit words: an aliasing type keeps that defined.
typedef uint32_t __attribute__((may_alias)) word32;

// A block of A, transposed for groups of `lanes` rows: words[(g · 32 + k) · lanes + l] is 32-bit word k of row
// g · lanes + l; lanes past the last row stay zero. floors and highs are per row, in the same order.
typedef struct {
    uint32_t words[BLOCK_ROWS * ROW_WORDS32] __attribute__((aligned(64)));
    uint32_t floors[BLOCK_ROWS] __attribute__((aligned(64)));
    uint32_t highs[BLOCK_ROWS] __attribute__((aligned(64)));
    size_t groups;
} transposed_block;

static void transpose_block(transposed_block *block, size_t lanes, const uint64_t *a, const uint32_t *pop_a,
                            const uint32_t *high_a, size_t a_count, uint64_t p, uint64_t twice_q) {
    memset(block, 0, sizeof *block);
    block->groups = (a_count + lanes - 1) / lanes;
    for (size_t row = 0; row < a_count; row++) {
        const word32 *row_words = (const word32 *)(a + row * 16);
        size_t g = row / lanes, l = row % lanes;
        for (size_t k = 0; k < ROW_WORDS32; k++) block->words[(g * ROW_WORDS32 + k) * lanes + l] = row_words[k];
        block->floors[row] = (uint32_t)(p * pop_a[row] / twice_q);
        block->highs[row] = high_a[row];
    }
}

// Writes the pairs among the open lanes of a group that reach the threshold exactly; SIZE_MAX when out is full.
static inline size_t emit_group(unsigned open, const uint32_t *sums, size_t first_row, const uint32_t *pop_a,
                                uint32_t a_first, size_t j, const uint32_t *pop_b, uint32_t b_first, uint64_t p,
                                uint64_t twice_q, bm_candidate *out, size_t found, size_t capacity) {
    while (open) {
        unsigned l = (unsigned)__builtin_ctz(open);
        open &= open - 1;
        size_t row = first_row + l;
        uint64_t common = sums[l];
        // Two empty filters share nothing: Dice 0, never a match.
        if (common == 0 || twice_q * common < p * ((uint64_t)pop_a[row] + pop_b[j])) continue;
        if (found == capacity) return SIZE_MAX;
        out[found++] = (bm_candidate){a_first + (uint32_t)row, b_first + (uint32_t)j, (uint32_t)common};
    }
    return found;
}

// The sweep of one block of A (up to 32 rows) against B, in tiles of B, for an instruction set ISA with groups of
// LANES rows. It needs ISA##_group (a group's rows and per-row values, loaded by ISA##_load), ISA##_counts (one
// count per lane), ISA##_open (counts the low halves against row j of B and returns the lanes the bound leaves
// open) and ISA##_totals (adds the high halves and stores the full counts).
#define DEFINE_BLOCK_SWEEP(ISA, ATTRIBUTES, LANES)                                                                   \
    ATTRIBUTES static size_t sweep_##ISA##_1024_block(                                                             \
        const uint64_t *a, const uint32_t *pop_a, const uint32_t *high_a, size_t a_count, uint32_t a_first,        \
        const uint64_t *b, const uint32_t *pop_b, const uint32_t *high_b, size_t b_count, uint32_t b_first,        \
        uint64_t p, uint64_t q, bm_candidate *out, size_t capacity) {                                              \
        size_t found = 0;                                                                                          \
        const uint64_t twice_q = 2 * q;                                                                            \
        transposed_block block;                                                                                    \
        transpose_block(&block, LANES, a, pop_a, high_a, a_count, p, twice_q);                                    \
        uint32_t floor_b[B_TILE];                                                                                  \
        for (size_t tile = 0; tile < b_count; tile += B_TILE) {                                                    \
            size_t tile_end = tile + B_TILE < b_count ? tile + B_TILE : b_count;                                   \
            for (size_t j = tile; j < tile_end; j++) floor_b[j - tile] = (uint32_t)(p * pop_b[j] / twice_q);       \
            for (size_t g = 0; g < block.groups; g++) {                                                            \
                ISA##_group group;                                                                                 \
                ISA##_load(&group, &block, g, a_count);                                                            \
                for (size_t j = tile; j < tile_end; j++) {                                                         \
                    const word32 *row_b = (const word32 *)(b + j * 16);                                            \
                    ISA##_counts low;                                                                              \
                    unsigned open = ISA##_open(&group, row_b, high_b[j], floor_b[j - tile], &low);                 \
                    if (!open) continue;                                                                           \
                    uint32_t sums[LANES] __attribute__((aligned(64)));                                             \
                    ISA##_totals(&group, row_b, low, sums);                                                        \
                    found = emit_group(open, sums, g * LANES, pop_a, a_first, j, pop_b, b_first, p, twice_q, out,  \
                                       found, capacity);                                                           \
                    if (found == SIZE_MAX) return SIZE_MAX;                                                        \
                }                                                                                                  \
            }                                                                                                      \
        }                                                                                                          \
        return found;                                                                                              \
    }                                                                                                              \
                                                                                                                   \
    ATTRIBUTES static size_t sweep_##ISA##_1024(const uint64_t *a, const uint32_t *pop_a, const uint32_t *high_a,  \
                                                size_t a_count, uint32_t a_first, const uint64_t *b,               \
                                                const uint32_t *pop_b, const uint32_t *high_b, size_t b_count,     \
                                                uint32_t b_first, uint64_t p, uint64_t q, bm_candidate *out,       \
                                                size_t capacity) {                                                 \
        size_t found = 0;                                                                                          \
        for (size_t first = 0; first < a_count; first += BLOCK_ROWS) {                                             \
            size_t count = a_count - first < BLOCK_ROWS ? a_count - first : BLOCK_ROWS;                            \
            size_t more = sweep_##ISA##_1024_block(a + first * 16, pop_a + first, high_a + first, count,          \
                                                   a_first + (uint32_t)first, b, pop_b, high_b, b_count, b_first, \
                                                   p, q, out + found, capacity - found);                           \
            if (more == SIZE_MAX) return SIZE_MAX;                                                                 \
            found += more;                                                                                         \
        }                                                                                                          \
        return found;                                                                                              \
    }

// The valid lanes of group g of a block of a_count rows.
static inline unsigned valid_lanes(size_t g, size_t lanes, size_t a_count) {
    size_t used = a_count - g * lanes < lanes ? a_count - g * lanes : lanes;
    return (1u << used) - 1;
}

// AVX-512: groups of sixteen rows in 32-bit lanes of 512-bit vectors. For the low 512 bits of sixteen pairs that is
// 16 ANDs, 16 VPOPCNTDs and 15 adds, with the sixteen low vectors in registers.
typedef struct {
    __m512i rows[ROW_WORDS32], floors, highs;
    __mmask16 valid;
} avx512_group;
typedef __m512i avx512_counts;

#define BM_LANE_COUNT(VECTOR, WORD) _mm512_popcnt_epi32(_mm512_and_si512(VECTOR, _mm512_set1_epi32((int)(WORD))))

// Σ popcount(rows[k] & broadcast(words[k])) for k < 16, lane by lane.
__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m512i count16(const __m512i *rows,
                                                                                const word32 *words) {
    __m512i sums[4];
    for (int k = 0; k < 4; k++)
        sums[k] = _mm512_add_epi32(_mm512_add_epi32(BM_LANE_COUNT(rows[4 * k], words[4 * k]),
                                                    BM_LANE_COUNT(rows[4 * k + 1], words[4 * k + 1])),
                                   _mm512_add_epi32(BM_LANE_COUNT(rows[4 * k + 2], words[4 * k + 2]),
                                                    BM_LANE_COUNT(rows[4 * k + 3], words[4 * k + 3])));
    return _mm512_add_epi32(_mm512_add_epi32(sums[0], sums[1]), _mm512_add_epi32(sums[2], sums[3]));
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline void avx512_load(avx512_group *group,
                                                                                 const transposed_block *block,
                                                                                 size_t g, size_t a_count) {
    for (size_t k = 0; k < ROW_WORDS32; k++)
        group->rows[k] = _mm512_load_si512((const void *)(block->words + (g * ROW_WORDS32 + k) * 16));
    group->floors = _mm512_load_si512((const void *)(block->floors + g * 16));
    group->highs = _mm512_load_si512((const void *)(block->highs + g * 16));
    group->valid = (__mmask16)valid_lanes(g, 16, a_count);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline unsigned avx512_open(const avx512_group *group,
                                                                                     const word32 *row_b,
                                                                                     uint32_t high_b,
                                                                                     uint32_t floor_b,
                                                                                     __m512i *low) {
    *low = count16(group->rows, row_b);
    __m512i bound = _mm512_add_epi32(*low, _mm512_min_epu32(group->highs, _mm512_set1_epi32((int)high_b)));
    __m512i needed = _mm512_add_epi32(group->floors, _mm512_set1_epi32((int)floor_b));
    return _mm512_mask_cmpge_epu32_mask(group->valid, bound, needed);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline void avx512_totals(const avx512_group *group,
                                                                                   const word32 *row_b,
                                                                                   __m512i low, uint32_t *sums) {
    _mm512_store_si512((void *)sums, _mm512_add_epi32(low, count16(group->rows + 16, row_b + 16)));
}

DEFINE_BLOCK_SWEEP(avx512, __attribute__((target("avx512f,avx512vpopcntdq"))), 16)

// AVX2 (no vector popcount): groups of eight rows in 32-bit lanes of 256-bit vectors, counted a nibble at a time
// through a 16-entry table (VPSHUFB). Byte counts add up across the 16 words of a half (at most 128 per byte), and
// two multiply-adds fold each lane's four bytes into its count. The rows stay in the block (16 vector registers
// would not hold them) and are read as memory operands.
typedef struct {
    const uint32_t *rows;
    __m256i floors, highs;
    unsigned valid;
} avx2_group;
typedef __m256i avx2_counts;

__attribute__((target("avx2"))) static inline __m256i count16_avx2(const uint32_t *rows, const word32 *words) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1,
                                           2, 2, 3, 2, 3, 3, 4);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    __m256i bytes = _mm256_setzero_si256();
    for (int k = 0; k < 16; k++) {
        __m256i x = _mm256_and_si256(_mm256_load_si256((const __m256i *)(rows + k * 8)),
                                     _mm256_set1_epi32((int)words[k]));
        __m256i low = _mm256_shuffle_epi8(table, _mm256_and_si256(x, nibble));
        __m256i high = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble));
        bytes = _mm256_add_epi8(bytes, _mm256_add_epi8(low, high));
    }
    __m256i pairs = _mm256_maddubs_epi16(bytes, _mm256_set1_epi8(1));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

__attribute__((target("avx2"))) static inline void avx2_load(avx2_group *group, const transposed_block *block,
                                                             size_t g, size_t a_count) {
    group->rows = block->words + g * ROW_WORDS32 * 8;
    group->floors = _mm256_load_si256((const __m256i *)(block->floors + g * 8));
    group->highs = _mm256_load_si256((const __m256i *)(block->highs + g * 8));
    group->valid = valid_lanes(g, 8, a_count);
}

__attribute__((target("avx2"))) static inline unsigned avx2_open(const avx2_group *group, const word32 *row_b,
                                                                 uint32_t high_b, uint32_t floor_b, __m256i *low) {
    *low = count16_avx2(group->rows, row_b);
    __m256i bound = _mm256_add_epi32(*low, _mm256_min_epu32(group->highs, _mm256_set1_epi32((int)high_b)));
    __m256i needed = _mm256_add_epi32(group->floors, _mm256_set1_epi32((int)floor_b));
    // Signed compare: counts are far below 2³¹ (and a needed value that is not would read as negative, which only
    // leaves the lane open). Open where bound ≥ needed.
    __m256i short_of = _mm256_cmpgt_epi32(needed, bound);
    return ~(unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(short_of)) & group->valid;
}

__attribute__((target("avx2"))) static inline void avx2_totals(const avx2_group *group, const word32 *row_b,
                                                               __m256i low, uint32_t *sums) {
    _mm256_store_si256((__m256i *)sums, _mm256_add_epi32(low, count16_avx2(group->rows + 16 * 8, row_b + 16)));
}

DEFINE_BLOCK_SWEEP(avx2, __attribute__((target("avx2"))), 8)

DEFINE_SWEEP(sweep_avx512, __attribute__((target("avx512f,avx512vpopcntdq"))), common_avx512)
#endif

size_t bm_dice_candidates(const uint64_t *a, const uint32_t *pop_a, const uint32_t *high_a, size_t a_count,
                          uint32_t a_first, const uint64_t *b, const uint32_t *pop_b, const uint32_t *high_b,
                          size_t b_count, uint32_t b_first, size_t words, uint64_t p, uint64_t q,
                          bm_candidate *out, size_t capacity) {
#if defined(__x86_64__)
    switch (bm_kernel_level()) {
    case 3:
        if (words == 16)
            return sweep_avx512_1024(a, pop_a, high_a, a_count, a_first, b, pop_b, high_b, b_count, b_first, p, q, out,
                                     capacity);
        return sweep_avx512(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, words, p, q, out, capacity);
    case 2:
        if (words == 16)
            return sweep_avx2_1024(a, pop_a, high_a, a_count, a_first, b, pop_b, high_b, b_count, b_first, p, q, out,
                                   capacity);
        return sweep_popcnt(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, words, p, q, out, capacity);
    case 1:
        return sweep_popcnt(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, words, p, q, out, capacity);
    default: break;
    }
#endif
    (void)high_a;  // the early bound is used by the vector kernels only
    (void)high_b;
    return sweep_portable(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, words, p, q, out, capacity);
}
