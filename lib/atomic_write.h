/* Replacing a file atomically and durably (lib/atomic_write.c), for adn_image_write.  Never
 * installed. */
#ifndef ADN_ATOMIC_WRITE_H
#define ADN_ATOMIC_WRITE_H

#include "internal.h"

#include <stddef.h>

/** Makes path hold exactly data[0..size): the bytes go to a file with no name (Linux O_TMPFILE)
 *  or, where that is unsupported, a hidden temporary name in path's folder; they are fsync'ed,
 *  the file is given path's name in one step, and the folder is fsync'ed.  Any failure leaves
 *  path as it was and no temporary file.  A path that exists as anything but a regular file (a
 *  directory, FIFO, device such as /dev/null, socket) is refused untouched.  A symbolic link at
 *  path is replaced by the new file, as rename(2) does.  Errors: ADN_ERR_IO with the system's
 *  reason (strerror), ADN_ERR_OUT_OF_MEMORY. */
adn_status adn_write_file_atomic(const char *path, const void *data, size_t size);

#endif
