/* Leader changes as the cluster lived them (see ms_raft_election in
 * ms_raft.h): outages from the loss of the leader followers last heard to
 * the first time a follower hears the next one, with the campaigns and
 * split votes between. Observation only: nothing here changes the
 * protocol, draws from a stream or schedules an event. */
#include "ms_raft_impl.h"

#include <stdlib.h>

static int64_t now_of(const ms_raft *g) {
    return ms_sched_now(g->sched);
}

const char *ms_raft_loss_name(ms_raft_loss cause) {
    static const char *const names[] = {"start", "crash", "step_down", "deposed"};
    return cause <= MS_RAFT_LOSS_DEPOSED ? names[cause] : "unknown";
}

const ms_raft_election *ms_raft_elections(const ms_raft *g, size_t *n) {
    *n = g->nelections;
    return g->elections;
}

static ms_raft_election *open_outage(ms_raft *g, ms_raft_loss cause, int64_t lost) {
    if (g->nelections == g->capelections) {
        size_t cap = g->capelections ? 2 * g->capelections : 16;
        ms_raft_election *e = realloc(g->elections, cap * sizeof *e);
        if (!e) return NULL; /* the record is lost, the protocol is not */
        g->elections = e;
        g->capelections = cap;
    }
    ms_raft_election *e = &g->elections[g->nelections++];
    *e = (ms_raft_election){.lost = lost, .elected = -1, .heard = -1, .leader = -1, .cause = cause};
    g->open = 1;
    g->top_term = 0;
    return e;
}

static ms_raft_election *current(ms_raft *g) {
    return g->open ? &g->elections[g->nelections - 1] : NULL;
}

int ms__raft_el_start(ms_raft *g) {
    g->heard_leader = -1;
    return open_outage(g, MS_RAFT_LOSS_START, now_of(g)) ? 0 : -1;
}

void ms__raft_el_free(ms_raft *g) {
    free(g->elections);
    g->elections = NULL;
    g->nelections = g->capelections = 0;
}

int64_t ms__raft_quorum_contact(const rnode *nd) {
    ms_raft *g = nd->g;
    /* the quorum-th most recent contact, nd itself heard now: insertion
     * into g->scratch kept in descending order (n is small) */
    int64_t *v = (int64_t *)g->scratch;
    int n = 0;
    for (int p = 0; p < g->cfg.n; p++) {
        int64_t x = p == nd->id ? now_of(g) : nd->prog[p].last_heard;
        int j = n++;
        while (j > 0 && v[j - 1] < x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    return v[g->quorum - 1];
}

void ms__raft_el_leader_lost(rnode *nd, ms_raft_loss cause) {
    ms_raft *g = nd->g;
    if (g->open || nd->id != g->heard_leader || nd->term != g->heard_term) return;
    int64_t lost = cause == MS_RAFT_LOSS_CRASH ? now_of(g) : ms__raft_quorum_contact(nd);
    open_outage(g, cause, lost);
}

void ms__raft_el_campaign(ms_raft *g, uint64_t term, int prevote) {
    ms_raft_election *e = current(g);
    if (!e) return;
    if (prevote) {
        e->pre_rounds++;
    } else if (term > g->top_term) {
        e->terms++;
        g->top_term = term;
    }
}

void ms__raft_el_elected(rnode *nd) {
    ms_raft *g = nd->g;
    ms_raft_election *e = current(g);
    if (!e && g->heard_leader == nd->id && g->heard_term == nd->term) return; /* a started group */
    if (!e && g->heard_leader >= 0 && g->heard_term < nd->term) {
        /* deposed while it still led (a partition): it lost the cluster
         * when it last had a quorum */
        rnode *old = &g->nodes[g->heard_leader];
        int leading = old->up && old->role == MS_RAFT_LEADER && old->term == g->heard_term;
        e = open_outage(g, MS_RAFT_LOSS_DEPOSED,
                        leading ? ms__raft_quorum_contact(old) : now_of(g));
    }
    if (!e) return;
    e->elected = now_of(g);
    e->leader = nd->id;
    e->term = nd->term;
}

void ms__raft_el_heard(rnode *nd, int leader, uint64_t term) {
    ms_raft *g = nd->g;
    ms_raft_election *e = current(g);
    if (e && e->leader == leader && e->term == term) {
        e->heard = now_of(g);
        /* counted terms are distinct; the winner's is among them when its
         * campaign began in the outage */
        int counted = e->terms > 0 && term <= g->top_term;
        e->split = e->terms - counted;
        g->open = 0;
    }
    if (!g->open && term >= g->heard_term) {
        g->heard_leader = leader;
        g->heard_term = term;
    }
}
