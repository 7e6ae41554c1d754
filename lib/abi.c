/* The ABI growth rule of adain_dcs.h: every parameter and info struct starts with the caller's
 * sizeof of it, and the library touches only that many bytes.  An older caller (shorter struct)
 * gets defaults for the fields it does not know; a newer caller (longer struct) is accepted while
 * every field this library does not know is zero, so "not set" never changes meaning. */
#include "internal.h"

#include <stdint.h>
#include <string.h>

/* Far above any struct this header will ever declare; a garbage size (an uninitialised field)
 * must not make us read or write kilobytes of the caller's stack. */
#define ADN_STRUCT_SIZE_MAX 4096

static adn_status check_struct_size(size_t size, const char *what) {
    if (size == 0)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT,
                        "%s.struct_size is 0: initialise it with the adn_*_default_params() or {sizeof s}", what);
    if (size < sizeof(size_t) || size > ADN_STRUCT_SIZE_MAX)
        return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s.struct_size %zu is not a size this library accepts (%zu..%d)",
                        what, size, sizeof(size_t), ADN_STRUCT_SIZE_MAX);
    return ADN_OK;
}

static size_t struct_size_of(const void *s) {
    size_t size;
    memcpy(&size, s, sizeof size);
    return size;
}

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (p[i]) return 0;
    return 1;
}

adn_status adn_struct_read(void *ours, size_t ours_size, const void *theirs, const char *what) {
    const size_t their_size = struct_size_of(theirs);
    adn_status st = check_struct_size(their_size, what);
    if (st) return st;
    if (their_size > ours_size && !all_zero((const unsigned char *)theirs + ours_size, their_size - ours_size))
        return adn_fail(ADN_ERR_UNSUPPORTED,
                        "%s has fields that this library (version %s) does not know (struct_size %zu > %zu); "
                        "they must be zero",
                        what, ADN_VERSION_STRING, their_size, ours_size);
    memcpy(ours, theirs, their_size < ours_size ? their_size : ours_size);
    memcpy(ours, &ours_size, sizeof ours_size);
    return ADN_OK;
}

adn_status adn_struct_write(void *theirs, const void *ours, size_t ours_size, const char *what) {
    const size_t their_size = struct_size_of(theirs);
    adn_status st = check_struct_size(their_size, what);
    if (st) return st;
    const size_t common = their_size < ours_size ? their_size : ours_size;
    memcpy((unsigned char *)theirs + sizeof(size_t), (const unsigned char *)ours + sizeof(size_t),
           common - sizeof(size_t));
    if (their_size > common) memset((unsigned char *)theirs + common, 0, their_size - common);
    return ADN_OK;
}

adn_status adn_struct_init(void *theirs, size_t struct_size, const void *defaults, size_t ours_size,
                           const char *what) {
    if (!theirs) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "%s init: the struct is NULL", what);
    adn_status st = check_struct_size(struct_size, what);
    if (st) return st;
    const size_t common = struct_size < ours_size ? struct_size : ours_size;
    memcpy(theirs, defaults, common);
    if (struct_size > common) memset((unsigned char *)theirs + common, 0, struct_size - common);
    memcpy(theirs, &struct_size, sizeof struct_size);
    return ADN_OK;
}
