/* The settings tables (from the generated X-macro lists), the setters the
 * Lua binding and the defaults share, and the defaults of each profile. */
#include "ms_settings.h"

#include "ms_write.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1e9

/* An ENUM or ROUTING field must be int-sized: the setters store an int. */
#define SIZE_CHECK(type, ctype, name, kind)                                                        \
    _Static_assert((kind != MS_SET_ENUM && kind != MS_SET_ROUTING) ||                              \
                       sizeof(ctype) == sizeof(int),                                               \
                   #name " must be int-sized");
#define ITEM_CHECK(ctype, name, dims, kind, key, choices) SIZE_CHECK(item, ctype, name, kind)
MS_CLUSTER_SETTINGS(ITEM_CHECK)
MS_GROUP_SETTINGS(ITEM_CHECK)
MS_SCAN_SETTINGS(ITEM_CHECK)

#define CLUSTER_ROW(ctype, name, dims, kind, key, choices)                                         \
    {key, offsetof(ms_cluster_config, name), kind, choices},
#define GROUP_ROW(ctype, name, dims, kind, key, choices)                                           \
    {key, offsetof(ms_client_group, name), kind, choices},
#define SCAN_ROW(ctype, name, dims, kind, key, choices)                                            \
    {key, offsetof(ms_scan_config, name), kind, choices},

static const ms_setting cluster_rows[] = {MS_CLUSTER_SETTINGS(CLUSTER_ROW)};
static const ms_setting group_rows[] = {MS_GROUP_SETTINGS(GROUP_ROW)};
static const ms_setting scan_rows[] = {MS_SCAN_SETTINGS(SCAN_ROW)};

ms_setting_table ms_settings_of(ms_setting_list list) {
    switch (list) {
    case MS_SETTINGS_GROUP:
        return (ms_setting_table){group_rows, sizeof group_rows / sizeof group_rows[0]};
    case MS_SETTINGS_SCAN:
        return (ms_setting_table){scan_rows, sizeof scan_rows / sizeof scan_rows[0]};
    default:
        return (ms_setting_table){cluster_rows, sizeof cluster_rows / sizeof cluster_rows[0]};
    }
}

const ms_setting *ms_setting_find(ms_setting_list list, const char *key) {
    ms_setting_table t = ms_settings_of(list);
    for (size_t i = 0; i < t.n; i++)
        if (strcmp(t.v[i].key, key) == 0) return &t.v[i];
    return NULL;
}

static void *at(void *base, const ms_setting *s) {
    return (char *)base + s->offset;
}

int ms_setting_set_number(void *base, const ms_setting *s, double v) {
    void *p = at(base, s);
    switch (s->kind) {
    case MS_SET_INT:
        *(int *)p = (int)v;
        return 0;
    case MS_SET_I64:
        *(int64_t *)p = (int64_t)v;
        return 0;
    case MS_SET_U64:
        *(uint64_t *)p = (uint64_t)v;
        return 0;
    case MS_SET_U32:
        *(uint32_t *)p = (uint32_t)v;
        return 0;
    case MS_SET_DOUBLE:
        *(double *)p = v;
        return 0;
    case MS_SET_NS:
        *(int64_t *)p = (int64_t)(v * NS_PER_S + 0.5);
        return 0;
    case MS_SET_BOOL:
        *(int *)p = v != 0;
        return 0;
    case MS_SET_LIST:
        *(int *)p = (int)v;
        return 0;
    default:
        return -1;
    }
}

int ms_setting_choice_index(const char *choices, const char *name) {
    size_t len = strlen(name);
    int i = 0;
    for (const char *c = choices; c && *c; i++) {
        const char *end = strchr(c, '|');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == len && strncmp(c, name, n) == 0) return i;
        if (!end) break;
        c = end + 1;
    }
    return -1;
}

int ms_setting_set_choice(void *base, const ms_setting *s, const char *name) {
    int i = ms_setting_choice_index(s->choices, name);
    if (s->kind != MS_SET_ENUM || i < 0) return -1;
    *(int *)at(base, s) = i;
    return 0;
}

int ms_setting_set_dist(void *base, const ms_setting *s, int op, const ms_dist *d) {
    if (!ms_dist_valid(d)) return -1;
    if (s->kind == MS_SET_DIST) {
        *(ms_dist *)at(base, s) = *d;
        return 0;
    }
    if (s->kind != MS_SET_SERVICE || op < 0 || op >= MS_OP_COUNT) return -1;
    ((ms_dist *)at(base, s))[op] = *d;
    return 0;
}

static int read_op(const char *name) {
    ms_read_op op;
    return ms_ops_op_parse(name, &op) == 0 ? (int)op : -1;
}

static int write_op(const char *name) {
    for (int i = 1; i < MS_WRITE_OP_SLOTS; i++)
        if (strcmp(ms_write_op_name(i), name) == 0) return i;
    return -1;
}

