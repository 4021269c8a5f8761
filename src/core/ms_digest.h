/* The 64-bit digest folded over a run's events: order-sensitive, cheap, and
 * well mixed (a change in any bit of any folded word changes about half the
 * bits of the result). Not cryptographic. */
#ifndef MS_DIGEST_H
#define MS_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#define MS_DIGEST_INIT UINT64_C(0x6d617374657273ed)

/* Fold one 64-bit word into digest h and return the new digest. */
static inline uint64_t ms_digest_fold(uint64_t h, uint64_t v) {
    /* Mix v (splitmix64 finaliser), then combine order-sensitively. */
    v += UINT64_C(0x9e3779b97f4a7c15);
    v = (v ^ (v >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    v = (v ^ (v >> 27)) * UINT64_C(0x94d049bb133111eb);
    v ^= v >> 31;
    h = (h ^ v) * UINT64_C(0x100000001b3);
    return (h << 29) | (h >> 35);
}

/* Fold a byte string (length first, then 8-byte little-endian words). */
uint64_t ms_digest_bytes(uint64_t h, const void *p, size_t n);

/* The digest as 16 lowercase hex digits plus NUL. */
void ms_digest_hex(uint64_t h, char out[17]);

#endif
