/* fail_malloc.c — an LD_PRELOAD shim that fails one allocation: the N-th of size >= 1 after a start
 * marker, so a test can walk N = 1, 2, ... over an operation and see every allocation in it fail
 * once.  The failed call returns NULL with errno = ENOMEM (posix_memalign: ENOMEM), as a real
 * out-of-memory does; C++ operator new, which allocates through malloc, then throws std::bad_alloc.
 *
 * Start marker, either:
 *   - the program calls fail_malloc_arm(n) (looked up with dlsym, so it runs without the shim too):
 *     fail the n-th allocation from now, n <= 0 only counts; fail_malloc_disarm() stops and returns
 *     the count; fail_malloc_fired() says whether the failure happened; or
 *   - ADN_FAIL_MALLOC_N=n in the environment arms the shim when it is loaded (any program).
 * When the failure happens the shim writes "fail_malloc: failing allocation #n of S bytes" and the
 * caller's stack (backtrace_symbols_fd, which does not allocate) to stderr, so a crash or abort that
 * follows can be traced to its allocation site.
 *
 * The real allocator is glibc's own (__libc_malloc and friends), so no dlsym(RTLD_NEXT) recursion. */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

void fail_malloc_arm(long n);
long fail_malloc_disarm(void);
int fail_malloc_fired(void);

static atomic_int armed;
static atomic_long target;  /* which allocation after arming fails; <= 0: none */
static atomic_long seen;    /* allocations of size >= 1 since arming */
static atomic_int fired;
static _Thread_local int inside __attribute__((tls_model("initial-exec"))); /* our own reporting allocates nothing, but backtrace may load libgcc */

static void report(long n, size_t size) {
    char line[128];
    int length = snprintf(line, sizeof line, "fail_malloc: failing allocation #%ld of %zu bytes\n", n, size);
    if (length > 0 && write(STDERR_FILENO, line, (size_t)length) < 0) return;
    void *frames[48];
    int depth = backtrace(frames, 48);
    backtrace_symbols_fd(frames, depth, STDERR_FILENO);
    if (write(STDERR_FILENO, "fail_malloc: end of stack\n", 26) < 0) return;
}

/* 1 if this allocation is the one to fail. */
static int should_fail(size_t size) {
    if (size == 0 || inside || !atomic_load_explicit(&armed, memory_order_relaxed)) return 0;
    const long n = atomic_fetch_add(&seen, 1) + 1;
    if (n != atomic_load(&target)) return 0;
    atomic_store(&fired, 1);
    inside = 1;
    report(n, size);
    inside = 0;
    return 1;
}

void *malloc(size_t size) {
    if (should_fail(size)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    if (count && size && should_fail(count * size)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_calloc(count, size);
}

void *realloc(void *ptr, size_t size) {
    if (should_fail(size)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_realloc(ptr, size);
}

void *reallocarray(void *ptr, size_t count, size_t size) {
    if (size && count > (size_t)-1 / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(ptr, count * size);
}

void *memalign(size_t alignment, size_t size) {
    if (should_fail(size)) {
        errno = ENOMEM;
        return NULL;
    }
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    if (should_fail(size)) return ENOMEM;
    void *p = __libc_memalign(alignment, size);
    if (!p && size) return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t size) { return memalign((size_t)sysconf(_SC_PAGESIZE), size); }

void *pvalloc(size_t size) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(page, (size + page - 1) / page * page);
}

void fail_malloc_arm(long n) {
    atomic_store(&armed, 0);
    atomic_store(&seen, 0);
    atomic_store(&fired, 0);
    atomic_store(&target, n);
    atomic_store(&armed, 1);
}

long fail_malloc_disarm(void) {
    atomic_store(&armed, 0);
    return atomic_load(&seen);
}

int fail_malloc_fired(void) { return atomic_load(&fired); }

__attribute__((constructor)) static void fail_malloc_init(void) {
    void *frames[4];
    backtrace(frames, 4); /* loads libgcc_s now, not while an allocation is being failed */
    const char *n = getenv("ADN_FAIL_MALLOC_N");
    if (n && *n) fail_malloc_arm(strtol(n, NULL, 10));
}
