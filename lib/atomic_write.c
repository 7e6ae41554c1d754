/* Atomic, durable file replacement (lib/atomic_write.h).
 *
 * Linux: the bytes go into an O_TMPFILE file, which has no name, so a crash or kill -9 at any
 * moment leaves nothing behind: the kernel frees an unnamed inode when its last descriptor
 * closes.  After fsync the file gets its name with linkat().  linkat never replaces an existing
 * file, and renameat2() cannot help (it renames names, and the file has none), so:
 *   - a new path: linkat straight to the final name; no other name ever exists;
 *   - an existing path: linkat to a hidden unique name (.adn-PID-N.tmp), then renameat over the
 *     target.  The hidden name exists only between those two calls, for a file that is already
 *     complete and on disk; a kill -9 exactly there leaves that complete file under the hidden
 *     name, never a partial one, and the target is always the old or the new file.
 * Elsewhere (no O_TMPFILE, or a file system that refuses it, or no way to name the unnamed file):
 * a hidden named temporary file, fsync, renameat, removed on any failure.
 * Both end with an fsync of the folder, so the new name itself survives a power cut. */
#define _GNU_SOURCE /* O_TMPFILE, AT_EMPTY_PATH */
#include "atomic_write.h"
#include "system_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct target {
    const char *path; /* as given, for messages */
    char *folder;     /* "." or path up to its last '/' (malloc'ed) */
    const char *name; /* the last component of path */
    int dirfd;
} target;

static adn_status io_fail(const target *t, const char *step, int err) {
    char reason[128];
    return adn_fail(ADN_ERR_IO, "cannot write '%s': %s%s", t->path, step, adn_errno_text(err, reason, sizeof reason));
}

static adn_status open_target(const char *path, target *t) {
    memset(t, 0, sizeof *t);
    t->path = path;
    t->dirfd = -1;
    const char *slash = strrchr(path, '/');
    t->name = slash ? slash + 1 : path;
    if (!*t->name || strcmp(t->name, ".") == 0 || strcmp(t->name, "..") == 0)
        return adn_fail(ADN_ERR_IO, "cannot write '%s': it names a folder, not a file", path);
    const size_t length = slash ? (size_t)(slash - path) : 1;
    t->folder = malloc(length + 1);
    if (!t->folder) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot write '%s': out of memory", path);
    if (!slash)
        strcpy(t->folder, ".");
    else if (length == 0)
        strcpy(t->folder, "/");
    else {
        memcpy(t->folder, path, length);
        t->folder[length] = '\0';
    }
    t->dirfd = open(t->folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (t->dirfd < 0) return io_fail(t, "its folder cannot be opened: ", errno);
    return ADN_OK;
}

static void close_target(target *t) {
    if (t->dirfd >= 0) close(t->dirfd);
    free(t->folder);
}

/* Renaming over /dev/null (as root) or a FIFO another program reads would destroy it. */
static adn_status refuse_non_regular(const target *t) {
    struct stat st;
    if (fstatat(t->dirfd, t->name, &st, 0) != 0) return ADN_OK; /* absent (or a dangling link): created */
    if (S_ISREG(st.st_mode)) return ADN_OK;
    return adn_fail(ADN_ERR_IO, "cannot write '%s': it is %s, not a regular file; it is left as it is", t->path,
                    adn_file_kind(st.st_mode));
}

/* 0 or an errno. */
static int write_all(int fd, const uint8_t *data, size_t size) {
    while (size > 0) {
        const ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno;
        if (n == 0) return EIO;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/* 0 or an errno: the bytes in, then on disk. */
static int fill_and_sync(int fd, const void *data, size_t size, const char **step) {
    int err = write_all(fd, data, size);
    *step = "";
    if (!err && fsync(fd) != 0) {
        err = errno;
        *step = "flushing it to disk failed: ";
    }
    return err;
}

static void hidden_name(char *buf, size_t size) {
    static atomic_uint counter;
    snprintf(buf, size, ".adn-%ld-%u.tmp", (long)getpid(), atomic_fetch_add(&counter, 1u));
}

/* ---- the unnamed file (Linux) ---------------------------------------------------------------- */

/* An errno of linkat that means "this system cannot name an unnamed file", not a failure. */
static int cannot_name_unnamed(int err) { return err == ENOENT || err == EPERM || err == EOPNOTSUPP || err == EINVAL; }

/* Gives the unnamed file fd the name `name` in the folder: 0 or an errno (EEXIST if taken). */
static int link_unnamed(int fd, int dirfd, const char *name) {
#ifdef AT_EMPTY_PATH
    if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0) return 0; /* needs CAP_DAC_READ_SEARCH */
    if (errno == EEXIST) return EEXIST;
#endif
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) == 0) return 0;
    return errno;
}

