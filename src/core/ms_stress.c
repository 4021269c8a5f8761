/* The stress harness: setup, the readers, teardown (the writer and the
 * applier: ms_stress_apply.c).
 *
 * Locks, outermost first: raft (the writer and the applier, one raft apply
 * loop), the shared store's family lock, its publish rwlock; the gate's
 * mutex is never held with another. Readers take only the publish rwlock's
 * read side (rarely: when the published version changed), the gate's
 * mutex (when they wait) and, for unguarded, the family lock. */
#define _GNU_SOURCE /* sched_setaffinity and CPU_SET, for pin */
#include "ms_stress_impl.h"

#include "ms_gen.h"
#include "ms_ops.h"
#include "ms_rng.h"
#include "ms_shared_store.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

static const char *const policy_names[MS_STRESS_POLICY_COUNT] = {
    "block", "fail_fast", "stale_read", "unguarded", "none",
};

/* The read mix (ms_read_op order). */
static const double op_weights[MS_OP_COUNT] = {20, 2, 5, 40, 25, 7, 1};

const char *ms_stress_policy_name(ms_stress_policy p) {
    return (unsigned)p < MS_STRESS_POLICY_COUNT ? policy_names[p] : NULL;
}

int ms_stress_policy_parse(const char *name, ms_stress_policy *p) {
    for (int i = 0; i < MS_STRESS_POLICY_COUNT; i++)
        if (strcmp(name, policy_names[i]) == 0) {
            *p = (ms_stress_policy)i;
            return 0;
        }
    return -1;
}

void ms_stress_defaults(ms_stress_config *c) {
    *c = (ms_stress_config){.policy = MS_STRESS_BLOCK,
                            .mode = MS_SNAP_INPLACE,
                            .readers = 2,
                            .keys = 100000,
                            .duration_ns = INT64_C(2000000000),
                            .apply_every_ns = INT64_C(200000000),
                            .write_every_ns = INT64_C(1000000),
                            .timeout_ns = INT64_C(1000000000),
                            .seed = 1};
}

/* Record a thread's failure (the first one wins) and stop the run. */
void ms__stress_fail(stress *st, const char *what, const char *detail) {
    if (atomic_exchange(&st->failed, 1) == 0)
        snprintf(st->err, sizeof st->err, "ms_stress: %s%s%s", what, detail ? ": " : "",
                 detail ? detail : "");
    atomic_store(&st->stop, 1);
}

int ms__stress_stopping(stress *st) {
    return atomic_load_explicit(&st->stop, memory_order_relaxed);
}

/* Sleep until monotonic time t, in slices of at most 20 ms so that a stop
 * is seen soon. Not much shorter: the main thread and the applier sleep
 * here for most of a run, and each slice is a wake-up competing with the
 * readers for the CPUs (2 ms slices were 500 a second per thread). */
void ms__stress_sleep_until(stress *st, int64_t t) {
    for (;;) {
        int64_t left = t - ms_gate_os_now();
        if (left <= 0 || ms__stress_stopping(st)) return;
        if (left > 20000000) left = 20000000;
        struct timespec ts = {0, (long)left};
        nanosleep(&ts, NULL);
    }
}

/* --- readers ------------------------------------------------------------- */

/* CPU time of the calling thread, in nanoseconds. */
static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pick(stress *st, ms_rng *rng, ms_read_op *op, uint64_t *a, uint64_t *b) {
    *op = (ms_read_op)ms_rng_weighted(rng, op_weights, MS_OP_COUNT);
    const ms_gen_desc *d = &st->desc;
    *a = *op == MS_OP_GET_NODE ? d->volumes + 1 + ms_rng_below(rng, st->dn + st->mn)
                               : 1 + ms_rng_below(rng, d->volumes);
    *b = 1 + ms_rng_below(rng, d->data_partitions);
}

static int classify(const ms_read_result *res, uint64_t commit) {
    if (res->verdict == MS_READ_TORN || res->verdict == MS_READ_CRASH ||
        res->verdict == MS_READ_UNUSABLE)
        return OUT_TORN;
    return res->applied >= commit ? OUT_FRESH : OUT_STALE;
}

/* Record t - end_ns in per_waiter, and in first when this is the first
 * such event of the apply that ended at end_ns (one CAS winner per apply,
 * *last holding the end time of the last apply already counted). */
