/* Output files (results, reports, histories) that never replace what is not
 * a regular file.
 *
 * A regular file, or a path that does not exist yet, is written to a
 * temporary file next to it and renamed into place only once every byte is
 * written and the file closed: a reader sees the old file or the new one,
 * and a failed write leaves the old one and no temporary file. Anything
 * else that can be opened for writing -- a character device (/dev/null,
 * /dev/full, a terminal), a FIFO, a socket, a symbolic link such as
 * /dev/stdout -- is written in place and never replaced. A directory is an
 * error. Every failure, including one of an earlier buffered write (ENOSPC
 * on /dev/full), is reported once, by ms_outfile_close, as strerror's text. */
#ifndef MS_OUTFILE_H
#define MS_OUTFILE_H

#include <stddef.h>
#include <stdio.h>

/* What path names, without following a final symbolic link. */
typedef enum {
    MS_FILE_MISSING,   /* nothing (ENOENT) */
    MS_FILE_REGULAR,   /* a regular file */
    MS_FILE_DIRECTORY, /* a directory */
    MS_FILE_SPECIAL,   /* a device, FIFO, socket or symbolic link */
    MS_FILE_ERROR      /* lstat failed otherwise (errno tells why) */
} ms_file_kind;

ms_file_kind ms_outfile_kind(const char *path);
const char *ms_outfile_kind_name(ms_file_kind k);

typedef struct ms_outfile {
    FILE *f;
    char *path; /* the destination */
    char *tmp;  /* the temporary file; NULL when writing in place */
    int err;    /* errno of the first failed write, 0 if none */
} ms_outfile;

/* Open path for writing into o. Returns 0, or -1 with strerror's text in
 * err (o then holds nothing). */
int ms_outfile_open(ms_outfile *o, const char *path, char *err, size_t errlen);

/* Write n bytes of p; a failure is kept for ms_outfile_close. */
void ms_outfile_write(ms_outfile *o, const void *p, size_t n);

/* Note a failed write made directly on o->f (fprintf returned < 0). */
void ms_outfile_failed(ms_outfile *o);

/* Flush and close; move the temporary file into place, or remove it when
 * discard is set or anything failed. Returns 0, or -1 with strerror's text
 * in err. Always releases o; a no-op (0) on a closed or unopened o. */
int ms_outfile_close(ms_outfile *o, int discard, char *err, size_t errlen);

/* The whole of p (n bytes) to path: open, write, close. */
int ms_outfile_put(const char *path, const void *p, size_t n, char *err, size_t errlen);

#endif
