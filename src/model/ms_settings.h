/* The scenario settings as the model stores them. Each row of
 * lua/mastersim/settings.lua with a C field becomes a field of
 * ms_cluster_config (or of ms_client_group, for `clients[].x`) through the
 * generated X-macro lists of ms_settings_gen.h, and an entry of the tables
 * below: key, offset, kind. The Lua binding fills a config by walking these
 * tables; the defaults of each profile come from the same rows as text
 * (ms_settings_defaults). A new setting is a row in settings.lua plus the
 * code that uses its field. */
#ifndef MS_SETTINGS_H
#define MS_SETTINGS_H

#include "ms_cluster.h"

#include <stddef.h>

typedef enum ms_setting_kind {
    MS_SET_INT = 0,      /* int, from a number */
    MS_SET_I64,          /* int64_t */
    MS_SET_U64,          /* uint64_t */
    MS_SET_U32,          /* uint32_t */
    MS_SET_DOUBLE,       /* double */
    MS_SET_NS,           /* int64_t nanoseconds, from seconds */
    MS_SET_BOOL,         /* int 0/1 */
    MS_SET_LIST,         /* int: how many items of a list (clients, scans) are used */
    MS_SET_ENUM,         /* an int-sized enum: the index of a name in choices */
    MS_SET_DIST,         /* ms_dist, times in ns from seconds */
    MS_SET_SERVICE,      /* ms_dist[MS_OP_COUNT]: per read op, `default` for the rest */
    MS_SET_ROUTING,      /* int[MS_OP_COUNT]: per read op an index in choices */
    MS_SET_READ_WEIGHTS, /* double[MS_OP_COUNT] by read op name (absent: 0) */
    MS_SET_WRITE_WEIGHTS /* double[MS_WRITE_OP_SLOTS] by write op name (absent: 0) */
} ms_setting_kind;

typedef struct ms_setting {
    const char *key; /* dotted path; a group's is relative to the group */
    size_t offset;   /* in ms_cluster_config, or in ms_client_group */
    ms_setting_kind kind;
    const char *choices; /* ENUM and ROUTING: the names, separated by '|' */
} ms_setting;

/* The tables: the config's settings, and those of each item of a list
 * (a client group, a scan: keys relative to the item). */
typedef enum ms_setting_list {
    MS_SETTINGS_CONFIG = 0,
    MS_SETTINGS_GROUP,
    MS_SETTINGS_SCAN
} ms_setting_list;

typedef struct ms_setting_table {
    const ms_setting *v;
    size_t n;
} ms_setting_table;

ms_setting_table ms_settings_of(ms_setting_list list);

/* The setting with `key` in a table, or NULL. */
const ms_setting *ms_setting_find(ms_setting_list list, const char *key);

/* Store v in the field of s at base (a config or a group). Numbers convert
 * as a C cast does; NS takes seconds. Only for the scalar number kinds
 * (INT .. BOOL): -1 otherwise. */
int ms_setting_set_number(void *base, const ms_setting *s, double v);

/* ENUM: store the index of `name` in s->choices; -1 when it is not one. */
int ms_setting_set_choice(void *base, const ms_setting *s, const char *name);

/* The index of `name` in a '|'-separated list, or -1. */
int ms_setting_choice_index(const char *choices, const char *name);

/* DIST: store d; SERVICE: store d for read op `op` (0 <= op < MS_OP_COUNT). */
int ms_setting_set_dist(void *base, const ms_setting *s, int op, const ms_dist *d);

/* READ_WEIGHTS / WRITE_WEIGHTS: the weight of op `name`; ROUTING: the
 * choice `value` for read op `name` (`default`: every op). -1 for an
 * unknown op or choice. */
int ms_setting_set_op(void *base, const ms_setting *s, const char *name, double weight,
                      const char *value);

/* Parse a default's text (see scripts/gen-settings.lua) into the field. */
int ms_setting_parse(void *base, const ms_setting *s, const char *text, char *err, size_t n);

/* Every setting at its default under profile p, for the config and for
 * each slot of its lists (groups, scans); other fields zero, seed 1,
 * duration 60 s (a scenario always gives its own). */
void ms_settings_defaults(ms_cluster_config *cfg, ms_profile p);

/* The name of profile p ("cubefs", "generic"), and its index by name (-1). */
const char *ms_profile_name(ms_profile p);
int ms_profile_parse(const char *name);

#endif
