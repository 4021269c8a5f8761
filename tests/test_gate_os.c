/* The OS gate and the shared store under real threads: block waiters are
 * all released at the end of an apply (none lost, none left waiting),
 * per-waiter timeouts fire, fail_fast readers see the flag while it is set,
 * stale readers see the previous version and never a mix, and a version's
 * memory is reclaimed only after its last reader left. */
#include "ms_gate_os.h"
#include "ms_gen.h"
#include "ms_shared_store.h"
#include "ms_snapshot.h"
#include "ms_test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#define MS_NS(ms) ((int64_t)(ms)*1000000)

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait (bounded: 10 s) until *n > 0; 1 when it is. */
static int until_positive(atomic_int *n) {
    for (int i = 0; i < 10000 && atomic_load(n) <= 0; i++) sleep_ms(1);
    return atomic_load(n) > 0;
}

/* Wait (bounded) until n waiters are parked on g. */
static int wait_parked(ms_gate_os *g, size_t n) {
    for (int i = 0; i < 5000; i++) {
        if (ms_gate_os_stats_get(g).waiting == n) return 1;
        sleep_ms(1);
    }
    return 0;
}

typedef struct waiter {
    ms_gate_os *g;
    int64_t timeout;
    ms_gate_os_wait_rc rc;
    int64_t waited, end_ns;
} waiter;

static void waiter_main(void *arg) {
    waiter *w = arg;
    int64_t t0 = ms_gate_os_now();
    w->rc = ms_gate_os_wait(w->g, w->timeout, &w->end_ns);
    w->waited = ms_gate_os_now() - t0;
}

/* Begin an apply on g and start n waiters, waiter i with timeout[i]. */
static void start_waiters(ms_gate_os *g, waiter *w, uv_thread_t *th, const int64_t *timeout,
                          int n) {
    CHECK(ms_gate_os_begin(g) == 0);
    for (int i = 0; i < n; i++) {
        w[i] = (waiter){.g = g, .timeout = timeout[i]};
        CHECK(uv_thread_create(&th[i], waiter_main, &w[i]) == 0);
    }
}

static void test_open_gate(void) {
    ms_gate_os *g = ms_gate_os_new();
    CHECK(ms_gate_os_applying(g) == 0);
    CHECK(ms_gate_os_wait(g, MS_NS(1000), NULL) == MS_GATE_OS_OPEN);
    CHECK(ms_gate_os_end(g) == -1);
    CHECK(ms_gate_os_begin(g) == 0);
    CHECK(ms_gate_os_begin(g) == -1);
    CHECK(ms_gate_os_applying(g) == 1);
    CHECK(ms_gate_os_end(g) == 0);
    ms_gate_os_stats st = ms_gate_os_stats_get(g);
    CHECK_EQ_I64(st.applies, 1);
    CHECK_EQ_I64(st.waits, 0);
    ms_gate_os_free(g);
}

static void test_block_all_released(void) {
    enum { N = 8 };
    ms_gate_os *g = ms_gate_os_new();
    waiter w[N];
    uv_thread_t th[N];
    int64_t timeout[N];
    for (int i = 0; i < N; i++) timeout[i] = i % 2 ? -1 : MS_NS(60000);
    start_waiters(g, w, th, timeout, N);
    CHECK(wait_parked(g, N));
    int64_t before = ms_gate_os_now();
    CHECK_EQ_I64(ms_gate_os_end(g), N);
    for (int i = 0; i < N; i++) uv_thread_join(&th[i]);
    for (int i = 0; i < N; i++) {
        CHECK(w[i].rc == MS_GATE_OS_WOKEN);
        CHECK(w[i].end_ns >= before);
    }
    ms_gate_os_stats st = ms_gate_os_stats_get(g);
    CHECK_EQ_I64(st.waits, N);
    CHECK_EQ_I64(st.wakeups, N);
    CHECK_EQ_I64(st.timeouts, 0);
    CHECK_EQ_I64(st.waiting, 0);
    CHECK_EQ_I64(st.max_waiting, N);
    ms_gate_os_free(g);
}

/* Short timeouts fire while the apply lasts; long ones are woken by its
 * end. A new apply begun at once after the end does not hold the woken. */