static void note_wake(atomic_int_fast64_t *last, ms_hist *per_waiter, ms_hist *first,
                      int64_t end_ns, int64_t t) {
    ms_hist_record(per_waiter, t - end_ns);
    int_fast64_t prev = atomic_load(last);
    while (prev < end_ns)
        if (atomic_compare_exchange_weak(last, &prev, end_ns)) {
            ms_hist_record(first, t - end_ns);
            break;
        }
}

/* ab_phase_ns: the kind of phase at t (0 gated, 1 not); on a change, the
 * CPU time since the last one goes to the phase that ended. */
static int ab_phase(stress *st, reader *r, int64_t t) {
    int phase = (int)(((t - st->t_start) / st->c.ab_phase_ns) & 1);
    if (phase != r->phase) {
        int64_t cpu = thread_cpu_ns();
        r->ab_cpu_ns[r->phase] += cpu - r->phase_cpu0;
        r->phase_cpu0 = cpu;
        r->phase = phase;
    }
    r->ab_reads[phase]++;
    return phase;
}

/* The built-in policies' decision (ms__stress_decide is the decider's):
 * -1 and *sv filled when the read goes ahead, else its outcome. */
static int builtin_decide(stress *st, reader *r, int64_t t0, ms__stress_served *sv) {
    int gated = st->gate != NULL && (st->c.ab_phase_ns == 0 || ab_phase(st, r, t0) == 0);
    if (gated && ms_gate_os_applying(st->gate)) { /* the fast path: one load */
        if (st->c.policy == MS_STRESS_FAIL_FAST) return OUT_FAILED;
        if (st->c.policy == MS_STRESS_BLOCK) {
            ms_gate_os_wait_rc rc = ms_gate_os_wait(st->gate, st->c.timeout_ns, &sv->end_ns);
            if (rc == MS_GATE_OS_TIMEDOUT) {
                ms_hist_record(r->blocked, ms_gate_os_now() - t0);
                return OUT_TIMEDOUT;
            }
            sv->waited = rc == MS_GATE_OS_WOKEN;
            sv->released = ms_gate_os_now();
        }
        /* stale_read: the published version is still the previous one */
    }
    sv->live = st->c.policy == MS_STRESS_UNGUARDED;
    return -1;
}

/* One read under the policy; returns its outcome. */
static int read_once(stress *st, reader *r, ms_shared_reader *cache, ms_rng *rng) {
    ms_read_op op;
    uint64_t a, b;
    pick(st, rng, &op, &a, &b);
    int64_t t0 = ms_gate_os_now();
    uint64_t commit = atomic_load_explicit(&st->commit, memory_order_acquire);
    ms__stress_served sv = {0};
    int early = st->c.decider ? ms__stress_decide(st, r, op, t0, cache, &sv)
                              : builtin_decide(st, r, t0, &sv);
    if (early >= 0) return early;
    ms_read_result res;
    if (sv.live) {
        ms_version *v = ms_shared_store_pin_live(st->ss);
        if (v == NULL) {
            ms__stress_fail(st, "out of memory pinning the live store", NULL);
            return OUT_FAILED;
        }
        ms_view w = ms_version_view(v);
        res = ms_ops_run(&w, op, a, b);
        ms_shared_store_unpin(st->ss, v);
    } else {
        ms_view w = ms_version_view(ms_shared_reader_get(st->ss, cache));
        res = ms_ops_run(&w, op, a, b);
    }
    int64_t t1 = ms_gate_os_now();
    ms_hist_record(sv.waited ? r->blocked : r->fast, t1 - t0);
    /* Two wake-up latencies, from the end of the apply. Release (to the
     * reader out of the gate) is the wake-up latency: what the
     * gate and the scheduler owe a waiter, the span the gate-only
     * benchmark measures. End to end (to its read served) adds the read
     * itself, the first on a freshly imported tree and so cache-cold; it
     * is what a client sees, so it is kept beside. */
    if (sv.waited) {
        note_wake(&st->last_release, r->release, r->release_first, sv.end_ns, sv.released);
        note_wake(&st->last_first, r->wake, r->first, sv.end_ns, t1);
    }
    return classify(&res, commit);
}

/* pin: each reader runs on a CPU of its own (round robin over the CPUs the
 * process may use), so that readers woken together are not queued on one
 * CPU while another idles (Linux moves a queued thread to an idle CPU only
 * at the next balancing tick, milliseconds later); the writer and the
 * applier run on the CPUs left over, when there are any, so that a burst of
 * theirs (the writer frees a replaced tree: tens of milliseconds at 1M
 * keys) does not share a reader's CPU. idx: the reader's id, or -1 for the
 * writer and the applier. */
