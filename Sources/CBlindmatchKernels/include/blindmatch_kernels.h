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

/// Compares every row of A (`a_count` rows) with every row of B (`b_count` rows); rows are `words` 64-bit words,
/// 64-byte aligned when `words` is a multiple of 8. Writes each pair with 2·q·common ≥ p·(pop_a + pop_b) (an
/// inclusive Dice threshold p/q, decided in integers; a pair with no common bit never qualifies) to `out`, numbering
/// rows from `a_first` and `b_first`.
/// `high_a` and `high_b` are the popcounts of each row's upper half (words words/2 ..< words), for an early
/// bound. Returns the number of pairs written, or SIZE_MAX when more than `capacity` would be needed (the caller
/// retries with more room).
size_t bm_dice_candidates(const uint64_t *a, const uint32_t *pop_a, const uint32_t *high_a, size_t a_count,
                          uint32_t a_first, const uint64_t *b, const uint32_t *pop_b, const uint32_t *high_b,
                          size_t b_count, uint32_t b_first, size_t words, uint64_t p, uint64_t q,
                          bm_candidate *out, size_t capacity);

/// |A ∩ B| of two rows, with the implementation in force (for tests).
uint32_t bm_common_bits(const uint64_t *a, const uint64_t *b, size_t words);

#endif