static void test_per_waiter_timeouts(void) {
    enum { N = 6 };
    ms_gate_os *g = ms_gate_os_new();
    waiter w[N];
    uv_thread_t th[N];
    int64_t timeout[N];
    for (int i = 0; i < N; i++) timeout[i] = i < 3 ? MS_NS(20 * (i + 1)) : MS_NS(60000);
    start_waiters(g, w, th, timeout, N);
    for (int i = 0; i < 3; i++) uv_thread_join(&th[i]);
    for (int i = 0; i < 3; i++) {
        CHECK(w[i].rc == MS_GATE_OS_TIMEDOUT);
        CHECK(w[i].waited >= w[i].timeout);
    }
    CHECK(wait_parked(g, N - 3));
    CHECK_EQ_I64(ms_gate_os_end(g), N - 3);
    CHECK(ms_gate_os_begin(g) == 0); /* the next apply, straight away */
    for (int i = 3; i < N; i++) uv_thread_join(&th[i]);
    for (int i = 3; i < N; i++) CHECK(w[i].rc == MS_GATE_OS_WOKEN);
    CHECK_EQ_I64(ms_gate_os_end(g), 0);
    ms_gate_os_stats st = ms_gate_os_stats_get(g);
    CHECK_EQ_I64(st.timeouts, 3);
    CHECK_EQ_I64(st.wakeups, N - 3);
    CHECK_EQ_I64(st.waiting, 0);
    CHECK(st.longest_wait_ns >= MS_NS(60));
    ms_gate_os_free(g);
}

/* Pre-waking (ms_gate_os_soon): waiters poll for the end, keep their own
 * timeouts while polling, go back to sleep when the end is late, and are
 * all released by it; none is lost. */
static void test_soon_prewakes(void) {
    enum { N = 6 };
    ms_gate_os *g = ms_gate_os_new();
    CHECK(ms_gate_os_soon(g) == -1); /* no apply */
    waiter w[N];
    uv_thread_t th[N];
    int64_t timeout[N];
    for (int i = 0; i < N; i++) timeout[i] = i < 2 ? MS_NS(40) : i % 2 ? -1 : MS_NS(60000);
    start_waiters(g, w, th, timeout, N);
    CHECK(wait_parked(g, N));
    CHECK(ms_gate_os_soon(g) == 0);
    for (int i = 0; i < 2; i++) uv_thread_join(&th[i]);
    for (int i = 0; i < 2; i++) {
        CHECK(w[i].rc == MS_GATE_OS_TIMEDOUT);
        CHECK(w[i].waited >= w[i].timeout);
    }
    sleep_ms((int)(MS_GATE_OS_POLL_NS / 1000000) +
             10); /* past the polling bound: they sleep again */
    int64_t before = ms_gate_os_now();
    CHECK_EQ_I64(ms_gate_os_end(g), N - 2);
    for (int i = 2; i < N; i++) uv_thread_join(&th[i]);
    for (int i = 2; i < N; i++) CHECK(w[i].rc == MS_GATE_OS_WOKEN && w[i].end_ns >= before);
    /* and an end soon after the notice finds them polling */
    start_waiters(g, w, th, timeout + 2, N - 2);
    CHECK(wait_parked(g, N - 2));
    CHECK(ms_gate_os_soon(g) == 0);
    sleep_ms(1);
    CHECK_EQ_I64(ms_gate_os_end(g), N - 2);
    for (int i = 0; i < N - 2; i++) uv_thread_join(&th[i]);
    for (int i = 0; i < N - 2; i++) CHECK(w[i].rc == MS_GATE_OS_WOKEN);
    ms_gate_os_stats st = ms_gate_os_stats_get(g);
    CHECK_EQ_I64(st.timeouts, 2);
    CHECK_EQ_I64(st.wakeups, 2 * (N - 2));
    CHECK_EQ_I64(st.waiting, 0);
    ms_gate_os_free(g);
}

/* fail_fast: readers polling the flag get the error exactly while it is
 * set. A poll counts when the phase read before and after it agree: phase
 * 1 is stored after begin and left before end, phase 3 after end. */
typedef struct poller {
    ms_gate_os *g;
    atomic_int *phase; /* 0 before, 1 applying, 2 ending, 3 ended, 4 stop */
    atomic_int polls_in_apply, polls_after;
    int errors_in_apply, errors_after;
} poller;

static void poller_main(void *arg) {
    poller *p = arg;
    for (;;) {
        int ph = atomic_load(p->phase);
        if (ph == 4) break;
        int err = ms_gate_os_applying(p->g); /* fail_fast: the error */
        if (atomic_load(p->phase) != ph) continue;
        if (ph == 1) atomic_fetch_add(&p->polls_in_apply, 1), p->errors_in_apply += err;
        if (ph == 3) atomic_fetch_add(&p->polls_after, 1), p->errors_after += err;
    }
}

