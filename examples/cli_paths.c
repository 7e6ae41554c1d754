/* cli_paths.c — checks that outputs are writable and clash with no other path (see cli_paths.h). */
#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L
#endif
#include "cli_paths.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__GNUC__)
#  define PATHS_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define PATHS_PRINTF(fmt, args)
#endif

/* Symlinks followed when resolving a dangling one; Linux's own limit, so a loop ends. */
#define MAX_LINKS_FOLLOWED 40
/* Longest symlink contents read; longer ones are far past PATH_MAX and cannot be opened anyway. */
#define MAX_LINK_SIZE ((size_t)1 << 16)

typedef struct path_entry {
    cli_path_role role;
    char *use;
    char *path;
} path_entry;

struct cli_path_set {
    path_entry *entries;
    size_t count, capacity;
    /* Set by a failed cli_path_set_add(), reported by cli_path_set_check(): callers need not
     * check each add, and a path that could not be added is never silently left unchecked. */
    const char *error;
};

/* What a path resolves to.  An existing file: its device and inode, name NULL.  A file that is
 * not there yet: its parent directory's device and inode, and its final name.  known is 0 when
 * neither could be found (a missing input in a missing directory: nothing can clash with it). */
typedef struct path_identity {
    int known;
    dev_t dev;
    ino_t ino;
    char *name;
} path_identity;

/* ---- small helpers ------------------------------------------------------------------------- */

/* Formats one line into msg (when there is room for one) and returns -1, so callers can
 * `return report(...)`. */
