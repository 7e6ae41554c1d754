/*
 * cli_paths.h — checks, made before any work starts, that a program's output files cannot
 * destroy its inputs or each other, and that every output can actually be written.
 *
 * Why: writing an output that is also an input (or another output) silently loses data, and
 * comparing the path strings misses "./a" vs "a", "d/../a" vs "a", symlinks and hard links.
 * So paths are compared by what they resolve to:
 *   - an existing file by its stat() device and inode (stat follows symlinks, so an output that
 *     is a link to an input is the input);
 *   - a file that does not exist yet by the device and inode of its parent directory plus its
 *     final name (two new outputs "real/x.png" and "link-to-real/x.png" are one file).  A
 *     dangling symlink counts as the file it points to, since opening it for writing creates that.
 * And a failure that would only show after minutes of work (missing or read-only directory,
 * output naming a directory) is reported up front.
 *
 * Pure POSIX C; it does not use the library, so it can be tested on its own.
 *
 * Usage: add every input and every output, then check once:
 *
 *     cli_path_set *paths = cli_path_set_new();
 *     cli_path_set_add(paths, CLI_PATH_INPUT, "content", content_path);
 *     cli_path_set_add(paths, CLI_PATH_OUTPUT, "--out", out_path);
 *     cli_path_set_add(paths, CLI_PATH_OUTPUT, "--save-depth", depth_path);   (NULL: not given)
 *     char msg[1024];
 *     int bad = cli_path_set_check(paths, msg, sizeof msg);
 *     cli_path_set_free(paths);
 *     if (bad) return cli_usage_error("%s", msg);
 *
 * Errors from cli_path_set_new() and cli_path_set_add() (out of memory) are remembered and
 * reported by cli_path_set_check(), so the calls above need no checks of their own.
 *
 * "-" (standard input or output) is not a file: callers leave such paths out.  The check is a
 * snapshot: files created or removed afterwards are not seen.  File names are compared byte for
 * byte, so two spellings that a case-insensitive file system treats as one are not caught.
 */
#ifndef ADN_EXAMPLES_CLI_PATHS_H
#define ADN_EXAMPLES_CLI_PATHS_H

#include <stddef.h>

typedef enum {
    CLI_PATH_INPUT,
    CLI_PATH_OUTPUT
} cli_path_role;

/** A growable list of (role, use, path); opaque. */
typedef struct cli_path_set cli_path_set;

/** An empty set, or NULL when out of memory (cli_path_set_check(NULL, ...) then says so). */
cli_path_set *cli_path_set_new(void);

/** Frees the set and its copies of the strings; NULL is fine. */
void cli_path_set_free(cli_path_set *s);

/**
 * Adds a path; use and path are copied.  use names where the path came from, for messages:
 * an option ("--out", "--save-depth") or an operand ("content", "style").  NULL use means
 * "input" or "output".  NULL path means the option was not given: nothing is added, returns 0.
 * Returns -1 for a NULL set, an unknown role, or out of memory (which the set remembers).
 * Inputs may repeat each other (the same style twice is fine); only outputs must be unique.
 */
int cli_path_set_add(cli_path_set *s, cli_path_role role, const char *use, const char *path);

/**
 * Returns 0 when every output is usable and distinct from every other path in the set.
 * Otherwise returns -1 and, if msg_size > 0, puts one line (no newline) about the first problem
 * in msg, naming the use and path as given, e.g.
 *   "--save-depth 'o/x.png' is the same file as --out './o/x.png'"
 *   "--out '/nodir/x.png': directory '/nodir' does not exist"
 * An output is usable when its path is not empty, does not end in '/', is not an existing
 * directory, and its directory (as written: that is where a temporary file is made before a
 * rename) exists, is a directory, and is writable and searchable (access W_OK|X_OK).
 * Inputs are only checked for being non-empty: one that does not exist is left for the reader to
 * report, but it can still collide with an output by the parent-and-name rule.
 */
int cli_path_set_check(const cli_path_set *s, char *msg, size_t msg_size);

#endif
