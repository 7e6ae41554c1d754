/* lib/system_text.h.  Compiled without _GNU_SOURCE, so strerror_r is the XSI one on glibc too
 * (it fills the buffer and returns 0), the same everywhere. */
#define _POSIX_C_SOURCE 200809L
#include "system_text.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

const char *adn_errno_text(int err, char *buf, size_t size) {
    if (strerror_r(err, buf, size) != 0) snprintf(buf, size, "error %d", err);
    return buf;
}

const char *adn_file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "something other than a regular file";
}
