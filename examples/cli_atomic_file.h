/*
 * cli_atomic_file.h — an output file written as a stream and put in place only when complete
 * (adn-video's --output).  The library's adn_image_write does the same for one encoded image; a
 * video is written frame by frame, so the programs need their own streaming version.
 *
 * For a regular file (or a path that does not exist yet) the stream goes to a file with no name
 * (Linux O_TMPFILE; elsewhere a hidden ".adn-video-PID-N.tmp" in the same folder).  Commit flushes
 * it to disk, gives it the path's name in one step (over an existing file) and syncs the folder;
 * discard drops it.  A failure or a kill -9 before commit therefore leaves the old file (or none)
 * and, on Linux, no temporary file.  A path that exists as something else (a FIFO another program
 * reads, /dev/null, a terminal) is opened and written directly: there is nothing to replace.
 */
#ifndef CLI_ATOMIC_FILE_H
#define CLI_ATOMIC_FILE_H

#include <stdio.h>

typedef struct cli_atomic_file {
    FILE *stream;      /* write here */
    const char *path;  /* as given */
    int direct;        /* 1: the path itself is open (not a regular file) */
    int dirfd;         /* the folder of path, when not direct */
    char *name;        /* the last component of path (malloc'ed with the folder) */
    char temp[64];     /* the hidden name, when the unnamed file was not available; "" otherwise */
} cli_atomic_file;

/** Opens path for writing as above.  Returns 0, or -1 after printing why (errno's reason). */
int cli_atomic_open(const char *path, cli_atomic_file *f);

/** Flushes and syncs the stream and puts the file in place.  Returns 0, or -1 after printing why
 *  (the old file is then still there).  Closes the stream either way. */
int cli_atomic_commit(cli_atomic_file *f);

/** Drops what was written (a direct stream is only closed).  Safe on a zeroed struct. */
void cli_atomic_discard(cli_atomic_file *f);

#endif
