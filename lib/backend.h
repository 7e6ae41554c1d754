/* The C view of a model backend: a table of operations.  shim/backend_torch.cpp fills one with
 * libtorch (the only C++ in the project); a build without torch has none, and every model call then
 * reports ADN_ERR_UNSUPPORTED.  A second backend (ONNX Runtime, oneDNN directly) is one more table:
 * lib/ never changes for it.  No C++ type ever appears here.
 *
 * What a backend does: load the modules of a bundle and report their contract attributes (lib/
 * bundle.c checks them), run the networks, and hold tensors, which stay opaque (on CUDA they live in
 * device memory).  Everything between encoder and decoder is the C core of lib/ working on a host
 * view of the features, unless the backend offers the optional device-side hooks.
 *
 * Every operation returns an adn_status and sets the thread's message with adn_fail() on failure.
 * A backend's state is read-only after `prepare`: run operations may be called from many threads at
 * once with one state. */
#ifndef ADN_BACKEND_H
#define ADN_BACKEND_H

#include "adain_dcs.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A tensor owned by the backend: encoder features or a raw depth map. */
typedef struct adn_tensor adn_tensor;

/** The contract attributes of a bundle's modules as the backend found them (docs/MODELS.md).
 *  Strings are "" and integers -1 where a module lacks the attribute or has the wrong type. */
typedef struct adn_bundle_attrs {
    char encoder_kind[32], decoder_kind[32], depth_kind[32], depth_output[32];
    int64_t encoder_channels, encoder_downsample;
    int64_t decoder_channels, decoder_upsample;
    int has_depth; /* depth.pt was found and loaded */
    /* Optional adn_receptive_field of encoder and decoder (pixels, one side; -1 = undeclared):
     * what tiled encoding and decoding need for their halo (lib/tiling.h). */
    int64_t encoder_receptive_field, decoder_receptive_field;
} adn_bundle_attrs;

/** A module file of a bundle as lib/ read and verified it (lib/bundle_files.c).  The backend
 *  parses these bytes and never opens the bundle's files itself. */
typedef struct adn_module_bytes {
    const char *name; /* "encoder.pt", ... for messages */
    const uint8_t *data;
    size_t size;
} adn_module_bytes;

/** Sizes of a tensor as (C, H, W) for a [1, C, H, W] tensor. */
typedef struct adn_tensor_dims {
    int32_t channels, height, width;
} adn_tensor_dims;

typedef struct adn_backend_ops {
    const char *name;
    /** 1 if the backend can use CUDA at all (its build has it). */
    int has_cuda;

    /** Loads the modules from their bytes (depth NULL: none) for params->device / precision and
     *  reads their attributes.  The bytes belong to the caller and may be freed once this returns.
     *  *state receives the backend's model state; *device the device resolved (CPU or CUDA) and
     *  *cuda_index the GPU (-1 on CPU). */
    adn_status (*load)(const adn_module_bytes *encoder, const adn_module_bytes *decoder, const adn_module_bytes *depth,
                       const adn_model_params *params, void **state, adn_bundle_attrs *attrs, adn_device *device,
                       int32_t *cuda_index);
    /** After lib/ has accepted the attributes: optimise for inference (params->optimize) and make
     *  the state ready for concurrent use. */
    adn_status (*prepare)(void *state, const adn_model_params *params);
    void (*free)(void *state);

    /** Encoder on 3 x H x W RGB host memory (H, W multiples of the downsampling factor).  *dims
     *  receives the feature sizes; lib/ checks them against the contract. */
    adn_status (*encode)(void *state, const float *rgb, int32_t height, int32_t width, adn_tensor **features,
                         adn_tensor_dims *dims);
    /** Depth network on 3 x H x W RGB in [0,1] (any size): a raw map of 1 x h x w in *dims. */
    adn_status (*depth)(void *state, const float *rgb, int32_t height, int32_t width, adn_tensor **map,
                        adn_tensor_dims *dims);
    /** A writable host view of a float32 tensor, C x H x W contiguous (CPU: the tensor's own memory;
     *  CUDA: a host copy, downloaded here). */
    adn_status (*host_view)(adn_tensor *t, float **data);
    /** After the host view was edited: make the tensor itself current (CPU: nothing to do). */
    adn_status (*commit)(adn_tensor *t);
    /** Decoder on features; the output must be 3 x expect_height x expect_width (else
     *  ADN_ERR_MODEL with the shape found).  Its top-left 3 x out_height x out_width goes to out
     *  (host memory), cropping the padding away. */
    adn_status (*decode)(void *state, adn_tensor *features, int32_t expect_height, int32_t expect_width, float *out,
                         int32_t out_height, int32_t out_width);
    void (*tensor_free)(adn_tensor *t);
    /** A [1, C, H, W] float32 tensor on the model's device holding a copy of C x H x W host
     *  memory: a feature tile for the decoder (lib/tiling.c). */
    adn_status (*tensor_from_host)(void *state, const float *data, int32_t channels, int32_t height, int32_t width,
                                   adn_tensor **out);
} adn_backend_ops;

/** The backend this build has, or NULL (a build without torch). */
const adn_backend_ops *adn_backend_default(void);

/** The torch backend's table (shim/backend_torch.cpp); only in builds with torch. */
const adn_backend_ops *adn_torch_backend_ops(void);

#ifdef __cplusplus
}
#endif

#endif
