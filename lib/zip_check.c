/* The structural check of a TorchScript archive (lib/zip_check.h).  libtorch's zip reader trusts
 * the sizes and offsets it finds; a mutated archive made it allocate 21 GB for a 2.3 KB file.  This
 * walks the same records with every offset and size checked against the file, so what reaches
 * libtorch is at least a well-formed archive of plausible size.  It says nothing about the code
 * inside: a TorchScript file is a program and must come from a trusted source. */
#include "zip_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef ADN_HAVE_ZLIB
#include <zlib.h>
#endif

#define EOCD_SIGNATURE 0x06054b50u
#define EOCD_SIZE 22u
#define ZIP64_LOCATOR_SIGNATURE 0x07064b50u
#define ZIP64_LOCATOR_SIZE 20u
#define ZIP64_EOCD_SIGNATURE 0x06064b50u
#define ZIP64_EOCD_FIXED 56u
#define CENTRAL_SIGNATURE 0x02014b50u
#define CENTRAL_SIZE 46u
#define LOCAL_SIGNATURE 0x04034b50u
#define LOCAL_SIZE 30u
#define MAX_COMMENT 65535u
/* Deflate cannot expand more than about 1032:1; a larger claim is a lie about the size. */
#define DEFLATE_MAX_RATIO 1032u

enum { METHOD_STORED = 0, METHOD_DEFLATED = 8 };
enum { FLAG_ENCRYPTED = 1u << 0, FLAG_STRONG_ENCRYPTION = 1u << 6 };

typedef struct zip_view {
    const uint8_t *data;
    size_t size;
    const char *name; /* the module file, for messages */
} zip_view;

typedef struct central_directory {
    uint64_t offset, size, entries;
} central_directory;

/* One record as the central directory describes it. */
typedef struct zip_entry {
    uint64_t local_offset; /* its local header */
    uint64_t data_start;   /* its (compressed) data */
    uint64_t data_end;     /* one past it */
    uint64_t unpacked;     /* size once inflated */
    uint32_t crc, method;
} zip_entry;

/* The records a TorchScript archive must have, found under the archive's top folder. */
typedef struct expected_records {
    int data_pkl, constants_pkl, version, code;
} expected_records;

