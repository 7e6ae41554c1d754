/* The C view of the model backend.  shim/backend_torch.cpp implements it with libtorch (the only
 * C++ in the project); lib/backend_none.c implements it for builds without torch, where every model
 * call reports ADN_ERR_UNSUPPORTED.  No C++ type ever appears here.
 *
 * Every function returns an adn_status and sets the thread's message with adn_fail() on failure.
 * Buffers are planar float32 host memory. */
#ifndef ADN_BACKEND_H
#define ADN_BACKEND_H

#include "adain_dcs.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct adn_backend adn_backend;
/** Encoder output kept alive between encode and decode (on CPU it is the tensor itself, so the
 *  C math edits the tensor's memory in place; on CUDA it is a host copy of it). */
typedef struct adn_features adn_features;

typedef struct adn_backend_info {
    int32_t channels;     /* encoder output channels */
    int32_t downsample;   /* encoder downsampling factor */
    adn_depth_kind depth_kind;
    adn_device device;    /* CPU or CUDA, as resolved */
} adn_backend_info;

int adn_backend_available(void);
int adn_backend_has_cuda(void);

adn_status adn_backend_load(const char *bundle_dir, const adn_model_params *params, adn_backend **out,
                            adn_backend_info *info);
void adn_backend_free(adn_backend *backend);

/** Encodes 3 x H x W RGB (H, W multiples of the downsampling factor).  *data points at the C x h x w
 *  features in writable host memory owned by *features. */
adn_status adn_backend_encode(adn_backend *backend, const float *rgb, int32_t height, int32_t width,
                              adn_features **features, float **data, int32_t *feat_height,
                              int32_t *feat_width);

/** Decodes the (possibly edited) features into out: 3 x (h*ds) x (w*ds). */
adn_status adn_backend_decode(adn_backend *backend, adn_features *features, float *out);

void adn_features_free(adn_features *features);

/** Runs the depth module on 3 x H x W RGB in [0,1] (any size).  *out receives a malloc'd raw map
 *  (release with free()) of *out_height x *out_width, before any normalization. */
adn_status adn_backend_depth(adn_backend *backend, const float *rgb, int32_t height, int32_t width, float **out,
                             int32_t *out_height, int32_t *out_width);

#ifdef __cplusplus
}
#endif

#endif
