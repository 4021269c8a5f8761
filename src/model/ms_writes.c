/* The write workload: proposals to the leader at a rate and mix, each a
 * raft entry that changes every replica's store when applied. A proposal
 * that has not committed (with its own term) after write_timeout, or that
 * found no leader, is retried, up to three times; its outcome is counted. */
#include "ms_cluster_impl.h"

#include "ms_write.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WRITE_RETRIES 3

typedef struct ms_pending_write {
    ms_cluster *c;
    uint64_t seq, index, term;
    int tries;
    ms_write w; /* decoded, for the history */
    unsigned char payload[MS_WRITE_BYTES];
    struct ms_pending_write *next_free;
} pending_write;

static pending_write *pw_new(ms_cluster *c) {
    if (!c->free_writes) {
        pending_write *b = calloc(MS_POOL_BLOCK, sizeof *b);
        if (!b) return NULL;
        if (c->write_pool.n == c->write_pool.cap) {
            size_t cap = c->write_pool.cap ? c->write_pool.cap * 2 : 16;
            void **v = realloc(c->write_pool.blocks, cap * sizeof *v);
            if (!v) {
                free(b);
                return NULL;
            }
            c->write_pool.blocks = v;
            c->write_pool.cap = cap;
        }
        c->write_pool.blocks[c->write_pool.n++] = b;
        for (int i = 0; i + 1 < MS_POOL_BLOCK; i++) b[i].next_free = &b[i + 1];
        c->free_writes = b;
    }
    pending_write *p = c->free_writes;
    c->free_writes = p->next_free;
    memset(p, 0, sizeof *p);
    p->c = c;
    return p;
}

static void pw_free(ms_cluster *c, pending_write *p) {
    p->next_free = c->free_writes;
    c->free_writes = p;
}

void ms__writes_free(ms_cluster *c) {
    ms_timerq_free(&c->write_checks[0]);
    ms_timerq_free(&c->write_checks[1]);
    for (size_t i = 0; i < c->write_pool.n; i++) free(c->write_pool.blocks[i]);
    free(c->write_pool.blocks);
}

static ms_write draw_write(ms_cluster *c) {
    ms_write w = {0};
    w.op = (uint8_t)ms_rng_weighted(&c->writes, c->cfg.write_ops, 5);
    if (w.op < MS_W_CREATE_VOL || w.op > MS_W_DELETE_VOL) w.op = MS_W_HEARTBEAT;
    uint64_t dn_lo = c->min_node_id, dn = c->nodes_dn ? c->nodes_dn : 1;
    uint64_t mn_lo = dn_lo + dn, mn = c->max_node_id >= mn_lo ? c->max_node_id - mn_lo + 1 : 1;
    w.vol = 1 + ms_rng_below(&c->writes, c->max_vol_hint ? c->max_vol_hint : 1);
    w.node = c->min_node_id + ms_rng_below(&c->writes, c->max_node_id - c->min_node_id + 1);
    w.used = ms_rng_below(&c->writes, UINT64_C(1) << 40);
    for (int i = 0; i < MS_WRITE_HOSTS; i++) {
        w.dp_hosts[i] = dn_lo + ms_rng_below(&c->writes, dn);
        w.mp_hosts[i] = mn_lo + ms_rng_below(&c->writes, mn);
    }
    if (w.op == MS_W_CREATE_VOL) c->max_vol_hint++;
    return w;
}

static void on_check(void *ctx, void *item, uint64_t seq);

/* Check on p after the delay of write_checks[q]. */
static void check_later(ms_cluster *c, pending_write *p, int q) {
    int64_t d = q == 0 ? c->cfg.write_timeout : c->cfg.write_timeout / 10 + 1;
    ms_timerq_add(&c->write_checks[q], ms_sched_now(c->s) + d, p, p->seq);
}

static void propose(ms_cluster *c, pending_write *p) {
    int leader = ms_cluster_leader(c);
    p->tries++;
    p->index = 0;
    if (leader >= 0 && ms_raft_propose(c->raft, leader, p->payload, MS_WRITE_BYTES, &p->index,
                                       NULL) == MS_RAFT_OK) {
        p->term = ms_raft_term(c->raft, leader);
        c->metrics.writes_proposed++;
        if (c->on_op) {
            ms_op_record h = {.kind = MS_OPR_PROPOSE,
                              .t = ms_sched_now(c->s),
                              .id = p->seq,
                              .tries = p->tries,
                              .node = leader,
                              .op = p->w.op,
                              .a = p->w.vol,
                              .b = p->w.node,
                              .index = p->index,
                              .term = p->term};
            c->on_op(c->op_ctx, &h);
        }
        check_later(c, p, 0);
        return;
    }
    /* no leader to take it: look again shortly */
    check_later(c, p, 1);
}

/* Did the proposal commit? Only when the commit index passed its index and
 * the entry committed there has its term (a leader change may have put
 * another entry at that index). */
static int committed(ms_cluster *c, const pending_write *p) {
    if (p->index == 0 || c->commit_max < p->index) return 0;
    return c->commit_term[p->index] == p->term;
}

static void on_check(void *ctx, void *item, uint64_t seq) {
    (void)ctx, (void)seq;
    pending_write *p = item;
    ms_cluster *c = p->c;
    if (committed(c, p)) {
        c->metrics.writes_committed++;
        pw_free(c, p);
    } else if (p->tries > WRITE_RETRIES) {
        c->metrics.writes_failed++;
        pw_free(c, p);
    } else {
        propose(c, p);
    }
}

static void on_write(ms_sched *s, void *ctx, uint64_t seq, uint64_t b) {
    (void)b;
    ms_cluster *c = ctx;
    pending_write *p = pw_new(c);
    if (p) {
        p->w = draw_write(c);
        ms_write_encode(&p->w, p->payload);
        p->seq = seq;
        propose(c, p);
    }
    double dt = -log(1.0 - ms_rng_uniform(&c->writes)) / c->cfg.write_rate;
    int64_t next = ms_sched_now(s) + (int64_t)(dt * 1e9);
    if (next < c->cfg.duration) ms_sched_at(s, next, EV_WRITE, on_write, c, seq + 1, 0);
}

int ms__writes_start(ms_cluster *c) {
    ms_timerq_init(&c->write_checks[0], c->s, EV_WRITE_CHECK, on_check, c);
    ms_timerq_init(&c->write_checks[1], c->s, EV_WRITE_CHECK, on_check, c);
    if (c->cfg.write_rate <= 0) return 0;
    double dt = -log(1.0 - ms_rng_uniform(&c->writes)) / c->cfg.write_rate;
    ms_sched_at(c->s, (int64_t)(dt * 1e9), EV_WRITE, on_write, c, 1, 0);
    return 0;
}
