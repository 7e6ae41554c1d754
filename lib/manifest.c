/* manifest.txt (lib/manifest.h): a line format C reads without a JSON library.
 *
 *     # comments and blank lines are ignored
 *     adn-manifest 1                          format version (first record)
 *     exporter adn-export 0.2.0               what wrote it
 *     file encoder.pt 14057696 <64 hex>       name, size in bytes, SHA-256
 *     attr encoder.pt adn_channels 512        a contract attribute the module declared
 *     end                                     last record: a truncated manifest has none
 *
 * Fields are separated by single spaces.  Records and attributes this version does not know are
 * skipped, so a later exporter can add some without breaking older libraries; a new meaning for
 * a known record would take a new format version, which is refused. */
#include "manifest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_FIELDS 6
#define MAX_LINE 512

static const char *const module_names[ADN_MODULE_COUNT] = {"encoder.pt", "decoder.pt", "depth.pt"};

const char *adn_module_file_name(adn_module_id id) { return module_names[id]; }

/* One line split into fields (pointers into a private copy). */
typedef struct manifest_line {
    int number;
    char text[MAX_LINE];
    char *field[MAX_FIELDS];
    int count;
} manifest_line;

typedef struct parse_state {
    adn_manifest *m;
    int seen_format, seen_exporter, seen_end;
    int attr_seen[ADN_MODULE_COUNT][5];
} parse_state;

static adn_status fail_line(int line, const char *fmt, ...) ADN_PRINTF(2, 3);
static adn_status fail_line(int line, const char *fmt, ...) {
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return adn_fail(ADN_ERR_MODEL, "%s: line %d: %s; " ADN_SEAL_ADVICE, ADN_MANIFEST_FILE, line, what);
}

static int module_of(const char *name) {
    for (int i = 0; i < ADN_MODULE_COUNT; ++i)
        if (strcmp(name, module_names[i]) == 0) return i;
    return -1;
}

