/* The stress harness: the lock primitives under real threads.
 *
 * N reader threads run the master's read operations (ms_ops, a fixed mix)
 * against a generated image of about K keys while a writer thread applies
 * writes (ms_write: heartbeats and new data partitions) and an applier
 * thread installs a snapshot every apply_every: it exports the live
 * contents at an index ahead of the node's (the leader's state), then
 * imports the frames in the chosen mode while the readers keep reading.
 * The writer and the applier exclude each other (one raft apply loop); the
 * store family is shared through ms_shared_store; gated policies consult an
 * ms_gate_os.
 *
 * Policies (what a reader does when the gate's flag is set):
 *   block       wait on the gate up to timeout_ns, then read (or time out)
 *   fail_fast   fail at once
 *   stale_read  read the published version, which during an aside apply is
 *               the previous one (needs mode aside)
 *   unguarded   no gate: pin the live store as it is under the family lock
 *               for each op (no UB, no isolation): during an inplace apply
 *               that is a half-loaded store, and ms_ops calls the read torn
 *   none        no gate at all, same read path as the gated policies minus
 *               the flag check: the baseline for the gate's cost
 *
 * Every read is classified: torn (ms_ops verdict torn, crash or unusable),
 * fresh (the index it observed >= the commit index when it was issued: the
 * snapshot's index from the moment an apply begins), stale, failed, or
 * timed out.
 *
 * ab_phase_ns measures the gate's cost without the noise between runs
 * (each builds its own store, and on a shared machine the CPU share
 * swings): the same readers on the same store alternate phases with the
 * gate check (block) and without it (none), and reads and CPU time are
 * counted per kind of phase. */
#ifndef MS_STRESS_H
#define MS_STRESS_H

#include "ms_gate_os.h"
#include "ms_hist.h"
#include "ms_snapshot.h"

#include <stddef.h>
#include <stdint.h>

#define MS_STRESS_MAX_READERS 64

typedef enum ms_stress_policy {
    MS_STRESS_BLOCK = 0,
    MS_STRESS_FAIL_FAST,
    MS_STRESS_STALE_READ,
    MS_STRESS_UNGUARDED,
    MS_STRESS_NONE,
    MS_STRESS_POLICY_COUNT
} ms_stress_policy;

/* A policy decided outside the harness (the binding's Lua policies), in
 * each reader thread: open makes the thread's state on that thread before
 * its first read (NULL with a message in err on failure), decide is asked
 * for every read while the gate's flag is set (every read with every_read),
 * close frees the state on the thread after its last read. A decision:
 *   serve  read now: while applying, the live store as it is (torn under
 *          inplace); otherwise the published version
 *   stale  read the published version (during an apply, the previous one)
 *   wait   wait on the gate up to wait_s seconds, then ask again (with the
 *          time waited); while the flag is clear there is nothing to wait
 *          for, and the read is served
 *   fail   the read fails (counted failed)
 * decide returns 0, or -1 with a message in err (the run stops with it). */
typedef enum ms_stress_dec {
    MS_STRESS_DEC_SERVE = 0,
    MS_STRESS_DEC_STALE,
    MS_STRESS_DEC_WAIT,
    MS_STRESS_DEC_FAIL
} ms_stress_dec;

/* What a decider sees of a read and of the node (the fields of a policy's
 * read and node tables; times in seconds). */
typedef struct ms_stress_view {
    unsigned reader;
    const char *op;
    double arrived; /* since the run started */
    double waited;
    int wakeups, timed_out;
    int applying;
    uint64_t applied, commit, stale_index, keys;
    size_t waiters;
} ms_stress_view;

typedef struct ms_stress_decider {
    void *ud;
    int every_read;
    void *(*open)(void *ud, unsigned reader, char *err, size_t errlen);
    int (*decide)(void *ctx, const ms_stress_view *v, ms_stress_dec *dec, double *wait_s, char *err,
                  size_t errlen);
    void (*close)(void *ctx);
} ms_stress_decider;