static uint32_t u16_at(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32_at(const uint8_t *p) { return u16_at(p) | u16_at(p + 2) << 16; }
static uint64_t u64_at(const uint8_t *p) { return (uint64_t)u32_at(p) | (uint64_t)u32_at(p + 4) << 32; }

static adn_status bad(const zip_view *z, const char *reason) {
    return adn_fail(ADN_ERR_MODEL, "%s: not a TorchScript archive: %s", z->name, reason);
}

/* 1 if [offset, offset + length) lies inside the file (no overflow). */
static int inside(const zip_view *z, uint64_t offset, uint64_t length) {
    return offset <= z->size && length <= z->size - offset;
}

/* The end of central directory record: the last signature whose comment ends the file exactly. */
static adn_status find_eocd(const zip_view *z, uint64_t *eocd) {
    if (z->size < EOCD_SIZE) return bad(z, "too short for a zip file");
    const uint64_t last = z->size - EOCD_SIZE;
    const uint64_t first = last > MAX_COMMENT ? last - MAX_COMMENT : 0;
    for (uint64_t at = last + 1; at-- > first;) {
        const uint8_t *p = z->data + at;
        if (u32_at(p) == EOCD_SIGNATURE && at + EOCD_SIZE + u16_at(p + 20) == z->size) {
            *eocd = at;
            return ADN_OK;
        }
    }
    return bad(z, "no end of central directory record (not a zip file, or truncated)");
}

/* ZIP64 end records between the central directory and the end record (torch.jit.save writes them
 * even for small files): they must sit exactly there and agree with the plain record. */
static adn_status check_zip64_records(const zip_view *z, uint64_t eocd, const central_directory *cd) {
    const uint64_t cd_end = cd->offset + cd->size;
    if (cd_end == eocd) return ADN_OK;
    if (eocd < ZIP64_LOCATOR_SIZE || eocd - ZIP64_LOCATOR_SIZE < cd_end)
        return bad(z, "unexplained bytes between the central directory and its end record");
    const uint8_t *locator = z->data + eocd - ZIP64_LOCATOR_SIZE;
    if (u32_at(locator) != ZIP64_LOCATOR_SIGNATURE || u64_at(locator + 8) != cd_end)
        return bad(z, "unexplained bytes between the central directory and its end record");
    const uint64_t gap = eocd - ZIP64_LOCATOR_SIZE - cd_end; /* room for the ZIP64 end record */
    const uint8_t *record = z->data + cd_end;
    if (gap < ZIP64_EOCD_FIXED || u32_at(record) != ZIP64_EOCD_SIGNATURE || u64_at(record + 4) != gap - 12)
        return bad(z, "malformed ZIP64 end record");
    if (u64_at(record + 24) != cd->entries || u64_at(record + 32) != cd->entries || u64_at(record + 40) != cd->size ||
        u64_at(record + 48) != cd->offset)
        return bad(z, "ZIP64 end record disagrees with the end of central directory record");
    return ADN_OK;
}

static adn_status read_central_directory(const zip_view *z, uint64_t eocd, central_directory *cd) {
    const uint8_t *p = z->data + eocd;
    if (u16_at(p + 4) != 0 || u16_at(p + 6) != 0 || u16_at(p + 8) != u16_at(p + 10))
        return bad(z, "multi-disk archives are not TorchScript files");
    cd->entries = u16_at(p + 10);
    cd->size = u32_at(p + 12);
    cd->offset = u32_at(p + 16);
    if (cd->entries == 0xffffu || cd->size == 0xffffffffu || cd->offset == 0xffffffffu)
        return bad(z, "needs ZIP64 sizes (above 65535 records or 4 GiB), beyond this check's limits");
    if (cd->entries == 0) return bad(z, "the archive is empty");
    if (cd->entries > ADN_ZIP_MAX_ENTRIES) {
        char reason[96];
        snprintf(reason, sizeof reason, "%llu records, above the limit of %d", (unsigned long long)cd->entries,
                 ADN_ZIP_MAX_ENTRIES);
        return bad(z, reason);
    }
    if (cd->offset + cd->size > eocd) return bad(z, "the central directory overlaps its end record or lies outside the file");
    return check_zip64_records(z, eocd, cd);
}

/* The top folder of the first record: every record must be under it. */
static int same_top_folder(const uint8_t *name, uint32_t length, const uint8_t *top, uint32_t top_length) {
    return length > top_length && name[top_length] == '/' && memcmp(name, top, top_length) == 0;
}

static int name_is(const uint8_t *name, uint32_t length, uint32_t top_length, const char *rest) {
    const size_t n = strlen(rest);
    return length == top_length + 1 + n && memcmp(name + top_length + 1, rest, n) == 0;
}

static void note_expected(const uint8_t *name, uint32_t length, uint32_t top_length, expected_records *found) {
    found->data_pkl |= name_is(name, length, top_length, "data.pkl");
    found->constants_pkl |= name_is(name, length, top_length, "constants.pkl");
    found->version |= name_is(name, length, top_length, "version") || name_is(name, length, top_length, ".data/version");
    found->code |= length > top_length + 6 && memcmp(name + top_length + 1, "code/", 5) == 0;
}

/* The sizes and method of one record. */
static adn_status check_record_sizes(const zip_view *z, uint32_t flags, uint32_t method, uint64_t packed,
                                     uint64_t unpacked, uint64_t *total) {
    if (flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) return bad(z, "an encrypted record");
    if (packed == 0xffffffffu || unpacked == 0xffffffffu)
        return bad(z, "a record needs ZIP64 sizes (above 4 GiB), beyond this check's limits");
    if (method == METHOD_STORED && packed != unpacked) return bad(z, "a stored record whose two sizes differ");
    if (method != METHOD_STORED && method != METHOD_DEFLATED) return bad(z, "a record compressed other than by deflate");
    if (method == METHOD_DEFLATED && unpacked > packed * DEFLATE_MAX_RATIO + 1024)
        return bad(z, "a deflated record claims more than deflate can expand to");
    *total += unpacked;
    if (*total > ADN_ZIP_MAX_TOTAL_BYTES) return bad(z, "its records expand to more than 4 GiB");
    return ADN_OK;
}

/* The local header a central record points at: inside the file, the same name and method, and its
 * data before the central directory. */
static adn_status check_local_header(const zip_view *z, const central_directory *cd, const uint8_t *central,
                                     zip_entry *entry) {
    const uint32_t name_length = u16_at(central + 28);
    const uint64_t offset = u32_at(central + 42), packed = u32_at(central + 20);
    if (offset > cd->offset || cd->offset - offset < LOCAL_SIZE) return bad(z, "a record's local header lies outside the data area");
    const uint8_t *local = z->data + offset;
    if (u32_at(local) != LOCAL_SIGNATURE) return bad(z, "a record's local header is missing (bad offset)");
    const uint64_t header = LOCAL_SIZE + (uint64_t)u16_at(local + 26) + u16_at(local + 28);
    if (u16_at(local + 26) != name_length || !inside(z, offset, header) ||
        memcmp(local + LOCAL_SIZE, central + CENTRAL_SIZE, name_length) != 0)
        return bad(z, "a record's local header names another file");
    if (u16_at(local + 8) != u16_at(central + 10)) return bad(z, "a record's two headers disagree on its compression");
    if (header > cd->offset - offset || packed > cd->offset - offset - header)
        return bad(z, "a record's data runs into the central directory or past the end of the file");
    entry->local_offset = offset;
    entry->data_start = offset + header;
    entry->data_end = offset + header + packed;
    entry->unpacked = u32_at(central + 24);
    entry->crc = u32_at(central + 16);
    entry->method = u16_at(central + 10);
    return ADN_OK;
}

/* One central directory record at *at: its fields, name and local header.  Advances *at. */
static adn_status check_central_record(const zip_view *z, const central_directory *cd, uint64_t *at,
                                       uint64_t *total, zip_entry *entry, uint32_t *top_length,
                                       const uint8_t **top, expected_records *found) {
    const uint64_t cd_end = cd->offset + cd->size;
    if (cd_end - *at < CENTRAL_SIZE) return bad(z, "the central directory is shorter than its record count");
    const uint8_t *p = z->data + *at;
    if (u32_at(p) != CENTRAL_SIGNATURE) return bad(z, "a central directory record is missing (bad offsets)");
    const uint32_t name_length = u16_at(p + 28);
    const uint64_t record = CENTRAL_SIZE + (uint64_t)name_length + u16_at(p + 30) + u16_at(p + 32);
    if (record > cd_end - *at) return bad(z, "a central directory record runs past the directory");
    if (u16_at(p + 34) != 0) return bad(z, "a record on another disk");
    const uint8_t *name = p + CENTRAL_SIZE;
    if (name_length == 0 || memchr(name, '\0', name_length)) return bad(z, "a record with an empty or binary name");
    adn_status st = check_record_sizes(z, u16_at(p + 8), u16_at(p + 10), u32_at(p + 20), u32_at(p + 24), total);
    if (st == ADN_OK) st = check_local_header(z, cd, p, entry);
    if (st != ADN_OK) return st;
    if (!*top) {
        const uint8_t *slash = memchr(name, '/', name_length);
        if (!slash || slash == name) return bad(z, "records are not under one top folder");
        *top = name;
        *top_length = (uint32_t)(slash - name);
    }
    if (!same_top_folder(name, name_length, *top, *top_length)) return bad(z, "records are not under one top folder");
    note_expected(name, name_length, *top_length, found);
    *at += record;
    return ADN_OK;
}

static int by_offset(const void *a, const void *b) {
    const uint64_t x = ((const zip_entry *)a)->local_offset, y = ((const zip_entry *)b)->local_offset;
    return x < y ? -1 : x > y;
}

/* Two records sharing bytes is how zip bombs multiply their size. */
static adn_status check_no_overlap(const zip_view *z, zip_entry *entries, uint64_t count) {
    qsort(entries, (size_t)count, sizeof *entries, by_offset);
    for (uint64_t i = 1; i < count; ++i)
        if (entries[i].local_offset < entries[i - 1].data_end) return bad(z, "two records overlap");
    return ADN_OK;
}

static adn_status check_expected(const zip_view *z, const expected_records *found) {
    if (!found->data_pkl) return bad(z, "no data.pkl record");
    if (!found->constants_pkl || !found->code)
        return bad(z, "no constants.pkl or code/ records (a torch.save file, not torch.jit.save?)");
    if (!found->version) return bad(z, "no version record");
    return ADN_OK;
}

#ifdef ADN_HAVE_ZLIB
/* Inflates a deflated record into a small window (never more than it declares) for its CRC. */
static adn_status inflate_crc(const zip_view *z, const zip_entry *e, uint32_t *crc) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: cannot start the zip check's inflater", z->name);
    uint8_t window[16384];
    uLong sum = crc32(0L, Z_NULL, 0);
    uint64_t produced = 0;
    s.next_in = (Bytef *)(uintptr_t)(z->data + e->data_start);
    s.avail_in = (uInt)(e->data_end - e->data_start);
    int rc = Z_OK;
    while (rc == Z_OK) {
        s.next_out = window;
        s.avail_out = sizeof window;
        rc = inflate(&s, Z_NO_FLUSH);
        const size_t got = sizeof window - s.avail_out;
        produced += got;
        if (produced > e->unpacked) break;
        sum = crc32(sum, window, (uInt)got);
        if (rc == Z_OK && got == 0 && s.avail_in == 0) rc = Z_BUF_ERROR; /* input ended early */
    }
    inflateEnd(&s);
    if (rc == Z_MEM_ERROR) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: out of memory in the zip check", z->name);
    if (rc != Z_STREAM_END || produced != e->unpacked) return bad(z, "a deflated record is corrupt or not the size it declares");
    *crc = (uint32_t)sum;
    return ADN_OK;
}

