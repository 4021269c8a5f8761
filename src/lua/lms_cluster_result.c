/* A run's metrics as a Lua table (the runner shapes the result JSON from
 * it). Latencies are in seconds; index staleness is a count of entries. */
#include "lms_cluster.h"

#include "ms_check.h"
#include "ms_digest.h"
#include "ms_metrics.h"
#include "ms_snapshot.h"

#include <stdlib.h>

/* Push a histogram summary; values are multiplied by scale. */
static void push_hist(lua_State *L, const ms_hist *h, double scale) {
    lua_createtable(L, 0, 9);
    lms_setint(L, "count", ms_hist_count(h));
    lms_setnum(L, "mean", ms_hist_mean(h) * scale);
    lms_setnum(L, "min", (double)ms_hist_min(h) * scale);
    lms_setnum(L, "max", (double)ms_hist_max(h) * scale);
    lms_setnum(L, "p50", (double)ms_hist_percentile(h, 50) * scale);
    lms_setnum(L, "p90", (double)ms_hist_percentile(h, 90) * scale);
    lms_setnum(L, "p99", (double)ms_hist_percentile(h, 99) * scale);
    lms_setnum(L, "p999", (double)ms_hist_percentile(h, 99.9) * scale);
    size_t n = ms_hist_buckets(h, NULL, 0);
    ms_hist_bucket *b = n ? malloc(n * sizeof *b) : NULL;
    if (n && !b) n = 0;
    if (b) ms_hist_buckets(h, b, n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lms_setnum(L, "lo", (double)b[i].lo * scale);
        lms_setnum(L, "hi", (double)b[i].hi * scale);
        lms_setint(L, "count", b[i].count);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(b);
    lua_setfield(L, -2, "buckets");
}

static void push_outcomes(lua_State *L, const uint64_t *o) {
    lua_createtable(L, 0, MS_OUT_COUNT);
    for (int i = 0; i < MS_OUT_COUNT; i++)
        lms_setint(L, ms_outcome_name((ms_outcome)i), (int64_t)o[i]);
}

static void push_timeline(lua_State *L, const ms_metrics *m) {
    lua_createtable(L, 0, 2);
    lms_setnum(L, "bucket_s", (double)m->bucket / 1e9);
    lua_createtable(L, (int)m->ntl, 0);
    for (size_t i = 0; i < m->ntl; i++) {
        const ms_timeline_bucket *b = &m->tl[i];
        lua_createtable(L, 0, 9);
        lms_setnum(L, "t", (double)((int64_t)i * m->bucket) / 1e9);
        lms_setint(L, "arrivals", (int64_t)b->arrivals);
        for (int o = 0; o < MS_OUT_COUNT; o++)
            lms_setint(L, ms_outcome_name((ms_outcome)o), (int64_t)b->outcomes[o]);
        lms_setnum(L, "p99", (double)ms_metrics_bucket_p99(b) / 1e9);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "buckets");
}

/* intervals: {node=, start=, finish=, <kind_key>=name} (finish = -1: open) */
static void push_intervals(lua_State *L, const ms_interval_list *l, int phases) {
    lua_createtable(L, (int)l->n, 0);
    for (size_t i = 0; i < l->n; i++) {
        const ms_interval *v = &l->v[i];
        lua_createtable(L, 0, 4);
        lms_setint(L, "node", v->node + 1);
        lms_setnum(L, "start", (double)v->start / 1e9);
        lms_setnum(L, "finish", v->finish < 0 ? -1 : (double)v->finish / 1e9);
        lua_pushstring(L, phases ? ms_phase_name((ms_phase)v->kind)
                                 : ms_snap_mode_name((ms_snap_mode)v->kind));
        lua_setfield(L, -2, phases ? "phase" : "mode");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void push_reads(lua_State *L, const ms_metrics *m) {
    lms_setint(L, "logical", (int64_t)m->logical);
    lms_setint(L, "attempts", (int64_t)m->attempts);
    lms_setint(L, "retries", (int64_t)m->retries);
    lms_setint(L, "redirects", (int64_t)m->redirects);
    lms_setint(L, "policy_calls", (int64_t)m->policy_calls);
    lms_setint(L, "read_crashes", (int64_t)m->read_crashes);
    lms_setint(L, "monotonic_regressions", (int64_t)m->monotonic_regressions);
    lms_setnum(L, "wait_max", (double)m->wait_max / 1e9);
    push_outcomes(L, m->outcomes);
    lua_setfield(L, -2, "outcomes");
    push_outcomes(L, m->attempt_outcomes);
    lua_setfield(L, -2, "attempt_outcomes");
    lua_createtable(L, 0, m->ncodes);
    for (int i = 0; i < m->ncodes; i++) lms_setint(L, m->code_name[i], (int64_t)m->code_count[i]);
    lua_setfield(L, -2, "failed_by_code");
    lua_createtable(L, 0, MS_OP_COUNT);
    for (int op = 0; op < MS_OP_COUNT; op++) {
        if (m->op_logical[op] == 0) continue;
        lua_createtable(L, 0, 2);
        lms_setint(L, "logical", (int64_t)m->op_logical[op]);
        push_outcomes(L, m->op_outcomes[op]);
        lua_setfield(L, -2, "outcomes");
        lua_setfield(L, -2, ms_ops_op_name((ms_read_op)op));
    }
    lua_setfield(L, -2, "by_op");
    lua_createtable(L, 0, 3);
    push_hist(L, ms_metrics_lat_all(m), 1e-9);
    lua_setfield(L, -2, "all");
    push_hist(L, m->lat_apply, 1e-9);
    lua_setfield(L, -2, "during_apply");
    push_hist(L, m->lat_other, 1e-9);
    lua_setfield(L, -2, "other");
    lua_setfield(L, -2, "latency");
    push_hist(L, m->wait, 1e-9);
    lua_setfield(L, -2, "wait");
    lua_createtable(L, 0, 2);
    push_hist(L, m->stale_index, 1);
    lua_setfield(L, -2, "index");
    push_hist(L, m->stale_time, 1e-9);
    lua_setfield(L, -2, "time");
    lua_setfield(L, -2, "staleness");
}

/* The leader changes: times in seconds (-1: not yet), nodes 1-based. */
static void push_elections(lua_State *L, const ms_cluster *c) {
    size_t n;
    const ms_raft_election *e = ms_cluster_elections(c, &n);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_createtable(L, 0, 9);
        lua_pushstring(L, ms_raft_loss_name(e[i].cause));
        lua_setfield(L, -2, "cause");
        lms_setnum(L, "lost", (double)e[i].lost / 1e9);
        lms_setnum(L, "elected", e[i].elected < 0 ? -1 : (double)e[i].elected / 1e9);
        lms_setnum(L, "heard", e[i].heard < 0 ? -1 : (double)e[i].heard / 1e9);
        lms_setint(L, "leader", e[i].leader + 1);
        lms_setint(L, "term", (int64_t)e[i].term);
        lms_setint(L, "terms", e[i].terms);
        lms_setint(L, "split_votes", e[i].split);
        lms_setint(L, "prevote_rounds", e[i].pre_rounds);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* scans: one table per scan (in scans[] order); cache: its counts. */
static void push_scans(lua_State *L, const ms_cluster *c) {
    lua_createtable(L, 0, 0);
    const ms_scan_stats *st;
    for (int k = 0; (st = ms_cluster_scan_stats(c, k)) != NULL; k++) {
        lua_createtable(L, 0, 6);
        lms_setint(L, "runs", (int64_t)st->runs);
        lms_setint(L, "policy_calls", (int64_t)st->policy_calls);
        lms_setnum(L, "waited_s", (double)st->waited / 1e9);
        lms_setnum(L, "busy_s", (double)st->busy / 1e9);
        push_outcomes(L, st->outcomes);
        lua_setfield(L, -2, "outcomes");
        lua_rawseti(L, -2, k + 1);
    }
    const ms_cache_stats *cs = ms_cluster_cache_stats(c);
    lua_createtable(L, 0, 5);
    lms_setint(L, "hits", (int64_t)cs->hits);
    lms_setint(L, "misses", (int64_t)cs->misses);
    lms_setint(L, "pushed", (int64_t)cs->pushed);
    lms_setint(L, "pulled", (int64_t)cs->pulled);
    lms_setint(L, "dropped", (int64_t)cs->dropped);
    lua_setfield(L, -2, "cache");
}

void lms_push_metrics(lua_State *L, const ms_cluster *c) {
    const ms_metrics *m = ms_cluster_metrics(c);
    int n = ms_cluster_size(c);
    lua_createtable(L, 0, 12);
    lua_createtable(L, 0, 16);
    push_reads(L, m);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, (lua_Integer)m->load[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "load");
    lua_setfield(L, -2, "reads");
    lua_createtable(L, 0, 3);
    lms_setint(L, "proposed", (int64_t)m->writes_proposed);
    lms_setint(L, "committed", (int64_t)m->writes_committed);
    lms_setint(L, "failed", (int64_t)m->writes_failed);
    lua_setfield(L, -2, "writes");
    char hex[17];
    ms_digest_hex(m->arrivals_digest, hex);
    lua_pushstring(L, hex);
    lua_setfield(L, -2, "arrivals_digest");
    push_timeline(L, m);
    lua_setfield(L, -2, "timeline");
    push_intervals(L, &m->applies, 0);
    lua_setfield(L, -2, "applies");
    push_intervals(L, &m->phases, 1);
    lua_setfield(L, -2, "phases");
    lua_createtable(L, (int)m->nfaults, 0);
    for (size_t i = 0; i < m->nfaults; i++) {
        lua_createtable(L, 0, 3);
        lms_setnum(L, "t", (double)m->faults[i].t / 1e9);
        lua_pushstring(L, m->faults[i].action);
        lua_setfield(L, -2, "action");
        if (m->faults[i].node >= 0) lms_setint(L, "node", m->faults[i].node + 1);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "faults");
    push_elections(L, c);
    lua_setfield(L, -2, "elections");
    push_scans(L, c);
    lua_setfield(L, -2, "scans");
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        ms_node_state ns;
        ms_cluster_node_state(c, i, &ns);
        lua_createtable(L, 0, 2);
        lms_setint(L, "peak", ns.mem_peak);
        lms_setint(L, "bytes", ns.mem_bytes);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "memory");
}