typedef struct ms_stress_config {
    ms_stress_policy policy;
    ms_snap_mode mode;      /* MS_SNAP_INPLACE or MS_SNAP_ASIDE */
    unsigned readers;       /* 1 .. MS_STRESS_MAX_READERS */
    uint64_t keys;          /* image size, approximately; >= 100 */
    int64_t duration_ns;    /* > 0 */
    int64_t apply_every_ns; /* period of snapshot installs; 0: none */
    int64_t write_every_ns; /* period of writes; 0: no writer */
    int64_t timeout_ns;     /* block: per-waiter timeout; < 0: none */
    uint64_t seed;          /* image and op choices */
    int64_t ab_phase_ns;    /* > 0 (block only): alternate phases of this length with
                             * and without the gate check; 0: off */
    int prewake;            /* block: the applier calls ms_gate_os_soon ~6 ms before the
                             * end, so waiters poll for it instead of sleeping */
    int pin;                /* each reader on a CPU of its own (round robin), the writer and
                             * applier on the CPUs left over if any (Linux only) */
    const ms_stress_decider *decider; /* decides each read instead of `policy` (which is
                                       * ignored); NULL: the built-in policy */
    int handle_sigint;                /* SIGINT stops the run early and it reports what it measured
                                       * (interrupted = 1); a second SIGINT (during a long setup,
                                       * which cannot stop half-way) ends the process */
} ms_stress_config;

typedef struct ms_stress_result {
    int interrupted; /* SIGINT stopped the readers before the duration ended */
    double seconds;  /* wall time the readers ran */
    uint64_t reads;  /* every attempt, failed and timed out included */
    double reads_per_s;
    double served_per_s; /* fresh + stale + torn */
    double reader_cpu_s; /* CPU time of the reader threads, summed: reads / reader_cpu_s is
                          * throughput with the CPU time other processes took left out */
    uint64_t fresh, stale, torn, failed, timed_out;
    uint64_t writes, applies;
    uint64_t keys;          /* keys in the generated image */
    uint64_t reclaimed;     /* published versions reclaimed after their readers left */
    int64_t leaked_bytes;   /* store family memory left after teardown (0) */
    ms_hist *fast;          /* latency of reads served without waiting (ns) */
    ms_hist *blocked;       /* latency of reads that waited on the gate, timeouts included */
    ms_hist *apply;         /* apply durations, begin to end */
    ms_hist *wake;          /* per woken reader: end of the apply -> its read served */
    ms_hist *first;         /* per apply: end -> the first read served by a woken reader */
    ms_hist *release;       /* per woken reader: end of the apply -> out of the gate */
    ms_hist *release_first; /* per apply: end -> the first woken reader out of the gate */
    ms_gate_os_stats gate;  /* zero for unguarded and none */
    uint64_t ab_reads[2];   /* ab_phase_ns: reads in phases with [0] and without [1] the
                             * gate check */
    double ab_cpu_s[2];     /* ab_phase_ns: the readers' CPU time in those phases */
} ms_stress_result;

/* Defaults: block, inplace, 2 readers, 100000 keys, 2 s, apply every
 * 200 ms, a write every 1 ms, timeout 1 s, seed 1. */
void ms_stress_defaults(ms_stress_config *c);

/* Run the harness. 0 with r filled (free it with ms_stress_result_free), or
 * -1 with a message in err (a bad configuration, out of memory, a failed
 * write or import); r then holds nothing to free. */
int ms_stress_run(const ms_stress_config *c, ms_stress_result *r, char *err, size_t errlen);

void ms_stress_result_free(ms_stress_result *r);

/* "block", "fail_fast", "stale_read", "unguarded", "none" and the reverse
 * (-1 for an unknown name). */
const char *ms_stress_policy_name(ms_stress_policy p);
int ms_stress_policy_parse(const char *name, ms_stress_policy *p);

#endif
