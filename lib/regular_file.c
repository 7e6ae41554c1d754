/* Plain regular files only (lib/regular_file.h).  libtorch opens whatever path it is given: a FIFO
 * blocks it forever, a directory or a symbolic-link loop come back as "file not found", a 5 GB
 * sparse file is read in full.  Here each of those is refused with its own message before a byte
 * is read, and the bytes then come from the one descriptor that was checked. */
#define _GNU_SOURCE /* SEEK_DATA, SEEK_HOLE */
#include "regular_file.h"
#include "system_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Hole/data segments looked at before giving up on the sparse check (a real file has one). */
#define MAX_SEGMENTS 4096

static adn_status describe_open_error(const char *path, const char *name, int err, int *missing) {
    char reason[128];
    switch (err) {
    case ENOENT: {
        struct stat link;
        if (lstat(path, &link) == 0 && S_ISLNK(link.st_mode))
            return adn_fail(ADN_ERR_MODEL, "%s: is a symbolic link to a file that does not exist", name);
        if (missing) {
            *missing = 1;
            return ADN_OK;
        }
        return adn_fail(ADN_ERR_MODEL, "%s: file not found", name);
    }
    case ELOOP:
        return adn_fail(ADN_ERR_MODEL, "%s: is a symbolic link loop (too many levels of symbolic links)", name);
    case EACCES:
        return adn_fail(ADN_ERR_MODEL, "%s: cannot be read: permission denied", name);
    case ENAMETOOLONG:
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s: the path is too long", name);
    default:
        return adn_fail(ADN_ERR_MODEL, "%s: cannot open: %s", name, adn_errno_text(err, reason, sizeof reason));
    }
}

/* Bytes of the file that are holes, as far as the file system tells (0 where it cannot). */
static uint64_t hole_bytes(int fd, uint64_t size) {
    uint64_t holes = 0;
    off_t at = 0;
    for (int i = 0; i < MAX_SEGMENTS && (uint64_t)at < size; ++i) {
        const off_t data = lseek(fd, at, SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO) holes += size - (uint64_t)at; /* no data after `at`: a hole to the end */
            break;                                             /* EINVAL: no hole support, no holes */
        }
        holes += (uint64_t)(data - at);
        const off_t hole = lseek(fd, data, SEEK_HOLE);
        if (hole <= data) break;
        at = hole;
    }
    return holes;
}

static void format_limit(uint64_t bytes, char *buf, size_t size) {
    if (bytes >= ((uint64_t)1 << 30) && bytes % ((uint64_t)1 << 30) == 0)
        snprintf(buf, size, "%llu GiB", (unsigned long long)(bytes >> 30));
    else if (bytes >= 1024 && bytes % 1024 == 0)
        snprintf(buf, size, "%llu KiB", (unsigned long long)(bytes >> 10));
    else
        snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
}

/* Size, holes: what the checked descriptor may hold. */
static adn_status check_contents(int fd, const char *name, uint64_t size, uint64_t max_size) {
    if (size == 0) return adn_fail(ADN_ERR_MODEL, "%s: is empty (0 bytes)", name);
    if (size > max_size || size > (uint64_t)SIZE_MAX) {
        char limit[32];
        format_limit(max_size, limit, sizeof limit);
        return adn_fail(ADN_ERR_MODEL, "%s: is %llu bytes, above the limit of %s for this file", name,
                        (unsigned long long)size, limit);
    }
    const uint64_t holes = hole_bytes(fd, size);
    if (holes > size / 2)
        return adn_fail(ADN_ERR_MODEL, "%s: is a sparse file (%llu of its %llu bytes are holes), not a real one", name,
                        (unsigned long long)holes, (unsigned long long)size);
    return ADN_OK;
}

adn_status adn_regular_file_open(const char *path, const char *name, uint64_t max_size, int *missing,
                                 adn_regular_file *out) {
    out->fd = -1;
    out->size = 0;
    if (missing) *missing = 0;
    /* stat first: it never blocks, where open() of a FIFO may, and opening a device can have
     * effects of its own. */
    struct stat before, after;
    if (stat(path, &before) != 0) return describe_open_error(path, name, errno, missing);
    if (S_ISDIR(before.st_mode)) return adn_fail(ADN_ERR_MODEL, "%s: is a directory, not a file", name);
    if (!S_ISREG(before.st_mode)) return adn_fail(ADN_ERR_MODEL, "%s: is %s, not a regular file", name, adn_file_kind(before.st_mode));
    const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return describe_open_error(path, name, errno, NULL);
    adn_status st = ADN_OK;
    if (fstat(fd, &after) != 0 || !S_ISREG(after.st_mode) || after.st_dev != before.st_dev || after.st_ino != before.st_ino)
        st = adn_fail(ADN_ERR_MODEL, "%s: was replaced while being opened", name);
    if (st == ADN_OK) st = check_contents(fd, name, (uint64_t)after.st_size, max_size);
    if (st != ADN_OK) {
        close(fd);
        return st;
    }
    out->fd = fd;
    out->size = (uint64_t)after.st_size;
    return ADN_OK;
}

adn_status adn_regular_file_read(const adn_regular_file *f, const char *name, uint8_t **data) {
    *data = NULL;
    uint8_t *buffer = malloc((size_t)f->size);
    if (!buffer) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: cannot allocate %llu bytes to read it", name, (unsigned long long)f->size);
    char reason[128];
    size_t done = 0;
    while (done < (size_t)f->size) {
        const ssize_t n = pread(f->fd, buffer + done, (size_t)f->size - done, (off_t)done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            free(buffer);
            if (n == 0) return adn_fail(ADN_ERR_MODEL, "%s: became shorter while being read", name);
            return adn_fail(ADN_ERR_IO, "%s: cannot read: %s", name, adn_errno_text(errno, reason, sizeof reason));
        }
        done += (size_t)n;
    }
    uint8_t extra;
    ssize_t more;
    while ((more = pread(f->fd, &extra, 1, (off_t)done)) < 0 && errno == EINTR) {
    }
    if (more != 0) {
        free(buffer);
        return more > 0 ? adn_fail(ADN_ERR_MODEL, "%s: grew while being read", name)
                        : adn_fail(ADN_ERR_IO, "%s: cannot read: %s", name, adn_errno_text(errno, reason, sizeof reason));
    }
    *data = buffer;
    return ADN_OK;
}

void adn_regular_file_close(adn_regular_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
}
