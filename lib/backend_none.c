/* Backend for builds without libtorch (-Dtorch=disabled): the pure C core works, model calls say
 * clearly that this build cannot run networks. */
#include "backend.h"
#include "internal.h"

#define NO_TORCH "this build of libadain_dcs has no torch backend (configure with -Dtorch=enabled)"

int adn_backend_available(void) { return 0; }
int adn_backend_has_cuda(void) { return 0; }

adn_status adn_backend_load(const char *bundle_dir, const adn_model_params *params, adn_backend **out,
                            adn_backend_info *info) {
    (void)bundle_dir, (void)params, (void)info;
    if (out) *out = NULL;
    return adn_fail(ADN_ERR_UNSUPPORTED, NO_TORCH);
}

void adn_backend_free(adn_backend *backend) { (void)backend; }

adn_status adn_backend_encode(adn_backend *backend, const float *rgb, int32_t height, int32_t width,
                              adn_features **features, float **data, int32_t *feat_height,
                              int32_t *feat_width) {
    (void)backend, (void)rgb, (void)height, (void)width, (void)features, (void)data, (void)feat_height,
        (void)feat_width;
    return adn_fail(ADN_ERR_UNSUPPORTED, NO_TORCH);
}

adn_status adn_backend_decode(adn_backend *backend, adn_features *features, float *out) {
    (void)backend, (void)features, (void)out;
    return adn_fail(ADN_ERR_UNSUPPORTED, NO_TORCH);
}

void adn_features_free(adn_features *features) { (void)features; }

adn_status adn_backend_depth(adn_backend *backend, const float *rgb, int32_t height, int32_t width, float **out,
                             int32_t *out_height, int32_t *out_width) {
    (void)backend, (void)rgb, (void)height, (void)width, (void)out, (void)out_height, (void)out_width;
    return adn_fail(ADN_ERR_UNSUPPORTED, NO_TORCH);
}
