/* Words for what the system reports, shared by the file-handling parts of the library
 * (lib/image_io.c, lib/atomic_write.c, lib/regular_file.c).  Never installed. */
#ifndef ADN_SYSTEM_TEXT_H
#define ADN_SYSTEM_TEXT_H

#include <stddef.h>
#include <sys/types.h>

/** strerror(err), thread-safe: written into buf (size bytes) and returned. */
const char *adn_errno_text(int err, char *buf, size_t size);

/** What a file of this type is, for messages: "a directory", "a FIFO (named pipe)", ... */
const char *adn_file_kind(mode_t mode);

#endif
