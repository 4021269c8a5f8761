/* The reference policies written in C, for measuring what consulting a Lua
 * policy costs against deciding in C. Each mirrors its file in policies/. */
#include "ms_policy.h"

#include <string.h>

const char *const ms_decision_kinds[] = {"serve", "stale", "wait", "fail", "redirect", NULL};

static void set_code(ms_decision *d, const char *code) {
    strncpy(d->code, code, sizeof d->code - 1);
    d->code[sizeof d->code - 1] = '\0';
}

static int serve(void *ud, const ms_read_state *r, const ms_node_state *n, ms_decision *d, char *e,
                 size_t el) {
    (void)ud, (void)r, (void)n, (void)e, (void)el;
    d->kind = MS_DEC_SERVE;
    return 0;
}

/* ud points at the policy's parameter (seconds), stored in the policy. */
static int block(void *ud, const ms_read_state *r, const ms_node_state *n, ms_decision *d, char *e,
                 size_t el) {
    (void)e, (void)el;
    double timeout = *(const double *)ud;
    if (n->phase != MS_PHASE_APPLYING) {
        d->kind = MS_DEC_SERVE;
    } else if (r->waited >= timeout) {
        d->kind = MS_DEC_FAIL;
        set_code(d, "ETIMEDOUT");
    } else {
        d->kind = MS_DEC_WAIT;
        d->seconds = timeout - r->waited;
    }
    return 0;
}

static int fail_fast(void *ud, const ms_read_state *r, const ms_node_state *n, ms_decision *d,
                     char *e, size_t el) {
    (void)r, (void)e, (void)el;
    if (n->phase != MS_PHASE_APPLYING) {
        d->kind = MS_DEC_SERVE;
        return 0;
    }
    d->kind = MS_DEC_FAIL;
    set_code(d, "ENOTREADY");
    d->retry_after = *(const double *)ud;
    return 0;
}

static int stale_read(void *ud, const ms_read_state *r, const ms_node_state *n, ms_decision *d,
                      char *e, size_t el) {
    (void)ud, (void)r, (void)e, (void)el;
    d->kind = n->phase == MS_PHASE_APPLYING ? MS_DEC_STALE : MS_DEC_SERVE;
    return 0;
}

static int redirect_leader(void *ud, const ms_read_state *r, const ms_node_state *n, ms_decision *d,
                           char *e, size_t el) {
    (void)ud, (void)r, (void)e, (void)el;
    d->kind = n->phase == MS_PHASE_APPLYING ? MS_DEC_REDIRECT : MS_DEC_SERVE;
    d->target = -1;
    return 0;
}

/* Built-ins read their parameter through ud, which points at out->param. */
int ms_policy_builtin(const char *name, double param, ms_policy *out) {
    static const struct {
        const char *name;
        int (*fn)(void *, const ms_read_state *, const ms_node_state *, ms_decision *, char *,
                  size_t);
    } table[] = {{"unsafe", serve},          {"unguarded", serve},
                 {"block", block},           {"fail_fast", fail_fast},
                 {"stale_read", stale_read}, {"redirect_leader", redirect_leader}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(name, table[i].name) == 0) {
            memset(out, 0, sizeof *out);
            out->name = table[i].name;
            out->on_read = table[i].fn;
            out->param = param;
            out->ud = &out->param;
            return 0;
        }
    }
    return -1;
}
