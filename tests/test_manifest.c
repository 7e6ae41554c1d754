/* What adn_model_load checks in C before libtorch reads a byte, without torch: SHA-256 against the
 * FIPS 180-2 test vectors, the manifest.txt reader (lib/manifest.c), and the structural check of
 * TorchScript zip archives (lib/zip_check.c) on archives built here byte by byte (so every field
 * is known) and then broken one field at a time.  The same checks on real bundles made by torch
 * are in tests/test_pipeline.c.  Compiled with those lib/ sources (they are internal). */
#include "manifest.h"
#include "sha256.h"
#include "zip_check.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- SHA-256 ---------------------------------------------------------------------------------- */

static void expect_digest(const void *data, size_t size, const char *want) {
    uint8_t digest[ADN_SHA256_BYTES];
    char hex[2 * ADN_SHA256_BYTES + 1];
    adn_sha256(data, size, digest);
    adn_sha256_hex(digest, hex);
    ck_assert_str_eq(hex, want);
}

/* Both implementations (lib/sha256.c): the portable one, then the SHA-NI one where the CPU has it. */
START_TEST(sha256_matches_the_fips_vectors) {
    adn_sha256_use_accelerated(_i);
    if (_i == 1 && !adn_sha256_is_accelerated()) {
        printf("SKIP: SHA-256 with SHA-NI: this CPU lacks the SHA instructions\n");
        return;
    }
    expect_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect_digest(two_blocks, strlen(two_blocks), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    char *million = malloc(1000000);
    ck_assert_ptr_nonnull(million);
    memset(million, 'a', 1000000);
    expect_digest(million, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* fed in uneven pieces (across block boundaries) it is the same digest */
    adn_sha256_state s;
    adn_sha256_init(&s);
    for (size_t at = 0, step = 1; at < 1000000; at += step, step = step * 3 % 1000 + 1)
        adn_sha256_update(&s, million + at, at + step > 1000000 ? 1000000 - at : step);
    uint8_t digest[ADN_SHA256_BYTES];
    char hex[2 * ADN_SHA256_BYTES + 1];
    adn_sha256_final(&s, digest);
    adn_sha256_hex(digest, hex);
    ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(million);
}
END_TEST

/* ---- manifest.txt ------------------------------------------------------------------------------ */

static const char encoder_bytes[] = "pretend encoder";
static const char decoder_bytes[] = "pretend decoder";
/* SHA-256 of encoder_bytes (without its NUL), from Python's hashlib. */
#define ENCODER_SHA "44a946fb588e76bdd0576d60747d9be12de7be68366a431cf17594732b93b8d4"

static char good_manifest[2048];

static void make_good_manifest(void) {
    uint8_t digest[ADN_SHA256_BYTES];
    char enc[65], dec[65];
    adn_sha256(encoder_bytes, sizeof encoder_bytes - 1, digest);
    adn_sha256_hex(digest, enc);
    adn_sha256(decoder_bytes, sizeof decoder_bytes - 1, digest);
    adn_sha256_hex(digest, dec);
    snprintf(good_manifest, sizeof good_manifest,
             "# a comment\n"
             "adn-manifest 1\n"
             "exporter adn-export 0.2.0\n"
             "file encoder.pt %zu %s\n"
             "attr encoder.pt adn_kind encoder\n"
             "attr encoder.pt adn_channels 192\n"
             "attr encoder.pt adn_downsample 8\n"
             "attr encoder.pt adn_future_attribute whatever\n"
             "file decoder.pt %zu %s\n"
             "attr decoder.pt adn_kind decoder\n"
             "attr decoder.pt adn_channels 192\n"
             "attr decoder.pt adn_upsample 8\n"
             "\n"
             "signature someday\n"
             "end\n",
             sizeof encoder_bytes - 1, enc, sizeof decoder_bytes - 1, dec);
}

static adn_status parse(const char *text, adn_manifest *m) { return adn_manifest_parse(text, strlen(text), m); }

/* good_manifest with `from` replaced by `to`, parsed: expects ADN_ERR_MODEL and `needle`. */
static void expect_bad_manifest(const char *from, const char *to, const char *needle) {
    char text[4096];
    const char *at = strstr(good_manifest, from);
    ck_assert_msg(at != NULL, "'%s' is not in the manifest", from);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good_manifest), good_manifest, to, at + strlen(from));
    adn_manifest m;
    ck_assert_int_eq(parse(text, &m), ADN_ERR_MODEL);
    ck_assert_msg(strstr(adn_last_error(), needle) != NULL, "'%s' lacks '%s'", adn_last_error(), needle);
    ck_assert_msg(strstr(adn_last_error(), "adn-export --seal DIR") != NULL, "'%s' does not say how to seal", adn_last_error());
}

