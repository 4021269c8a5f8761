/* The network between N nodes (indices 0..N-1) of one simulation.
 *
 * Small messages: each send samples the link's latency independently, so
 * two messages on one link may arrive out of order (no FIFO; raft tolerates
 * reordering, and independent draws keep the model simple). A message is
 * dropped at send time when it is lost (per-link loss probability), the
 * link is blocked (partition), or either end is down; it is dropped at
 * delivery time when the destination is down by then.
 *
 * Bulk transfers (snapshot chunks): a chunk of n bytes occupies its
 * directed link for n / bandwidth seconds, then travels one latency draw.
 * Chunks on one directed link are serialised: a chunk starts when the link
 * is free, so two streams on one link share it. Bulk chunks ride a reliable
 * stream (TCP): they are never randomly lost, but are dropped like small
 * messages by partitions (checked when the chunk is sent) and by a down
 * destination (checked at delivery).
 *
 * Ownership: the net never touches message payloads. A send that returns
 * MS_NET_SENT calls deliver_fn exactly once, later, with status DELIVERED
 * or DROPPED_DOWN, so the caller can free its ctx in either case; a send
 * that returns a drop code never calls back (the caller still owns ctx).
 *
 * All randomness comes from the stream "net" owned by the net, so network
 * draws never shift another stream. Every delivery is an ms_sched event of
 * kind MS_NET_EV_DELIVER or MS_NET_EV_BULK with the caller's ids a, b. */
#ifndef MS_NET_H
#define MS_NET_H

#include "ms_dist.h"
#include "ms_sched.h"

#include <stddef.h>
#include <stdint.h>

/* Event kinds scheduled by the net (range 0x4e450000: "NE"). */
enum { MS_NET_EV_DELIVER = 0x4e450001, MS_NET_EV_BULK = 0x4e450002 };

/* Outcome of a send, and the status given to a deliver callback. */
enum {
    MS_NET_SENT = 1,               /* scheduled: deliver_fn will be called once */
    MS_NET_DELIVERED = 0,          /* (callback) the message arrived */
    MS_NET_DROPPED_LOSS = -1,      /* lost (random) */
    MS_NET_DROPPED_PARTITION = -2, /* the directed link is blocked */
    MS_NET_DROPPED_DOWN = -3,      /* an end is down (callback: the destination) */
    MS_NET_EINVAL = -4             /* bad node index */
};

typedef struct ms_net ms_net;

/* Called when a sent message arrives (status MS_NET_DELIVERED) or is found
 * dropped at delivery (MS_NET_DROPPED_DOWN). a, b are the ids given to send. */
typedef void (*ms_net_deliver_fn)(void *ctx, int status, int from, int to, uint64_t a, uint64_t b);

typedef struct ms_net_stats {
    uint64_t sent;              /* messages offered (small and bulk) */
    uint64_t delivered;         /* messages handed to a deliver callback as delivered */
    uint64_t dropped_loss;      /* random loss */
    uint64_t dropped_partition; /* blocked link at send */
    uint64_t dropped_down;      /* down end at send or at delivery */
    uint64_t bulk_sent;         /* bulk chunks offered */
    uint64_t bytes_sent;        /* bytes offered */
    uint64_t bytes_delivered;   /* bytes delivered */
} ms_net_stats;

/* A net of n nodes (1 <= n <= 1024) on scheduler s, its stream derived from
 * (seed, "net"). Defaults: latency constant 500 us, no loss, 200 MB/s per
 * directed link, all nodes up, nothing blocked. NULL on bad n or OOM. */
ms_net *ms_net_new(ms_sched *s, int n, uint64_t seed);

/* Free the net. Deliveries still queued in the scheduler must not run
 * afterwards: free the scheduler first, or drain it. */
void ms_net_free(ms_net *net);

/* Number of nodes. */
int ms_net_size(const ms_net *net);

/* Default latency (ns) for links without an override. -1 on an invalid dist. */
int ms_net_set_latency(ms_net *net, ms_dist d);

/* Override the latency of the directed link from -> to. -1 on bad args. */
int ms_net_set_link_latency(ms_net *net, int from, int to, ms_dist d);

/* Default loss probability in [0, 1], and a per-link override. */
int ms_net_set_loss(ms_net *net, double p);
int ms_net_set_link_loss(ms_net *net, int from, int to, double p);

/* Default bandwidth (bytes/s, > 0) for bulk transfers, and an override. */
int ms_net_set_bandwidth(ms_net *net, double bytes_per_s);
int ms_net_set_link_bandwidth(ms_net *net, int from, int to, double bytes_per_s);

/* Drop every per-link override (latency, loss, bandwidth) of from -> to. */
int ms_net_clear_link(ms_net *net, int from, int to);

/* Block / unblock the directed link from -> to (one-way partition). */
int ms_net_block(ms_net *net, int from, int to);
int ms_net_unblock(ms_net *net, int from, int to);

/* Block / unblock both directions between x and y. */
int ms_net_block_pair(ms_net *net, int x, int y);
int ms_net_unblock_pair(ms_net *net, int x, int y);

/* Block both directions between every node of group ga and every node of
 * gb (links inside a group are left as they are). -1 on a bad index. */
int ms_net_partition(ms_net *net, const int *ga, size_t na, const int *gb, size_t nb);

/* Block both directions between node x and every other node. */
int ms_net_isolate(ms_net *net, int x);

/* Unblock every link. */
void ms_net_heal(ms_net *net);

/* Is from -> to blocked? (0 for bad indices) */
int ms_net_blocked(const ms_net *net, int from, int to);

/* Mark a node up (1) or down (0). A down node neither sends nor receives. */
int ms_net_set_up(ms_net *net, int node, int up);
int ms_net_is_up(const ms_net *net, int node);

/* Send a small message of `bytes` bytes: returns MS_NET_SENT (fn will be
 * called once) or a drop / error code (fn will never be called). */
int ms_net_send(ms_net *net, int from, int to, size_t bytes, ms_net_deliver_fn fn, void *ctx,
                uint64_t a, uint64_t b);

/* Send a bulk chunk of `bytes` bytes on the link's serialised stream; same
 * return and callback contract as ms_net_send. */
int ms_net_send_bulk(ms_net *net, int from, int to, size_t bytes, ms_net_deliver_fn fn, void *ctx,
                     uint64_t a, uint64_t b);

/* Time (ns) at which the directed link's bulk stream is next free (<= now
 * when idle). */
int64_t ms_net_bulk_free_at(const ms_net *net, int from, int to);

/* Counters since creation. */
ms_net_stats ms_net_get_stats(const ms_net *net);

/* Messages sent and not yet called back. */
size_t ms_net_in_flight(const ms_net *net);

#endif
