/* Store and snapshot figures on a generated image of 1M keys: memory
 * overhead per key, version-take cost at 10K and 1M keys, point-read
 * latency, export rate and import rate per apply mode. Prints, asserts
 * nothing. Also the master read ops on the policy_overhead bench's image
 * (~200K keys, 180 dps per vol): ns per op, alone and in that bench's mix.
 * Targets: <= 96 B overhead/key, O(1) version take, export >= 10M
 * entries/s, import >= 3M entries/s (inplace, aside). */
#include "ms_gen.h"
#include "ms_ops.h"
#include "ms_rng.h"
#include "ms_snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of this thread: the read-op figures use it, so other work on
 * the machine inflates them less than it does wall time. */
static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Resident set size in bytes from /proc/self/statm (Linux); -1 elsewhere. */
static double rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size, rss;
    int ok = f && fscanf(f, "%ld %ld", &size, &rss) == 2;
    if (f) fclose(f);
    return ok ? (double)rss * 4096.0 : -1.0;
}

typedef struct frames {
    unsigned char **f;
    size_t *len;
    size_t n, cap, bytes;
} frames;

static ms_store *build(ms_store_mem *mem, uint64_t dps, uint64_t mps, uint64_t vols,
                       ms_gen_stats *st) {
    ms_gen_desc d = {.volumes = vols,
                     .data_partitions = dps,
                     .meta_partitions = mps,
                     .nodes = 2000,
                     .users = 100,
                     .applied = 123456};
    ms_store *s = ms_store_new(mem);
    char err[128];
    if (ms_gen_build(s, &d, 1, st, err, sizeof err) != 0) {
        fprintf(stderr, "bench_store: %s\n", err);
        exit(1);
    }
    return s;
}

/* ns per version take (and per release) on s. */
static void version_cost(ms_store *s, const char *label) {
    enum { N = 100000 };
    static ms_version *v[N];
    double t0 = now_s();
    for (int i = 0; i < N; i++) v[i] = ms_store_snapshot(s);
    double t1 = now_s();
    for (int i = 0; i < N; i++) ms_version_release(v[i]);
    double t2 = now_s();
    printf("  version take @%-4s keys   %8.1f ns   (release %.1f ns)\n", label, (t1 - t0) / N * 1e9,
           (t2 - t1) / N * 1e9);
}

/* ns for the first write after a version take (it copies the shared path),
 * averaged over many take/write/release cycles. */
static void first_write_cost(ms_store *s) {
    enum { N = 20000 };
    char key[32];
    double t = 0;
    for (int i = 0; i < N; i++) {
        ms_version *v = ms_store_snapshot(s);
        int kl = snprintf(key, sizeof key, "#dp#%d#x", i * 37 % 1000);
        double t0 = now_s();
        ms_store_put(s, key, (size_t)kl, "x", 1);
        t += now_s() - t0;
        ms_version_release(v);
        ms_store_del(s, key, (size_t)kl);
    }
    printf("  first write after a take    %8.1f ns (copies the shared path)\n", t / N * 1e9);
}

/* Keys of s, pointing into the store (valid while s is not written). */
static const char **collect_keys(ms_store *s, size_t **lens) {
    uint64_t n = ms_store_count(s);
    const char **keys = malloc(n * sizeof *keys);
    *lens = malloc(n * sizeof **lens);
    ms_view v = ms_store_view(s);
    ms_iter it;
    ms_iter_seek(&it, &v, "", 0);
    for (uint64_t i = 0; ms_iter_next(&it); i++) keys[i] = ms_iter_key(&it, &(*lens)[i]);
    return keys;
}

static void point_reads(ms_store *s) {
    size_t *lens;
    const char **keys = collect_keys(s, &lens);
    uint64_t n = ms_store_count(s);
    enum { R = 2000000 };
    uint32_t *idx = malloc(R * sizeof *idx);
    ms_rng r;
    ms_rng_init(&r, 7, "bench");
    for (int i = 0; i < R; i++) idx[i] = (uint32_t)ms_rng_below(&r, n);
    size_t vl, sum = 0;
    double t0 = now_s();
    for (int i = 0; i < R; i++) sum += ms_store_get(s, keys[idx[i]], lens[idx[i]], &vl) ? vl : 0;
    double t1 = now_s();
    for (uint64_t i = 0; i < n && i < R; i++) sum += ms_store_get(s, keys[i], lens[i], &vl) ? 1 : 0;
    double t2 = now_s();
    printf("  point read (random)         %8.1f ns\n", (t1 - t0) / R * 1e9);
    printf("  point read (key order)      %8.1f ns   (checksum %zu)\n",
           (t2 - t1) / (double)(n < R ? n : R) * 1e9, sum % 10);
    free(idx);
    free(keys);
    free(lens);
}