START_TEST(manifest_is_read) {
    make_good_manifest();
    adn_manifest m;
    ck_assert_msg(parse(good_manifest, &m) == ADN_OK, "%s", adn_last_error());
    ck_assert_int_eq(m.format, 1);
    ck_assert_str_eq(m.exporter, "adn-export 0.2.0");
    ck_assert(m.files[ADN_MODULE_ENCODER].listed && m.files[ADN_MODULE_DECODER].listed && !m.files[ADN_MODULE_DEPTH].listed);
    ck_assert_uint_eq(m.files[ADN_MODULE_ENCODER].size, sizeof encoder_bytes - 1);
    ck_assert_str_eq(m.attrs.encoder_kind, "encoder");
    ck_assert_int_eq(m.attrs.encoder_channels, 192);
    ck_assert_int_eq(m.attrs.decoder_upsample, 8);
    ck_assert_int_eq(m.attrs.encoder_receptive_field, -1); /* not declared */
    ck_assert_int_eq(m.attrs.has_depth, 0);
    ck_assert_int_eq(adn_manifest_check_file(&m, ADN_MODULE_ENCODER, (const uint8_t *)encoder_bytes, sizeof encoder_bytes - 1),
                     ADN_OK);

    /* an independent digest: hashlib.sha256(b"pretend encoder").hexdigest() */
    char hex[65];
    adn_sha256_hex(m.files[ADN_MODULE_ENCODER].sha256, hex);
    ck_assert_str_eq(hex, ENCODER_SHA);
}
END_TEST

START_TEST(manifest_mismatches_are_named) {
    make_good_manifest();
    adn_manifest m;
    ck_assert_int_eq(parse(good_manifest, &m), ADN_OK);
    char tampered[sizeof encoder_bytes];
    memcpy(tampered, encoder_bytes, sizeof encoder_bytes);
    tampered[3] ^= 1;
    ck_assert_int_eq(adn_manifest_check_file(&m, ADN_MODULE_ENCODER, (const uint8_t *)tampered, sizeof tampered - 1),
                     ADN_ERR_MODEL);
    ck_assert_ptr_nonnull(strstr(adn_last_error(), "encoder.pt: SHA-256"));
    ck_assert_int_eq(adn_manifest_check_file(&m, ADN_MODULE_ENCODER, (const uint8_t *)encoder_bytes, sizeof encoder_bytes),
                     ADN_ERR_MODEL);
    ck_assert_ptr_nonnull(strstr(adn_last_error(), "encoder.pt: is 16 bytes but manifest.txt says 15"));
    ck_assert_int_eq(adn_manifest_check_file(&m, ADN_MODULE_DEPTH, (const uint8_t *)encoder_bytes, 3), ADN_ERR_MODEL);
    ck_assert_ptr_nonnull(strstr(adn_last_error(), "depth.pt: not listed in manifest.txt"));

    adn_bundle_attrs found = m.attrs;
    ck_assert_int_eq(adn_manifest_check_attrs(&m, &found), ADN_OK);
    found.decoder_channels = 64;
    ck_assert_int_eq(adn_manifest_check_attrs(&m, &found), ADN_ERR_MODEL);
    ck_assert_ptr_nonnull(strstr(adn_last_error(), "decoder.pt: declares adn_channels = 64 but manifest.txt says 192"));
    found = m.attrs;
    snprintf(found.encoder_kind, sizeof found.encoder_kind, "%s", "decoder");
    ck_assert_int_eq(adn_manifest_check_attrs(&m, &found), ADN_ERR_MODEL);
}
END_TEST

