/* fuzz_model_load.c — libFuzzer target: adn_model_load on a bundle whose encoder.pt is the fuzzed
 * bytes (seed: the real one).  LLVMFuzzerInitialize copies a valid bundle (ADN_FUZZ_BUNDLE, else
 * the analytic bundle this build made) into a temporary folder once; each input then only
 * rewrites encoder.pt there and loads the folder with the default parameters.
 *
 * Where the header has adn_model_params.trust_unsealed (the sealed-bundle manifest: meson defines
 * ADN_FUZZ_HAS_TRUST_UNSEALED after checking the struct), every input is loaded twice: the
 * default way, where the manifest must refuse the changed file before torch reads a byte, and with
 * trust_unsealed = 1 from a second copy without the manifest, where the zip pre-check and libtorch
 * get the bytes.  Without the field only the default way exists (and libtorch gets the bytes).
 *
 * Invariants: never a crash (libFuzzer's -rss_limit_mb / -malloc_limit_mb and -timeout make a load
 * above 2 GB or a slow one count as one too); the status is OK, ADN_ERR_MODEL or
 * ADN_ERR_OUT_OF_MEMORY, a failure has a one-line message that is more than torch's caret line,
 * and *out is NULL on failure; a sealed bundle whose encoder.pt changed is never loaded. */
#include "adain_dcs.h"

#include "fuzz_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef ADN_FUZZ_BUNDLE_DIR
#define ADN_FUZZ_BUNDLE_DIR ""
#endif

/* Files of the sealed-bundle manifest, left out of the copy loaded with trust_unsealed so that it
 * is really unsealed (a manifest naming the old encoder.pt would refuse it either way). */
static const char *const manifest_names[] = {"manifest.txt"};

static char sealed_dir[4096], unsealed_dir[4096];
static uint8_t *original_encoder;
static size_t original_encoder_size;

static int is_manifest(const char *name) {
    for (size_t i = 0; i < sizeof manifest_names / sizeof manifest_names[0]; ++i)
        if (strcmp(name, manifest_names[i]) == 0) return 1;
    return 0;
}

static uint8_t *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *bytes = NULL;
    long length = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (length >= 0 && fseek(f, 0, SEEK_SET) == 0 && (bytes = malloc((size_t)length + 1)) &&
        fread(bytes, 1, (size_t)length, f) != (size_t)length) {
        free(bytes);
        bytes = NULL;
    }
    fclose(f);
    *size = (size_t)length;
    return bytes;
}

static void write_file(const char *path, const uint8_t *data, size_t size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FUZZ_CHECK(fd >= 0, "cannot write %s", path);
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        FUZZ_CHECK(n > 0, "cannot write %s", path);
        done += (size_t)n;
    }
    close(fd);
}

/* Copies the regular files of bundle into dir (made here), without the manifest if asked. */
static void copy_bundle(const char *bundle, char *dir, int keep_manifest) {
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, 4096, "%s/adn-fuzz-bundle-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    FUZZ_CHECK(mkdtemp(dir) != NULL, "cannot make a temporary folder %s", dir);
    DIR *d = opendir(bundle);
    FUZZ_CHECK(d != NULL, "cannot open the bundle %s (set ADN_FUZZ_BUNDLE)", bundle);
    for (struct dirent *e; (e = readdir(d));) {
        char from[4096], to[4096];
        struct stat st;
        snprintf(from, sizeof from, "%s/%s", bundle, e->d_name);
        if (stat(from, &st) != 0 || !S_ISREG(st.st_mode) || (!keep_manifest && is_manifest(e->d_name))) continue;
        size_t size = 0;
        uint8_t *bytes = read_file(from, &size);
        FUZZ_CHECK(bytes != NULL, "cannot read %s", from);
        snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
        write_file(to, bytes, size);
        free(bytes);
    }
    closedir(d);
}

static void remove_copy(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.') unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void remove_copies(void) {
    remove_copy(sealed_dir);
    if (unsealed_dir[0]) remove_copy(unsealed_dir);
}

static void check_load(const char *way, adn_status st, const adn_model *model) {
    FUZZ_CHECK(st == ADN_OK || st == ADN_ERR_MODEL || st == ADN_ERR_OUT_OF_MEMORY, "%s load: %s: %s", way,
               adn_status_str(st), adn_last_error());
    if (st == ADN_OK) {
        adn_model_info info = {.struct_size = sizeof info};
        FUZZ_CHECK(model && adn_model_get_info(model, &info) == ADN_OK && info.feature_channels > 0,
                   "%s load: ADN_OK but no usable model", way);
        return;
    }
    const char *message = adn_last_error();
    FUZZ_CHECK(model == NULL, "%s load failed but *out is set", way);
    FUZZ_CHECK(message[0] != '\0' && strchr(message, '\n') == NULL, "%s load: message '%s'", way, message);
    /* torch's ErrorReport ends in a caret line; a message that is only that has lost its cause. */
    const char *caret = strstr(message, "<--- HERE");
    FUZZ_CHECK(!caret || caret - message > 40, "%s load: the cause is lost: '%s'", way, message);
}

static adn_status load(const char *dir, int trust_unsealed, adn_model **model) {
    adn_model_params p = adn_model_default_params();
#ifdef ADN_FUZZ_HAS_TRUST_UNSEALED
    p.trust_unsealed = trust_unsealed;
#else
    (void)trust_unsealed;
#endif
    *model = NULL;
    adn_clear_error();
    return adn_model_load(dir, &p, model);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *bundle = getenv("ADN_FUZZ_BUNDLE");
    if (!bundle || !*bundle) bundle = ADN_FUZZ_BUNDLE_DIR;
    copy_bundle(bundle, sealed_dir, 1);
#ifdef ADN_FUZZ_HAS_TRUST_UNSEALED
    copy_bundle(bundle, unsealed_dir, 0);
#endif
    atexit(remove_copies);
    char path[4200];
    snprintf(path, sizeof path, "%s/encoder.pt", sealed_dir);
    original_encoder = read_file(path, &original_encoder_size);
    FUZZ_CHECK(original_encoder != NULL, "the bundle %s has no encoder.pt", bundle);
    /* The untouched copy must load, or every input would only test the same refusal. */
    adn_model *model = NULL;
    FUZZ_CHECK(load(sealed_dir, 0, &model) == ADN_OK, "the bundle %s does not load: %s", bundle, adn_last_error());
    adn_model_free(model);
    fprintf(stderr, "fuzz_model_load: bundle %s; %s\n", bundle,
            unsealed_dir[0] ? "each input loaded sealed (default) and with trust_unsealed"
                            : "each input loaded with the default parameters (no trust_unsealed in this header)");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int unchanged = size == original_encoder_size && memcmp(data, original_encoder, size) == 0;
    char path[4200];
    adn_model *model = NULL;

    snprintf(path, sizeof path, "%s/encoder.pt", sealed_dir);
    write_file(path, data, size);
    adn_status st = load(sealed_dir, 0, &model);
    check_load("default", st, model);
#ifdef ADN_FUZZ_HAS_TRUST_UNSEALED
    FUZZ_CHECK(unchanged || st != ADN_OK, "a sealed bundle loaded with a changed encoder.pt");
#else
    (void)unchanged;
#endif
    adn_model_free(model);

    if (unsealed_dir[0]) {
        snprintf(path, sizeof path, "%s/encoder.pt", unsealed_dir);
        write_file(path, data, size);
        st = load(unsealed_dir, 1, &model);
        check_load("trust_unsealed", st, model);
        adn_model_free(model);
    }
    return 0;
}
