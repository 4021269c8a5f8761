/* Network model: latency distributions, loss, partitions, down nodes, bulk
 * transfers (bandwidth and serialisation), determinism. */
#include "ms_dist.h"
#include "ms_net.h"
#include "ms_test.h"

#include <math.h>
#include <stdlib.h>

#define MS 1000000LL

typedef struct {
    int64_t *times;
    int n, cap;
    int delivered, dropped_down;
    ms_sched *s;
} sink;

static void on_msg(void *ctx, int status, int from, int to, uint64_t a, uint64_t b) {
    (void)from, (void)to, (void)a, (void)b;
    sink *k = ctx;
    if (status == MS_NET_DROPPED_DOWN) {
        k->dropped_down++;
        return;
    }
    k->delivered++;
    if (k->n < k->cap) k->times[k->n++] = ms_sched_now(k->s);
}

static int cmp_i64(const void *x, const void *y) {
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* Send n messages 0 -> 1 at time 0 and return their sorted latencies. */
static void latencies(ms_dist d, int n, int64_t *out, uint64_t seed) {
    ms_sched *s = ms_sched_new();
    ms_net *net = ms_net_new(s, 2, seed);
    sink k = {out, 0, n, 0, 0, s};
    CHECK_EQ_I64(ms_net_set_latency(net, d), 0);
    for (int i = 0; i < n; i++)
        CHECK_EQ_I64(ms_net_send(net, 0, 1, 100, on_msg, &k, (uint64_t)i, 0), MS_NET_SENT);
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(k.n, n);
    CHECK_EQ_I64(ms_net_in_flight(net), 0);
    qsort(out, (size_t)n, sizeof *out, cmp_i64);
    ms_net_free(net);
    ms_sched_free(s);
}

static double mean_of(const int64_t *v, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++) sum += (double)v[i];
    return sum / n;
}

static void test_latency_distributions(void) {
    enum { N = 20000 };
    int64_t *v = malloc(N * sizeof *v);
    latencies(ms_dist_const(3 * MS), 10, v, 1);
    CHECK_EQ_I64(v[0], 3 * MS);
    CHECK_EQ_I64(v[9], 3 * MS);

    latencies(ms_dist_uniform(1 * MS, 5 * MS), N, v, 2);
    CHECK(v[0] >= 1 * MS && v[N - 1] < 5 * MS);
    CHECK(fabs(mean_of(v, N) - 3e6) < 3e6 * 0.02);

    latencies(ms_dist_exponential(2 * MS), N, v, 3);
    CHECK(fabs(mean_of(v, N) - 2e6) < 2e6 * 0.03);
    CHECK(fabs((double)v[N / 2] - 2e6 * log(2.0)) < 2e6 * 0.05); /* median = mean ln 2 */

    ms_dist ln = ms_dist_lognormal(1 * MS, 10 * MS);
    latencies(ln, N, v, 4);
    CHECK(fabs((double)v[N / 2] - 1e6) < 1e6 * 0.05);
    CHECK(fabs((double)v[N * 99 / 100] - 1e7) < 1e7 * 0.12);
    CHECK(fabs(mean_of(v, N) - ms_dist_mean(&ln)) < ms_dist_mean(&ln) * 0.05);

    ms_dist badd = ms_dist_uniform(5, 1);
    CHECK(!ms_dist_valid(&badd));
    badd = ms_dist_lognormal(0, 1);
    CHECK(!ms_dist_valid(&badd));
    free(v);
}

static void test_link_override(void) {
    ms_sched *s = ms_sched_new();
    ms_net *net = ms_net_new(s, 3, 1);
    int64_t t[4];
    sink k = {t, 0, 4, 0, 0, s};
    ms_net_set_latency(net, ms_dist_const(1 * MS));
    CHECK_EQ_I64(ms_net_set_link_latency(net, 0, 2, ms_dist_const(7 * MS)), 0);
    CHECK_EQ_I64(ms_net_set_link_latency(net, 0, 3, ms_dist_const(7 * MS)), -1);
    ms_net_send(net, 0, 2, 10, on_msg, &k, 0, 0);
    ms_net_send(net, 2, 0, 10, on_msg, &k, 0, 0); /* the reverse link keeps the default */
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(t[0], 1 * MS);
    CHECK_EQ_I64(t[1], 7 * MS);
    ms_net_clear_link(net, 0, 2);
    ms_net_send(net, 0, 2, 10, on_msg, &k, 0, 0);
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(t[2], 8 * MS);
    CHECK_EQ_I64(ms_net_send(net, 0, 5, 10, on_msg, &k, 0, 0), MS_NET_EINVAL);
    ms_net_free(net);
    ms_sched_free(s);
}