START_TEST(manifest_defects_are_refused) {
    make_good_manifest();
    expect_bad_manifest("adn-manifest 1", "adn-manifest 2", "format version 2");
    expect_bad_manifest("adn-manifest 1\n", "", "the first record must be 'adn-manifest 1'");
    expect_bad_manifest("end\n", "", "no 'end' record");
    expect_bad_manifest("end\n", "end", "does not end with a newline");
    expect_bad_manifest("end\n", "end\nfile depth.pt 1 00\n", "a record after 'end'");
    expect_bad_manifest("exporter adn-export 0.2.0\n", "", "no 'exporter' record");
    expect_bad_manifest("file decoder.pt", "file depth.pt", "an attribute of decoder.pt before its file record");
    {   /* the decoder's records cut out */
        char text[4096];
        const char *begin = strstr(good_manifest, "file decoder.pt"), *end = strstr(good_manifest, "adn_upsample 8\n");
        snprintf(text, sizeof text, "%.*s%s", (int)(begin - good_manifest), good_manifest, end + strlen("adn_upsample 8\n"));
        adn_manifest m;
        ck_assert_int_eq(parse(text, &m), ADN_ERR_MODEL);
        ck_assert_msg(strstr(adn_last_error(), "does not list decoder.pt") != NULL, "%s", adn_last_error());
    }
    expect_bad_manifest("file decoder.pt", "file encoder.pt", "encoder.pt is listed twice");
    expect_bad_manifest(" 15 ", " 15x ", "size '15x' is not a number");
    expect_bad_manifest(" 15 ", " -15 ", "size '-15' is not a number");
    expect_bad_manifest("0.2.0\nfile encoder.pt 15 ", "0.2.0\nfile encoder.pt 15 ab", "is not a SHA-256");
    expect_bad_manifest("adn_channels 192\nattr encoder.pt", "adn_channels 192\nattr encoder.pt adn_channels 7\nattr encoder.pt",
                        "adn_channels is given twice");
    expect_bad_manifest("adn_downsample 8", "adn_downsample eight", "is not an integer");
    expect_bad_manifest("adn_kind encoder", "adn_kind  encoder", "an empty field");
    expect_bad_manifest("adn_kind encoder", "adn_kind encoder\r", "a control character");
    expect_bad_manifest("adn_kind encoder", "adn_kind an_encoder_kind_name_of_more_than_31_bytes", "is too long");
    expect_bad_manifest("exporter adn-export 0.2.0\n", "exporter adn-export 0.2.0\nattr depth.pt adn_kind depth\n",
                        "an attribute of depth.pt before its file record");
    adn_manifest m;
    ck_assert_int_eq(adn_manifest_parse("adn-manifest 1\n\0end\n", 20, &m), ADN_ERR_MODEL);
    ck_assert_ptr_nonnull(strstr(adn_last_error(), "NUL byte"));
}
END_TEST

/* ---- the zip check -------------------------------------------------------------------------------- */

/* A zip archive written field by field as torch.jit.save lays one out: stored records, a deflated
 * code record, optionally the ZIP64 end records torch adds. */
typedef struct archive {
    uint8_t data[16384];
    size_t size;
    size_t local[8], central[8]; /* offsets of each record's headers */
    int count;
    size_t cd_offset, eocd;
} archive;

static void put(archive *a, const void *p, size_t n) {
    ck_assert_uint_le(a->size + n, sizeof a->data);
    memcpy(a->data + a->size, p, n);
    a->size += n;
}
static void put16(archive *a, uint32_t v) { put(a, (uint8_t[]){(uint8_t)v, (uint8_t)(v >> 8)}, 2); }
static void put32(archive *a, uint32_t v) { put16(a, v & 0xffff), put16(a, v >> 16); }
static void put64(archive *a, uint64_t v) { put32(a, (uint32_t)v), put32(a, (uint32_t)(v >> 32)); }
static void set32(archive *a, size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) a->data[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}
static void set16(archive *a, size_t at, uint32_t v) { a->data[at] = (uint8_t)v, a->data[at + 1] = (uint8_t)(v >> 8); }

typedef struct record {
    const char *name;
    const char *text;
    int deflate;
} record;

static size_t raw_deflate(const char *text, uint8_t *out, size_t cap) {
    z_stream s;
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(deflateInit2(&s, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    s.next_in = (Bytef *)(uintptr_t)text;
    s.avail_in = (uInt)strlen(text);
    s.next_out = out;
    s.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&s, Z_FINISH), Z_STREAM_END);
    const size_t n = cap - s.avail_out;
    deflateEnd(&s);
    return n;
}