static void export_all(ms_version *v, frames *out) {
    ms_snap_exp *e = ms_snap_export_begin(v, NULL);
    const void *f;
    size_t len;
    char err[200];
    double t0 = now_s();
    uint64_t sink = 0;
    while (ms_snap_export_next(e, &f, &len, err, sizeof err) == 1)
        sink += ((const unsigned char *)f)[len - 1];
    double t1 = now_s();
    double n = (double)ms_snap_export_entries(e), bytes = (double)ms_snap_export_bytes(e);
    printf("  export                      %8.2f M entries/s  %8.1f MB/s  (%.0f frames, %.1f MB, "
           "%.3f s; sink %llu)\n",
           n / (t1 - t0) / 1e6, bytes / (t1 - t0) / 1e6, (double)ms_snap_export_frames(e),
           bytes / 1e6, t1 - t0, (unsigned long long)(sink % 10));
    ms_snap_export_end(e);
    /* a second pass keeps the frames for the imports */
    e = ms_snap_export_begin(v, NULL);
    out->n = out->cap = out->bytes = 0;
    out->f = NULL;
    out->len = NULL;
    while (ms_snap_export_next(e, &f, &len, err, sizeof err) == 1) {
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 256;
            out->f = realloc(out->f, out->cap * sizeof *out->f);
            out->len = realloc(out->len, out->cap * sizeof *out->len);
        }
        out->f[out->n] = malloc(len);
        memcpy(out->f[out->n], f, len);
        out->len[out->n++] = len;
        out->bytes += len;
    }
    ms_snap_export_end(e);
}

static void import_mode(ms_version *v, const frames *fr, ms_snap_mode m) {
    ms_store *live = ms_store_from_version(v); /* old contents shared: clear is O(1) */
    char err[256];
    double t0 = now_s();
    ms_snap_imp *imp = ms_snap_import_begin(live, m);
    for (size_t i = 0; i < fr->n; i++) {
        if (ms_snap_import_chunk(imp, fr->f[i], fr->len[i], err, sizeof err) != 0) {
            fprintf(stderr, "bench_store: import: %s\n", err);
            exit(1);
        }
    }
    uint64_t n = ms_snap_import_progress(imp).entries;
    if (ms_snap_import_finish(imp, err, sizeof err) != 0) {
        fprintf(stderr, "bench_store: finish: %s\n", err);
        exit(1);
    }
    double t1 = now_s();
    int same = ms_store_digest(live) == ms_version_digest(v);
    printf("  import %-8s             %8.2f M entries/s  (%.3f s, digest %s)\n",
           ms_snap_mode_name(m), (double)n / (t1 - t0) / 1e6, t1 - t0,
           same ? "equal" : "DIFFERENT");
    double t2 = now_s();
    ms_store_free(live);
    printf("    (free of the imported store %.3f s)\n", now_s() - t2);
}

/* ns per read op on the policy_overhead image: each op alone over random
 * vols, then the bench's mix (get_vol 0.5, get_partitions 0.4, get_cluster
 * 0.1). Every verdict must be COMPLETE. */
