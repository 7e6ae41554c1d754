"""Reflection padding for the exported networks: exact, and written so libtorch runs it fast.

pytorch-AdaIN puts nn.ReflectionPad2d(1) before every 3x3 convolution.  In libtorch 1.13 that op
is the slow part of the networks on CPU: its kernel gathers element by element, it has no bfloat16
kernel at all (so a bf16 model cannot run), and after optimize_for_inference it sits between
oneDNN convolutions that each have to leave and re-enter oneDNN's blocked layout around it.  The
modules here produce the same numbers with plain copies instead:

- ReflectionPad1 writes the image into a tensor two pixels larger and copies four one-pixel
  strips into the border (one pass over the activations, in the input's memory format, any dtype).
- UpsamplePad1 is nearest x2 upsampling followed by ReflectionPad1, as one gather: the border of
  the upsampled image repeats its edge pixels, so output index k of each axis reads input index
  clamp(floor((k - 1) / 2), 0, n - 1).  This saves a pass over the decoder's largest activations.

Both can also apply the ReLU that precedes them in pytorch-AdaIN (relu=True): the ReLU is then
written straight into the padded buffer, so it costs no pass and no tensor of its own (ReLU is
exact, so the values do not change; the encoder also moves each ReLU after its max-pool, where
it touches a quarter of the values: max over a window commutes with ReLU).

Both give exactly the values of the op pair they replace (tests/test_export.py compares the
networks against the reference's nn.Sequential), including sides of length 1, where reflection is
undefined and the one pixel is repeated (the header's padding rule for n = 1).

zero padding (padding=1 in the convolution, no padding module) is only for adn-bench's *limit*
network: the fastest direct fp32 convolution can be, and NOT the method's numbers.  Its
upsampling (Upsample2) and ReLUs are built like the method's network, so that the two differ in
the padding alone.
"""
import torch
from torch import nn
import torch.nn.functional as F


