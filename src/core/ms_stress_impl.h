/* Internal to ms_stress*.c: the harness's state and the helpers its
 * threads share. Not for other modules. */
#ifndef MS_STRESS_IMPL_H
#define MS_STRESS_IMPL_H

#include "ms_stress.h"

#include "ms_gate_os.h"
#include "ms_gen.h"
#include "ms_hist.h"
#include "ms_ops.h"
#include "ms_shared_store.h"

#include <stdatomic.h>
#include <uv.h>

enum { OUT_FRESH, OUT_STALE, OUT_TORN, OUT_FAILED, OUT_TIMEDOUT, OUT_COUNT };

struct stress;

typedef struct reader {
    struct stress *st;
    unsigned id;
    uv_thread_t th;
    uint64_t n[OUT_COUNT];
    int64_t cpu_ns; /* the thread's CPU time over its read loop */
    int phase;      /* ab_phase_ns: 0 gated, 1 not */
    int64_t phase_cpu0;
    uint64_t ab_reads[2];
    int64_t ab_cpu_ns[2];
    ms_hist *fast, *blocked, *wake, *first, *release, *release_first;
    void *dctx; /* the decider's state of this thread (ms_stress_decider.open) */
} reader;

typedef struct stress {
    ms_stress_config c;
    ms_store_mem mem;
    ms_gen_desc desc;
    uint64_t dn, mn; /* data / meta node counts */
    uint64_t keys;   /* in the generated image */
    ms_shared_store *ss;
    ms_gate_os *gate; /* NULL: unguarded, none */
    uv_mutex_t raft;
    uint64_t index; /* raft index of the live store; under raft */
    atomic_uint_fast64_t commit;
    atomic_int_fast64_t last_first;   /* end time of the last apply whose first read was seen */
    atomic_int_fast64_t last_release; /* same, for the first waiter out of the gate */
    int64_t t_start;                  /* when the threads started; set before */
    atomic_int stop;
    atomic_int interrupted; /* SIGINTs seen (handle_sigint) */
    atomic_int failed;
    char err[320]; /* written by the first thread to set failed */
    uint64_t writes, applies;
    ms_hist *apply;
    reader rd[MS_STRESS_MAX_READERS];
} stress;

/* Record a thread's failure (the first one wins) and stop the run. */
void ms__stress_fail(stress *st, const char *what, const char *detail);

/* Whether the run is stopping. */
int ms__stress_stopping(stress *st);

/* Sleep until monotonic time t, or until the run stops. */
void ms__stress_sleep_until(stress *st, int64_t t);

/* --pin: put the calling thread on its CPUs (idx: a reader's id, or -1 for
 * the writer and the applier). */
void ms__stress_pin(stress *st, int idx);

/* How a read is served once its policy let it go ahead: from the live store
 * as it is (pinned under the family lock) or the published version, and,
 * when it waited on the gate and was woken, when the apply ended and when
 * it was out of the gate. */
typedef struct ms__stress_served {
    int live, waited;
    int64_t end_ns, released;
} ms__stress_served;

/* A decider's decision for one read (ms_stress_decide.c): -1 and *sv
 * filled when the read goes ahead, else its outcome (OUT_FAILED). cache:
 * the reader's handle on the published version. */
int ms__stress_decide(stress *st, reader *r, ms_read_op op, int64_t t0, ms_shared_reader *cache,
                      ms__stress_served *sv);

/* The writer's and the applier's threads (ms_stress_apply.c); arg: the
 * stress. */
void ms__stress_writer_main(void *arg);
void ms__stress_applier_main(void *arg);

#endif
