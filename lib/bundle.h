/* Backend-independent checks of a model bundle (lib/bundle.c). */
#ifndef ADN_BUNDLE_H
#define ADN_BUNDLE_H

#include "backend.h"
#include "internal.h"

/** What lib/ knows of a loaded bundle once its attributes passed. */
typedef struct adn_bundle_info {
    int32_t channels;   /* encoder output channels = decoder input channels */
    int32_t downsample; /* encoder downsampling = decoder upsampling */
    adn_depth_kind depth_kind;
    /* adn_receptive_field of encoder.pt (input pixels) and decoder.pt (output pixels) beyond an
     * 8x8 block, one side; -1 where the bundle does not declare it (then it cannot be tiled). */
    int32_t encoder_receptive_field, decoder_receptive_field;
} adn_bundle_info;

/** Checks the modules' contract attributes (kinds, channel and scale agreement, depth output). */
adn_status adn_bundle_check_attrs(const adn_bundle_attrs *attrs, adn_bundle_info *info);

/** Checks the encoder's feature sizes for an input of height x width. */
adn_status adn_bundle_check_features(const adn_bundle_info *info, const adn_tensor_dims *dims, int32_t height,
                                     int32_t width);

/** A small forward pass of every module through the backend, checking the shapes on the way. */
adn_status adn_bundle_probe(const adn_backend_ops *ops, void *state, const adn_bundle_info *info);

#endif
