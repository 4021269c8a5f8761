/* Output files: a temporary file renamed into place for a regular file,
 * the file itself for anything else (see ms_outfile.h). */
#include "ms_outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_TRIES 1000

static int fail(int e, char *err, size_t errlen) {
    snprintf(err, errlen, "%s", strerror(e));
    return -1;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* Create a fresh temporary file next to path, named path.tmp.<pid>.<n>
 * (O_EXCL: two writers, or a stale file, take the next n). Returns the
 * descriptor and sets *tmp, or -1 with errno set. */
static int create_temp(const char *path, char **tmp) {
    size_t cap = strlen(path) + 48;
    char *name = malloc(cap);
    if (!name) return -1;
    for (int n = 0; n < TMP_TRIES; n++) {
        snprintf(name, cap, "%s.tmp.%ld.%d", path, (long)getpid(), n);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0) {
            *tmp = name;
            return fd;
        }
        if (errno != EEXIST) break;
    }
    int e = errno;
    free(name);
    errno = e;
    return -1;
}

ms_file_kind ms_outfile_kind(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? MS_FILE_MISSING : MS_FILE_ERROR;
    if (S_ISREG(st.st_mode)) return MS_FILE_REGULAR;
    return S_ISDIR(st.st_mode) ? MS_FILE_DIRECTORY : MS_FILE_SPECIAL;
}

const char *ms_outfile_kind_name(ms_file_kind k) {
    static const char *const names[] = {"missing", "regular", "directory", "special", "error"};
    return k <= MS_FILE_ERROR ? names[k] : "error";
}

int ms_outfile_open(ms_outfile *o, const char *path, char *err, size_t errlen) {
    *o = (ms_outfile){0};
    ms_file_kind kind = ms_outfile_kind(path);
    if (kind == MS_FILE_ERROR) return fail(errno, err, errlen);
    if (kind == MS_FILE_DIRECTORY) return fail(EISDIR, err, errlen);
    int in_place = kind == MS_FILE_SPECIAL;
    o->path = dup_str(path);
    if (!o->path) return fail(ENOMEM, err, errlen);
    if (in_place) {
        o->f = fopen(path, "wb");
    } else {
        int fd = create_temp(path, &o->tmp);
        o->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (fd >= 0 && !o->f) close(fd);
    }
    if (!o->f) {
        int e = errno;
        if (o->tmp) remove(o->tmp);
        free(o->tmp), free(o->path);
        *o = (ms_outfile){0};
        return fail(e, err, errlen);
    }
    return 0;
}

void ms_outfile_failed(ms_outfile *o) {
    if (!o->err) o->err = errno ? errno : EIO;
}

void ms_outfile_write(ms_outfile *o, const void *p, size_t n) {
    if (o->f && !o->err && n > 0 && fwrite(p, 1, n, o->f) != n) ms_outfile_failed(o);
}

int ms_outfile_close(ms_outfile *o, int discard, char *err, size_t errlen) {
    if (!o->f) return 0;
    int e = o->err;
    if (fflush(o->f) != 0 && !e) e = errno;
    if (ferror(o->f) && !e) e = EIO; /* a failed write nobody noted */
    if (fclose(o->f) != 0 && !e) e = errno;
    if (o->tmp) {
        if (!e && !discard && rename(o->tmp, o->path) != 0) e = errno;
        if (e || discard) remove(o->tmp);
    }
    free(o->tmp), free(o->path);
    *o = (ms_outfile){0};
    return e ? fail(e, err, errlen) : 0;
}

int ms_outfile_put(const char *path, const void *p, size_t n, char *err, size_t errlen) {
    ms_outfile o;
    if (ms_outfile_open(&o, path, err, errlen) != 0) return -1;
    ms_outfile_write(&o, p, n);
    return ms_outfile_close(&o, 0, err, errlen);
}