int ms_setting_set_op(void *base, const ms_setting *s, const char *name, double weight,
                      const char *value) {
    switch (s->kind) {
    case MS_SET_READ_WEIGHTS: {
        int op = read_op(name);
        if (op < 0) return -1;
        ((double *)at(base, s))[op] = weight;
        return 0;
    }
    case MS_SET_WRITE_WEIGHTS: {
        int op = write_op(name);
        if (op < 0) return -1;
        ((double *)at(base, s))[op] = weight;
        return 0;
    }
    case MS_SET_ROUTING: {
        int v = value ? ms_setting_choice_index(s->choices, value) : -1;
        int *t = at(base, s);
        if (v < 0) return -1;
        if (strcmp(name, "default") == 0) {
            for (int i = 0; i < MS_OP_COUNT; i++) t[i] = v;
            return 0;
        }
        int op = read_op(name);
        if (op < 0) return -1;
        t[op] = v;
        return 0;
    }
    default:
        return -1;
    }
}

/* "kind p1 p2" (sep ' ') or "kind:p1:p2" (sep ':'), times in seconds. */
static int parse_dist(const char *text, char sep, ms_dist *out) {
    char kind[16];
    const char *p = strchr(text, sep);
    if (!p || (size_t)(p - text) >= sizeof kind) return -1;
    memcpy(kind, text, (size_t)(p - text));
    kind[p - text] = '\0';
    char *end;
    double p1 = strtod(p + 1, &end);
    if (*end != sep) return -1;
    double p2 = strtod(end + 1, &end);
    int k = ms_dist_kind_from_name(kind);
    if (k < 0) return -1;
    *out = ms_dist_make((ms_dist_kind)k, p1 * NS_PER_S, p2 * NS_PER_S);
    return ms_dist_valid(out) ? 0 : -1;
}

/* "op=value op=value ...": each pair to the field (a service value is a
 * distribution "kind:p1:p2"; `default` fills the ops not named). */
static int parse_ops(void *base, const ms_setting *s, const char *text) {
    char buf[512];
    if (strlen(text) >= sizeof buf) return -1;
    memcpy(buf, text, strlen(text) + 1);
    ms_dist fallback;
    int have_fallback = 0, named[MS_OP_COUNT] = {0};
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) return -1;
        *eq = '\0';
        const char *name = tok, *value = eq + 1;
        if (s->kind == MS_SET_SERVICE) {
            ms_dist d;
            if (parse_dist(value, ':', &d) != 0) return -1;
            if (strcmp(name, "default") == 0) {
                fallback = d;
                have_fallback = 1;
                continue;
            }
            int op = read_op(name);
            if (op < 0) return -1;
            named[op] = 1;
            ms_setting_set_dist(base, s, op, &d);
        } else if (ms_setting_set_op(base, s, name, strtod(value, NULL), value) != 0) {
            return -1;
        }
    }
    for (int op = 0; have_fallback && op < MS_OP_COUNT; op++)
        if (!named[op]) ms_setting_set_dist(base, s, op, &fallback);
    return 0;
}

int ms_setting_parse(void *base, const ms_setting *s, const char *text, char *err, size_t n) {
    int rc;
    switch (s->kind) {
    case MS_SET_ENUM:
        rc = ms_setting_set_choice(base, s, text);
        break;
    case MS_SET_DIST: {
        ms_dist d;
        rc = parse_dist(text, ' ', &d) == 0 ? ms_setting_set_dist(base, s, -1, &d) : -1;
        break;
    }
    case MS_SET_SERVICE:
    case MS_SET_ROUTING:
    case MS_SET_READ_WEIGHTS:
    case MS_SET_WRITE_WEIGHTS:
        rc = parse_ops(base, s, text);
        break;
    default: {
        char *end;
        double v = strtod(text, &end);
        rc = *end || !isfinite(v) ? -1 : ms_setting_set_number(base, s, v);
    }
    }
    if (rc != 0) snprintf(err, n, "setting '%s': bad value '%s'", s->key, text);
    return rc;
}

/* One default: into the config, or into every slot of a list. A default
 * that does not parse is a bug in settings.lua (test_settings checks). */
static void set_default(ms_cluster_config *cfg, ms_setting_list list, const char *key,
                        const char *text) {
    const ms_setting *s = ms_setting_find(list, key);
    int slots = list == MS_SETTINGS_GROUP  ? MS_MAX_CLIENT_GROUPS
                : list == MS_SETTINGS_SCAN ? MS_MAX_SCANS
                                           : 1;
    char err[128];
    for (int i = 0; i < slots; i++) {
        void *base = list == MS_SETTINGS_GROUP  ? (void *)&cfg->group[i]
                     : list == MS_SETTINGS_SCAN ? (void *)&cfg->scan[i]
                                                : (void *)cfg;
        if (!s || ms_setting_parse(base, s, text, err, sizeof err) != 0) abort();
    }
}

void ms_settings_defaults(ms_cluster_config *cfg, ms_profile p) {
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->duration = (int64_t)(60 * NS_PER_S);
#define APPLY(profile, list, key, text)                                                            \
    if ((int)(profile) == (int)p) set_default(cfg, (ms_setting_list)(list), key, text);
    MS_SETTING_DEFAULTS(APPLY)
#undef APPLY
}

const char *ms_profile_name(ms_profile p) {
    static const char *const names[] = {MS_PROFILE_NAME_LIST};
    _Static_assert(sizeof names / sizeof names[0] == MS_PROFILE_COUNT, "profile names");
    return p >= 0 && p < MS_PROFILE_COUNT ? names[p] : "unknown";
}

int ms_profile_parse(const char *name) {
    return ms_setting_choice_index(MS_PROFILE_NAMES, name);
}