static void test_loss(void) {
    ms_sched *s = ms_sched_new();
    ms_net *net = ms_net_new(s, 3, 9);
    sink k = {NULL, 0, 0, 0, 0, s};
    CHECK_EQ_I64(ms_net_set_loss(net, 1.5), -1);
    ms_net_set_loss(net, 0.2);
    ms_net_set_link_loss(net, 0, 2, 0.0);
    int lost = 0, lost2 = 0;
    for (int i = 0; i < 20000; i++) {
        if (ms_net_send(net, 0, 1, 1, on_msg, &k, 0, 0) == MS_NET_DROPPED_LOSS) lost++;
        if (ms_net_send(net, 0, 2, 1, on_msg, &k, 0, 0) == MS_NET_DROPPED_LOSS) lost2++;
    }
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK(abs(lost - 4000) < 250);
    CHECK_EQ_I64(lost2, 0);
    ms_net_stats st = ms_net_get_stats(net);
    CHECK_EQ_I64(st.sent, 40000);
    CHECK_EQ_I64(st.dropped_loss, lost);
    CHECK_EQ_I64(st.delivered, 40000 - lost);
    CHECK_EQ_I64(k.delivered, 40000 - lost);
    ms_net_free(net);
    ms_sched_free(s);
}

static int send1(ms_net *net, sink *k, int from, int to) {
    return ms_net_send(net, from, to, 1, on_msg, k, 0, 0);
}

static void test_partitions(void) {
    ms_sched *s = ms_sched_new();
    ms_net *net = ms_net_new(s, 5, 1);
    sink k = {NULL, 0, 0, 0, 0, s};
    ms_net_block(net, 0, 1); /* one-way */
    CHECK_EQ_I64(send1(net, &k, 0, 1), MS_NET_DROPPED_PARTITION);
    CHECK_EQ_I64(send1(net, &k, 1, 0), MS_NET_SENT);
    ms_net_unblock(net, 0, 1);
    CHECK_EQ_I64(send1(net, &k, 0, 1), MS_NET_SENT);
    ms_net_block_pair(net, 2, 3); /* symmetric */
    CHECK_EQ_I64(send1(net, &k, 2, 3), MS_NET_DROPPED_PARTITION);
    CHECK_EQ_I64(send1(net, &k, 3, 2), MS_NET_DROPPED_PARTITION);
    ms_net_unblock_pair(net, 2, 3);
    CHECK_EQ_I64(send1(net, &k, 3, 2), MS_NET_SENT);

    int ga[] = {0, 1}, gb[] = {2, 3, 4};
    CHECK_EQ_I64(ms_net_partition(net, ga, 2, gb, 3), 0);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            CHECK(ms_net_blocked(net, ga[i], gb[j]));
            CHECK(ms_net_blocked(net, gb[j], ga[i]));
        }
    CHECK(!ms_net_blocked(net, 0, 1)); /* inside a group: untouched */
    CHECK(!ms_net_blocked(net, 2, 4));
    CHECK_EQ_I64(send1(net, &k, 4, 1), MS_NET_DROPPED_PARTITION);
    CHECK_EQ_I64(send1(net, &k, 3, 4), MS_NET_SENT);
    ms_net_heal(net);
    CHECK_EQ_I64(send1(net, &k, 4, 1), MS_NET_SENT);
    ms_net_isolate(net, 2);
    CHECK_EQ_I64(send1(net, &k, 2, 0), MS_NET_DROPPED_PARTITION);
    CHECK_EQ_I64(send1(net, &k, 4, 2), MS_NET_DROPPED_PARTITION);
    CHECK_EQ_I64(send1(net, &k, 4, 0), MS_NET_SENT);
    ms_net_heal(net);

    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(k.delivered, 6);

    /* Down at send and at delivery. */
    ms_net_set_up(net, 1, 0);
    CHECK_EQ_I64(send1(net, &k, 0, 1), MS_NET_DROPPED_DOWN);
    ms_net_set_up(net, 1, 1);
    CHECK_EQ_I64(send1(net, &k, 0, 1), MS_NET_SENT);
    ms_net_set_up(net, 1, 0); /* goes down while the message flies */
    int before = k.delivered;
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(k.dropped_down, 1);
    CHECK_EQ_I64(k.delivered - before, 0);
    ms_net_stats st = ms_net_get_stats(net);
    CHECK_EQ_I64(st.dropped_partition, 6);
    CHECK_EQ_I64(st.dropped_down, 2);
    ms_net_free(net);
    ms_sched_free(s);
}