void ms__stress_pin(stress *st, int idx) {
#ifdef __linux__
    cpu_set_t allowed, set;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
    int n = CPU_COUNT(&allowed), k = 0, readers = (int)st->c.readers;
    if (n <= 0) return;
    CPU_ZERO(&set);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (idx >= 0 ? k == idx % n : k >= readers) CPU_SET(cpu, &set);
        k++;
    }
    if (CPU_COUNT(&set) == 0) return; /* no CPU left over for the writer and applier */
    if (sched_setaffinity(0, sizeof set, &set) != 0) ms__stress_fail(st, "pinning a thread", NULL);
#else
    (void)idx;
    ms__stress_fail(st, "pinning threads is supported on Linux only", NULL);
#endif
}

static void reader_main(void *arg) {
    reader *r = arg;
    stress *st = r->st;
    if (st->c.pin) ms__stress_pin(st, (int)r->id);
    char name[32];
    snprintf(name, sizeof name, "stress-reader-%u", r->id);
    ms_rng rng;
    ms_rng_init(&rng, st->c.seed, name);
    ms_shared_reader cache = {0};
    const ms_stress_decider *dc = st->c.decider;
    if (dc) { /* the decider's state of this thread, made on it (a Lua state) */
        char err[256] = "";
        r->dctx = dc->open(dc->ud, r->id, err, sizeof err);
        if (r->dctx == NULL) {
            ms__stress_fail(st, "the policy", err);
            return;
        }
    }
    int64_t cpu0 = thread_cpu_ns();
    r->phase_cpu0 = cpu0;
    while (!ms__stress_stopping(st)) r->n[read_once(st, r, &cache, &rng)]++;
    int64_t cpu1 = thread_cpu_ns();
    r->cpu_ns = cpu1 - cpu0;
    r->ab_cpu_ns[r->phase] += cpu1 - r->phase_cpu0;
    ms_shared_reader_drop(st->ss, &cache);
    if (dc) dc->close(r->dctx);
}

/* --- setup and teardown ---------------------------------------------------- */

/* An image of about k keys: vols k/1000, meta partitions k/20, nodes
 * k/200, users vols/4, the rest data partitions. */
static void desc_for(stress *st, uint64_t k) {
    ms_gen_desc *d = &st->desc;
    memset(d, 0, sizeof *d);
    d->volumes = k / 1000 ? k / 1000 : 1;
    d->meta_partitions = k / 20 > d->volumes ? k / 20 : d->volumes;
    d->nodes = k / 200 > 6 ? k / 200 : 6;
    d->users = d->volumes / 4 ? d->volumes / 4 : 1;
    uint64_t other = d->volumes + d->meta_partitions + d->nodes + d->users + 5;
    d->data_partitions = k > other + d->volumes ? k - other : d->volumes;
    d->applied = 1;
    st->dn = (d->nodes + 1) / 2;
    st->mn = d->nodes - st->dn;
}

static int check_config(const ms_stress_config *c, char *err, size_t errlen) {
    const char *why = NULL;
    if ((unsigned)c->policy >= MS_STRESS_POLICY_COUNT)
        why = "unknown policy";
    else if (c->mode != MS_SNAP_INPLACE && c->mode != MS_SNAP_ASIDE)
        why = "mode must be inplace or aside";
    else if (c->policy == MS_STRESS_STALE_READ && c->mode != MS_SNAP_ASIDE)
        why = "policy stale_read needs mode aside (an inplace apply keeps no previous version)";
    else if (c->readers < 1 || c->readers > MS_STRESS_MAX_READERS)
        why = "readers must be 1..64";
    else if (c->keys < 100 || c->keys > UINT64_C(100000000))
        why = "keys must be 100..100000000";
    else if (c->duration_ns <= 0)
        why = "duration must be positive";
    else if (c->apply_every_ns < 0 || c->write_every_ns < 0)
        why = "apply_every and write_every must not be negative";
    else if (c->ab_phase_ns < 0 ||
             (c->ab_phase_ns > 0 && (c->policy != MS_STRESS_BLOCK || c->decider)))
        why = "ab_phase must not be negative, and needs policy block";
    else if (c->decider && (!c->decider->open || !c->decider->decide || !c->decider->close))
        why = "a decider needs open, decide and close";
    if (why) snprintf(err, errlen, "ms_stress: %s", why);
    return why ? -1 : 0;
}