/* Decimal digits only, no sign, no overflow of 2^63. */
static int parse_u64(const char *s, uint64_t *out) {
    if (!*s || strlen(s) > 18) return 0;
    uint64_t v = 0;
    for (; *s; ++s) {
        if (*s < '0' || *s > '9') return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 1;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int parse_sha256(const char *s, uint8_t out[ADN_SHA256_BYTES]) {
    if (strlen(s) != 2 * ADN_SHA256_BYTES) return 0;
    for (int i = 0; i < ADN_SHA256_BYTES; ++i) {
        const int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return 0;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

static adn_status parse_format(parse_state *s, const manifest_line *l) {
    uint64_t v = 0;
    if (l->count != 2 || !parse_u64(l->field[1], &v)) return fail_line(l->number, "expected 'adn-manifest VERSION'");
    if (v != ADN_MANIFEST_FORMAT)
        return fail_line(l->number, "format version %llu; this library reads version %d (a newer libadain_dcs may read it)",
                         (unsigned long long)v, ADN_MANIFEST_FORMAT);
    s->m->format = (int32_t)v;
    s->seen_format = 1;
    return ADN_OK;
}

static adn_status parse_exporter(parse_state *s, const manifest_line *l) {
    if (l->count != 3) return fail_line(l->number, "expected 'exporter NAME VERSION'");
    if (s->seen_exporter) return fail_line(l->number, "a second exporter record");
    snprintf(s->m->exporter, sizeof s->m->exporter, "%s %s", l->field[1], l->field[2]);
    s->seen_exporter = 1;
    return ADN_OK;
}

static adn_status parse_file(parse_state *s, const manifest_line *l) {
    if (l->count != 4) return fail_line(l->number, "expected 'file NAME SIZE SHA256'");
    const int id = module_of(l->field[1]);
    if (id < 0) return ADN_OK; /* a file a later format may use; this library never loads it */
    adn_manifest_file *f = &s->m->files[id];
    if (f->listed) return fail_line(l->number, "%s is listed twice", l->field[1]);
    if (!parse_u64(l->field[2], &f->size)) return fail_line(l->number, "size '%s' is not a number", l->field[2]);
    if (!parse_sha256(l->field[3], f->sha256))
        return fail_line(l->number, "'%s' is not a SHA-256 (64 hex digits)", l->field[3]);
    f->listed = 1;
    return ADN_OK;
}

/* Where an attribute of a module lives in adn_bundle_attrs: a string (str != NULL) or an int. */
typedef struct attr_slot {
    char *str;
    int64_t *num;
    int index; /* for duplicate detection */
} attr_slot;

static attr_slot slot_of(adn_bundle_attrs *a, int id, const char *key) {
    attr_slot none = {NULL, NULL, -1};
    if (strcmp(key, "adn_kind") == 0)
        return (attr_slot){id == ADN_MODULE_ENCODER ? a->encoder_kind : id == ADN_MODULE_DECODER ? a->decoder_kind : a->depth_kind,
                           NULL, 0};
    if (id == ADN_MODULE_DEPTH) return strcmp(key, "adn_output") == 0 ? (attr_slot){a->depth_output, NULL, 1} : none;
    if (strcmp(key, "adn_channels") == 0)
        return (attr_slot){NULL, id == ADN_MODULE_ENCODER ? &a->encoder_channels : &a->decoder_channels, 2};
    if (id == ADN_MODULE_ENCODER && strcmp(key, "adn_downsample") == 0) return (attr_slot){NULL, &a->encoder_downsample, 3};
    if (id == ADN_MODULE_DECODER && strcmp(key, "adn_upsample") == 0) return (attr_slot){NULL, &a->decoder_upsample, 3};
    if (strcmp(key, "adn_receptive_field") == 0)
        return (attr_slot){NULL, id == ADN_MODULE_ENCODER ? &a->encoder_receptive_field : &a->decoder_receptive_field, 4};
    return none;
}

static adn_status parse_attr(parse_state *s, const manifest_line *l) {
    if (l->count != 4) return fail_line(l->number, "expected 'attr FILE NAME VALUE'");
    const int id = module_of(l->field[1]);
    if (id < 0) return ADN_OK;
    if (!s->m->files[id].listed) return fail_line(l->number, "an attribute of %s before its file record", l->field[1]);
    const attr_slot slot = slot_of(&s->m->attrs, id, l->field[2]);
    if (slot.index < 0) return ADN_OK; /* an attribute a later contract may add */
    if (s->attr_seen[id][slot.index]++) return fail_line(l->number, "%s %s is given twice", l->field[1], l->field[2]);
    const char *value = l->field[3];
    if (slot.str) {
        if (strlen(value) >= sizeof s->m->attrs.encoder_kind) return fail_line(l->number, "value '%s' is too long", value);
        strcpy(slot.str, value);
        return ADN_OK;
    }
    /* Stored as the backend reports ints: negative ones as 0 (lib/bundle.c refuses both). */
    const int negative = value[0] == '-';
    uint64_t v = 0;
    if (!parse_u64(value + negative, &v)) return fail_line(l->number, "%s %s '%s' is not an integer", l->field[1], l->field[2], value);
    *slot.num = negative ? 0 : (int64_t)v;
    return ADN_OK;
}

static adn_status parse_record(parse_state *s, const manifest_line *l) {
    const char *kind = l->field[0];
    if (s->seen_end) return fail_line(l->number, "a record after 'end'");
    if (!s->seen_format) {
        if (strcmp(kind, "adn-manifest") != 0) return fail_line(l->number, "the first record must be 'adn-manifest 1' (not a bundle manifest?)");
        return parse_format(s, l);
    }
    if (strcmp(kind, "exporter") == 0) return parse_exporter(s, l);
    if (strcmp(kind, "file") == 0) return parse_file(s, l);
    if (strcmp(kind, "attr") == 0) return parse_attr(s, l);
    if (strcmp(kind, "end") == 0) {
        if (l->count != 1) return fail_line(l->number, "expected 'end' alone");
        s->seen_end = 1;
        return ADN_OK;
    }
    if (strcmp(kind, "adn-manifest") == 0) return fail_line(l->number, "a second 'adn-manifest' record");
    return ADN_OK; /* a record a later version adds */
}

/* Copies one line and splits it at single spaces; 0 fields for a blank or comment line. */
static adn_status split_line(const char *begin, size_t length, int number, manifest_line *l) {
    l->number = number;
    l->count = 0;
    if (length >= sizeof l->text) return fail_line(number, "line longer than %d bytes", MAX_LINE - 1);
    memcpy(l->text, begin, length);
    l->text[length] = '\0';
    if (length == 0 || l->text[0] == '#') return ADN_OK;
    for (size_t i = 0; i < length; ++i)
        if ((unsigned char)l->text[i] < 0x20 || (unsigned char)l->text[i] == 0x7f)
            return fail_line(number, "a control character (fields are separated by single spaces)");
    char *p = l->text;
    for (;;) {
        if (l->count == MAX_FIELDS) return fail_line(number, "too many fields");
        char *space = strchr(p, ' ');
        if (space == p || (!space && !*p)) return fail_line(number, "an empty field (fields are separated by single spaces)");
        l->field[l->count++] = p;
        if (!space) return ADN_OK;
        *space = '\0';
        p = space + 1;
    }
}

adn_status adn_manifest_parse(const char *text, size_t size, adn_manifest *out) {
    memset(out, 0, sizeof *out);
    out->attrs.encoder_channels = out->attrs.encoder_downsample = -1;
    out->attrs.decoder_channels = out->attrs.decoder_upsample = -1;
    out->attrs.encoder_receptive_field = out->attrs.decoder_receptive_field = -1;
    parse_state s = {.m = out};
    if (memchr(text, '\0', size))
        return adn_fail(ADN_ERR_MODEL, "%s: contains a NUL byte (not a text manifest); " ADN_SEAL_ADVICE, ADN_MANIFEST_FILE);
    if (size == 0 || text[size - 1] != '\n')
        return adn_fail(ADN_ERR_MODEL, "%s: does not end with a newline (truncated?); " ADN_SEAL_ADVICE, ADN_MANIFEST_FILE);
    manifest_line line;
    int number = 0;
    for (const char *p = text, *end = text + size; p < end;) {
        const char *newline = memchr(p, '\n', (size_t)(end - p));
        adn_status st = split_line(p, (size_t)(newline - p), ++number, &line);
        if (st == ADN_OK && line.count > 0) st = parse_record(&s, &line);
        if (st != ADN_OK) return st;
        p = newline + 1;
    }
    const char *missing = !s.seen_format     ? "no 'adn-manifest' record (not a bundle manifest?)"
                          : !s.seen_end      ? "no 'end' record (truncated?)"
                          : !s.seen_exporter ? "no 'exporter' record"
                                             : NULL;
    if (missing) return adn_fail(ADN_ERR_MODEL, "%s: %s; " ADN_SEAL_ADVICE, ADN_MANIFEST_FILE, missing);
    for (int id = ADN_MODULE_ENCODER; id <= ADN_MODULE_DECODER; ++id)
        if (!out->files[id].listed)
            return adn_fail(ADN_ERR_MODEL, "%s: does not list %s; " ADN_SEAL_ADVICE, ADN_MANIFEST_FILE, module_names[id]);
    out->attrs.has_depth = out->files[ADN_MODULE_DEPTH].listed;
    return ADN_OK;
}

adn_status adn_manifest_check_file(const adn_manifest *m, adn_module_id id, const uint8_t *data, size_t size) {
    const char *name = module_names[id];
    const adn_manifest_file *f = &m->files[id];
    if (!f->listed)
        return adn_fail(ADN_ERR_MODEL, "%s: not listed in %s (added after the bundle was sealed?); " ADN_SEAL_ADVICE, name,
                        ADN_MANIFEST_FILE);
    if ((uint64_t)size != f->size)
        return adn_fail(ADN_ERR_MODEL, "%s: is %zu bytes but %s says %llu (changed after sealing); " ADN_SEAL_ADVICE, name, size,
                        ADN_MANIFEST_FILE, (unsigned long long)f->size);
    uint8_t digest[ADN_SHA256_BYTES];
    adn_sha256(data, size, digest);
    if (memcmp(digest, f->sha256, sizeof digest) != 0) {
        char got[2 * ADN_SHA256_BYTES + 1], want[2 * ADN_SHA256_BYTES + 1];
        adn_sha256_hex(digest, got);
        adn_sha256_hex(f->sha256, want);
        return adn_fail(ADN_ERR_MODEL, "%s: SHA-256 %.16s... does not match %s (%.16s...): the file changed after sealing; " ADN_SEAL_ADVICE,
                        name, got, ADN_MANIFEST_FILE, want);
    }
    return ADN_OK;
}

static adn_status attr_mismatch_str(const char *file, const char *key, const char *sealed, const char *found) {
    if (strcmp(sealed, found) == 0) return ADN_OK;
    return adn_fail(ADN_ERR_MODEL, "%s: declares %s = '%s' but %s says '%s'; " ADN_SEAL_ADVICE, file, key, found, ADN_MANIFEST_FILE,
                    sealed);
}

static adn_status attr_mismatch_int(const char *file, const char *key, int64_t sealed, int64_t found) {
    if (sealed == found) return ADN_OK;
    return adn_fail(ADN_ERR_MODEL, "%s: declares %s = %lld but %s says %lld (-1: absent); " ADN_SEAL_ADVICE, file, key,
                    (long long)found, ADN_MANIFEST_FILE, (long long)sealed);
}

adn_status adn_manifest_check_attrs(const adn_manifest *m, const adn_bundle_attrs *found) {
    const adn_bundle_attrs *a = &m->attrs;
    adn_status st;
    if ((st = attr_mismatch_str("encoder.pt", "adn_kind", a->encoder_kind, found->encoder_kind)) ||
        (st = attr_mismatch_int("encoder.pt", "adn_channels", a->encoder_channels, found->encoder_channels)) ||
        (st = attr_mismatch_int("encoder.pt", "adn_downsample", a->encoder_downsample, found->encoder_downsample)) ||
        (st = attr_mismatch_str("decoder.pt", "adn_kind", a->decoder_kind, found->decoder_kind)) ||
        (st = attr_mismatch_int("decoder.pt", "adn_channels", a->decoder_channels, found->decoder_channels)) ||
        (st = attr_mismatch_int("decoder.pt", "adn_upsample", a->decoder_upsample, found->decoder_upsample)) ||
        (st = attr_mismatch_int("encoder.pt", "adn_receptive_field", a->encoder_receptive_field, found->encoder_receptive_field)) ||
        (st = attr_mismatch_int("decoder.pt", "adn_receptive_field", a->decoder_receptive_field, found->decoder_receptive_field)))
        return st;
    if (!found->has_depth) return ADN_OK; /* not loaded (load_depth = 0) */
    if ((st = attr_mismatch_str("depth.pt", "adn_kind", a->depth_kind, found->depth_kind)) ||
        (st = attr_mismatch_str("depth.pt", "adn_output", a->depth_output, found->depth_output)))
        return st;
    return ADN_OK;
}
