/* Internal to ms_snapshot*.c: little-endian field access and the frame
 * check. Not for other modules. */
#ifndef MS_SNAPSHOT_IMPL_H
#define MS_SNAPSHOT_IMPL_H

#include "ms_snapshot.h"

#define MS_SNAP_CHECK_SEED UINT64_C(0x736e61702d636b73)
#define MS_SNAP_HEADER_PAYLOAD 40
#define MS_SNAP_END_PAYLOAD 24

static inline void ms__snap_put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline void ms__snap_put64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t ms__snap_get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ms__snap_get64(const unsigned char *p) {
    return (uint64_t)ms__snap_get32(p) | (uint64_t)ms__snap_get32(p + 4) << 32;
}

/* The check of a frame: the first 12 head bytes, then payload_len payload
 * bytes (which the caller has bounds-checked). */
uint64_t ms__snap_check(const unsigned char *frame, size_t payload_len);

#endif