/* libtorch's zip reader skips CRC checks, and a record that decodes to something else than was
 * written is how a mutated file reached its worst paths (a 2 KB file allocating 21 GB). */
static adn_status check_contents(const zip_view *z, const zip_entry *entries, uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
        const zip_entry *e = &entries[i];
        uint32_t crc = 0;
        if (e->method == METHOD_STORED) {
            crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), z->data + e->data_start, (uInt)(e->data_end - e->data_start));
        } else {
            adn_status st = inflate_crc(z, e, &crc);
            if (st != ADN_OK) return st;
        }
        if (crc != e->crc) return bad(z, "a record's CRC-32 does not match its contents (corrupt file)");
    }
    return ADN_OK;
}
#else
static adn_status check_contents(const zip_view *z, const zip_entry *entries, uint64_t count) {
    (void)z, (void)entries, (void)count; /* a build without torch (which brings zlib) never loads models */
    return ADN_OK;
}
#endif

adn_status adn_zip_check(const uint8_t *data, size_t size, const char *name) {
    const zip_view z = {.data = data, .size = size, .name = name};
    uint64_t eocd = 0;
    central_directory cd = {0, 0, 0};
    adn_status st = find_eocd(&z, &eocd);
    if (st == ADN_OK) st = read_central_directory(&z, eocd, &cd);
    if (st != ADN_OK) return st;
    zip_entry *entries = malloc((size_t)cd.entries * sizeof *entries);
    if (!entries) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "%s: cannot allocate the zip check's record table", name);
    uint64_t at = cd.offset, total = 0;
    const uint8_t *top = NULL;
    uint32_t top_length = 0;
    expected_records found = {0};
    for (uint64_t i = 0; i < cd.entries && st == ADN_OK; ++i)
        st = check_central_record(&z, &cd, &at, &total, &entries[i], &top_length, &top, &found);
    if (st == ADN_OK && at != cd.offset + cd.size) st = bad(&z, "the central directory is longer than its record count");
    if (st == ADN_OK) st = check_no_overlap(&z, entries, cd.entries);
    if (st == ADN_OK) st = check_expected(&z, &found);
    if (st == ADN_OK) st = check_contents(&z, entries, cd.entries);
    free(entries);
    return st;
}