static void test_fail_fast_while_flag_set(void) {
    enum { N = 3 };
    ms_gate_os *g = ms_gate_os_new();
    atomic_int phase = 0;
    poller p[N];
    uv_thread_t th[N];
    for (int i = 0; i < N; i++) {
        p[i] = (poller){.g = g, .phase = &phase};
        CHECK(uv_thread_create(&th[i], poller_main, &p[i]) == 0);
    }
    CHECK(ms_gate_os_begin(g) == 0);
    atomic_store(&phase, 1);
    for (int i = 0; i < N; i++) CHECK(until_positive(&p[i].polls_in_apply));
    atomic_store(&phase, 2);
    ms_gate_os_end(g);
    atomic_store(&phase, 3);
    for (int i = 0; i < N; i++) CHECK(until_positive(&p[i].polls_after));
    atomic_store(&phase, 4);
    for (int i = 0; i < N; i++) uv_thread_join(&th[i]);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_I64(p[i].errors_in_apply, atomic_load(&p[i].polls_in_apply));
        CHECK_EQ_I64(p[i].errors_after, 0);
    }
    ms_gate_os_free(g);
}

/* --- the shared store ------------------------------------------------------ */

static ms_store *image(ms_store_mem *mem, uint64_t seed, uint64_t applied) {
    ms_gen_desc d = {.volumes = 20,
                     .data_partitions = 3000,
                     .meta_partitions = 200,
                     .nodes = 40,
                     .users = 4,
                     .applied = applied};
    ms_store *s = ms_store_new(mem);
    char err[128];
    if (ms_gen_build(s, &d, seed, NULL, err, sizeof err) != 0) fprintf(stderr, "%s\n", err);
    return s;
}

typedef struct stale_reader {
    ms_shared_store *ss;
    ms_gate_os *g;
    atomic_int *stop;
    uint64_t d_old, d_new;
    const atomic_int *published; /* set by the applier just before it publishes */
    atomic_int during;
    int mixed, after_new;
} stale_reader;

/* stale_read: while the flag is set, read the published version; its
 * digest must be the old or the new image, never anything else, and the
 * old one whenever the flag was set before the read and the new version
 * was not yet being published after it. (The applier publishes before it
 * clears the flag, so a read between the two sees the whole new image with
 * the flag set: that is not a mix.) */
static void stale_main(void *arg) {
    stale_reader *r = arg;
    ms_shared_reader cache = {0};
    /* until stopped, and at least one read after the apply (ctest's
     * timeout bounds a reader that never sees the new version) */
    while (!atomic_load(r->stop) || r->after_new == 0) {
        int before = ms_gate_os_applying(r->g);
        uint64_t d = ms_version_digest(ms_shared_reader_get(r->ss, &cache));
        int after = ms_gate_os_applying(r->g) && !atomic_load(r->published);
        if (d != r->d_old && d != r->d_new) r->mixed++;
        if (before && after) atomic_fetch_add(&r->during, 1), r->mixed += d != r->d_old;
        if (!before && !after && d == r->d_new) r->after_new++;
    }
    ms_shared_reader_drop(r->ss, &cache);
}

/* Apply frames of `src` into ss's live store in mode m, a frame per lock;
 * after the first data frame, wait until *hold[0..nhold) are all positive
 * (the readers saw what the test looks for). *published (when not NULL) is
 * set just before the new version is published. */
static void apply(ms_shared_store *ss, ms_gate_os *g, ms_version *src, ms_snap_mode m,
                  atomic_int *const *hold, int nhold, atomic_int *published) {
    char err[200];
    ms_snap_exp *e = ms_snap_export_begin(src, NULL);
    ms_gate_os_begin(g);
    ms_shared_store_lock(ss);
    ms_snap_imp *imp = ms_snap_import_begin(ms_shared_store_live(ss), m);
    ms_shared_store_unlock(ss);
    const void *f;
    size_t len;
    while (ms_snap_export_next(e, &f, &len, err, sizeof err) == 1) {
        ms_shared_store_lock(ss);
        CHECK(ms_snap_import_chunk(imp, f, len, err, sizeof err) == 0);
        ms_shared_store_unlock(ss);
        if (ms_snap_import_progress(imp).entries > 0)
            for (; nhold > 0; nhold--, hold++) CHECK(until_positive(*hold));
    }
    ms_shared_store_lock(ss);
    CHECK(ms_snap_import_finish(imp, err, sizeof err) == 0);
    if (published) atomic_store(published, 1);
    CHECK(ms_shared_store_publish(ss) == 0);
    ms_shared_store_unlock(ss);
    ms_gate_os_end(g);
    ms_snap_export_end(e);
}

