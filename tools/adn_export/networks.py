"""The AdaIN encoder (normalised VGG-19 to relu4_1) and decoder as TorchScript-ready modules.

The bundle attributes are plain annotated class attributes assigned in __init__: torch.jit.script
keeps those as module attributes that survive torch.jit.save / torch.jit.load and that C++ reads
with module.attr("adn_channels").toInt().
"""
import torch
from torch import nn
import torch.nn.functional as F

from . import layouts


class ReflectionPad1(nn.Module):
    """nn.ReflectionPad2d(1), except that a side of length 1 is repeated instead of failing.

    An 8-pixel-high (padded) image reaches conv4_1 as a single row, and a 1 x w feature map reaches
    the decoder's first conv: reflection is undefined there, and the library accepts any image
    size >= 1 x 1.  Repeating the one pixel is the header's padding rule for n = 1.  For every
    size >= 2 the result is identical to nn.ReflectionPad2d((1, 1, 1, 1))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(2) > 1 and x.size(3) > 1:
            return F.pad(x, [1, 1, 1, 1], mode="reflect")
        # Reflection is separable, so pad the width, then the height, each the way its length allows.
        x = F.pad(x, [1, 1, 0, 0], mode="reflect" if x.size(3) > 1 else "replicate")
        return F.pad(x, [0, 0, 1, 1], mode="reflect" if x.size(2) > 1 else "replicate")


def _conv(weight, bias, padding_mode_reflect):
    """A Conv2d holding copies of the given weights, after a separate reflection-padding layer as
    in pytorch-AdaIN's nn.Sequential."""
    c_out, c_in, k, _ = weight.shape
    conv = nn.Conv2d(c_in, c_out, (k, k))
    with torch.no_grad():
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
    layers = [ReflectionPad1(), conv] if padding_mode_reflect else [conv]
    return layers


def vgg_layers(state):
    """nn.Sequential of the encoder: conv1x1 (RGB -> BGR*255 - mean), then reflection-pad / 3x3
    conv / ReLU blocks with ceil-mode 2x2 max-pools after relu1_2, relu2_2 and relu3_4."""
    layers = []
    for index, _c_out, _c_in, k in layouts.VGG_ENCODER_CONVS:
        layers += _conv(state[f"{index}.weight"], state[f"{index}.bias"], padding_mode_reflect=k == 3)
        if k == 3:
            layers.append(nn.ReLU())
        if index in layouts.VGG_POOL_AFTER:
            layers.append(nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True))
    return nn.Sequential(*layers)


def decoder_layers(state):
    """nn.Sequential of the decoder: reflection-pad / 3x3 conv / ReLU blocks with nearest x2
    upsampling after the first, fifth and seventh block; no ReLU after the last conv."""
    layers = []
    for index, _c_out, _c_in in layouts.DECODER_CONVS:
        layers += _conv(state[f"{index}.weight"], state[f"{index}.bias"], padding_mode_reflect=True)
        if index != layouts.DECODER_LAST:
            layers.append(nn.ReLU())
        if index in layouts.DECODER_UPSAMPLE_AFTER:
            layers.append(nn.Upsample(scale_factor=2.0, mode="nearest"))
    return nn.Sequential(*layers)


class BundleEncoder(nn.Module):
    """encoder.pt: [1,3,H,W] RGB in [0,1] (H, W multiples of adn_downsample) ->
    [1, adn_channels, H/adn_downsample, W/adn_downsample]."""

    adn_kind: str
    adn_channels: int
    adn_downsample: int

    def __init__(self, body, channels, downsample):
        super().__init__()
        self.adn_kind = "encoder"
        self.adn_channels = channels
        self.adn_downsample = downsample
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class BundleDecoder(nn.Module):
    """decoder.pt: [1, adn_channels, h, w] -> [1, 3, h*adn_upsample, w*adn_upsample], unclamped."""

    adn_kind: str
    adn_channels: int
    adn_upsample: int

    def __init__(self, body, channels, upsample):
        super().__init__()
        self.adn_kind = "decoder"
        self.adn_channels = channels
        self.adn_upsample = upsample
        self.body = body

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return self.body(f)


def vgg_encoder(state):
    return BundleEncoder(vgg_layers(state), layouts.ENCODER_CHANNELS, layouts.DOWNSAMPLE).eval()


def vgg_decoder(state):
    return BundleDecoder(decoder_layers(state), layouts.ENCODER_CHANNELS, layouts.DOWNSAMPLE).eval()
