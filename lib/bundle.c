/* The bundle contract (docs/MODELS.md), checked in C for every backend: the attributes the modules
 * declare, then one small forward pass of each module, so a wrong bundle fails at load time with a
 * precise message instead of inside adn_stylize. */
#include "bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static adn_status check_kind(const char *found, const char *file, const char *expected) {
    if (!found[0]) return adn_fail(ADN_ERR_MODEL, "%s: missing string attribute 'adn_kind' (see docs/MODELS.md)", file);
    if (strcmp(found, expected) != 0)
        return adn_fail(ADN_ERR_MODEL, "%s: adn_kind is '%s', expected '%s'", file, found, expected);
    return ADN_OK;
}

static adn_status check_int(int64_t value, const char *file, const char *name) {
    if (value == -1) return adn_fail(ADN_ERR_MODEL, "%s: missing int attribute '%s' (see docs/MODELS.md)", file, name);
    if (value < 1 || value > 65536)
        return adn_fail(ADN_ERR_MODEL, "%s: attribute '%s' = %lld is out of range", file, name, (long long)value);
    return ADN_OK;
}

/* The optional adn_receptive_field: -1 (absent) passes as "undeclared"; 0 is a pointwise or
 * blockwise network (the analytic pair). */
static adn_status check_receptive_field(int64_t value, const char *file, int32_t *out) {
    if (value > 65536)
        return adn_fail(ADN_ERR_MODEL, "%s: attribute 'adn_receptive_field' = %lld is out of range", file, (long long)value);
    *out = value < 0 ? -1 : (int32_t)value;
    return ADN_OK;
}

adn_status adn_bundle_check_attrs(const adn_bundle_attrs *a, adn_bundle_info *info) {
    adn_status st;
    if ((st = check_kind(a->encoder_kind, "encoder.pt", "encoder")) ||
        (st = check_kind(a->decoder_kind, "decoder.pt", "decoder")) ||
        (st = check_int(a->encoder_channels, "encoder.pt", "adn_channels")) ||
        (st = check_int(a->encoder_downsample, "encoder.pt", "adn_downsample")) ||
        (st = check_int(a->decoder_channels, "decoder.pt", "adn_channels")) ||
        (st = check_int(a->decoder_upsample, "decoder.pt", "adn_upsample")))
        return st;
    if (a->decoder_channels != a->encoder_channels)
        return adn_fail(ADN_ERR_MODEL, "channel mismatch: encoder.pt outputs %lld channels, decoder.pt takes %lld",
                        (long long)a->encoder_channels, (long long)a->decoder_channels);
    if (a->decoder_upsample != a->encoder_downsample)
        return adn_fail(ADN_ERR_MODEL, "scale mismatch: encoder.pt downsamples by %lld, decoder.pt upsamples by %lld",
                        (long long)a->encoder_downsample, (long long)a->decoder_upsample);
    if ((st = check_receptive_field(a->encoder_receptive_field, "encoder.pt", &info->encoder_receptive_field)) ||
        (st = check_receptive_field(a->decoder_receptive_field, "decoder.pt", &info->decoder_receptive_field)))
        return st;
    info->channels = (int32_t)a->encoder_channels;
    info->downsample = (int32_t)a->encoder_downsample;
    info->depth_kind = ADN_DEPTH_KIND_NONE;
    if (!a->has_depth) return ADN_OK;
    if ((st = check_kind(a->depth_kind, "depth.pt", "depth"))) return st;
    if (!a->depth_output[0])
        return adn_fail(ADN_ERR_MODEL, "depth.pt: missing string attribute 'adn_output' (see docs/MODELS.md)");
    if (strcmp(a->depth_output, "depth") == 0)
        info->depth_kind = ADN_DEPTH_KIND_DEPTH;
    else if (strcmp(a->depth_output, "disparity") == 0)
        info->depth_kind = ADN_DEPTH_KIND_DISPARITY;
    else
        return adn_fail(ADN_ERR_MODEL, "depth.pt: adn_output is '%s', expected 'depth' or 'disparity'", a->depth_output);
    return ADN_OK;
}