def _empty_like_layout(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """An uninitialised [N, C, height, width] tensor in x's memory format (channels_last stays
    channels_last: the layout the library runs CPU convolutions in)."""
    memory_format = torch.contiguous_format
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        memory_format = torch.channels_last
    return torch.empty([x.size(0), x.size(1), height, width], dtype=x.dtype, device=x.device,
                       memory_format=memory_format)


def _fill_border(y: torch.Tensor, h: int, w: int):
    """Given the interior y[:, :, 1:h+1, 1:w+1], writes the one-pixel reflection border in place."""
    # Padded row 0 mirrors image row 1 (padded row 2); padded row h+1 mirrors image row h-2
    # (padded row h-1).  With h = 1 both repeat the one row (padded row 1).
    top = 2 if h > 1 else 1
    bottom = h - 1 if h > 1 else 1
    y[:, :, 0:1, 1:w + 1] = y[:, :, top:top + 1, 1:w + 1]
    y[:, :, h + 1:h + 2, 1:w + 1] = y[:, :, bottom:bottom + 1, 1:w + 1]
    # Then whole columns, corners included, from the rows just completed.
    left = 2 if w > 1 else 1
    right = w - 1 if w > 1 else 1
    y[:, :, :, 0:1] = y[:, :, :, left:left + 1]
    y[:, :, :, w + 1:w + 2] = y[:, :, :, right:right + 1]


def _write(dst: torch.Tensor, x: torch.Tensor, relu: bool):
    """dst = relu(x) or x, in one pass (dst is a strided view into a padded buffer)."""
    if relu:
        torch.clamp_min(x, 0.0, out=dst)
    else:
        dst.copy_(x)


def _write_upsampled(y: torch.Tensor, x: torch.Tensor, offset: int, relu: bool):
    """Writes nearest x2 upsampling of x (of relu(x) with relu=True) into y from row and column
    offset on: each input pixel to its four places, as four strided copies of whole channel
    vectors (channels_last; index_select would return NCHW)."""
    h, w = x.size(2), x.size(3)
    for dy in range(2):
        for dx in range(2):
            _write(y[:, :, offset + dy:offset + 2 * h:2, offset + dx:offset + 2 * w:2], x, relu)


def reflect_pad1(x: torch.Tensor, relu: bool = False) -> torch.Tensor:
    """F.pad(x, [1, 1, 1, 1], mode="reflect") of x (of relu(x) with relu=True) for [N, C, H, W],
    a side of length 1 repeated.  One pass over the activations, in the input's memory format."""
    h, w = x.size(2), x.size(3)
    y = _empty_like_layout(x, h + 2, w + 2)
    _write(y[:, :, 1:h + 1, 1:w + 1], x, relu)
    _fill_border(y, h, w)
    return y


def upsample_pad_index(n: int, device: torch.device) -> torch.Tensor:
    """Source index of each of the 2n + 2 outputs of nearest x2 upsampling then reflection
    padding by 1 along an axis of length n."""
    k = torch.arange(2 * n + 2, device=device)
    return torch.div(k - 1, 2, rounding_mode="floor").clamp(0, n - 1)


def upsample_pad1(x: torch.Tensor, relu: bool = False) -> torch.Tensor:
    """Nearest x2 upsampling of x (of relu(x) with relu=True), then reflect_pad1."""
    if x.is_contiguous():
        if relu:
            x = torch.relu(x)  # on the small tensor, before the gathers
        # Along the width first, on the smaller tensor, where index_select gathers elements;
        # along the height it copies whole rows.
        x = x.index_select(3, upsample_pad_index(x.size(3), x.device))
        return x.index_select(2, upsample_pad_index(x.size(2), x.device))
    # channels_last: the upsampled image inside the padded buffer, then its border, which is its
    # reflection too: padded row 0 mirrors upsampled row 1, which repeats input row 0.
    h, w = x.size(2), x.size(3)
    y = _empty_like_layout(x, 2 * h + 2, 2 * w + 2)
    _write_upsampled(y, x, 1, relu)
    _fill_border(y, 2 * h, 2 * w)
    return y


def upsample2(x: torch.Tensor, relu: bool = False) -> torch.Tensor:
    """Nearest x2 upsampling of x (of relu(x) with relu=True) without padding: the zero-padding
    limit network's, built the way upsample_pad1 is, so that the limit differs from the method's
    network in the padding only."""
    if x.is_contiguous():
        if relu:
            x = torch.relu(x)
        return F.interpolate(x, scale_factor=2.0, mode="nearest")
    y = _empty_like_layout(x, 2 * x.size(2), 2 * x.size(3))
    _write_upsampled(y, x, 0, relu)
    return y


class _FoldsRelu(nn.Module):
    """A module that applies, with relu=True, the ReLU before it in pytorch-AdaIN's network."""

    relu: bool

    def __init__(self, relu: bool = False):
        super().__init__()
        self.relu = relu


class ReflectionPad1(_FoldsRelu):
    """nn.ReflectionPad2d(1) (after nn.ReLU with relu=True), except that a side of length 1 is
    repeated instead of failing.

    An 8-pixel-high (padded) image reaches conv4_1 as a single row, and a 1 x w feature map reaches
    the decoder's first conv: reflection is undefined there, and the library accepts any image
    size >= 1 x 1.  For every size >= 2 the result is identical to nn.ReflectionPad2d(1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reflect_pad1(x, self.relu)


class UpsamplePad1(_FoldsRelu):
    """nn.Upsample(scale_factor=2, mode="nearest") followed by ReflectionPad1, in one step (after
    nn.ReLU with relu=True)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample_pad1(x, self.relu)


class Upsample2(_FoldsRelu):
    """nn.Upsample(scale_factor=2, mode="nearest") (after nn.ReLU with relu=True), for the
    zero-padding limit network."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample2(x, self.relu)
