// The Dice kernel: counts common bits of Bloom-filter rows, tiled so a block of B stays in L1 while a block of A
// sweeps it, with the implementation chosen at run time from what the processor has (so one binary runs
// everywhere and still uses POPCNT, AVX2 or AVX-512 VPOPCNTDQ where they exist).
#include "blindmatch_kernels.h"

#include <stdlib.h>
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

// Rows are arrays of 64-bit words read here as 32-bit words: an aliasing type keeps that defined.
typedef uint32_t __attribute__((may_alias)) word32;

// Where the part of a row of `words32` 32-bit words after early bound s (0 ≤ s < BM_TAILS) starts: after 1/2, 5/8, 3/4
// and 7/8 of the row.
#define STAGE_START(WORDS32, S) ((WORDS32) * (4 + (S)) / 8)

void bm_tail_popcounts(const uint64_t *rows, size_t count, size_t words, uint16_t *tails) {
    for (size_t row = 0; row < count; row++) {
        const word32 *row_words = (const word32 *)(rows + row * words);
        for (size_t s = 0; s < BM_TAILS; s++) {
            uint32_t total = 0;
            for (size_t k = STAGE_START(2 * words, s); k < 2 * words; k++)
                total += (uint32_t)__builtin_popcount(row_words[k]);
            tails[row * BM_TAILS + s] = (uint16_t)total;
        }
    }
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

// |A_r ∩ B| for rows r = rows[0..count) of `a` (rows of `words` words) against one row `b`. The rows of A come from a
// join, so they are scattered: each is asked for a few rows ahead (a prefetch), so that the memory waits overlap
// rather than queue one after another.
#define GATHER_AHEAD 4
#define DEFINE_GATHER(NAME, ATTRIBUTES, COUNT)                                                                      \
    ATTRIBUTES static void NAME(const uint64_t *a, const uint32_t *rows, size_t count, const uint64_t *b,           \
                                size_t words, uint32_t *out) {                                                      \
        for (size_t i = 0; i < count && i < GATHER_AHEAD; i++) {                                                    \
            const char *row = (const char *)(a + (size_t)rows[i] * words);                                          \
            for (size_t line = 0; line < words * 8; line += 64) __builtin_prefetch(row + line, 0, 3);               \
        }                                                                                                           \
        for (size_t i = 0; i < count; i++) {                                                                        \
            if (i + GATHER_AHEAD < count) {                                                                         \
                const char *row = (const char *)(a + (size_t)rows[i + GATHER_AHEAD] * words);                       \
                for (size_t line = 0; line < words * 8; line += 64) __builtin_prefetch(row + line, 0, 3);           \
            }                                                                                                       \
            out[i] = COUNT(a + (size_t)rows[i] * words, b, words);                                                  \
        }                                                                                                           \
    }

DEFINE_GATHER(gather_portable, , common_portable)
#if defined(__x86_64__)
DEFINE_GATHER(gather_popcnt, __attribute__((target("popcnt"))), common_popcnt)
DEFINE_GATHER(gather_avx512, __attribute__((target("avx512f,avx512vpopcntdq"))), common_avx512)
#endif

void bm_common_bits_rows(const uint64_t *a, const uint32_t *rows, size_t count, const uint64_t *b, size_t words,
                         uint32_t *out) {
#if defined(__x86_64__)
    switch (bm_kernel_level()) {
    case 3: gather_avx512(a, rows, count, b, words, out); return;
    case 2:
    case 1: gather_popcnt(a, rows, count, b, words, out); return;
    default: break;
    }
#endif
    gather_portable(a, rows, count, b, words, out);
}

// The rows of B block k of A is compared with: b_ranges[2k] ..< b_ranges[2k + 1] (within 0 ..< b_count), or all of B.
static inline void block_range(const uint32_t *b_ranges, size_t k, size_t b_count, size_t *first, size_t *end) {
    *first = 0;
    *end = b_count;
    if (!b_ranges) return;
    *end = b_ranges[2 * k + 1] < b_count ? b_ranges[2 * k + 1] : b_count;
    *first = b_ranges[2 * k] < *end ? b_ranges[2 * k] : *end;
}

// One tiled sweep, generic in how common bits are counted. `COUNT` is an inline function of (a_row, b_row, words).
#define DEFINE_SWEEP(NAME, ATTRIBUTES, COUNT)                                                                       \
    ATTRIBUTES static size_t NAME(const uint64_t *a, const uint32_t *pop_a, size_t a_count, uint32_t a_first,       \
                                  const uint64_t *b, const uint32_t *pop_b, size_t b_count, uint32_t b_first,       \
                                  const uint32_t *b_ranges, size_t words, uint64_t p, uint64_t q,                   \
                                  bm_candidate *out, size_t capacity) {                                             \
        size_t found = 0;                                                                                           \
        const uint64_t twice_q = 2 * q;                                                                             \
        for (size_t first_row = 0; first_row < a_count; first_row += BM_BLOCK_ROWS) {                               \
            size_t end_row = first_row + BM_BLOCK_ROWS < a_count ? first_row + BM_BLOCK_ROWS : a_count;             \
            size_t b_start, b_end;                                                                                  \
            block_range(b_ranges, first_row / BM_BLOCK_ROWS, b_count, &b_start, &b_end);                            \
            for (size_t tile = b_start; tile < b_end; tile += B_TILE) {                                             \
                size_t tile_end = tile + B_TILE < b_end ? tile + B_TILE : b_end;                                    \
                for (size_t i = first_row; i < end_row; i++) {                                                      \
                    const uint64_t *row_a = a + i * words;                                                          \
                    const uint64_t pa = pop_a[i];                                                                   \
                    for (size_t j = tile; j < tile_end; j++) {                                                      \
                        uint64_t common = COUNT(row_a, b + j * words, words);                                       \
                        if (common != 0 && twice_q * common >= p * (pa + pop_b[j])) {                               \
                            if (found == capacity) return SIZE_MAX;                                                 \
                            out[found].a = a_first + (uint32_t)i;                                                   \
                            out[found].b = b_first + (uint32_t)j;                                                   \
                            out[found].common = (uint32_t)common;                                                   \
                            found++;                                                                                \
                        }                                                                                           \
                    }                                                                                               \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        return found;                                                                                               \
    }

DEFINE_SWEEP(sweep_portable, , common_portable)
#if defined(__x86_64__)
DEFINE_SWEEP(sweep_popcnt, __attribute__((target("popcnt"))), common_popcnt)

// 1024- and 2048-bit rows (the default filter length, and a balanced 1024-bit filter, SPEC §5.5.3). A block of up to
// 32 rows of A is held transposed, 32-bit word by word (lane l of vector k is word k of row l of a group), so each row
// of B is compared with a whole group at once: word k of B is broadcast, ANDed with vector k and counted, and the
// counts add up lane by lane with no horizontal reduction.
//
// Each row is counted in five stages: up to 1/2, 5/8, 3/4, 7/8 and all of its words. After each of the first four, a
// lane stays open only while common so far + min(tail_a, tail_b) (the popcounts of what is left of each row,
// precomputed: bm_tail_popcounts) could still reach the threshold; once no lane of the group is open, that row of B is
// done. Sparse filters of different people close after the first stage; dense ones (clkhash schemas, 55–60% of bits
// set) and balanced ones after the first, second or third, unpredictably. So that this costs no mispredicted branch
// per row, each stage runs over a whole tile of B and writes the rows still open (their index, open lanes and counts so
// far) to a list without branching; the next stage runs over that list only. The bound is tested against
// ⌊p·pop_a / 2q⌋ + ⌊p·pop_b / 2q⌋, which is at most p·(pop_a + pop_b) / 2q, so it never closes a lane that qualifies.
//
// The lanes still open at the end are decided exactly, in integers, in the vector: with p·pop = 2q·floor + rem,
// 2q·common ≥ p·(pop_a + pop_b) ⇔ 2q·e ≥ rem_a + rem_b where e = common − floor_a − floor_b, and as
// 0 ≤ rem_a + rem_b < 4q that is e ≥ 2, or e = 1 and rem_a + rem_b ≤ 2q, or e = 0 and rem_a + rem_b = 0. (This needs
// 4q < 2³¹; every threshold with at most 6 decimals has q ≤ 10⁶. A larger q leaves every open lane to emit_group.)
// emit_group then decides each lane that passed once more, as the scalar kernels do, before writing it.
enum { BLOCK_ROWS = BM_BLOCK_ROWS, MAX_WORDS32 = 64 };

// A block of A, transposed for groups of `lanes` rows of `words32` words: words[(g · words32 + k) · lanes + l] is
// 32-bit word k of row g · lanes + l; lanes past the last row stay zero. The rest is per row, in the same order:
// ⌊p·pop / 2q⌋, p·pop mod 2q, and the tails the bounds use.
typedef struct {
    uint32_t words[BLOCK_ROWS * MAX_WORDS32] __attribute__((aligned(64)));
    uint32_t floors[BLOCK_ROWS] __attribute__((aligned(64)));
    uint32_t rems[BLOCK_ROWS] __attribute__((aligned(64)));
    uint32_t tails[BM_TAILS][BLOCK_ROWS] __attribute__((aligned(64)));
    size_t groups;
} transposed_block;

// Blocks of A transposed at a time: each tile of B is swept by all of them while it is in L1 cache, so B is read from
// memory once per CHUNK_BLOCKS · BLOCK_ROWS rows of A (the blocks themselves, 9 KB each, stay in L2).
enum { CHUNK_BLOCKS = 8 };

static void transpose_block(transposed_block *block, size_t lanes, size_t words32, const uint64_t *a,
                            const uint32_t *pop_a, const uint16_t *tails_a, size_t a_count, uint64_t p,
                            uint64_t twice_q) {
    memset(block, 0, sizeof *block);
    block->groups = (a_count + lanes - 1) / lanes;
    for (size_t row = 0; row < a_count; row++) {
        const word32 *row_words = (const word32 *)(a + row * (words32 / 2));
        size_t g = row / lanes, l = row % lanes;
        for (size_t k = 0; k < words32; k++) block->words[(g * words32 + k) * lanes + l] = row_words[k];
        block->floors[row] = (uint32_t)(p * pop_a[row] / twice_q);
        block->rems[row] = (uint32_t)(p * pop_a[row] % twice_q);
        for (size_t s = 0; s < BM_TAILS; s++) block->tails[s][row] = tails_a[row * BM_TAILS + s];
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

// The sweep of A (rows of W32 32-bit words), in chunks of up to CHUNK_BLOCKS blocks of 32 rows, against B in tiles of
// 16 KB, each block over its own range of B, for an instruction set ISA with groups of LANES rows. The instruction set supplies ISA##_vector (LANES 32-bit words: the
// group's rows are read in place from the block), ISA##_group (a group's per-row values, loaded by ISA##_load),
// ISA##_counts (one count per lane), ISA##_count (the counts of words [from, to) of row j of B), ISA##_add,
// ISA##_open (the lanes of a mask whose bound after a stage can still reach the threshold), ISA##_exact (the lanes of
// a mask that reach it), ISA##_store and ISA##_reload (counts to and from memory).
#define DEFINE_BLOCK_SWEEP(ISA, ATTRIBUTES, LANES, W32)                                                             \
    enum { ISA##_##W32##_tile = B_TILE * 32 / (W32) };                                                              \
                                                                                                                    \
    /* Rows from ..< to of B (within the tile that starts at row `tile`, whose per-row values are prepared) against \
       one block of A of a_count rows. */                                                                           \
    ATTRIBUTES static inline size_t sweep_##ISA##_##W32##_tile(                                                     \
        const transposed_block *block, size_t a_count, const uint32_t *pop_a, uint32_t a_first, const uint64_t *b,  \
        size_t tile, size_t from, size_t to, const uint32_t *pop_b, uint32_t b_first, const uint32_t *floor_b,      \
        const uint32_t *rem_b, uint32_t (*tail_b)[ISA##_##W32##_tile], uint64_t p, uint64_t twice_q,                \
        int exact_in_vector, uint32_t (*partial)[LANES], uint16_t *live_rows, unsigned *live_open,                  \
        bm_candidate *out, size_t found, size_t capacity) {                                                         \
        for (size_t g = 0; g < block->groups; g++) {                                                                \
            ISA##_group group;                                                                                      \
            const ISA##_vector *rows = (const ISA##_vector *)(block->words + g * (W32) * (LANES));                  \
            ISA##_load(&group, block, g, a_count);                                                                  \
            size_t live = 0;                                                                                        \
            for (size_t j = from; j < to; j++) {                                                                    \
                const word32 *row_b = (const word32 *)(b + j * ((W32) / 2));                                        \
                ISA##_counts sums = ISA##_count(rows, row_b, 0, STAGE_START(W32, 0));                               \
                unsigned open = ISA##_open(&group, sums, 0, tail_b[0] + (j - tile), floor_b + (j - tile),           \
                                           group.valid);                                                            \
                ISA##_store(sums, partial[live]);                                                                   \
                live_rows[live] = (uint16_t)(j - tile);                                                             \
                live_open[live] = open;                                                                             \
                live += open != 0;                                                                                  \
            }                                                                                                       \
            _Pragma("GCC unroll 8") for (size_t s = 1; s < BM_TAILS; s++) {                                         \
                size_t kept = 0;                                                                                    \
                for (size_t k = 0; k < live; k++) {                                                                 \
                    size_t t = live_rows[k];                                                                        \
                    const word32 *row_b = (const word32 *)(b + (tile + t) * ((W32) / 2));                           \
                    ISA##_counts sums = ISA##_add(ISA##_reload(partial[k]),                                         \
                                                  ISA##_count(rows, row_b, STAGE_START(W32, s - 1),                 \
                                                              STAGE_START(W32, s)));                                \
                    unsigned open = ISA##_open(&group, sums, s, tail_b[s] + t, floor_b + t, live_open[k]);          \
                    ISA##_store(sums, partial[kept]);                                                               \
                    live_rows[kept] = (uint16_t)t;                                                                  \
                    live_open[kept] = open;                                                                         \
                    kept += open != 0;                                                                              \
                }                                                                                                   \
                live = kept;                                                                                        \
            }                                                                                                       \
            for (size_t k = 0; k < live; k++) {                                                                     \
                size_t t = live_rows[k];                                                                            \
                const word32 *row_b = (const word32 *)(b + (tile + t) * ((W32) / 2));                               \
                ISA##_counts sums = ISA##_add(ISA##_reload(partial[k]),                                             \
                                              ISA##_count(rows, row_b, STAGE_START(W32, BM_TAILS - 1), W32));       \
                unsigned open = live_open[k];                                                                       \
                if (exact_in_vector) open = ISA##_exact(&group, sums, floor_b + t, rem_b + t, twice_q, open);       \
                if (!open) continue;                                                                                \
                uint32_t lane_sums[LANES] __attribute__((aligned(64)));                                             \
                ISA##_store(sums, lane_sums);                                                                       \
                found = emit_group(open, lane_sums, g * LANES, pop_a, a_first, tile + t, pop_b, b_first, p,         \
                                   twice_q, out, found, capacity);                                                  \
                if (found == SIZE_MAX) return SIZE_MAX;                                                             \
            }                                                                                                       \
        }                                                                                                           \
        return found;                                                                                               \
    }                                                                                                               \
                                                                                                                    \
    ATTRIBUTES static size_t sweep_##ISA##_##W32(const uint64_t *a, const uint32_t *pop_a, const uint16_t *tails_a, \
                                                 size_t a_count, uint32_t a_first, const uint64_t *b,               \
                                                 const uint32_t *pop_b, const uint16_t *tails_b, size_t b_count,    \
                                                 uint32_t b_first, const uint32_t *b_ranges, uint64_t p,            \
                                                 uint64_t q, bm_candidate *out, size_t capacity) {                  \
        enum { TILE = ISA##_##W32##_tile };                                                                         \
        size_t found = 0;                                                                                           \
        const uint64_t twice_q = 2 * q;                                                                             \
        const int exact_in_vector = twice_q <= (1u << 30);                                                          \
        size_t blocks = (a_count + BLOCK_ROWS - 1) / BLOCK_ROWS;                                                    \
        transposed_block one;                                                                                       \
        size_t chunk_blocks = blocks < CHUNK_BLOCKS ? blocks : CHUNK_BLOCKS;                                        \
        transposed_block *chunk =                                                                                   \
            chunk_blocks > 1 ? aligned_alloc(64, chunk_blocks * sizeof(transposed_block)) : NULL;                   \
        if (!chunk) {                                                                                               \
            chunk = &one;                                                                                           \
            chunk_blocks = 1;                                                                                       \
        }                                                                                                           \
        uint32_t floor_b[TILE], rem_b[TILE], tail_b[BM_TAILS][TILE];                                                \
        uint32_t partial[TILE][LANES] __attribute__((aligned(64)));                                                 \
        uint16_t live_rows[TILE];                                                                                   \
        unsigned live_open[TILE];                                                                                   \
        size_t starts[CHUNK_BLOCKS], ends[CHUNK_BLOCKS];                                                            \
        for (size_t first_block = 0; first_block < blocks && found != SIZE_MAX; first_block += chunk_blocks) {      \
            size_t n = blocks - first_block < chunk_blocks ? blocks - first_block : chunk_blocks;                   \
            size_t low = b_count, high = 0;                                                                         \
            for (size_t k = 0; k < n; k++) {                                                                        \
                size_t row = (first_block + k) * BLOCK_ROWS;                                                        \
                size_t rows = a_count - row < BLOCK_ROWS ? a_count - row : BLOCK_ROWS;                              \
                transpose_block(chunk + k, LANES, W32, a + row * ((W32) / 2), pop_a + row, tails_a + row * BM_TAILS, \
                                rows, p, twice_q);                                                                  \
                block_range(b_ranges, first_block + k, b_count, starts + k, ends + k);                              \
                if (starts[k] < ends[k]) {                                                                          \
                    low = starts[k] < low ? starts[k] : low;                                                        \
                    high = ends[k] > high ? ends[k] : high;                                                         \
                }                                                                                                   \
            }                                                                                                       \
            for (size_t tile = low; tile < high && found != SIZE_MAX; tile += TILE) {                               \
                size_t tile_end = tile + TILE < high ? tile + TILE : high;                                          \
                for (size_t j = tile; j < tile_end; j++) {                                                          \
                    floor_b[j - tile] = (uint32_t)(p * pop_b[j] / twice_q);                                         \
                    rem_b[j - tile] = (uint32_t)(p * pop_b[j] % twice_q);                                           \
                    for (size_t s = 0; s < BM_TAILS; s++) tail_b[s][j - tile] = tails_b[j * BM_TAILS + s];          \
                }                                                                                                   \
                for (size_t k = 0; k < n && found != SIZE_MAX; k++) {                                               \
                    size_t from = starts[k] > tile ? starts[k] : tile;                                              \
                    size_t to = ends[k] < tile_end ? ends[k] : tile_end;                                            \
                    if (from >= to) continue;                                                                       \
                    size_t row = (first_block + k) * BLOCK_ROWS;                                                    \
                    size_t rows = a_count - row < BLOCK_ROWS ? a_count - row : BLOCK_ROWS;                          \
                    found = sweep_##ISA##_##W32##_tile(chunk + k, rows, pop_a + row, a_first + (uint32_t)row, b,    \
                                                       tile, from, to, pop_b, b_first, floor_b, rem_b, tail_b, p,   \
                                                       twice_q, exact_in_vector, partial, live_rows, live_open,     \
                                                       out, found, capacity);                                       \
                }                                                                                                   \
            }                                                                                                       \
        }                                                                                                           \
        if (chunk != &one) free(chunk);                                                                             \
        return found;                                                                                               \
    }

// The valid lanes of group g of a block of a_count rows.
static inline unsigned valid_lanes(size_t g, size_t lanes, size_t a_count) {
    size_t used = a_count - g * lanes < lanes ? a_count - g * lanes : lanes;
    return (1u << used) - 1;
}

// AVX-512: groups of sixteen rows in 32-bit lanes of 512-bit vectors. Each word of sixteen pairs costs an AND (with
// the B word broadcast from memory), a VPOPCNTD and an add; the compiler keeps most rows of a 1024-bit group in
// registers.
typedef struct {
    __m512i floors, rems, tails[BM_TAILS];
    __mmask16 valid;
} avx512_group;
typedef __m512i avx512_counts, avx512_vector;

#define BM_LANE_COUNT(VECTOR, WORD) _mm512_popcnt_epi32(_mm512_and_si512(VECTOR, _mm512_set1_epi32((int)(WORD))))

// Σ popcount(rows[k] & broadcast(words[k])) for from ≤ k < to, lane by lane.
__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m512i avx512_count(const __m512i *rows,
                                                                                     const word32 *words, size_t from,
                                                                                     size_t to) {
    __m512i sum = _mm512_setzero_si512();
    size_t k = from;
#pragma GCC unroll 16
    for (; k + 4 <= to; k += 4)
        sum = _mm512_add_epi32(sum, _mm512_add_epi32(_mm512_add_epi32(BM_LANE_COUNT(rows[k], words[k]),
                                                                      BM_LANE_COUNT(rows[k + 1], words[k + 1])),
                                                     _mm512_add_epi32(BM_LANE_COUNT(rows[k + 2], words[k + 2]),
                                                                      BM_LANE_COUNT(rows[k + 3], words[k + 3]))));
    for (; k < to; k++) sum = _mm512_add_epi32(sum, BM_LANE_COUNT(rows[k], words[k]));
    return sum;
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m512i avx512_add(__m512i x, __m512i y) {
    return _mm512_add_epi32(x, y);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline void avx512_load(avx512_group *group,
                                                                                 const transposed_block *block,
                                                                                 size_t g, size_t a_count) {
    group->floors = _mm512_load_si512((const void *)(block->floors + g * 16));
    group->rems = _mm512_load_si512((const void *)(block->rems + g * 16));
    for (size_t s = 0; s < BM_TAILS; s++)
        group->tails[s] = _mm512_load_si512((const void *)(block->tails[s] + g * 16));
    group->valid = (__mmask16)valid_lanes(g, 16, a_count);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline unsigned avx512_open(const avx512_group *group,
                                                                                     __m512i sums, size_t stage,
                                                                                     const uint32_t *tail_b,
                                                                                     const uint32_t *floor_b,
                                                                                     unsigned open) {
    __m512i bound = _mm512_add_epi32(sums, _mm512_min_epu32(group->tails[stage], _mm512_set1_epi32((int)*tail_b)));
    __m512i needed = _mm512_add_epi32(group->floors, _mm512_set1_epi32((int)*floor_b));
    return _mm512_mask_cmpge_epu32_mask((__mmask16)open, bound, needed);
}

// Counts are far below 2³¹, so e is read as a signed 32-bit value; rem_a + rem_b < 4q ≤ 2³¹.
__attribute__((target("avx512f,avx512vpopcntdq"))) static inline unsigned avx512_exact(const avx512_group *group,
                                                                                      __m512i sums,
                                                                                      const uint32_t *floor_b,
                                                                                      const uint32_t *rem_b,
                                                                                      uint64_t twice_q,
                                                                                      unsigned open) {
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    __mmask16 lanes = _mm512_mask_test_epi32_mask((__mmask16)open, sums, sums);
    __m512i e = _mm512_sub_epi32(sums, _mm512_add_epi32(group->floors, _mm512_set1_epi32((int)*floor_b)));
    __m512i rems = _mm512_add_epi32(group->rems, _mm512_set1_epi32((int)*rem_b));
    __mmask16 above = _mm512_mask_cmpgt_epi32_mask(lanes, e, one);
    __mmask16 by_one = _mm512_mask_cmple_epu32_mask(_mm512_mask_cmpeq_epi32_mask(lanes, e, one), rems,
                                                    _mm512_set1_epi32((int)twice_q));
    __mmask16 at = _mm512_mask_cmpeq_epi32_mask(_mm512_mask_cmpeq_epi32_mask(lanes, e, zero), rems, zero);
    return (unsigned)(above | by_one | at);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline void avx512_store(__m512i sums, uint32_t *out) {
    _mm512_store_si512((void *)out, sums);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) static inline __m512i avx512_reload(const uint32_t *sums) {
    return _mm512_load_si512((const void *)sums);
}

DEFINE_BLOCK_SWEEP(avx512, __attribute__((target("avx512f,avx512vpopcntdq"))), 16, 32)
DEFINE_BLOCK_SWEEP(avx512, __attribute__((target("avx512f,avx512vpopcntdq"))), 16, 64)

// AVX2 (no vector popcount): groups of eight rows in 32-bit lanes of 256-bit vectors, counted a nibble at a time
// through a 16-entry table (VPSHUFB). Byte counts add up across at most 16 words (at most 128 per byte), and two
// multiply-adds fold each lane's four bytes into its count. The rows stay in the block (16 vector registers would
// not hold them) and are read as memory operands.
typedef struct {
    __m256i floors, rems, tails[BM_TAILS];
    unsigned valid;
} avx2_group;
typedef __m256i avx2_counts, avx2_vector;

__attribute__((target("avx2"))) static inline __m256i avx2_count(const __m256i *rows, const word32 *words,
                                                                 size_t from, size_t to) {
    const __m256i table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1,
                                           2, 2, 3, 2, 3, 3, 4);
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    __m256i total = _mm256_setzero_si256();
    for (size_t chunk = from; chunk < to; chunk += 16) {
        size_t end = chunk + 16 < to ? chunk + 16 : to;
        __m256i bytes = _mm256_setzero_si256();
        for (size_t k = chunk; k < end; k++) {
            __m256i x = _mm256_and_si256(rows[k],
                                         _mm256_set1_epi32((int)words[k]));
            __m256i low = _mm256_shuffle_epi8(table, _mm256_and_si256(x, nibble));
            __m256i high = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble));
            bytes = _mm256_add_epi8(bytes, _mm256_add_epi8(low, high));
        }
        __m256i pairs = _mm256_maddubs_epi16(bytes, _mm256_set1_epi8(1));
        total = _mm256_add_epi32(total, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
    }
    return total;
}

__attribute__((target("avx2"))) static inline __m256i avx2_add(__m256i x, __m256i y) {
    return _mm256_add_epi32(x, y);
}

__attribute__((target("avx2"))) static inline void avx2_load(avx2_group *group, const transposed_block *block, size_t g,
                                                             size_t a_count) {
    group->floors = _mm256_load_si256((const __m256i *)(block->floors + g * 8));
    group->rems = _mm256_load_si256((const __m256i *)(block->rems + g * 8));
    for (size_t s = 0; s < BM_TAILS; s++)
        group->tails[s] = _mm256_load_si256((const __m256i *)(block->tails[s] + g * 8));
    group->valid = valid_lanes(g, 8, a_count);
}

// The lanes of a mask set in a vector of 32-bit all-ones or zeros.
__attribute__((target("avx2"))) static inline unsigned avx2_lanes(__m256i set) {
    return (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(set));
}

// Signed compares: counts are far below 2³¹ (and a needed value that is not would read as negative, which only
// leaves the lane open).
__attribute__((target("avx2"))) static inline unsigned avx2_open(const avx2_group *group, __m256i sums, size_t stage,
                                                                 const uint32_t *tail_b, const uint32_t *floor_b,
                                                                 unsigned open) {
    __m256i bound = _mm256_add_epi32(sums, _mm256_min_epu32(group->tails[stage], _mm256_set1_epi32((int)*tail_b)));
    __m256i needed = _mm256_add_epi32(group->floors, _mm256_set1_epi32((int)*floor_b));
    return ~avx2_lanes(_mm256_cmpgt_epi32(needed, bound)) & open;
}

__attribute__((target("avx2"))) static inline unsigned avx2_exact(const avx2_group *group, __m256i sums,
                                                                  const uint32_t *floor_b, const uint32_t *rem_b,
                                                                  uint64_t twice_q, unsigned open) {
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    __m256i e = _mm256_sub_epi32(sums, _mm256_add_epi32(group->floors, _mm256_set1_epi32((int)*floor_b)));
    __m256i rems = _mm256_add_epi32(group->rems, _mm256_set1_epi32((int)*rem_b));
    __m256i above = _mm256_cmpgt_epi32(e, one);
    __m256i by_one = _mm256_andnot_si256(_mm256_cmpgt_epi32(rems, _mm256_set1_epi32((int)twice_q)),
                                         _mm256_cmpeq_epi32(e, one));
    __m256i at = _mm256_and_si256(_mm256_cmpeq_epi32(e, zero), _mm256_cmpeq_epi32(rems, zero));
    __m256i pass = _mm256_andnot_si256(_mm256_cmpeq_epi32(sums, zero), _mm256_or_si256(above, _mm256_or_si256(by_one, at)));
    return avx2_lanes(pass) & open;
}

__attribute__((target("avx2"))) static inline void avx2_store(__m256i sums, uint32_t *out) {
    _mm256_store_si256((__m256i *)out, sums);
}

__attribute__((target("avx2"))) static inline __m256i avx2_reload(const uint32_t *sums) {
    return _mm256_load_si256((const __m256i *)sums);
}

DEFINE_BLOCK_SWEEP(avx2, __attribute__((target("avx2"))), 8, 32)
DEFINE_BLOCK_SWEEP(avx2, __attribute__((target("avx2"))), 8, 64)

DEFINE_SWEEP(sweep_avx512, __attribute__((target("avx512f,avx512vpopcntdq"))), common_avx512)
#endif

size_t bm_dice_candidates(const uint64_t *a, const uint32_t *pop_a, const uint16_t *tails_a, size_t a_count,
                          uint32_t a_first, const uint64_t *b, const uint32_t *pop_b, const uint16_t *tails_b,
                          size_t b_count, uint32_t b_first, const uint32_t *b_ranges, size_t words, uint64_t p,
                          uint64_t q, bm_candidate *out, size_t capacity) {
#if defined(__x86_64__)
    switch (bm_kernel_level()) {
    case 3:
        if (words == 16)
            return sweep_avx512_32(a, pop_a, tails_a, a_count, a_first, b, pop_b, tails_b, b_count, b_first, b_ranges,
                                   p, q, out, capacity);
        if (words == 32)
            return sweep_avx512_64(a, pop_a, tails_a, a_count, a_first, b, pop_b, tails_b, b_count, b_first, b_ranges,
                                   p, q, out, capacity);
        return sweep_avx512(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, b_ranges, words, p, q, out,
                            capacity);
    case 2:
        if (words == 16)
            return sweep_avx2_32(a, pop_a, tails_a, a_count, a_first, b, pop_b, tails_b, b_count, b_first, b_ranges, p,
                                 q, out, capacity);
        if (words == 32)
            return sweep_avx2_64(a, pop_a, tails_a, a_count, a_first, b, pop_b, tails_b, b_count, b_first, b_ranges, p,
                                 q, out, capacity);
        return sweep_popcnt(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, b_ranges, words, p, q, out,
                            capacity);
    case 1:
        return sweep_popcnt(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, b_ranges, words, p, q, out,
                            capacity);
    default: break;
    }
#endif
    (void)tails_a;  // the early bounds are used by the vector kernels only
    (void)tails_b;
    return sweep_portable(a, pop_a, a_count, a_first, b, pop_b, b_count, b_first, b_ranges, words, p, q, out,
                          capacity);
}
