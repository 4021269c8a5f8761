/* The libuv driver. All handles belong to a loop on this call's stack and
 * are closed (and their close callbacks run) before ms_drive_run returns. */
#include "ms_drive.h"

#include <signal.h>
#include <uv.h>

typedef struct {
    const ms_drive_opts *o;
    uv_loop_t loop;
    uv_idle_t idle;
    uv_signal_t sigint;
    uv_timer_t timer;
    uint64_t start_ms;
    ms_drive_status status;
    int finished;
} drive;

static void finish(drive *d, ms_drive_status status) {
    if (d->finished) return;
    d->finished = 1;
    d->status = status;
    uv_idle_stop(&d->idle);
    uv_timer_stop(&d->timer);
    if (d->o->handle_sigint) uv_signal_stop(&d->sigint);
}

static void on_idle(uv_idle_t *h) {
    drive *d = h->data;
    switch (d->o->slice(d->o->ctx)) {
    case MS_SLICE_MORE:
        break;
    case MS_SLICE_DONE:
        finish(d, MS_DRIVE_DONE);
        break;
    case MS_SLICE_ERROR:
        finish(d, MS_DRIVE_ERROR);
        break;
    case MS_SLICE_STOP:
        finish(d, MS_DRIVE_STOPPED);
        break;
    }
}

static void on_sigint(uv_signal_t *h, int signum) {
    (void)signum;
    finish(h->data, MS_DRIVE_INTERRUPTED);
}

static double wall_s(drive *d) {
    return (double)(uv_now(&d->loop) - d->start_ms) * 1e-3;
}

static void on_timer(uv_timer_t *h) {
    drive *d = h->data;
    uv_update_time(&d->loop);
    d->o->progress(d->o->ctx, wall_s(d), 0);
}

static void on_close(uv_handle_t *h) {
    (void)h;
}

ms_drive_status ms_drive_run(const ms_drive_opts *o) {
    drive d = {.o = o, .status = MS_DRIVE_ERROR};
    if (uv_loop_init(&d.loop) != 0) return MS_DRIVE_ERROR;
    uv_idle_init(&d.loop, &d.idle);
    d.idle.data = &d;
    uv_timer_init(&d.loop, &d.timer);
    d.timer.data = &d;
    if (o->handle_sigint) {
        uv_signal_init(&d.loop, &d.sigint);
        d.sigint.data = &d;
        uv_signal_start(&d.sigint, on_sigint, SIGINT);
    }
    d.start_ms = uv_now(&d.loop);
    if (o->progress && o->progress_ms > 0)
        uv_timer_start(&d.timer, on_timer, o->progress_ms, o->progress_ms);
    uv_idle_start(&d.idle, on_idle);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    finish(&d, d.status); /* no-op unless the loop ended on its own */
    if (o->progress) {
        uv_update_time(&d.loop);
        o->progress(o->ctx, wall_s(&d), 1);
    }
    uv_close((uv_handle_t *)&d.idle, on_close);
    uv_close((uv_handle_t *)&d.timer, on_close);
    if (o->handle_sigint) uv_close((uv_handle_t *)&d.sigint, on_close);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    uv_loop_close(&d.loop);
    return d.status;
}

uint64_t ms_drive_rss(void) {
    size_t rss = 0;
    return uv_resident_set_memory(&rss) == 0 ? (uint64_t)rss : 0;
}
