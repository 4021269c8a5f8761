/* The network: an n x n table of directed links over one "net" stream, and
 * a pool of in-flight records (stable addresses, reused through a free
 * list) that carry a message from its send to its delivery event. */
#include "ms_net.h"

#include <math.h>
#include <stdlib.h>

#define MAX_NODES 1024
#define POOL_BLOCK 256

typedef struct link {
    ms_dist latency;
    double loss;
    double bandwidth;
    int64_t bulk_free_at; /* when the bulk stream is next idle */
    uint8_t has_latency, has_loss, has_bandwidth;
    uint8_t blocked;
} link;

typedef struct flight {
    ms_net *net;
    ms_net_deliver_fn fn;
    void *ctx;
    size_t bytes;
    int from, to;
    struct flight *next_free;
} flight;

typedef struct pool_block {
    struct pool_block *next;
    flight items[POOL_BLOCK];
} pool_block;

struct ms_net {
    ms_sched *sched;
    ms_rng rng;
    int n;
    link *links; /* n * n, row = from */
    uint8_t *up;
    ms_dist latency;
    double loss;
    double bandwidth;
    ms_net_stats stats;
    size_t in_flight;
    flight *free_list;
    pool_block *blocks;
};

static int bad(const ms_net *net, int x) {
    return x < 0 || x >= net->n;
}

static link *link_at(const ms_net *net, int from, int to) {
    return &net->links[(size_t)from * (size_t)net->n + (size_t)to];
}

ms_net *ms_net_new(ms_sched *s, int n, uint64_t seed) {
    if (!s || n < 1 || n > MAX_NODES) return NULL;
    ms_net *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    net->links = calloc((size_t)n * (size_t)n, sizeof *net->links);
    net->up = malloc((size_t)n);
    if (!net->links || !net->up) {
        ms_net_free(net);
        return NULL;
    }
    for (int i = 0; i < n; i++) net->up[i] = 1;
    net->sched = s;
    net->n = n;
    ms_rng_init(&net->rng, seed, "net");
    net->latency = ms_dist_const(500e3);
    net->loss = 0;
    net->bandwidth = 200e6;
    return net;
}

void ms_net_free(ms_net *net) {
    if (!net) return;
    while (net->blocks) {
        pool_block *b = net->blocks;
        net->blocks = b->next;
        free(b);
    }
    free(net->links);
    free(net->up);
    free(net);
}

int ms_net_size(const ms_net *net) {
    return net->n;
}

int ms_net_set_latency(ms_net *net, ms_dist d) {
    if (!ms_dist_valid(&d)) return -1;
    net->latency = d;
    return 0;
}

int ms_net_set_link_latency(ms_net *net, int from, int to, ms_dist d) {
    if (bad(net, from) || bad(net, to) || !ms_dist_valid(&d)) return -1;
    link *l = link_at(net, from, to);
    l->latency = d;
    l->has_latency = 1;
    return 0;
}

static int valid_prob(double p) {
    return p >= 0 && p <= 1; /* false for NaN */
}

int ms_net_set_loss(ms_net *net, double p) {
    if (!valid_prob(p)) return -1;
    net->loss = p;
    return 0;
}

int ms_net_set_link_loss(ms_net *net, int from, int to, double p) {
    if (bad(net, from) || bad(net, to) || !valid_prob(p)) return -1;
    link *l = link_at(net, from, to);
    l->loss = p;
    l->has_loss = 1;
    return 0;
}

int ms_net_set_bandwidth(ms_net *net, double bytes_per_s) {
    if (!(bytes_per_s > 0) || !isfinite(bytes_per_s)) return -1;
    net->bandwidth = bytes_per_s;
    return 0;
}

int ms_net_set_link_bandwidth(ms_net *net, int from, int to, double bytes_per_s) {
    if (bad(net, from) || bad(net, to) || !(bytes_per_s > 0) || !isfinite(bytes_per_s)) return -1;
    link *l = link_at(net, from, to);
    l->bandwidth = bytes_per_s;
    l->has_bandwidth = 1;
    return 0;
}

int ms_net_clear_link(ms_net *net, int from, int to) {
    if (bad(net, from) || bad(net, to)) return -1;
    link *l = link_at(net, from, to);
    l->has_latency = l->has_loss = l->has_bandwidth = 0;
    return 0;
}

static int set_blocked(ms_net *net, int from, int to, uint8_t v) {
    if (bad(net, from) || bad(net, to)) return -1;
    link_at(net, from, to)->blocked = v;
    return 0;
}

int ms_net_block(ms_net *net, int from, int to) {
    return set_blocked(net, from, to, 1);
}

int ms_net_unblock(ms_net *net, int from, int to) {
    return set_blocked(net, from, to, 0);
}

int ms_net_block_pair(ms_net *net, int x, int y) {
    if (set_blocked(net, x, y, 1)) return -1;
    return set_blocked(net, y, x, 1);
}

int ms_net_unblock_pair(ms_net *net, int x, int y) {
    if (set_blocked(net, x, y, 0)) return -1;
    return set_blocked(net, y, x, 0);
}

int ms_net_partition(ms_net *net, const int *ga, size_t na, const int *gb, size_t nb) {
    for (size_t i = 0; i < na; i++)
        if (bad(net, ga[i])) return -1;
    for (size_t j = 0; j < nb; j++)
        if (bad(net, gb[j])) return -1;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (ga[i] != gb[j]) ms_net_block_pair(net, ga[i], gb[j]);
    return 0;
}