/* Free everything st holds (threads joined); hists moved to r are NULL. */
static void stress_free(stress *st) {
    ms_shared_store_free(st->ss);
    ms_gate_os_free(st->gate);
    for (unsigned i = 0; i < MS_STRESS_MAX_READERS; i++) {
        reader *r = &st->rd[i];
        ms_hist_free(r->fast), ms_hist_free(r->blocked);
        ms_hist_free(r->wake), ms_hist_free(r->first);
        ms_hist_free(r->release), ms_hist_free(r->release_first);
    }
    ms_hist_free(st->apply);
    uv_mutex_destroy(&st->raft);
    free(st);
}

static int setup(stress *st, uint64_t *keys, char *err, size_t errlen) {
    desc_for(st, st->c.keys);
    ms_store *s = ms_store_new(&st->mem);
    ms_gen_stats gs;
    if (s == NULL || ms_gen_build(s, &st->desc, st->c.seed, &gs, err, errlen) != 0) {
        if (s == NULL) snprintf(err, errlen, "ms_stress: out of memory");
        ms_store_free(s);
        return -1;
    }
    *keys = st->keys = gs.keys;
    st->ss = ms_shared_store_new(s);
    if (st->ss == NULL) ms_store_free(s);
    int gated =
        st->c.decider || (st->c.policy != MS_STRESS_UNGUARDED && st->c.policy != MS_STRESS_NONE);
    if (gated) st->gate = ms_gate_os_new();
    st->apply = ms_hist_new();
    int ok = st->ss && (!gated || st->gate) && st->apply;
    for (unsigned i = 0; i < st->c.readers && ok; i++) {
        reader *r = &st->rd[i];
        *r = (reader){.st = st, .id = i};
        r->fast = ms_hist_new(), r->blocked = ms_hist_new();
        r->wake = ms_hist_new(), r->first = ms_hist_new();
        r->release = ms_hist_new(), r->release_first = ms_hist_new();
        ok = r->fast && r->blocked && r->wake && r->first && r->release && r->release_first;
    }
    st->index = st->desc.applied;
    atomic_init(&st->commit, st->index);
    if (!ok) snprintf(err, errlen, "ms_stress: out of memory");
    return ok ? 0 : -1;
}

static void collect(stress *st, ms_stress_result *r) {
    r->fast = ms_hist_new(), r->blocked = ms_hist_new();
    r->wake = ms_hist_new(), r->first = ms_hist_new();
    r->release = ms_hist_new(), r->release_first = ms_hist_new();
    r->apply = st->apply;
    st->apply = NULL;
    for (unsigned i = 0; i < st->c.readers; i++) {
        reader *rd = &st->rd[i];
        r->fresh += rd->n[OUT_FRESH], r->stale += rd->n[OUT_STALE], r->torn += rd->n[OUT_TORN];
        r->failed += rd->n[OUT_FAILED], r->timed_out += rd->n[OUT_TIMEDOUT];
        r->reader_cpu_s += (double)rd->cpu_ns * 1e-9;
        for (int k = 0; k < 2; k++) {
            r->ab_reads[k] += rd->ab_reads[k];
            r->ab_cpu_s[k] += (double)rd->ab_cpu_ns[k] * 1e-9;
        }
        if (r->fast) ms_hist_merge(r->fast, rd->fast);
        if (r->blocked) ms_hist_merge(r->blocked, rd->blocked);
        if (r->wake) ms_hist_merge(r->wake, rd->wake);
        if (r->first) ms_hist_merge(r->first, rd->first);
        if (r->release) ms_hist_merge(r->release, rd->release);
        if (r->release_first) ms_hist_merge(r->release_first, rd->release_first);
    }
    r->reads = r->fresh + r->stale + r->torn + r->failed + r->timed_out;
    r->reads_per_s = r->seconds > 0 ? (double)r->reads / r->seconds : 0;
    r->served_per_s = r->seconds > 0 ? (double)(r->fresh + r->stale + r->torn) / r->seconds : 0;
    r->writes = st->writes;
    r->applies = st->applies;
    if (st->gate) r->gate = ms_gate_os_stats_get(st->gate);
    ms_shared_store_lock(st->ss);
    r->reclaimed = ms_shared_store_reclaimed(st->ss);
    ms_shared_store_unlock(st->ss);
}

/* The run itself, on the calling thread: setup, the threads for the
 * duration (or until a stop), teardown. Leaves st to the caller to free:
 * a SIGINT callback may still look at it. */
