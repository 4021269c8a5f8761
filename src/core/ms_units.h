/* Unit parsing for scenario values: durations, sizes and rates.
 *
 * Each parser takes the text, writes the value, and returns 0; on bad input
 * it returns -1 and writes a message that quotes the text into err. */
#ifndef MS_UNITS_H
#define MS_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "250us", "10ms", "1.5s", "2m", "1h", "5ns" -> nanoseconds. Spaces may
 * separate the number and the unit, and the usual spellings work: "40 sec",
 * "5 mins", "250 µs", "2 hours", "10 msec". A bare number is not accepted: a
 * duration must say its unit. An unknown unit's message lists the units. */
int ms_units_duration(const char *text, int64_t *ns, char *err, size_t errlen);

/* "4KiB", "1.5MB", "512B", "2GiB" -> bytes (SI for kB/MB/GB, IEC for KiB..). */
int ms_units_size(const char *text, int64_t *bytes, char *err, size_t errlen);

/* "200MB/s", "1GiB/s", "800B/s" -> bytes per second (a double: rates may be
 * fractional). */
int ms_units_rate(const char *text, double *bytes_per_s, char *err, size_t errlen);

#endif
