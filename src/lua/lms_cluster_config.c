/* A validated scenario table (lua/mastersim/scenario.lua: durations in
 * seconds, sizes in bytes, distributions as {kind, p1, p2}) into an
 * ms_cluster_config, by walking the settings tables of ms_settings.h: no
 * setting is named here. The config starts from the defaults of the
 * scenario's profile; `seed` is read from the top level. A value of the
 * wrong type is an error naming its key (the Lua side validates first, so
 * this guards the binding's own contract). */
#include "lms_cluster.h"

#include "ms_settings.h"

#include <string.h>

/* Push t[key] for a dotted key; returns its type (LUA_TNIL: nothing found,
 * nil pushed). Stack: [-0, +1]. */
static int push_path(lua_State *L, int t, const char *key) {
    lua_pushvalue(L, t);
    for (const char *p = key;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
            return LUA_TNIL;
        }
        lua_pushlstring(L, p, n);
        int type = lua_gettable(L, -2);
        lua_remove(L, -2);
        if (!dot) return type;
        p = dot + 1;
    }
}

static void bad(lua_State *L, const ms_setting *s, const char *what) {
    luaL_error(L, "cluster config: '%s' must be %s", s->key, what);
}

/* The distribution at the top of the stack (lms_todist). */
static ms_dist dist_at(lua_State *L, const ms_setting *s) {
    ms_dist d;
    if (!lms_todist(L, -1, &d)) bad(L, s, "a distribution");
    return d;
}

/* SERVICE: each op's distribution, or the table's `default` for the rest. */
static void service_at(lua_State *L, void *base, const ms_setting *s) {
    int t = lua_gettop(L);
    for (int op = 0; op < MS_OP_COUNT; op++) {
        if (lua_getfield(L, t, ms_ops_op_name((ms_read_op)op)) == LUA_TNIL) {
            lua_pop(L, 1);
            if (lua_getfield(L, t, "default") == LUA_TNIL) {
                lua_pop(L, 1);
                continue;
            }
        }
        ms_dist d = dist_at(L, s);
        if (ms_setting_set_dist(base, s, op, &d) != 0) bad(L, s, "a valid distribution");
        lua_pop(L, 1);
    }
}

/* Weights or routes by op name: the table's pairs, in any order (each
 * pair sets its own slot; weights not named stay 0), but a route's
 * `default` first, for the ops not named. */
static void ops_at(lua_State *L, void *base, const ms_setting *s) {
    int t = lua_gettop(L);
    if (s->kind != MS_SET_ROUTING) {
        size_t slots = s->kind == MS_SET_READ_WEIGHTS ? MS_OP_COUNT : MS_WRITE_OP_SLOTS;
        memset((char *)base + s->offset, 0, slots * sizeof(double));
    } else if (lua_getfield(L, t, "default") == LUA_TSTRING) {
        if (ms_setting_set_op(base, s, "default", 0, lua_tostring(L, -1)) != 0)
            bad(L, s, "a known route");
    }
    if (s->kind == MS_SET_ROUTING) lua_pop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        const char *name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        if (name && s->kind == MS_SET_ROUTING && strcmp(name, "default") == 0) {
            lua_pop(L, 1);
            continue;
        }
        if (!name || ms_setting_set_op(base, s, name, lua_tonumber(L, -1),
                                       lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL) != 0)
            bad(L, s, "a table of known ops");
        lua_pop(L, 1);
    }
}

/* Set the field of s at base from the value at the top (popped). */
static void set_from_top(lua_State *L, void *base, const ms_setting *s) {
    switch (s->kind) {
    case MS_SET_ENUM:
        if (!lua_isstring(L, -1) || ms_setting_set_choice(base, s, lua_tostring(L, -1)) != 0)
            bad(L, s, "one of its choices");
        break;
    case MS_SET_DIST: {
        ms_dist d = dist_at(L, s);
        if (ms_setting_set_dist(base, s, -1, &d) != 0) bad(L, s, "a valid distribution");
        break;
    }
    case MS_SET_SERVICE:
        if (!lua_istable(L, -1)) bad(L, s, "a table");
        service_at(L, base, s);
        break;
    case MS_SET_ROUTING:
    case MS_SET_READ_WEIGHTS:
    case MS_SET_WRITE_WEIGHTS:
        if (!lua_istable(L, -1)) bad(L, s, "a table");
        ops_at(L, base, s);
        break;
    case MS_SET_BOOL:
        ms_setting_set_number(base, s, lua_toboolean(L, -1));
        break;
    default:
        if (!lua_isnumber(L, -1)) bad(L, s, "a number");
        ms_setting_set_number(base, s, lua_tonumber(L, -1));
    }
    lua_pop(L, 1);
}

/* Every setting of `list` found in the Lua table at t. */
static void fill(lua_State *L, int t, void *base, ms_setting_list list) {
    ms_setting_table tab = ms_settings_of(list);
    for (size_t i = 0; i < tab.n; i++) {
        if (tab.v[i].kind == MS_SET_LIST) continue; /* fill_list counts the items */
        if (push_path(L, t, tab.v[i].key) == LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        set_from_top(L, base, &tab.v[i]);
    }
}

/* The items of the list at cfg[key] (at most max) into slots of `size`
 * bytes from `first`; their count into *count. */
static void fill_list(lua_State *L, int t, const char *key, ms_setting_list list, void *first,
                      size_t size, int max, int *count) {
    *count = 0;
    if (lua_getfield(L, t, key) == LUA_TTABLE) {
        int items = lua_gettop(L);
        lua_Integer n = luaL_len(L, items);
        if (n > max) luaL_error(L, "cluster config: at most %d items in '%s'", max, key);
        *count = (int)n;
        for (int i = 0; i < *count; i++) {
            lua_geti(L, items, i + 1);
            fill(L, lua_gettop(L), (char *)first + (size_t)i * size, list);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

void lms_cluster_config(lua_State *L, int t, ms_cluster_config *cfg) {
    t = lua_absindex(L, t);
    lua_getfield(L, t, "profile");
    int profile = lua_isstring(L, -1) ? ms_profile_parse(lua_tostring(L, -1)) : MS_PROFILE_GENERIC;
    if (profile < 0) luaL_error(L, "cluster config: unknown profile '%s'", lua_tostring(L, -1));
    lua_pop(L, 1);
    ms_settings_defaults(cfg, (ms_profile)profile);
    fill(L, t, cfg, MS_SETTINGS_CONFIG);
    lua_getfield(L, t, "seed");
    if (!lua_isnil(L, -1)) cfg->seed = (uint64_t)luaL_checknumber(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, t, "max_memory"); /* the run budget (bytes), checked while the image is built */
    if (!lua_isnil(L, -1)) cfg->max_rss = (uint64_t)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    fill_list(L, t, "clients", MS_SETTINGS_GROUP, cfg->group, sizeof cfg->group[0],
              MS_MAX_CLIENT_GROUPS, &cfg->groups);
    fill_list(L, t, "scans", MS_SETTINGS_SCAN, cfg->scan, sizeof cfg->scan[0], MS_MAX_SCANS,
              &cfg->scans);
}