static void build(archive *a, const record *records, int n, int zip64) {
    memset(a, 0, sizeof *a);
    uint8_t packed[8][1024];
    size_t packed_size[8];
    for (int i = 0; i < n; ++i) {
        const size_t len = strlen(records[i].text);
        packed_size[i] = records[i].deflate ? raw_deflate(records[i].text, packed[i], sizeof packed[i]) : len;
        if (!records[i].deflate) memcpy(packed[i], records[i].text, len);
        const uint32_t crc = (uint32_t)crc32(0, (const Bytef *)records[i].text, (uInt)len);
        a->local[i] = a->size;
        put32(a, 0x04034b50), put16(a, 20), put16(a, 0), put16(a, records[i].deflate ? 8 : 0), put32(a, 0);
        put32(a, crc), put32(a, (uint32_t)packed_size[i]), put32(a, (uint32_t)len);
        put16(a, (uint32_t)strlen(records[i].name)), put16(a, 0);
        put(a, records[i].name, strlen(records[i].name));
        put(a, packed[i], packed_size[i]);
    }
    a->cd_offset = a->size;
    for (int i = 0; i < n; ++i) {
        const size_t len = strlen(records[i].text);
        a->central[i] = a->size;
        put32(a, 0x02014b50), put16(a, 20), put16(a, 20), put16(a, 0), put16(a, records[i].deflate ? 8 : 0);
        put32(a, 0), put32(a, (uint32_t)crc32(0, (const Bytef *)records[i].text, (uInt)len));
        put32(a, (uint32_t)packed_size[i]), put32(a, (uint32_t)len);
        put16(a, (uint32_t)strlen(records[i].name)), put16(a, 0), put16(a, 0), put16(a, 0), put16(a, 0), put32(a, 0);
        put32(a, (uint32_t)a->local[i]);
        put(a, records[i].name, strlen(records[i].name));
    }
    const size_t cd_size = a->size - a->cd_offset;
    if (zip64) {
        const size_t record64 = a->size;
        put32(a, 0x06064b50), put64(a, 44), put16(a, 45), put16(a, 45), put32(a, 0), put32(a, 0);
        put64(a, (uint64_t)n), put64(a, (uint64_t)n), put64(a, cd_size), put64(a, a->cd_offset);
        put32(a, 0x07064b50), put32(a, 0), put64(a, record64), put32(a, 1);
    }
    a->eocd = a->size;
    put32(a, 0x06054b50), put16(a, 0), put16(a, 0), put16(a, (uint32_t)n), put16(a, (uint32_t)n);
    put32(a, (uint32_t)cd_size), put32(a, (uint32_t)a->cd_offset), put16(a, 0);
    a->count = n;
}

static const record torchscript[] = {
    {"m/data.pkl", "pickled module", 0},
    {"m/code/__torch__.py", "class M(Module):\n  def forward(self, x):\n    return x\n", 1},
    {"m/constants.pkl", "()", 0},
    {"m/version", "3\n", 0},
};
#define N_TORCHSCRIPT ((int)(sizeof torchscript / sizeof torchscript[0]))

static void expect_refused(const archive *a, const char *needle) {
    ck_assert_int_eq(adn_zip_check(a->data, a->size, "encoder.pt"), ADN_ERR_MODEL);
    ck_assert_msg(strstr(adn_last_error(), "encoder.pt: not a TorchScript archive: ") != NULL, "%s", adn_last_error());
    ck_assert_msg(strstr(adn_last_error(), needle) != NULL, "'%s' lacks '%s'", adn_last_error(), needle);
}

START_TEST(zip_check_accepts_torchscript_layouts) {
    archive a;
    for (int zip64 = 0; zip64 <= 1; ++zip64) {
        build(&a, torchscript, N_TORCHSCRIPT, zip64);
        ck_assert_msg(adn_zip_check(a.data, a.size, "encoder.pt") == ADN_OK, "zip64 %d: %s", zip64, adn_last_error());
    }
    const record newer[] = {{"x/data.pkl", "p", 0}, {"x/code/__torch__.py", "c", 0}, {"x/constants.pkl", "()", 0},
                            {"x/.data/version", "3\n", 0}}; /* torch 2 keeps its version there */
    build(&a, newer, 4, 1);
    ck_assert_msg(adn_zip_check(a.data, a.size, "encoder.pt") == ADN_OK, "%s", adn_last_error());
}
END_TEST

