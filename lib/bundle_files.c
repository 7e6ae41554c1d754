/* Reading a bundle's files safely (lib/bundle_files.h).  Order matters for the messages: first
 * what each file is (missing, a FIFO, empty, ...), then whether the bundle is sealed, then the
 * bytes against the manifest, so every defect is named for what it is.  The backend then parses
 * exactly the bytes that were verified: it never opens the files itself, so nothing can swap a
 * file between the check and the load. */
#include "bundle_files.h"

#include "regular_file.h"
#include "zip_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PATH_BYTES 4096

typedef struct open_modules {
    adn_regular_file file[ADN_MODULE_COUNT];
    int present[ADN_MODULE_COUNT];
} open_modules;

static adn_status join_path(const char *dir, const char *name, char out[PATH_BYTES]) {
    const int n = snprintf(out, PATH_BYTES, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_BYTES) return adn_fail(ADN_ERR_INVALID_ARGUMENT, "model bundle path '%s' is too long", dir);
    return ADN_OK;
}

static adn_status check_bundle_dir(const char *dir) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return ADN_OK;
        return adn_fail(ADN_ERR_MODEL, "model bundle '%s' is not a directory", dir);
    }
    if (errno == ELOOP) return adn_fail(ADN_ERR_MODEL, "model bundle '%s' is a symbolic link loop", dir);
    if (errno == EACCES) return adn_fail(ADN_ERR_MODEL, "model bundle '%s' cannot be reached: permission denied", dir);
    return adn_fail(ADN_ERR_MODEL, "model bundle '%s' is not a directory", dir);
}

static void close_modules(open_modules *o) {
    for (int id = 0; id < ADN_MODULE_COUNT; ++id) adn_regular_file_close(&o->file[id]);
}

/* encoder.pt and decoder.pt must be there; depth.pt is optional and skipped without load_depth. */
static adn_status open_modules_of(const char *dir, int load_depth, open_modules *o) {
    for (int id = 0; id < ADN_MODULE_COUNT; ++id) o->file[id].fd = -1;
    for (int id = 0; id < ADN_MODULE_COUNT; ++id) {
        if (id == ADN_MODULE_DEPTH && !load_depth) continue;
        const char *name = adn_module_file_name((adn_module_id)id);
        char path[PATH_BYTES];
        int missing = 0;
        adn_status st = join_path(dir, name, path);
        if (st == ADN_OK) st = adn_regular_file_open(path, name, ADN_MODULE_MAX_BYTES, &missing, &o->file[id]);
        if (st == ADN_OK && missing && id != ADN_MODULE_DEPTH)
            st = adn_fail(ADN_ERR_MODEL, "%s: file not found in bundle '%s'", name, dir);
        if (st != ADN_OK) {
            close_modules(o);
            return st;
        }
        o->present[id] = !missing;
    }
    return ADN_OK;
}

/* manifest.txt: *sealed = 0 when there is none; a present one must be a valid manifest. */
static adn_status read_manifest(const char *dir, adn_manifest *m, int *sealed) {
    char path[PATH_BYTES];
    adn_regular_file f;
    int missing = 0;
    uint8_t *text = NULL;
    *sealed = 0;
    adn_status st = join_path(dir, ADN_MANIFEST_FILE, path);
    if (st == ADN_OK) st = adn_regular_file_open(path, ADN_MANIFEST_FILE, ADN_MANIFEST_MAX_BYTES, &missing, &f);
    if (st != ADN_OK || missing) return st;
    st = adn_regular_file_read(&f, ADN_MANIFEST_FILE, &text);
    if (st == ADN_OK) st = adn_manifest_parse((const char *)text, (size_t)f.size, m);
    free(text);
    adn_regular_file_close(&f);
    *sealed = st == ADN_OK;
    return st;
}

static adn_status refuse_unsealed(const char *dir) {
    return adn_fail(ADN_ERR_MODEL,
                    "model bundle '%s' is not sealed: it has no %s (tools/adn-export writes one).  Seal a hand-made bundle "
                    "you trust with `adn-export --seal DIR`, or set adn_model_params.trust_unsealed = 1 to load it after a "
                    "structural check; a TorchScript bundle is code, so load only bundles from a trusted source",
                    dir, ADN_MANIFEST_FILE);
}

/* A depth.pt the manifest does not know, or one it lists that is gone. */
static adn_status check_depth_listing(const char *dir, const adn_manifest *m, const open_modules *o) {
    if (o->present[ADN_MODULE_DEPTH] || !m->files[ADN_MODULE_DEPTH].listed) return ADN_OK;
    return adn_fail(ADN_ERR_MODEL, "depth.pt: listed in %s but not found in bundle '%s'; " ADN_SEAL_ADVICE, ADN_MANIFEST_FILE, dir);
}

static adn_status read_and_verify(const open_modules *o, int id, const adn_bundle_files *files, adn_module_bytes *out) {
    const char *name = adn_module_file_name((adn_module_id)id);
    uint8_t *data = NULL;
    adn_status st = adn_regular_file_read(&o->file[id], name, &data);
    if (st != ADN_OK) return st;
    const size_t size = (size_t)o->file[id].size;
    st = files->sealed ? adn_manifest_check_file(&files->manifest, (adn_module_id)id, data, size) : adn_zip_check(data, size, name);
    if (st != ADN_OK) {
        free(data);
        return st;
    }
    out->name = name;
    out->data = data;
    out->size = size;
    return ADN_OK;
}

adn_status adn_bundle_files_read(const char *bundle_dir, int load_depth, int trust_unsealed, adn_bundle_files *out) {
    memset(out, 0, sizeof *out);
    open_modules o;
    memset(&o, 0, sizeof o);
    adn_status st = check_bundle_dir(bundle_dir);
    if (st == ADN_OK) st = open_modules_of(bundle_dir, load_depth, &o);
    if (st != ADN_OK) return st;
    st = read_manifest(bundle_dir, &out->manifest, &out->sealed);
    if (st == ADN_OK && !out->sealed && !trust_unsealed) st = refuse_unsealed(bundle_dir);
    if (st == ADN_OK && out->sealed && load_depth) st = check_depth_listing(bundle_dir, &out->manifest, &o);
    for (int id = 0; id < ADN_MODULE_COUNT && st == ADN_OK; ++id)
        if (o.present[id]) st = read_and_verify(&o, id, out, &out->module[id]);
    close_modules(&o);
    if (st != ADN_OK) {
        adn_bundle_files_release(out);
        return st;
    }
    if (!out->sealed)
        adn_log(ADN_LOG_WARN, "model bundle '%s' has no %s; loading it because trust_unsealed is set (its archives passed "
                "the structural check, its code is trusted as given)", bundle_dir, ADN_MANIFEST_FILE);
    return ADN_OK;
}

void adn_bundle_files_release(adn_bundle_files *files) {
    for (int id = 0; id < ADN_MODULE_COUNT; ++id) free((void *)files->module[id].data);
    memset(files->module, 0, sizeof files->module);
}