static void test_bulk(void) {
    ms_sched *s = ms_sched_new();
    ms_net *net = ms_net_new(s, 3, 1);
    int64_t t[8];
    sink k = {t, 0, 8, 0, 0, s};
    ms_net_set_latency(net, ms_dist_const(1 * MS));
    ms_net_set_bandwidth(net, 100e6);           /* 1 MB takes 10 ms */
    ms_net_set_link_bandwidth(net, 0, 2, 50e6); /* 1 MB takes 20 ms */
    CHECK_EQ_I64(ms_net_send_bulk(net, 0, 1, 1000000, on_msg, &k, 1, 0), MS_NET_SENT);
    CHECK_EQ_I64(ms_net_bulk_free_at(net, 0, 1), 10 * MS);
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(t[0], 11 * MS); /* bytes / bandwidth + latency */

    /* Two chunks on one link serialise; a third on another link does not wait. */
    k.n = 0;
    int64_t t0 = ms_sched_now(s);
    ms_net_send_bulk(net, 0, 1, 1000000, on_msg, &k, 1, 0);
    ms_net_send_bulk(net, 0, 1, 1000000, on_msg, &k, 2, 0);
    ms_net_send_bulk(net, 0, 2, 1000000, on_msg, &k, 3, 0);
    ms_net_send(net, 0, 1, 100, on_msg, &k, 4, 0); /* small messages bypass the stream */
    ms_sched_run(s, MS_TIME_MAX, 0);
    CHECK_EQ_I64(k.n, 4);
    CHECK_EQ_I64(t[0] - t0, 1 * MS);  /* the small message */
    CHECK_EQ_I64(t[1] - t0, 11 * MS); /* first chunk 0 -> 1 */
    CHECK_EQ_I64(t[2] - t0, 21 * MS); /* the other link at 50 MB/s, in parallel */
    CHECK_EQ_I64(t[3] - t0, 21 * MS); /* second chunk: starts when the first ends */

    /* A blocked link drops a bulk chunk without occupying the stream. */
    ms_net_block(net, 0, 1);
    int64_t free_before = ms_net_bulk_free_at(net, 0, 1);
    CHECK_EQ_I64(ms_net_send_bulk(net, 0, 1, 1000, on_msg, &k, 5, 0), MS_NET_DROPPED_PARTITION);
    CHECK_EQ_I64(ms_net_bulk_free_at(net, 0, 1), free_before);
    /* Bulk is never randomly lost. */
    ms_net_heal(net);
    ms_net_set_loss(net, 1.0);
    CHECK_EQ_I64(ms_net_send_bulk(net, 0, 1, 1000, on_msg, &k, 6, 0), MS_NET_SENT);
    CHECK_EQ_I64(ms_net_send(net, 0, 1, 1000, on_msg, &k, 7, 0), MS_NET_DROPPED_LOSS);
    ms_sched_run(s, MS_TIME_MAX, 0);
    ms_net_free(net);
    ms_sched_free(s);
}

static uint64_t run_digest(uint64_t seed) {
    ms_sched *s = ms_sched_new();
    ms_net *net = ms_net_new(s, 4, seed);
    sink k = {NULL, 0, 0, 0, 0, s};
    ms_net_set_latency(net, ms_dist_lognormal(1 * MS, 20 * MS));
    ms_net_set_loss(net, 0.05);
    for (int i = 0; i < 2000; i++)
        ms_net_send(net, i % 4, (i + 1) % 4, 64, on_msg, &k, (uint64_t)i, 0);
    ms_sched_run(s, MS_TIME_MAX, 0);
    uint64_t d = ms_sched_digest(s);
    ms_net_free(net);
    ms_sched_free(s);
    return d;
}

static void test_determinism(void) {
    CHECK(run_digest(7) == run_digest(7));
    CHECK(run_digest(7) != run_digest(8));
}

int main(void) {
    RUN(test_latency_distributions);
    RUN(test_link_override);
    RUN(test_loss);
    RUN(test_partitions);
    RUN(test_bulk);
    RUN(test_determinism);
    return ms_test_end();
}