START_TEST(zip_check_refuses_broken_archives) {
    archive a;
    build(&a, torchscript, N_TORCHSCRIPT, 1);
    const archive good = a;

    a.size -= 3;
    expect_refused(&a, "no end of central directory record");
    a = good;
    expect_refused(&(archive){.size = 10}, "too short");
    set32(&a, good.central[0] + 42, (uint32_t)good.size + 100);
    expect_refused(&a, "local header lies outside");
    a = good;
    set32(&a, good.central[2] + 42, (uint32_t)good.local[1]);
    expect_refused(&a, "names another file");
    a = good;
    set32(&a, good.central[0] + 24, 999); /* stored: the two sizes must agree */
    expect_refused(&a, "two sizes differ");
    a = good;
    set32(&a, good.central[1] + 24, 1u << 30); /* a 1 GiB claim for a few dozen deflated bytes */
    expect_refused(&a, "claims more than deflate can expand to");
    a = good;
    set32(&a, good.central[1] + 24, 60); /* plausible, but not what it inflates to */
    expect_refused(&a, "corrupt or not the size it declares");
    a = good;
    set16(&a, good.central[3] + 8, 1);
    expect_refused(&a, "encrypted");
    a = good;
    set16(&a, good.central[3] + 10, 12);
    expect_refused(&a, "compressed other than by deflate");
    a = good;
    a.data[good.local[0] + 30 + strlen(torchscript[0].name) + 2] ^= 0x20;
    expect_refused(&a, "CRC-32 does not match");
    a = good;
    set32(&a, good.central[1] + 20, 1u << 20);
    expect_refused(&a, "runs into the central directory");
    a = good;
    set16(&a, good.eocd + 8, 20000), set16(&a, good.eocd + 10, 20000);
    expect_refused(&a, "20000 records, above the limit of 16384");
    a = good;
    set16(&a, good.eocd + 10, 3), set16(&a, good.eocd + 8, 3);
    expect_refused(&a, "ZIP64 end record disagrees");
    a = good;
    set16(&a, good.eocd + 20, 5); /* a comment length that does not reach the end */
    expect_refused(&a, "no end of central directory record");

    const record two_tops[] = {{"m/data.pkl", "p", 0}, {"n/code/a.py", "c", 0}, {"m/constants.pkl", "()", 0}, {"m/version", "3", 0}};
    build(&a, two_tops, 4, 0);
    expect_refused(&a, "not under one top folder");
    const record state_dict[] = {{"archive/data.pkl", "p", 0}, {"archive/data/0", "tensor", 0}, {"archive/version", "3", 0}};
    build(&a, state_dict, 3, 0);
    expect_refused(&a, "no constants.pkl or code/ records");
    const record no_pickle[] = {{"m/code/a.py", "c", 0}, {"m/constants.pkl", "()", 0}, {"m/version", "3", 0}};
    build(&a, no_pickle, 3, 0);
    expect_refused(&a, "no data.pkl record");
    /* two central records for the same bytes: how zip bombs multiply their size */
    const record twice[] = {{"m/data.pkl", "p", 0}, {"m/data.pkl", "p", 0}, {"m/code/a.py", "c", 0},
                            {"m/constants.pkl", "()", 0}, {"m/version", "3", 0}};
    build(&a, twice, 5, 0);
    set32(&a, a.central[1] + 42, (uint32_t)a.local[0]);
    expect_refused(&a, "two records overlap");
}
END_TEST

int main(void) {
    Suite *s = suite_create("manifest");
    TCase *t = tcase_create("checks");
    tcase_add_loop_test(t, sha256_matches_the_fips_vectors, 0, 2);
    tcase_add_test(t, manifest_is_read);
    tcase_add_test(t, manifest_mismatches_are_named);
    tcase_add_test(t, manifest_defects_are_refused);
    tcase_add_test(t, zip_check_accepts_torchscript_layouts);
    tcase_add_test(t, zip_check_refuses_broken_archives);
    suite_add_tcase(s, t);
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    const int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
