/* Unit parsing: a decimal number followed immediately by a unit suffix. */
#include "ms_units.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct unit {
    const char *suffix;
    double scale;
};

/* The short units, then the spellings people write ("40 sec", "5 mins",
 * "250 µs" with the micro sign or the Greek mu). */
static const struct unit durations[] = {
    {"ns", 1.0},         {"us", 1e3},          {"ms", 1e6},          {"s", 1e9},
    {"m", 60e9},         {"h", 3600e9},        {"nsec", 1.0},        {"nsecs", 1.0},
    {"nanosecond", 1.0}, {"nanoseconds", 1.0}, {"\xc2\xb5s", 1e3},   {"\xce\xbcs", 1e3},
    {"usec", 1e3},       {"usecs", 1e3},       {"microsecond", 1e3}, {"microseconds", 1e3},
    {"msec", 1e6},       {"msecs", 1e6},       {"millisecond", 1e6}, {"milliseconds", 1e6},
    {"sec", 1e9},        {"secs", 1e9},        {"second", 1e9},      {"seconds", 1e9},
    {"min", 60e9},       {"mins", 60e9},       {"minute", 60e9},     {"minutes", 60e9},
    {"hr", 3600e9},      {"hrs", 3600e9},      {"hour", 3600e9},     {"hours", 3600e9},
    {NULL, 0},
};

#define DURATION_UNITS                                                                             \
    "ns, us (\xc2\xb5s), ms, s, m (min), h; also nsec, usec, msec, sec, second(s), minute(s), "    \
    "hour(s)"

static const struct unit sizes[] = {
    {"B", 1.0},
    {"kB", 1e3},
    {"KB", 1e3},
    {"MB", 1e6},
    {"GB", 1e9},
    {"TB", 1e12},
    {"KiB", 1024.0},
    {"MiB", 1048576.0},
    {"GiB", 1073741824.0},
    {"TiB", 1099511627776.0},
    {NULL, 0},
};

/* True when [s, end) is a plain decimal: digits, one point, an exponent. No
 * sign, hex, inf/nan or white space, all of which strtod would accept. */
static int plain_decimal(const char *s, const char *end) {
    if (!(isdigit((unsigned char)*s) || *s == '.')) return 0;
    for (const char *p = s; p < end; p++) {
        if (!(isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '-' ||
              *p == '+'))
            return 0;
    }
    return 1;
}

/* Split text into a finite non-negative number and its suffix (after
 * spaces when `spaced`); look the suffix up in table (`units` lists them
 * for an error, or NULL). Returns 0 and the scaled value, or -1 with err
 * set. */
static int parse(const char *text, const struct unit *table, const char *what, int spaced,
                 const char *units, double *out, char *err, size_t errlen) {
    if (text == NULL || *text == '\0') {
        snprintf(err, errlen, "empty %s", what);
        return -1;
    }
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || !isfinite(v) || v < 0 || !plain_decimal(text, end)) {
        snprintf(err, errlen, "bad %s '%s': expected a number and a unit", what, text);
        return -1;
    }
    const char *unit = end;
    while (spaced && *unit == ' ') unit++;
    for (const struct unit *u = table; u->suffix; u++) {
        if (strcmp(unit, u->suffix) == 0) {
            *out = v * u->scale;
            return 0;
        }
    }
    if (*unit == '\0')
        snprintf(err, errlen, "bad %s '%s': missing unit%s%s%s", what, text, units ? " (" : "",
                 units ? units : "", units ? ")" : "");
    else
        snprintf(err, errlen, "bad %s '%s': unknown unit '%s'%s%s%s", what, text, unit,
                 units ? " (units: " : "", units ? units : "", units ? ")" : "");
    return -1;
}

int ms_units_duration(const char *text, int64_t *ns, char *err, size_t errlen) {
    double v;
    if (parse(text, durations, "duration", 1, DURATION_UNITS, &v, err, errlen) != 0) return -1;
    if (v >= 9.2e18) {
        snprintf(err, errlen, "bad duration '%s': too large", text);
        return -1;
    }
    *ns = (int64_t)llround(v);
    return 0;
}

int ms_units_size(const char *text, int64_t *bytes, char *err, size_t errlen) {
    double v;
    if (parse(text, sizes, "size", 0, NULL, &v, err, errlen) != 0) return -1;
    if (v >= 9.2e18) {
        snprintf(err, errlen, "bad size '%s': too large", text);
        return -1;
    }
    *bytes = (int64_t)llround(v);
    return 0;
}

int ms_units_rate(const char *text, double *bytes_per_s, char *err, size_t errlen) {
    size_t n = text ? strlen(text) : 0;
    if (n < 3 || strcmp(text + n - 2, "/s") != 0) {
        snprintf(err, errlen, "bad rate '%s': expected a size per second such as '200MB/s'",
                 text ? text : "");
        return -1;
    }
    char buf[64];
    if (n - 2 >= sizeof buf) {
        snprintf(err, errlen, "bad rate '%.40s...': too long", text);
        return -1;
    }
    memcpy(buf, text, n - 2);
    buf[n - 2] = '\0';
    double v;
    if (parse(buf, sizes, "rate", 0, NULL, &v, err, errlen) != 0) {
        snprintf(err, errlen, "bad rate '%s': expected a size per second such as '200MB/s'", text);
        return -1;
    }
    *bytes_per_s = v;
    return 0;
}
