/* libFuzzer target: arbitrary bytes as a chunk sequence for the snapshot
 * importer, in each mode, with reads of the live store between chunks.
 *
 * Input: byte 0 picks the mode (bits 0-1, mod 3), bit 2 reseals every chunk
 * (fixes its length field and check, so the payload walk is reached) and
 * bit 3 numbers the chunks in order. Then chunks, each a u16 little-endian
 * length and that many bytes (the last one clipped). Invariants checked:
 * no crash or sanitizer report; an aside import that is not finished
 * leaves the live store exactly as it was; a finished import leaves an
 * OPEN store; memory accounting returns to 0.
 *
 * Built and run by scripts/fuzz-snapshot [build-dir] [seconds], which ctest
 * runs for 20 s (label fuzz) when clang is found. It lists the sources
 * because src/core/ms_drive.c needs libuv:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core tests/fuzz_snapshot.c \
 *     src/core/ms_store.c src/core/ms_store_view.c src/core/ms_layout.c src/core/ms_ops.c \
 *     src/core/ms_snapshot.c src/core/ms_snapshot_import.c -o /tmp/fuzz */
#include "ms_ops.h"
#include "ms_snapshot.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(int ok) {
    if (!ok) __builtin_trap();
}

static ms_store *seed_store(ms_store_mem *mem) {
    ms_store *s = ms_store_new(mem);
    ms_store_put(s, "#c#x", 4, "c", 1);
    ms_store_put(s, "#vol#0000000001", 15, "v", 1);
    ms_store_put(s, "applied", 7, "\1\0\0\0\0\0\0\0", 8);
    ms_store_set_applied(s, 1);
    return s;
}

static void reads(ms_store *s) {
    ms_view v = ms_store_view(s);
    for (int op = 0; op < MS_OP_COUNT; op++) ms_ops_run(&v, (ms_read_op)op, 1, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    ms_snap_mode mode = (ms_snap_mode)((data[0] & 3) % 3);
    int reseal = data[0] & 4, renumber = data[0] & 8;
    ms_store_mem mem = {0};
    ms_store *live = seed_store(&mem);
    uint64_t before = ms_store_digest(live);
    ms_snap_imp *imp = ms_snap_import_begin(live, mode);
    char err[256];
    size_t off = 1;
    uint32_t seq = 0;
    int failed = 0;
    while (off + 2 <= size && !failed) {
        size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
        off += 2;
        if (len > size - off) len = size - off;
        unsigned char *chunk = malloc(len ? len : 1); /* exact size: ASan sees any overrun */
        if (len) memcpy(chunk, data + off, len);
        off += len;
        if (len >= MS_SNAP_HEAD_BYTES) {
            uint32_t n = (uint32_t)(len - MS_SNAP_HEAD_BYTES);
            if (renumber)
                for (int i = 0; i < 4; i++) chunk[4 + i] = (unsigned char)(seq >> (8 * i));
            if (reseal) {
                for (int i = 0; i < 4; i++) chunk[i] = (unsigned char)(n >> (8 * i));
                ms_snap_frame_seal(chunk, len);
            }
        }
        seq++;
        failed = ms_snap_import_chunk(imp, chunk, len, err, sizeof err) != 0;
        check(!failed || strncmp(err, "snapshot frame ", 15) == 0);
        free(chunk);
        reads(live);
    }
    if (!failed && ms_snap_import_progress(imp).done &&
        ms_snap_import_finish(imp, err, sizeof err) == 0) {
        check(ms_store_state_of(live) == MS_STORE_OPEN);
    } else {
        ms_snap_import_abort(imp);
        if (mode == MS_SNAP_ASIDE)
            check(ms_store_state_of(live) == MS_STORE_OPEN && ms_store_digest(live) == before);
    }
    reads(live);
    ms_store_free(live);
    check(mem.bytes_in_use == 0 && mem.blocks == 0);
    return 0;
}