static void read_ops(ms_store_mem *mem) {
    ms_gen_desc d = {.volumes = 1000,
                     .data_partitions = 180000,
                     .meta_partitions = 18000,
                     .nodes = 1000,
                     .users = 100,
                     .applied = 1};
    ms_store *s = ms_store_new(mem);
    char err[128];
    ms_gen_stats st;
    if (ms_gen_build(s, &d, 1, &st, err, sizeof err) != 0) {
        fprintf(stderr, "bench_store: %s\n", err);
        exit(1);
    }
    ms_view v = ms_store_view(s);
    ms_rng r;
    ms_rng_init(&r, 7, "read_ops");
    static const struct {
        ms_read_op op;
        int n;
    } solo[] = {{MS_OP_GET_VOL, 400000},
                {MS_OP_GET_PARTITIONS, 40000},
                {MS_OP_GET_META_PARTITIONS, 200000},
                {MS_OP_GET_CLUSTER, 400000}};
    printf("  read ops on a %llu-key image (1000 vols, 180 dps each)\n",
           (unsigned long long)st.keys);
    uint64_t bad = 0, entries = 0;
    for (size_t k = 0; k < sizeof solo / sizeof solo[0]; k++) {
        double t0 = cpu_s();
        for (int i = 0; i < solo[k].n; i++) {
            ms_read_result res = ms_ops_run(&v, solo[k].op, ms_rng_below(&r, 1000) + 1, 0);
            bad += res.verdict != MS_READ_COMPLETE;
            entries += res.entries;
        }
        printf("    %-20s %8.1f ns/op CPU\n", ms_ops_op_name(solo[k].op),
               (cpu_s() - t0) / solo[k].n * 1e9);
    }
    enum { MIX = 400000 };
    double t0 = cpu_s();
    for (int i = 0; i < MIX; i++) {
        uint64_t x = ms_rng_below(&r, 10);
        ms_read_op op = x < 5 ? MS_OP_GET_VOL : x < 9 ? MS_OP_GET_PARTITIONS : MS_OP_GET_CLUSTER;
        ms_read_result res = ms_ops_run(&v, op, ms_rng_below(&r, 1000) + 1, 0);
        bad += res.verdict != MS_READ_COMPLETE;
        entries += res.entries;
    }
    double dt = cpu_s() - t0;
    printf("    mix 0.5/0.4/0.1        %8.1f ns/op CPU  (%.2f M ops/s; %llu not complete, %llu "
           "records)\n",
           dt / MIX * 1e9, MIX / dt / 1e6, (unsigned long long)bad, (unsigned long long)entries);
    ms_store_free(s);
}

int main(void) {
    ms_store_mem mem = {0};
    ms_gen_stats st;
    printf("bench_store\n");
    ms_store *small = build(&mem, 8400, 1500, 100, &st);
    printf("  image 10K: %llu keys\n", (unsigned long long)st.keys);
    version_cost(small, "10K");
    ms_store_free(small);
    read_ops(&mem);

    double rss0 = rss_bytes(), t0 = now_s();
    ms_store *s = build(&mem, 846895, 150000, 1000, &st);
    double t1 = now_s(), rss1 = rss_bytes();
    double payload = (double)(st.key_bytes + st.value_bytes);
    printf("  image 1M: %llu keys, %.1f MB keys+values, built in %.3f s (%.2f M keys/s)\n",
           (unsigned long long)st.keys, payload / 1e6, t1 - t0, (double)st.keys / (t1 - t0) / 1e6);
    printf("  memory in use               %8.1f MB (peak %.1f MB, %lld blocks)\n",
           (double)mem.bytes_in_use / 1e6, (double)mem.peak / 1e6, (long long)mem.blocks);
    printf("  overhead per key            %8.1f B beyond key+value bytes (accounted)\n",
           ((double)mem.bytes_in_use - payload) / (double)st.keys);
    if (rss0 >= 0)
        printf(
            "  overhead per key (RSS)      %8.1f B beyond key+value bytes (with malloc headers)\n",
            (rss1 - rss0 - payload) / (double)st.keys);
    version_cost(s, "1M");

    first_write_cost(s);
    ms_version *v = ms_store_snapshot(s);

    point_reads(s);
    frames fr;
    export_all(v, &fr);
    for (int round = 0; round < 2; round++) { /* the first round also pays page faults */
        printf("  round %d\n", round + 1);
        import_mode(v, &fr, MS_SNAP_REOPEN);
        import_mode(v, &fr, MS_SNAP_INPLACE);
        import_mode(v, &fr, MS_SNAP_ASIDE);
    }
    for (size_t i = 0; i < fr.n; i++) free(fr.f[i]);
    free(fr.f);
    free(fr.len);
    ms_version_release(v);
    ms_store_free(s);
    printf("  memory after free           %lld B\n", (long long)mem.bytes_in_use);
    return 0;
}
