"""Key names and tensor shapes of the published pytorch-AdaIN weight files (METHOD.md §4).

Both files are state dicts of an nn.Sequential, so a key is "<layer index>.weight" or
"<layer index>.bias" and the indices skip the padding, ReLU, pooling and upsampling layers.
"""

# (layer index, output channels, input channels, kernel size) of every convolution in
# vgg_normalised.pth, the whole normalised VGG-19.
VGG_CONVS = (
    (0, 3, 3, 1),
    (2, 64, 3, 3), (5, 64, 64, 3),
    (9, 128, 64, 3), (12, 128, 128, 3),
    (16, 256, 128, 3), (19, 256, 256, 3), (22, 256, 256, 3), (25, 256, 256, 3),
    (29, 512, 256, 3), (32, 512, 512, 3), (35, 512, 512, 3), (38, 512, 512, 3),
    (42, 512, 512, 3), (45, 512, 512, 3), (48, 512, 512, 3), (51, 512, 512, 3),
)

# Layers from index 32 on lie past relu4_1 (index 30): present in the file, ignored by the encoder.
VGG_FIRST_IGNORED_INDEX = 32
VGG_ENCODER_CONVS = tuple(c for c in VGG_CONVS if c[0] < VGG_FIRST_IGNORED_INDEX)
# A 2x2 max-pool (ceil mode) follows the ReLU of these convolutions (relu1_2, relu2_2, relu3_4).
VGG_POOL_AFTER = (5, 12, 25)
ENCODER_CHANNELS = 512
DOWNSAMPLE = 8

# (layer index, output channels, input channels) of the 3x3 convolutions in decoder.pth.
DECODER_CONVS = (
    (1, 256, 512),
    (5, 256, 256), (8, 256, 256), (11, 256, 256), (14, 128, 256),
    (18, 128, 128), (21, 64, 128),
    (25, 64, 64), (28, 3, 64),
)
# A nearest x2 upsampling follows the ReLU of these convolutions.
DECODER_UPSAMPLE_AFTER = (1, 14, 21)
# The last convolution has no ReLU.
DECODER_LAST = 28

# The official vgg_normalised.pth first layer turns [0,1] RGB into mean-subtracted BGR x 255.
VGG_BGR_MEAN = (103.939, 116.779, 123.68)


def vgg_expected_shapes(include_ignored=True):
    """{key: shape} of vgg_normalised.pth (all layers, or only those the encoder uses)."""
    convs = VGG_CONVS if include_ignored else VGG_ENCODER_CONVS
    shapes = {}
    for index, c_out, c_in, k in convs:
        shapes[f"{index}.weight"] = (c_out, c_in, k, k)
        shapes[f"{index}.bias"] = (c_out,)
    return shapes


def decoder_expected_shapes():
    """{key: shape} of decoder.pth."""
    shapes = {}
    for index, c_out, c_in in DECODER_CONVS:
        shapes[f"{index}.weight"] = (c_out, c_in, 3, 3)
        shapes[f"{index}.bias"] = (c_out,)
    return shapes
