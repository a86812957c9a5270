#ifndef BLINDMATCH_KERNELS_H
#define BLINDMATCH_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// A pair of rows whose Dice coefficient reached the threshold, with the size of their intersection.
typedef struct {
    uint32_t a;
    uint32_t b;
    uint32_t common;
} bm_candidate;

/// Which implementation `bm_dice_candidates` uses: 0 portable C, 1 POPCNT, 2 AVX2 (with POPCNT), 3 AVX-512 VPOPCNTDQ.
int bm_kernel_level(void);

/// The best implementation this processor can run.
int bm_kernel_available_level(void);

/// Forces an implementation (for tests and benchmarks); a level the processor lacks is lowered to one it has.
/// Returns the level now in force.
int bm_kernel_set_level(int level);

/// Popcounts kept per row for the kernels' early bounds.
enum { BM_TAILS = 4 };

/// Writes, for each of `count` rows of `words` 64-bit words, BM_TAILS popcounts: those of the row's 32-bit words from
/// (2·words)·(4 + s)/8 to the end, for s = 0 ..< BM_TAILS (the last 1/2, 3/8, 1/4 and 1/8 of the row).
void bm_tail_popcounts(const uint64_t *rows, size_t count, size_t words, uint16_t *tails);

/// Rows of A per block: `bm_dice_candidates` can compare each block with its own range of B.
enum { BM_BLOCK_ROWS = 32 };

/// Compares every row of A (`a_count` rows) with every row of B (`b_count` rows); rows are `words` 64-bit words,
/// 64-byte aligned when `words` is a multiple of 8. With `b_ranges`, block k of A (rows BM_BLOCK_ROWS·k and on) is
/// compared only with rows b_ranges[2k] ..< b_ranges[2k + 1] of B (the others cannot reach the threshold: popcount
/// bounds); with NULL, with all of B. Writes each pair with 2·q·common ≥ p·(pop_a + pop_b) (an
/// inclusive Dice threshold p/q, decided in integers; a pair with no common bit never qualifies) to `out`, numbering
/// rows from `a_first` and `b_first`.
/// `tails_a` and `tails_b` hold BM_TAILS values per row, as `bm_tail_popcounts` writes them, for early bounds.
/// Returns the number of pairs written, or SIZE_MAX when more than `capacity` would be needed (the caller retries
/// with more room).
size_t bm_dice_candidates(const uint64_t *a, const uint32_t *pop_a, const uint16_t *tails_a, size_t a_count,
                          uint32_t a_first, const uint64_t *b, const uint32_t *pop_b, const uint16_t *tails_b,
                          size_t b_count, uint32_t b_first, const uint32_t *b_ranges, size_t words, uint64_t p,
                          uint64_t q, bm_candidate *out, size_t capacity);

/// |A ∩ B| of two rows, with the implementation in force (for tests).
uint32_t bm_common_bits(const uint64_t *a, const uint64_t *b, size_t words);

/// Asks for the cache line at `address` ahead of its use (a hint: never faults, does nothing where unsupported).
static inline void bm_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// out[i] = |A_rows[i] ∩ B| for i < count, where A_r is row r of `a` (rows of `words` words) and B the row `b`: the
/// blocking join's candidates of one row of B, scattered rows of A fetched ahead of their turn.
void bm_common_bits_rows(const uint64_t *a, const uint32_t *rows, size_t count, const uint64_t *b, size_t words,
                         uint32_t *out);

#endif