adn_status adn_bundle_check_features(const adn_bundle_info *info, const adn_tensor_dims *dims, int32_t height,
                                     int32_t width) {
    const int32_t h = height / info->downsample, w = width / info->downsample;
    if (dims->channels != info->channels)
        return adn_fail(ADN_ERR_MODEL, "encoder.pt: outputs %d channels but declares adn_channels = %d", (int)dims->channels,
                        (int)info->channels);
    if (dims->height != h || dims->width != w)
        return adn_fail(ADN_ERR_MODEL, "encoder.pt: output [1,%d,%d,%d] for input [1,3,%d,%d], expected [1,%d,%d,%d]",
                        (int)dims->channels, (int)dims->height, (int)dims->width, (int)height, (int)width,
                        (int)info->channels, (int)h, (int)w);
    return ADN_OK;
}

/* Deterministic pseudo-random pixels in [0,1) for the probe (a fixed LCG: the probe must not
 * depend on global random state). */
static void fill_probe_image(float *rgb, size_t count) {
    uint32_t x = 12345u;
    for (size_t i = 0; i < count; ++i) {
        x = x * 1664525u + 1013904223u;
        rgb[i] = (float)(x >> 8) / 16777216.0f;
    }
}

/* A probe's network output must be finite: a module that gives NaN on plain pixels is broken. */
static adn_status check_probe_output(const float *values, size_t count, const char *file) {
    if (adn_all_finite(values, (int64_t)count)) return ADN_OK;
    return adn_fail(ADN_ERR_MODEL, "%s produced NaN or infinity on the probe image at load", file);
}

static adn_status check_probe_tensor(const adn_backend_ops *ops, adn_tensor *t, const adn_tensor_dims *dims, const char *file) {
    float *data = NULL;
    adn_status st = ops->host_view(t, &data);
    if (st) return st;
    return check_probe_output(data, (size_t)dims->channels * (size_t)dims->height * (size_t)dims->width, file);
}

static adn_status probe_encoder_decoder(const adn_backend_ops *ops, void *state, const adn_bundle_info *info,
                                        float *rgb, int32_t size) {
    adn_tensor *features = NULL;
    adn_tensor_dims dims;
    adn_status st = ops->encode(state, rgb, size, size, &features, &dims);
    if (st == ADN_OK) st = adn_bundle_check_features(info, &dims, size, size);
    if (st == ADN_OK) st = check_probe_tensor(ops, features, &dims, "encoder.pt");
    if (st == ADN_OK) st = ops->decode(state, features, size, size, rgb, size, size);
    if (st == ADN_OK) st = check_probe_output(rgb, 3 * (size_t)size * (size_t)size, "decoder.pt");
    ops->tensor_free(features);
    return st;
}

static adn_status probe_depth(const adn_backend_ops *ops, void *state, float *rgb) {
    /* An odd size: depth modules resize internally and must cope with any input. */
    adn_tensor *map = NULL;
    adn_tensor_dims dims;
    adn_status st = ops->depth(state, rgb, 19, 13, &map, &dims);
    if (st == ADN_OK) st = check_probe_tensor(ops, map, &dims, "depth.pt");
    ops->tensor_free(map);
    return st;
}

/* A module that raises on the probe is a bad bundle (ADN_ERR_MODEL), not an internal failure as
 * the same error would be in adn_stylize; running out of memory stays what it is. */
static adn_status as_model_error(adn_status st) {
    if (st != ADN_ERR_INTERNAL) return st;
    char cause[1024];
    snprintf(cause, sizeof cause, "%s", adn_last_error());
    return adn_fail(ADN_ERR_MODEL, "%s (on the probe image at load)", cause);
}

adn_status adn_bundle_probe(const adn_backend_ops *ops, void *state, const adn_bundle_info *info) {
    const int32_t size = 2 * info->downsample;
    const size_t count = 3 * (size_t)(size > 19 ? size : 19) * (size_t)(size > 19 ? size : 19);
    float *rgb = malloc(count * sizeof *rgb);
    if (!rgb) return adn_fail(ADN_ERR_OUT_OF_MEMORY, "cannot allocate the probe image");
    fill_probe_image(rgb, count);
    adn_status st = probe_encoder_decoder(ops, state, info, rgb, size);
    if (st == ADN_OK && info->depth_kind != ADN_DEPTH_KIND_NONE) {
        fill_probe_image(rgb, count);
        st = probe_depth(ops, state, rgb);
    }
    free(rgb);
    return as_model_error(st);
}
