"""The AdaIN encoder (normalised VGG-19 to relu4_1) and decoder as TorchScript-ready modules.

The bundle attributes are plain annotated class attributes assigned in __init__: torch.jit.script
keeps those as module attributes that survive torch.jit.save / torch.jit.load and that C++ reads
with module.attr("adn_channels").toInt().
"""
import torch
from torch import nn

from . import layouts
from .padding import ReflectionPad1, Upsample2, UpsamplePad1

# How the 3x3 convolutions pad (tools/adn_export/padding.py).  "zero" is adn-export
# --benchmark-zero-padding: the speed limit for adn-bench, NOT the method's numbers.
PADDINGS = ("reflect", "zero")


def _conv(weight, bias, padding):
    """A Conv2d holding copies of the given weights: a 3x3 one pads by itself with zero padding,
    otherwise the layer before pads (and a 1x1 needs no padding)."""
    c_out, c_in, k, _ = weight.shape
    conv = nn.Conv2d(c_in, c_out, (k, k), padding=1 if k == 3 and padding == "zero" else 0)
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    return conv


def _before_conv(padding, relu):
    """The layers between a convolution's input and the convolution: with reflection padding one
    ReflectionPad1 that also applies a pending ReLU; with zero padding an in-place ReLU if one is
    pending."""
    if padding == "reflect":
        return [ReflectionPad1(relu=relu)]
    return [nn.ReLU(inplace=True)] if relu else []


def vgg_layers(state, padding="reflect"):
    """nn.Sequential of the encoder: conv1x1 (RGB -> BGR*255 - mean), then reflection-pad / 3x3
    conv / ReLU blocks with ceil-mode 2x2 max-pools after relu1_2, relu2_2 and relu3_4.

    Each ReLU is applied as late as it can be, with the same values: by the padding before the
    next convolution, after the max-pool between (max-pool commutes with ReLU), and in place after
    conv4_1."""
    layers = []
    relu_pending = False
    for index, _c_out, _c_in, k in layouts.VGG_ENCODER_CONVS:
        if k == 3:
            layers += _before_conv(padding, relu_pending)
        layers.append(_conv(state[f"{index}.weight"], state[f"{index}.bias"], padding))
        relu_pending = k == 3
        if index in layouts.VGG_POOL_AFTER:
            layers.append(nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True))
    if relu_pending:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def decoder_layers(state, padding="reflect"):
    """nn.Sequential of the decoder: reflection-pad / 3x3 conv / ReLU blocks with nearest x2
    upsampling after the first, fifth and seventh block; no ReLU after the last conv.  With
    reflection padding, each ReLU is applied by the padding after it, and each upsampling, the
    ReLU before it and the padding after it are one UpsamplePad1."""
    layers = []
    upsampled = False
    relu_pending = False
    for index, _c_out, _c_in in layouts.DECODER_CONVS:
        if not upsampled:
            layers += _before_conv(padding, relu_pending)
        layers.append(_conv(state[f"{index}.weight"], state[f"{index}.bias"], padding))
        relu_pending = index != layouts.DECODER_LAST
        upsampled = index in layouts.DECODER_UPSAMPLE_AFTER
        if upsampled:
            layers.append(UpsamplePad1(relu=relu_pending) if padding == "reflect" else Upsample2(relu=relu_pending))
            relu_pending = False
    return nn.Sequential(*layers)


# adn_receptive_field (docs/MODELS.md): how many pixels beyond an output's own 8x8 block can
# change it, on one side; the library's tiled encode/decode uses it as the halo (lib/tiling.h).
# Encoder, feature i (input pixels 8i..8i+7), walking back from relu4_1 with reflection padding 1:
#   conv4_1               pool-3 outputs  i-1 .. i+1
#   pool 3 (2x2, /2)      conv3_4 outputs 2i-2 .. 2i+3
#   conv3_4..conv3_1 (4)  pool-2 outputs  2i-6 .. 2i+7
#   pool 2                conv2_2 outputs 4i-12 .. 4i+15
#   conv2_2, conv2_1      pool-1 outputs  4i-14 .. 4i+17
#   pool 1                conv1_2 outputs 8i-28 .. 8i+35
#   conv1_2, conv1_1      input pixels    8i-30 .. 8i+37   (the 1x1 conv adds nothing)
# so 30 pixels on each side of the block (68 in all).  Decoder, feature j forward to the output:
# conv (1/8) j-1..j+1, up x2 -> 2j-2..2j+3, 4 convs -> 2j-6..2j+7, up -> 4j-12..4j+15, 2 convs
# -> 4j-14..4j+17, up -> 8j-28..8j+35, 2 convs -> 8j-30..8j+37: again 30 output pixels beyond
# its block, i.e. ceil(30/8) = 4 feature pixels of halo.  (Checked by perturbing one pixel of the
# synthetic bundle's modules: the changed rows are exactly these.)
VGG_ENCODER_RECEPTIVE_FIELD = 30
DECODER_RECEPTIVE_FIELD = 30


class BundleEncoder(nn.Module):
    """encoder.pt: [1,3,H,W] RGB in [0,1] (H, W multiples of adn_downsample) ->
    [1, adn_channels, H/adn_downsample, W/adn_downsample]."""

    adn_kind: str
    adn_channels: int
    adn_downsample: int
    adn_receptive_field: int
    adn_padding: str  # "reflect" or "zero" (benchmark only, not exact); not a contract attribute

    def __init__(self, body, channels, downsample, receptive_field):
        super().__init__()
        self.adn_kind = "encoder"
        self.adn_channels = channels
        self.adn_downsample = downsample
        self.adn_receptive_field = receptive_field
        self.adn_padding = "reflect"
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class BundleDecoder(nn.Module):
    """decoder.pt: [1, adn_channels, h, w] -> [1, 3, h*adn_upsample, w*adn_upsample], unclamped."""

    adn_kind: str
    adn_channels: int
    adn_upsample: int
    adn_receptive_field: int
    adn_padding: str  # as BundleEncoder's

    def __init__(self, body, channels, upsample, receptive_field):
        super().__init__()
        self.adn_kind = "decoder"
        self.adn_channels = channels
        self.adn_upsample = upsample
        self.adn_receptive_field = receptive_field
        self.adn_padding = "reflect"
        self.body = body

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.body(f)


def vgg_encoder(state, padding="reflect"):
    encoder = BundleEncoder(vgg_layers(state, padding), layouts.ENCODER_CHANNELS, layouts.DOWNSAMPLE,
                            VGG_ENCODER_RECEPTIVE_FIELD).eval()
    encoder.adn_padding = padding
    return encoder


def vgg_decoder(state, padding="reflect"):
    decoder = BundleDecoder(decoder_layers(state, padding), layouts.ENCODER_CHANNELS, layouts.DOWNSAMPLE,
                            DECODER_RECEPTIVE_FIELD).eval()
    decoder.adn_padding = padding
    return decoder
