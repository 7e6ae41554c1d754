/* Opening and reading a file that must be a plain, bounded, regular file: the modules and the
 * manifest of a bundle (lib/bundle_files.c), before any parser sees their bytes.  Never installed. */
#ifndef ADN_REGULAR_FILE_H
#define ADN_REGULAR_FILE_H

#include "internal.h"

#include <stdint.h>

typedef struct adn_regular_file {
    int fd; /* -1 when closed */
    uint64_t size;
} adn_regular_file;

/** Opens path for reading after checking, before a byte is read, that it is a regular file (a
 *  FIFO, directory, device, socket, symbolic-link loop or dangling link each get their own
 *  message), readable, not empty, at most max_size bytes, and not mostly holes (a sparse file).
 *  `name` names the file in messages.  When missing is not NULL, a path that does not exist at all
 *  sets *missing = 1 and returns ADN_OK (the caller says what that means); otherwise *missing = 0.
 *  Errors are ADN_ERR_MODEL, ADN_ERR_INVALID_ARGUMENT for a path above PATH_MAX. */
adn_status adn_regular_file_open(const char *path, const char *name, uint64_t max_size, int *missing,
                                 adn_regular_file *out);

/** Reads the whole file into *data (malloc'ed, size f->size).  A file that changes size while it
 *  is read is refused (ADN_ERR_MODEL); read errors are ADN_ERR_IO, no memory ADN_ERR_OUT_OF_MEMORY. */
adn_status adn_regular_file_read(const adn_regular_file *f, const char *name, uint8_t **data);

/** Closes the file (a closed or never-opened one is fine). */
void adn_regular_file_close(adn_regular_file *f);

#endif
