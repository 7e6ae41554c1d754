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

Both give exactly the values of the op pair they replace (tests/test_export.py compares the
networks against the reference's nn.Sequential), including sides of length 1, where reflection is
undefined and the one pixel is repeated (the header's padding rule for n = 1).

zero padding (padding=1 in the convolution, no padding module) is only for adn-bench's *limit*
network: the fastest direct fp32 convolution can be, and NOT the method's numbers.
"""
import torch
from torch import nn
import torch.nn.functional as F


def reflect_pad1(x: torch.Tensor) -> torch.Tensor:
    """F.pad(x, [1, 1, 1, 1], mode="reflect") for [N, C, H, W], a side of length 1 repeated."""
    n, c, h, w = x.size(0), x.size(1), x.size(2), x.size(3)
    memory_format = torch.contiguous_format
    if not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        memory_format = torch.channels_last  # keep the layout bf16 convolutions want
    y = torch.empty([n, c, h + 2, w + 2], dtype=x.dtype, device=x.device, memory_format=memory_format)
    y[:, :, 1:h + 1, 1:w + 1] = x
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
    return y


def upsample_pad_index(n: int, device: torch.device) -> torch.Tensor:
    """Source index of each of the 2n + 2 outputs of nearest x2 upsampling then reflection
    padding by 1 along an axis of length n."""
    k = torch.arange(2 * n + 2, device=device)
    return torch.div(k - 1, 2, rounding_mode="floor").clamp(0, n - 1)


class ReflectionPad1(nn.Module):
    """nn.ReflectionPad2d(1), except that a side of length 1 is repeated instead of failing.

    An 8-pixel-high (padded) image reaches conv4_1 as a single row, and a 1 x w feature map reaches
    the decoder's first conv: reflection is undefined there, and the library accepts any image
    size >= 1 x 1.  For every size >= 2 the result is identical to nn.ReflectionPad2d(1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reflect_pad1(x)


class UpsamplePad1(nn.Module):
    """nn.Upsample(scale_factor=2, mode="nearest") followed by ReflectionPad1, in one step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.is_contiguous():
            # Along the width first, on the smaller tensor, where index_select gathers elements;
            # along the height it copies whole rows.
            x = x.index_select(3, upsample_pad_index(x.size(3), x.device))
            return x.index_select(2, upsample_pad_index(x.size(2), x.device))
        # channels_last (bf16): index_select would return NCHW; these two keep the layout.
        return reflect_pad1(F.interpolate(x, scale_factor=2.0, mode="nearest"))