static int run(stress *st, ms_stress_result *r, char *err, size_t errlen) {
    const ms_stress_config *c = &st->c;
    if (setup(st, &r->keys, err, errlen) != 0) return -1;
    uv_thread_t wth, ath;
    int64_t t0 = ms_gate_os_now();
    st->t_start = t0;
    unsigned started = 0;
    while (started < c->readers &&
           uv_thread_create(&st->rd[started].th, reader_main, &st->rd[started]) == 0)
        started++;
    int ok = started == c->readers;
    int wok =
        ok && c->write_every_ns > 0 && uv_thread_create(&wth, ms__stress_writer_main, st) == 0;
    int aok =
        ok && c->apply_every_ns > 0 && uv_thread_create(&ath, ms__stress_applier_main, st) == 0;
    if (!ok) ms__stress_fail(st, "cannot start a thread", NULL);
    ms__stress_sleep_until(st, t0 + c->duration_ns);
    r->interrupted = atomic_load(&st->interrupted) > 0;
    atomic_store(&st->stop, 1);
    r->seconds = (double)(ms_gate_os_now() - t0) * 1e-9;
    for (unsigned i = 0; i < started; i++) uv_thread_join(&st->rd[i].th);
    if (wok) uv_thread_join(&wth);
    if (aok) uv_thread_join(&ath);
    int rc = atomic_load(&st->failed) ? -1 : 0;
    if (rc == 0)
        collect(st, r);
    else
        snprintf(err, errlen, "%s", st->err);
    ms_shared_store_free(st->ss);
    st->ss = NULL;
    r->leaked_bytes = st->mem.bytes_in_use;
    return rc;
}

/* --- SIGINT: the run on a thread of its own, a libuv loop on this one ----- */

typedef struct runner {
    stress *st;
    ms_stress_result *r;
    char *err;
    size_t errlen;
    int rc;
    uv_async_t done;
    uv_signal_t sigint;
} runner;

static void runner_main(void *arg) {
    runner *x = arg;
    x->rc = run(x->st, x->r, x->err, x->errlen);
    uv_async_send(&x->done);
}

static void on_done(uv_async_t *h) {
    uv_stop(h->loop);
}

/* The first SIGINT stops the run; a second one, while the setup (which
 * cannot stop half-way) goes on, ends the process as SIGINT does. */
static void on_sigint(uv_signal_t *h, int signum) {
    runner *x = h->data;
    if (atomic_fetch_add(&x->st->interrupted, 1) > 0) {
        uv_signal_stop(h);
        signal(signum, SIG_DFL);
        raise(signum);
        return;
    }
    atomic_store(&x->st->stop, 1);
}

static void on_closed(uv_handle_t *h) {
    (void)h;
}

/* run() with SIGINT caught; the plain run when libuv cannot set it up. */
static int run_catching_sigint(stress *st, ms_stress_result *r, char *err, size_t errlen) {
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) return run(st, r, err, errlen);
    runner x = {.st = st, .r = r, .err = err, .errlen = errlen};
    uv_thread_t th;
    uv_async_init(&loop, &x.done, on_done);
    uv_signal_init(&loop, &x.sigint);
    x.sigint.data = &x;
    int started = uv_signal_start(&x.sigint, on_sigint, SIGINT) == 0 &&
                  uv_thread_create(&th, runner_main, &x) == 0;
    if (started) {
        uv_run(&loop, UV_RUN_DEFAULT); /* until on_done */
        uv_thread_join(&th);
    }
    uv_signal_stop(&x.sigint);
    uv_close((uv_handle_t *)&x.done, on_closed);
    uv_close((uv_handle_t *)&x.sigint, on_closed);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return started ? x.rc : run(st, r, err, errlen);
}

int ms_stress_run(const ms_stress_config *c, ms_stress_result *r, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    if (check_config(c, err, errlen) != 0) return -1;
    stress *st = calloc(1, sizeof *st);
    if (st == NULL || uv_mutex_init(&st->raft) != 0) {
        free(st);
        return snprintf(err, errlen, "ms_stress: out of memory"), -1;
    }
    st->c = *c;
    int rc = c->handle_sigint ? run_catching_sigint(st, r, err, errlen) : run(st, r, err, errlen);
    stress_free(st);
    return rc;
}

void ms_stress_result_free(ms_stress_result *r) {
    ms_hist_free(r->fast), ms_hist_free(r->blocked), ms_hist_free(r->apply);
    ms_hist_free(r->wake), ms_hist_free(r->first);
    ms_hist_free(r->release), ms_hist_free(r->release_first);
    r->fast = r->blocked = r->apply = r->wake = r->first = NULL;
    r->release = r->release_first = NULL;
}
