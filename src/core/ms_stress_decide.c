/* The stress harness's reads decided by an outside policy (ms_stress_decider:
 * the binding's Lua policies, one Lua state per reader thread): the
 * decider is asked while the gate's flag is set (on every read with
 * every_read), and asked again after each wait, with the time waited and
 * whether the apply still runs, as the simulator re-consults a policy on
 * wake-up or timeout. */
#include "ms_stress_impl.h"

/* The index the published version reflects (what a read of it sees). */
static uint64_t published_index(stress *st, ms_shared_reader *cache) {
    return ms_version_applied(ms_shared_reader_get(st->ss, cache));
}

int ms__stress_decide(stress *st, reader *r, ms_read_op op, int64_t t0, ms_shared_reader *cache,
                      ms__stress_served *sv) {
    const ms_stress_decider *dc = st->c.decider;
    ms_stress_view v = {.reader = r->id, .op = ms_ops_op_name(op), .keys = st->keys};
    v.arrived = (double)(t0 - st->t_start) * 1e-9;
    for (int asked = 0;; asked++) {
        int applying = ms_gate_os_applying(st->gate);
        /* the fast path: one load; after a wait, asked again whatever the flag */
        if (!applying && !dc->every_read && !asked) break;
        v.applying = applying;
        v.commit = atomic_load_explicit(&st->commit, memory_order_acquire);
        v.applied = published_index(st, cache);
        v.stale_index = applying ? v.applied : 0;
        v.waiters = ms_gate_os_stats_get(st->gate).waiting;
        v.waited = (double)(ms_gate_os_now() - t0) * 1e-9;
        ms_stress_dec dec = MS_STRESS_DEC_SERVE;
        double wait_s = 0;
        char err[256] = "";
        if (dc->decide(r->dctx, &v, &dec, &wait_s, err, sizeof err) != 0) {
            ms__stress_fail(st, "the policy", err);
            return OUT_FAILED;
        }
        if (dec == MS_STRESS_DEC_FAIL) { /* after a wait that timed out: a timeout */
            if (v.wakeups || v.timed_out) ms_hist_record(r->blocked, ms_gate_os_now() - t0);
            return v.timed_out ? OUT_TIMEDOUT : OUT_FAILED;
        }
        if (dec == MS_STRESS_DEC_STALE) return -1; /* the published version */
        if (dec == MS_STRESS_DEC_SERVE) {
            sv->live = applying;
            return -1;
        }
        if (!applying) break; /* a wait with nothing to wait for: served */
        int64_t ns = wait_s >= 9.2e9 ? -1 : (int64_t)(wait_s * 1e9);
        ms_gate_os_wait_rc rc = ms_gate_os_wait(st->gate, ns, &sv->end_ns);
        if (rc == MS_GATE_OS_WOKEN) {
            v.wakeups++;
            sv->waited = 1;
            sv->released = ms_gate_os_now();
        } else if (rc == MS_GATE_OS_TIMEDOUT) {
            v.timed_out = 1;
        }
    }
    return -1;
}