/* 0 or an errno: the unnamed, synced file becomes t->name (see the top of this file). */
static int publish_unnamed(const target *t, int fd) {
    int err = link_unnamed(fd, t->dirfd, t->name);
    if (err != EEXIST) return err;
    char hidden[64];
    for (int attempt = 0; attempt < 100 && err == EEXIST; ++attempt) {
        hidden_name(hidden, sizeof hidden);
        err = link_unnamed(fd, t->dirfd, hidden);
    }
    if (err) return err;
    if (renameat(t->dirfd, hidden, t->dirfd, t->name) == 0) return 0;
    err = errno;
    unlinkat(t->dirfd, hidden, 0);
    return err;
}

/* ADN_OK with *done = 1 when the file was written this way; *done = 0 when this system has no
 * unnamed files (the caller then uses a named one). */
static adn_status write_unnamed(const target *t, const void *data, size_t size, int *done) {
    *done = 0;
#ifdef O_TMPFILE
    const int fd = openat(t->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) return ADN_OK; /* unsupported here; a real problem shows again with a named file */
    const char *step = "";
    int err = fill_and_sync(fd, data, size, &step);
    if (!err) {
        err = publish_unnamed(t, fd);
        step = "putting the new file in place failed: ";
        if (cannot_name_unnamed(err)) {
            close(fd);
            return ADN_OK;
        }
    }
    close(fd);
    if (err) return io_fail(t, step, err);
    *done = 1;
#else
    (void)t, (void)data, (void)size;
#endif
    return ADN_OK;
}

/* ---- the named temporary file (everywhere) ---------------------------------------------------- */

static adn_status write_named(const target *t, const void *data, size_t size) {
    char hidden[64];
    int fd = -1, err = 0;
    for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
        hidden_name(hidden, sizeof hidden);
        fd = openat(t->dirfd, hidden, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        err = errno;
        if (fd < 0 && err != EEXIST) break;
    }
    if (fd < 0) return io_fail(t, "cannot create a temporary file in its folder: ", err);
    const char *step = "";
    err = fill_and_sync(fd, data, size, &step);
    if (close(fd) != 0 && !err) err = errno;
    if (!err && renameat(t->dirfd, hidden, t->dirfd, t->name) != 0) {
        err = errno;
        step = "renaming the temporary file into place failed: ";
    }
    if (err) {
        unlinkat(t->dirfd, hidden, 0);
        return io_fail(t, step, err);
    }
    return ADN_OK;
}

/* The new name is only durable once the folder is.  Some file systems cannot sync a folder
 * (EINVAL): nothing more can be done there. */
static adn_status sync_folder(const target *t) {
    if (fsync(t->dirfd) == 0 || errno == EINVAL || errno == EROFS) return ADN_OK;
    char reason[128];
    return adn_fail(ADN_ERR_IO, "wrote '%s', but syncing its folder failed: %s (the new file may not survive a crash)",
                    t->path, adn_errno_text(errno, reason, sizeof reason));
}

adn_status adn_write_file_atomic(const char *path, const void *data, size_t size) {
    target t;
    adn_status st = open_target(path, &t);
    if (st == ADN_OK) st = refuse_non_regular(&t);
    int done = 0;
    if (st == ADN_OK) st = write_unnamed(&t, data, size, &done);
    if (st == ADN_OK && !done) st = write_named(&t, data, size);
    if (st == ADN_OK) st = sync_folder(&t);
    close_target(&t);
    return st;
}
