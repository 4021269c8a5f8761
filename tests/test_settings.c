/* The settings tables generated from lua/mastersim/settings.lua: every
 * profile's defaults parse, the enum choices are in the C enums' order,
 * and the setters convert as the binding expects. */
#include "ms_settings.h"
#include "ms_test.h"

#include <string.h>

/* Each profile's defaults parse (ms_settings_defaults aborts on a bad
 * default) and give a config ms_cluster_new accepts. */
static void test_defaults(void) {
    for (int p = 0; p < MS_PROFILE_COUNT; p++) {
        ms_cluster_config cfg;
        ms_settings_defaults(&cfg, (ms_profile)p);
        CHECK(cfg.masters >= 1);
        CHECK(cfg.election_min > 0 && cfg.election_min <= cfg.election_max);
        CHECK(cfg.heartbeat > 0 && cfg.heartbeat <= cfg.election_min);
        CHECK(ms_dist_valid(&cfg.latency));
        for (int op = 0; op < MS_OP_COUNT; op++) CHECK(ms_dist_valid(&cfg.service[op]));
        for (int g = 0; g < MS_MAX_CLIENT_GROUPS; g++) CHECK(cfg.group[g].count == 1);
        CHECK_STR(ms_profile_name((ms_profile)p),
                  ms_profile_name((ms_profile)ms_profile_parse(ms_profile_name((ms_profile)p))));
        ms_policy pol;
        CHECK_EQ_I64(ms_policy_builtin("block", 5, &pol), 0);
        ms_sched *s = ms_sched_new();
        char err[256];
        ms_cluster *c = ms_cluster_new(s, &cfg, &pol, err, sizeof err);
        CHECK(c != NULL);
        ms_cluster_free(c);
        ms_sched_free(s);
    }
    CHECK_EQ_I64(ms_profile_parse("nope"), -1);
}

/* An enum setting stores the index of its choice, and the choices are
 * named as the model names its enum values. */
static void test_enums(void) {
    ms_cluster_config cfg;
    ms_settings_defaults(&cfg, MS_PROFILE_GENERIC);
    const ms_setting *mode = ms_setting_find(MS_SETTINGS_CONFIG, "snapshot.mode");
    CHECK(mode != NULL);
    for (int m = MS_SNAP_REOPEN; m <= MS_SNAP_ASIDE; m++) {
        CHECK_EQ_I64(ms_setting_set_choice(&cfg, mode, ms_snap_mode_name((ms_snap_mode)m)), 0);
        CHECK_EQ_I64(cfg.mode, m);
    }
    CHECK_EQ_I64(ms_setting_set_choice(&cfg, mode, "sideways"), -1);
    const ms_setting *route = ms_setting_find(MS_SETTINGS_GROUP, "route");
    CHECK_EQ_I64(ms_setting_set_choice(&cfg.group[0], route, "local"), 0);
    CHECK_EQ_I64(cfg.group[0].route, MS_ROUTE_LOCAL);
    const ms_setting *arr = ms_setting_find(MS_SETTINGS_GROUP, "arrivals");
    CHECK_EQ_I64(ms_setting_set_choice(&cfg.group[0], arr, "closed"), 0);
    CHECK_EQ_I64(cfg.group[0].arrivals, MS_ARRIVALS_CLOSED);
}

/* Numbers convert as the binding always did: durations in seconds to ns
 * rounded to nearest, counts truncated; weights by op name. */
static void test_setters(void) {
    ms_cluster_config cfg;
    ms_settings_defaults(&cfg, MS_PROFILE_GENERIC);
    CHECK_EQ_I64(
        ms_setting_set_number(&cfg, ms_setting_find(MS_SETTINGS_CONFIG, "raft.heartbeat"), 0.25),
        0);
    CHECK_EQ_I64(cfg.heartbeat, 250000000);
    CHECK_EQ_I64(
        ms_setting_set_number(&cfg, ms_setting_find(MS_SETTINGS_CONFIG, "cluster.masters"), 5.0),
        0);
    CHECK_EQ_I64(cfg.masters, 5);
    const ms_setting *ops = ms_setting_find(MS_SETTINGS_GROUP, "ops");
    CHECK_EQ_I64(ms_setting_set_op(&cfg.group[0], ops, "get_dp", 0.5, NULL), 0);
    CHECK(cfg.group[0].ops[MS_OP_GET_DP] == 0.5);
    CHECK_EQ_I64(ms_setting_set_op(&cfg.group[0], ops, "get_nothing", 0.5, NULL), -1);
    const ms_setting *w = ms_setting_find(MS_SETTINGS_CONFIG, "writes.ops");
    CHECK_EQ_I64(ms_setting_set_op(&cfg, w, "create_dp", 2, NULL), 0);
    CHECK(cfg.write_ops[MS_W_CREATE_DP] == 2);
    char err[128];
    CHECK_EQ_I64(ms_setting_parse(&cfg, ms_setting_find(MS_SETTINGS_CONFIG, "network.latency"),
                                  "lognormal 0.001 0.004", err, sizeof err),
                 0);
    CHECK(cfg.latency.kind == MS_DIST_LOGNORMAL && cfg.latency.p1 == 1e6 && cfg.latency.p2 == 4e6);
    CHECK_EQ_I64(ms_setting_parse(&cfg, ms_setting_find(MS_SETTINGS_CONFIG, "network.latency"),
                                  "gaussian 1 2", err, sizeof err),
                 -1);
    CHECK_STR(err, "setting 'network.latency': bad value 'gaussian 1 2'");
    CHECK(ms_setting_find(MS_SETTINGS_CONFIG, "no.such.key") == NULL);
}

int main(void) {
    RUN(test_defaults);
    RUN(test_enums);
    RUN(test_setters);
    return ms_test_end();
}
