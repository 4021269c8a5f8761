#include "ms_digest.h"

#include <stdio.h>
#include <string.h>

uint64_t ms_digest_bytes(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    h = ms_digest_fold(h, (uint64_t)n);
    while (n >= 8) {
        uint64_t w = 0;
        for (int i = 7; i >= 0; i--) w = (w << 8) | b[i];
        h = ms_digest_fold(h, w);
        b += 8;
        n -= 8;
    }
    if (n > 0) {
        uint64_t w = 0;
        for (size_t i = n; i-- > 0;) w = (w << 8) | b[i];
        h = ms_digest_fold(h, w);
    }
    return h;
}

void ms_digest_hex(uint64_t h, char out[17]) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--) {
        out[i] = hex[h & 15];
        h >>= 4;
    }
    out[16] = '\0';
}
