/* Read arrivals: the open-loop arrival processes and closed-loop clients
 * (drawn from the `workload` stream only, so every policy sees the same
 * reads), the keys a read is about, the end of a run with its last read,
 * and the host order of CubeFS's SDK. */
#include "ms_cluster_impl.h"

#include <math.h>
#include <stdlib.h>

#define NS 1000000000.0

/* --- CubeFS's SDK (sdk/master/client.go serveRequest) ----------------------- */

/* The first host of a logical read: a random master for get_partitions
 * (api_client.go GetDataPartitions), else the SDK's leader (the last host
 * that answered), else the first master. */
void ms__sdk_first(ms_cluster *c, ms_read *r) {
    int leader = ms__client_of(c, r)->sdk_leader;
    r->sdk_try = 0;
    if (r->op == MS_OP_GET_PARTITIONS)
        r->target = (int)ms_rng_below(&c->client, (uint64_t)c->n);
    else if (leader >= 0)
        r->target = leader;
    else
        r->target = 0, r->sdk_try = 1;
}

/* After a failure: the next master in order (all n after the first host);
 * 0 when every one was tried. */
int ms__sdk_next(ms_cluster *c, ms_read *r) {
    if (r->sdk_try >= c->n) return 0;
    r->target = r->sdk_try++;
    return 1;
}

/* --- arrivals ---------------------------------------------------------------------- */

static int draw_op(ms_cluster *c, const ms_client_group *g) {
    return (int)ms_rng_weighted(&c->workload, g->ops, MS_OP_COUNT);
}

/* Keys drawn from the generated image: vols 1..V, their dps, nodes. */
static void draw_keys(ms_cluster *c, const ms_client_group *g, int op, uint64_t *a, uint64_t *b) {
    uint64_t vols = c->image.volumes;
    uint64_t v;
    if (g->keys == MS_KEYS_ZIPF) {
        /* inverse-CDF approximation of a zipf(s) rank over 1..vols */
        double u = ms_rng_uniform(&c->workload), s = g->zipf_s;
        double x = s == 1.0 ? exp(u * log((double)vols))
                            : pow(1 + u * (pow((double)vols, 1 - s) - 1), 1 / (1 - s));
        v = (uint64_t)x;
        if (v < 1) v = 1;
        if (v > vols) v = vols;
    } else {
        v = 1 + ms_rng_below(&c->workload, vols);
    }
    *a = v;
    *b = 0;
    if (op == MS_OP_GET_DP) *b = 1 + ms_rng_below(&c->workload, c->image.data_partitions);
    if (op == MS_OP_GET_NODE)
        *a = c->min_node_id + ms_rng_below(&c->workload, c->max_node_id - c->min_node_id + 1);
}

static void start_read(ms_cluster *c, int group, int client) {
    const ms_client_group *g = &c->cfg.group[group];
    ms_read *r = ms__read_new(c);
    if (!r) return;
    r->group = group;
    r->client = client;
    r->op = draw_op(c, g);
    draw_keys(c, g, r->op, &r->key_a, &r->key_b);
    r->intended = ms_sched_now(c->s);
    r->commit_at_issue = c->commit_max;
    r->apply_epoch = c->apply_epoch;
    r->applying_at_issue = c->applying > 0;
    c->reads_open++;
    r->target = ms__client_of(c, r)->home;
    if (g->route == MS_ROUTE_SDK) ms__sdk_first(c, r);
    ms_metrics_arrival(&c->metrics, r->intended, (uint64_t)client, r->op, r->key_a, r->key_b);
    ms__read_send(c, r);
}

/* Open loop: one arrival process per group (Poisson or fixed rate over the
 * group's clients), drawn only from the workload stream, so arrivals are
 * the same whatever the policy does. */
static void on_arrive(ms_sched *s, void *ctx, uint64_t group, uint64_t b) {
    (void)b;
    ms_cluster *c = ctx;
    const ms_client_group *g = &c->cfg.group[group];
    int client = c->client_base[group] + (int)ms_rng_below(&c->workload, (uint64_t)g->count);
    start_read(c, (int)group, client);
    double rate = g->rate * g->count;
    double dt = g->arrivals == MS_ARRIVALS_POISSON ? ms_rng_exponential(&c->workload, 1.0 / rate)
                                                   : 1.0 / rate;
    int64_t next = ms_sched_now(s) + (int64_t)(dt * NS);
    if (next < c->cfg.duration) ms_sched_at(s, next, EV_ARRIVE, on_arrive, c, group, 0);
}

static void on_closed(ms_sched *s, void *ctx, uint64_t group, uint64_t client) {
    ms_cluster *c = ctx;
    if (ms_sched_now(s) < c->cfg.duration) start_read(c, (int)group, (int)client);
}

void ms__reads_next_closed(ms_cluster *c, int group, int client, int64_t delay) {
    ms_sched_after(c->s, delay, EV_ARRIVE, on_closed, c, (uint64_t)group, (uint64_t)client);
}

/* Arrivals have stopped: with no read left the run ends here; else the
 * last read to finish ends it (finish). Runs without clients go on to
 * the driver's end. */
static void on_end(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)a, (void)b;
    ms_cluster *c = ctx;
    if (c->reads_open == 0) ms_sched_stop(s);
}

int ms__reads_start(ms_cluster *c) {
    int base = 0;
    for (int gi = 0; gi < c->cfg.groups; gi++) {
        const ms_client_group *g = &c->cfg.group[gi];
        c->client_base[gi] = base;
        ms_timerq_init(&c->timeouts[gi], c->s, EV_TIMEOUT, ms__read_timeout, c);
        c->clients[gi] = calloc((size_t)(g->count > 0 ? g->count : 1), sizeof(client_state));
        if (!c->clients[gi]) return -1;
        for (int i = 0; i < g->count; i++) {
            c->clients[gi][i].home = (base + i) % c->n;
            c->clients[gi][i].sdk_leader = -1;
        }
        base += g->count;
        if (g->count <= 0) continue;
        if (g->arrivals == MS_ARRIVALS_CLOSED) {
            for (int i = 0; i < g->count; i++) {
                int64_t off = (int64_t)(ms_rng_uniform(&c->workload) * NS * 0.01);
                ms__reads_next_closed(c, gi, c->client_base[gi] + i, off);
            }
        } else if (g->rate > 0) {
            double dt = ms_rng_exponential(&c->workload, 1.0 / (g->rate * g->count));
            ms_sched_at(c->s, (int64_t)(dt * NS), EV_ARRIVE, on_arrive, c, (uint64_t)gi, 0);
        }
    }
    if (c->cfg.groups > 0) ms_sched_at(c->s, c->cfg.duration, EV_END, on_end, c, 0, 0);
    return 0;
}