static void test_stale_read_never_a_mix(void) {
    enum { N = 2 };
    ms_store_mem mem = {0};
    ms_store *next = image(&mem, 2, 500);
    ms_version *src = ms_store_snapshot(next);
    ms_store_free(next);
    ms_shared_store *ss = ms_shared_store_new(image(&mem, 1, 10));
    ms_gate_os *g = ms_gate_os_new();
    atomic_int stop = 0, published = 0;
    stale_reader r[N];
    uv_thread_t th[N];
    ms_shared_store_lock(ss);
    uint64_t d_old = ms_store_digest(ms_shared_store_live(ss));
    ms_shared_store_unlock(ss);
    for (int i = 0; i < N; i++) {
        r[i] = (stale_reader){
            .ss = ss, .g = g, .stop = &stop, .published = &published, .d_old = d_old};
        r[i].d_new = ms_version_digest(src);
        CHECK(uv_thread_create(&th[i], stale_main, &r[i]) == 0);
    }
    atomic_int *hold[N];
    for (int i = 0; i < N; i++) hold[i] = &r[i].during;
    apply(ss, g, src, MS_SNAP_ASIDE, hold, N, &published);
    atomic_store(&stop, 1);
    for (int i = 0; i < N; i++) uv_thread_join(&th[i]);
    for (int i = 0; i < N; i++) {
        CHECK_EQ_I64(r[i].mixed, 0);
        CHECK(r[i].after_new > 0);
    }
    ms_shared_store_lock(ss);
    ms_version_release(src);
    ms_shared_store_unlock(ss);
    ms_shared_store_free(ss);
    ms_gate_os_free(g);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* The live store pinned per access during an inplace apply is half-loaded:
 * the mix that the gate and the aside mode exist to prevent. */
typedef struct live_reader {
    ms_shared_store *ss;
    atomic_int *stop;
    uint64_t d_old, d_new;
    atomic_int mixed;
} live_reader;

static void live_main(void *arg) {
    live_reader *r = arg;
    while (!atomic_load(r->stop)) {
        ms_version *v = ms_shared_store_pin_live(r->ss);
        uint64_t d = ms_version_digest(v);
        ms_shared_store_unpin(r->ss, v);
        if (d != r->d_old && d != r->d_new) atomic_fetch_add(&r->mixed, 1);
    }
}

static void test_inplace_live_reads_see_a_mix(void) {
    ms_store_mem mem = {0};
    ms_store *next = image(&mem, 2, 500);
    ms_version *src = ms_store_snapshot(next);
    ms_store_free(next);
    ms_shared_store *ss = ms_shared_store_new(image(&mem, 1, 10));
    ms_gate_os *g = ms_gate_os_new();
    atomic_int stop = 0;
    ms_shared_store_lock(ss);
    live_reader r = {.ss = ss,
                     .stop = &stop,
                     .d_old = ms_store_digest(ms_shared_store_live(ss)),
                     .d_new = ms_version_digest(src)};
    ms_shared_store_unlock(ss);
    uv_thread_t th;
    CHECK(uv_thread_create(&th, live_main, &r) == 0);
    atomic_int *hold = &r.mixed;
    apply(ss, g, src, MS_SNAP_INPLACE, &hold, 1, NULL);
    atomic_store(&stop, 1);
    uv_thread_join(&th);
    CHECK(atomic_load(&r.mixed) > 0);
    ms_shared_store_lock(ss);
    ms_version_release(src);
    ms_shared_store_unlock(ss);
    ms_shared_store_free(ss);
    ms_gate_os_free(g);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

/* A published version replaced while a reader holds it stays readable and
 * in memory; it is reclaimed at the first family lock after its release. */
static void test_reclaimed_after_last_reader(void) {
    ms_store_mem mem = {0};
    ms_shared_store *ss = ms_shared_store_new(image(&mem, 1, 10));
    ms_shared_ver *h = ms_shared_store_acquire(ss);
    uint64_t d = ms_version_digest(ms_shared_ver_version(h));
    ms_shared_store_lock(ss);
    ms_store_clear(ms_shared_store_live(ss));
    CHECK(ms_shared_store_publish(ss) == 0);
    uint64_t seq = ms_shared_store_seq(ss);
    CHECK_EQ_I64(ms_shared_store_reclaimed(ss), 0);
    ms_shared_store_unlock(ss);
    int64_t held = mem.bytes_in_use;
    CHECK(held > 100000);
    CHECK(ms_shared_ver_seq(h) + 1 == seq);
    CHECK(ms_version_digest(ms_shared_ver_version(h)) == d);
    ms_shared_store_release(ss, h);
    CHECK_EQ_I64(mem.bytes_in_use, held); /* retired, not yet released */
    ms_shared_store_lock(ss);
    CHECK_EQ_I64(ms_shared_store_reclaimed(ss), 1);
    ms_shared_store_unlock(ss);
    CHECK(mem.bytes_in_use < 1000);
    ms_shared_store_free(ss);
    CHECK_EQ_I64(mem.bytes_in_use, 0);
}

int main(void) {
    RUN(test_open_gate);
    RUN(test_block_all_released);
    RUN(test_per_waiter_timeouts);
    RUN(test_soon_prewakes);
    RUN(test_fail_fast_while_flag_set);
    RUN(test_stale_read_never_a_mix);
    RUN(test_inplace_live_reads_see_a_mix);
    RUN(test_reclaimed_after_last_reader);
    return ms_test_end();
}
