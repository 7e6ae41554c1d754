/* cli_atomic_file.c — see cli_atomic_file.h.  The same steps as the library's lib/atomic_write.c
 * (which writes one buffer and is not exported), for a stream of unknown length. */
#define _GNU_SOURCE /* O_TMPFILE */
#include "cli_atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"

static int fail(const cli_atomic_file *f, const char *step, int err)
{
    cli_error("cannot write output '%s': %s%s", f->path, step, strerror(err));
    return -1;
}

/* Splits path into its folder (opened as f->dirfd) and its last component (f->name). */
static int open_folder(const char *path, cli_atomic_file *f)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        cli_error("cannot write output '%s': it names a folder, not a file", path);
        return -1;
    }
    size_t folder_length = slash ? (size_t)(slash - path) : 0;
    char *copy = malloc(strlen(path) + 3);
    if (!copy)
        return fail(f, "", ENOMEM);
    if (!slash)
        strcpy(copy, ".");
    else if (folder_length == 0)
        strcpy(copy, "/");
    else {
        memcpy(copy, path, folder_length);
        copy[folder_length] = '\0';
    }
    f->dirfd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int err = errno;
    strcpy(copy, name); /* the buffer now holds the name: one allocation for both uses */
    f->name = copy;
    if (f->dirfd < 0)
        return fail(f, "its folder cannot be opened: ", err);
    return 0;
}

/* A file in the folder that has no name yet (-1 where the system has none, or cannot name one
 * later: linking it needs /proc/self/fd). */
static int open_unnamed(const cli_atomic_file *f)
{
#ifdef O_TMPFILE
    if (access("/proc/self/fd", X_OK) != 0)
        return -1;
    return openat(f->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
#else
    (void)f;
    return -1;
#endif
}

static void make_hidden_name(char *buf, size_t size)
{
    static unsigned counter;
    snprintf(buf, size, ".adn-video-%ld-%u.tmp", (long)getpid(), counter++);
}

static int open_hidden(cli_atomic_file *f)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        make_hidden_name(f->temp, sizeof f->temp);
        int fd = openat(f->dirfd, f->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

int cli_atomic_open(const char *path, cli_atomic_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    f->dirfd = -1;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            cli_error("cannot write output '%s': it is a folder", path);
            return -1;
        }
        f->direct = 1; /* a FIFO, /dev/null, a terminal: stream into it */
        f->stream = fopen(path, "wb");
        return f->stream ? 0 : fail(f, "", errno);
    }
    if (open_folder(path, f) != 0)
        return -1;
    int fd = open_unnamed(f);
    if (fd < 0)
        fd = open_hidden(f);
    if (fd < 0)
        return fail(f, "cannot create a temporary file in its folder: ", errno);
    f->stream = fdopen(fd, "wb");
    if (!f->stream) {
        int err = errno;
        close(fd);
        return fail(f, "", err);
    }
    return 0;
}

/* Gives the unnamed file its name: straight to the path when it is new, else a hidden name first
 * and a rename over the old file (linkat never replaces a file).  0 or an errno. */
static int publish_unnamed(cli_atomic_file *f, int fd)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, f->dirfd, f->name, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno != EEXIST)
        return errno;
    for (int attempt = 0; attempt < 100; attempt++) {
        make_hidden_name(f->temp, sizeof f->temp);
        if (linkat(AT_FDCWD, proc, f->dirfd, f->temp, AT_SYMLINK_FOLLOW) == 0)
            return 0; /* renamed over the old file by the caller */
        if (errno != EEXIST)
            break;
    }
    int err = errno;
    f->temp[0] = '\0'; /* no such name was made */
    return err;
}

int cli_atomic_commit(cli_atomic_file *f)
{
    if (f->direct) {
        int failed = fclose(f->stream) != 0;
        f->stream = NULL;
        return failed ? fail(f, "", errno) : 0;
    }
    int fd = fileno(f->stream), err = 0;
    const char *step = "";
    if (fflush(f->stream) != 0)
        err = errno;
    else if (fsync(fd) != 0)
        err = errno, step = "flushing it to disk failed: ";
    else if (!f->temp[0] && (err = publish_unnamed(f, fd)) != 0)
        step = "putting the new file in place failed: ";
    if (fclose(f->stream) != 0 && !err)
        err = errno;
    f->stream = NULL;
    if (!err && f->temp[0] && renameat(f->dirfd, f->temp, f->dirfd, f->name) != 0)
        err = errno, step = "renaming the temporary file into place failed: ";
    if (err) {
        cli_atomic_discard(f);
        return fail(f, step, err);
    }
    f->temp[0] = '\0';
    /* The new name is durable only once the folder is; some file systems cannot sync one. */
    if (fsync(f->dirfd) != 0 && errno != EINVAL && errno != EROFS)
        err = errno;
    cli_atomic_discard(f);
    return err ? fail(f, "syncing its folder failed: ", err) : 0;
}

void cli_atomic_discard(cli_atomic_file *f)
{
    if (f->stream)
        fclose(f->stream);
    f->stream = NULL;
    if (f->temp[0] && f->dirfd >= 0)
        unlinkat(f->dirfd, f->temp, 0);
    f->temp[0] = '\0';
    if (f->dirfd >= 0)
        close(f->dirfd);
    f->dirfd = -1;
    free(f->name);
    f->name = NULL;
}
