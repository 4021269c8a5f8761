/* libuv drives a run: the scheduler is drained in slices from an idle
 * handle, a signal handle turns SIGINT into a clean stop, and a wall-clock
 * timer calls a progress function. libuv never decides the order of
 * simulated events: it only decides when the next slice runs. Each call
 * owns its own uv_loop_t, so runs on several threads do not interfere. */
#ifndef MS_DRIVE_H
#define MS_DRIVE_H

#include <stdint.h>

/* What a slice reports: more to run, done, an error, or a stop the slice
 * function decided on (a run budget spent). */
typedef enum { MS_SLICE_MORE, MS_SLICE_DONE, MS_SLICE_ERROR, MS_SLICE_STOP } ms_slice_status;

typedef enum {
    MS_DRIVE_DONE,
    MS_DRIVE_INTERRUPTED,
    MS_DRIVE_ERROR,
    MS_DRIVE_STOPPED /* the slice function returned MS_SLICE_STOP */
} ms_drive_status;

typedef struct {
    /* Runs one slice of events; called until it returns DONE or ERROR. */
    ms_slice_status (*slice)(void *ctx);
    /* Called every progress_ms of wall time when non-NULL (and at the end
     * with final = 1, so a progress line can be cleared). */
    void (*progress)(void *ctx, double wall_s, int final);
    void *ctx;
    uint64_t progress_ms;
    int handle_sigint; /* stop cleanly on SIGINT, reported as INTERRUPTED */
} ms_drive_opts;

/* Drive slices until done, error, stop or SIGINT. Returns how it ended; a
 * negative libuv error code is never returned: setup failures are
 * MS_DRIVE_ERROR. */
ms_drive_status ms_drive_run(const ms_drive_opts *opts);

/* The process's resident set size in bytes (0 when unknown): what the run
 * budget's memory limit is measured against. */
uint64_t ms_drive_rss(void);

#endif