int ms_net_isolate(ms_net *net, int x) {
    if (bad(net, x)) return -1;
    for (int y = 0; y < net->n; y++)
        if (y != x) ms_net_block_pair(net, x, y);
    return 0;
}

void ms_net_heal(ms_net *net) {
    size_t nn = (size_t)net->n * (size_t)net->n;
    for (size_t i = 0; i < nn; i++) net->links[i].blocked = 0;
}

int ms_net_blocked(const ms_net *net, int from, int to) {
    if (bad(net, from) || bad(net, to)) return 0;
    return link_at(net, from, to)->blocked;
}

int ms_net_set_up(ms_net *net, int node, int up) {
    if (bad(net, node)) return -1;
    net->up[node] = up ? 1 : 0;
    return 0;
}

int ms_net_is_up(const ms_net *net, int node) {
    return bad(net, node) ? 0 : net->up[node];
}

int64_t ms_net_bulk_free_at(const ms_net *net, int from, int to) {
    if (bad(net, from) || bad(net, to)) return 0;
    return link_at(net, from, to)->bulk_free_at;
}

ms_net_stats ms_net_get_stats(const ms_net *net) {
    return net->stats;
}

size_t ms_net_in_flight(const ms_net *net) {
    return net->in_flight;
}

static flight *flight_get(ms_net *net) {
    if (!net->free_list) {
        pool_block *b = malloc(sizeof *b);
        if (!b) return NULL;
        b->next = net->blocks;
        net->blocks = b;
        for (int i = POOL_BLOCK - 1; i >= 0; i--) {
            b->items[i].next_free = net->free_list;
            net->free_list = &b->items[i];
        }
    }
    flight *f = net->free_list;
    net->free_list = f->next_free;
    net->in_flight++;
    return f;
}

static void flight_put(ms_net *net, flight *f) {
    f->next_free = net->free_list;
    net->free_list = f;
    net->in_flight--;
}

/* The delivery event: check the destination, release the record, call back. */
static void on_arrive(ms_sched *s, void *ctx, uint64_t a, uint64_t b) {
    (void)s;
    flight *f = ctx;
    ms_net *net = f->net;
    flight copy = *f;
    flight_put(net, f);
    int status = MS_NET_DELIVERED;
    if (!net->up[copy.to]) {
        status = MS_NET_DROPPED_DOWN;
        net->stats.dropped_down++;
    } else {
        net->stats.delivered++;
        net->stats.bytes_delivered += copy.bytes;
    }
    copy.fn(copy.ctx, status, copy.from, copy.to, a, b);
}

/* The checks both kinds of send share; loss is drawn only for small
 * messages and only when the link's loss is positive. */
static int admit(ms_net *net, int from, int to, size_t bytes, int lossy) {
    if (bad(net, from) || bad(net, to)) return MS_NET_EINVAL;
    net->stats.sent++;
    net->stats.bytes_sent += bytes;
    link *l = link_at(net, from, to);
    if (!net->up[from] || !net->up[to]) {
        net->stats.dropped_down++;
        return MS_NET_DROPPED_DOWN;
    }
    if (l->blocked) {
        net->stats.dropped_partition++;
        return MS_NET_DROPPED_PARTITION;
    }
    double loss = l->has_loss ? l->loss : net->loss;
    if (lossy && loss > 0 && ms_rng_uniform(&net->rng) < loss) {
        net->stats.dropped_loss++;
        return MS_NET_DROPPED_LOSS;
    }
    return MS_NET_SENT;
}

static int schedule(ms_net *net, int64_t at, uint32_t kind, int from, int to, size_t bytes,
                    ms_net_deliver_fn fn, void *ctx, uint64_t a, uint64_t b) {
    flight *f = flight_get(net);
    if (!f) return MS_NET_EINVAL;
    f->net = net;
    f->fn = fn;
    f->ctx = ctx;
    f->bytes = bytes;
    f->from = from;
    f->to = to;
    if (!ms_sched_at(net->sched, at, kind, on_arrive, f, a, b)) {
        flight_put(net, f);
        return MS_NET_EINVAL;
    }
    return MS_NET_SENT;
}

static int64_t sample_latency(ms_net *net, const link *l) {
    return ms_dist_sample_i64(l->has_latency ? &l->latency : &net->latency, &net->rng);
}

int ms_net_send(ms_net *net, int from, int to, size_t bytes, ms_net_deliver_fn fn, void *ctx,
                uint64_t a, uint64_t b) {
    int rc = admit(net, from, to, bytes, 1);
    if (rc != MS_NET_SENT) return rc;
    int64_t at = ms_sched_now(net->sched) + sample_latency(net, link_at(net, from, to));
    return schedule(net, at, MS_NET_EV_DELIVER, from, to, bytes, fn, ctx, a, b);
}

int ms_net_send_bulk(ms_net *net, int from, int to, size_t bytes, ms_net_deliver_fn fn, void *ctx,
                     uint64_t a, uint64_t b) {
    int rc = admit(net, from, to, bytes, 0);
    if (rc != MS_NET_SENT) return rc;
    net->stats.bulk_sent++;
    link *l = link_at(net, from, to);
    double bw = l->has_bandwidth ? l->bandwidth : net->bandwidth;
    int64_t now = ms_sched_now(net->sched);
    int64_t start = l->bulk_free_at > now ? l->bulk_free_at : now;
    int64_t busy = (int64_t)llround((double)bytes * 1e9 / bw);
    l->bulk_free_at = start + busy;
    int64_t at = l->bulk_free_at + sample_latency(net, l);
    return schedule(net, at, MS_NET_EV_BULK, from, to, bytes, fn, ctx, a, b);
}