static int report(char *msg, size_t msg_size, const char *fmt, ...) PATHS_PRINTF(3, 4);
static int report(char *msg, size_t msg_size, const char *fmt, ...) {
    if (msg && msg_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, msg_size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int out_of_memory(char *msg, size_t msg_size) {
    return report(msg, msg_size, "out of memory while checking file paths");
}

static char *copy_span(const char *text, size_t length) {
    char *copy = malloc(length + 1);
    if (copy) {
        memcpy(copy, text, length);
        copy[length] = '\0';
    }
    return copy;
}

static int ends_in_slash(const char *path) {
    size_t length = strlen(path);
    return length > 0 && path[length - 1] == '/';
}

/* Splits a path into its directory and final name, as a shell user reads them: "a/b/" gives
 * "a" and "b", "x" gives "." and "x", "/x" gives "/" and "x".  Returns -1 when out of memory. */
static int split_path(const char *path, char **dir, char **name) {
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/') end--;
    size_t name_start = end;
    while (name_start > 0 && path[name_start - 1] != '/') name_start--;
    size_t dir_length = name_start;
    while (dir_length > 0 && path[dir_length - 1] == '/') dir_length--;
    if (name_start == 0)
        *dir = copy_span(".", 1);
    else if (dir_length == 0)
        *dir = copy_span("/", 1);
    else
        *dir = copy_span(path, dir_length);
    *name = copy_span(path + name_start, end - name_start);
    if (*dir && *name) return 0;
    free(*dir);
    free(*name);
    *dir = *name = NULL;
    return -1;
}

/* ---- resolving paths ----------------------------------------------------------------------- */

/* The contents of the symlink at link_path, or NULL: *failed is 1 when out of memory, 0 when the
 * link cannot be read (gone since lstat, or absurdly long). */
static char *read_link(const char *link_path, off_t size_hint, int *failed) {
    size_t size = size_hint > 0 ? (size_t)size_hint + 1 : 256;
    *failed = 0;
    while (size <= MAX_LINK_SIZE) {
        char *buffer = malloc(size);
        if (!buffer) {
            *failed = 1;
            return NULL;
        }
        ssize_t length = readlink(link_path, buffer, size);
        if (length >= 0 && (size_t)length < size) {
            buffer[length] = '\0';
            return buffer;
        }
        free(buffer);
        if (length < 0) return NULL;
        size *= 2; /* it did not fit (or grew since lstat): try a bigger buffer */
    }
    return NULL;
}

/* Where the symlink at link_path leads: its contents, taken relative to the link's own directory
 * unless absolute.  Returns NULL when the link cannot be read; *failed is 1 when out of memory. */
static char *link_destination(const char *link_path, off_t size_hint, int *failed) {
    char *target = read_link(link_path, size_hint, failed);
    if (!target || target[0] == '/') return target;
    const char *slash = strrchr(link_path, '/');
    size_t prefix = slash ? (size_t)(slash - link_path) + 1 : 0;
    size_t target_length = strlen(target);
    char *joined = malloc(prefix + target_length + 1);
    if (joined) {
        memcpy(joined, link_path, prefix);
        memcpy(joined + prefix, target, target_length + 1);
    } else {
        *failed = 1;
    }
    free(target);
    return joined;
}

/* Follows a chain of symlinks at the end of path (stat() said it leads nowhere) to the file that
 * opening it for writing would create.  Returns a new string (path itself when it is no link), or
 * NULL when out of memory. */
static char *resolve_dangling_links(const char *path) {
    char *current = copy_span(path, strlen(path));
    for (int followed = 0; current && followed < MAX_LINKS_FOLLOWED; followed++) {
        struct stat st;
        if (lstat(current, &st) != 0 || !S_ISLNK(st.st_mode)) break;
        int failed;
        char *next = link_destination(current, st.st_size, &failed);
        if (!next) {
            if (!failed) break; /* unreadable link: stop at it */
            free(current);
            return NULL;
        }
        free(current);
        current = next;
    }
    return current;
}

static void identify_existing(const struct stat *st, path_identity *id) {
    id->known = 1;
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->name = NULL;
}

/* Identity by parent directory and name; leaves id unknown when the parent cannot be stat()ed.
 * Returns -1 only when out of memory. */
static int identify_by_parent(const char *path, path_identity *id) {
    char *dir, *name;
    if (split_path(path, &dir, &name) != 0) return -1;
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
        identify_existing(&st, id);
        id->name = name;
        name = NULL;
    }
    free(dir);
    free(name);
    return 0;
}

/* Identity of a path that stat() cannot reach (see path_identity).  A dangling symlink counts
 * as the file it points to; when that file's directory is missing too, as the link itself.
 * Returns -1 only when out of memory. */
static int identify_new_file(const char *path, path_identity *id) {
    char *resolved = resolve_dangling_links(path);
    if (!resolved) return -1;
    int status = identify_by_parent(resolved, id);
    if (status == 0 && !id->known && strcmp(resolved, path) != 0) status = identify_by_parent(path, id);
    free(resolved);
    return status;
}

static int same_file(const path_identity *a, const path_identity *b) {
    if (!a->known || !b->known || a->dev != b->dev || a->ino != b->ino) return 0;
    if (!a->name || !b->name) return !a->name && !b->name; /* an existing file is never a new name in a directory */
    return strcmp(a->name, b->name) == 0;
}

/* ---- checking each path -------------------------------------------------------------------- */

/* The directory an output goes in must exist and take new files: the image writer makes a
 * temporary file there and renames it over the output. */
static int check_output_directory(const path_entry *e, char *msg, size_t msg_size) {
    char *dir, *name;
    if (split_path(e->path, &dir, &name) != 0) return out_of_memory(msg, msg_size);
    int status = 0;
    struct stat st;
    if (stat(dir, &st) != 0) {
        int err = errno;
        if (err == ENOENT)
            status = report(msg, msg_size, "%s '%s': directory '%s' does not exist", e->use, e->path, dir);
        else
            status = report(msg, msg_size, "%s '%s': directory '%s': %s", e->use, e->path, dir, strerror(err));
    } else if (!S_ISDIR(st.st_mode)) {
        status = report(msg, msg_size, "%s '%s': '%s' is not a directory", e->use, e->path, dir);
    } else if (access(dir, W_OK | X_OK) != 0) {
        status =
            report(msg, msg_size, "%s '%s': directory '%s' is not writable: %s", e->use, e->path, dir, strerror(errno));
    }
    free(dir);
    free(name);
    return status;
}

static int identify_output(const path_entry *e, path_identity *id, char *msg, size_t msg_size) {
    if (e->path[0] == '\0') return report(msg, msg_size, "%s '': empty file name", e->use);
    struct stat st;
    if (stat(e->path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return report(msg, msg_size, "%s '%s' is a directory, not a file name", e->use, e->path);
        if (check_output_directory(e, msg, msg_size) != 0) return -1;
        identify_existing(&st, id);
        return 0;
    }
    int err = errno;
    /* ENOENT: not there yet.  ENOTDIR: a "directory" in the path is a file, which
     * check_output_directory() reports by name. */
    if (err != ENOENT && err != ENOTDIR) return report(msg, msg_size, "%s '%s': %s", e->use, e->path, strerror(err));
    if (ends_in_slash(e->path))
        return report(msg, msg_size, "%s '%s' ends in '/', so it names a directory, not a file", e->use, e->path);
    if (check_output_directory(e, msg, msg_size) != 0) return -1;
    return identify_new_file(e->path, id) == 0 ? 0 : out_of_memory(msg, msg_size);
}

/* An input that cannot be read is the reader's to report; here it only needs an identity. */
static int identify_input(const path_entry *e, path_identity *id, char *msg, size_t msg_size) {
    if (e->path[0] == '\0') return report(msg, msg_size, "%s '': empty file name", e->use);
    struct stat st;
    if (stat(e->path, &st) == 0) {
        identify_existing(&st, id);
        return 0;
    }
    return identify_new_file(e->path, id) == 0 ? 0 : out_of_memory(msg, msg_size);
}

static int identify_all(const cli_path_set *s, path_identity *ids, char *msg, size_t msg_size) {
    for (size_t i = 0; i < s->count; i++) {
        const path_entry *e = &s->entries[i];
        int status = e->role == CLI_PATH_OUTPUT ? identify_output(e, &ids[i], msg, msg_size)
                                                : identify_input(e, &ids[i], msg, msg_size);
        if (status != 0) return -1;
    }
    return 0;
}

/* Reports the first pair that includes an output and names one file.  The output is named first
 * (of two outputs, the later one), since it is the path to change. */
static int find_clash(const cli_path_set *s, const path_identity *ids, char *msg, size_t msg_size) {
    for (size_t later = 1; later < s->count; later++) {
        for (size_t earlier = 0; earlier < later; earlier++) {
            const path_entry *a = &s->entries[later], *b = &s->entries[earlier];
            if (a->role != CLI_PATH_OUTPUT && b->role != CLI_PATH_OUTPUT) continue;
            if (!same_file(&ids[later], &ids[earlier])) continue;
            if (a->role != CLI_PATH_OUTPUT) {
                const path_entry *swap = a;
                a = b;
                b = swap;
            }
            return report(msg, msg_size, "%s '%s' is the same file as %s '%s'", a->use, a->path, b->use, b->path);
        }
    }
    return 0;
}

/* ---- public -------------------------------------------------------------------------------- */

cli_path_set *cli_path_set_new(void) { return calloc(1, sizeof(cli_path_set)); }

void cli_path_set_free(cli_path_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->count; i++) {
        free(s->entries[i].use);
        free(s->entries[i].path);
    }
    free(s->entries);
    free(s);
}

static int make_room(cli_path_set *s) {
    if (s->count < s->capacity) return 0;
    size_t capacity = s->capacity ? s->capacity * 2 : 8;
    if (capacity < s->capacity || capacity > SIZE_MAX / sizeof(path_entry)) return -1;
    path_entry *entries = realloc(s->entries, capacity * sizeof(path_entry));
    if (!entries) return -1;
    s->entries = entries;
    s->capacity = capacity;
    return 0;
}

int cli_path_set_add(cli_path_set *s, cli_path_role role, const char *use, const char *path) {
    if (!s) return -1;
    if (role != CLI_PATH_INPUT && role != CLI_PATH_OUTPUT) {
        s->error = "unknown path role (a bug in the program)";
        return -1;
    }
    if (!path) return 0;
    if (!use) use = role == CLI_PATH_INPUT ? "input" : "output";
    char *use_copy = copy_span(use, strlen(use));
    char *path_copy = copy_span(path, strlen(path));
    if (!use_copy || !path_copy || make_room(s) != 0) {
        free(use_copy);
        free(path_copy);
        s->error = "out of memory";
        return -1;
    }
    s->entries[s->count++] = (path_entry){role, use_copy, path_copy};
    return 0;
}

int cli_path_set_check(const cli_path_set *s, char *msg, size_t msg_size) {
    if (msg && msg_size > 0) msg[0] = '\0';
    if (!s) return report(msg, msg_size, "cannot check file paths: out of memory");
    if (s->error) return report(msg, msg_size, "cannot check file paths: %s", s->error);
    path_identity *ids = calloc(s->count ? s->count : 1, sizeof *ids);
    if (!ids) return out_of_memory(msg, msg_size);
    int status = identify_all(s, ids, msg, msg_size);
    if (status == 0) status = find_clash(s, ids, msg, msg_size);
    for (size_t i = 0; i < s->count; i++) free(ids[i].name);
    free(ids);
    return status;
}
