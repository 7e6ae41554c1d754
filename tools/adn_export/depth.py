"""depth.pt: a relative depth network wrapped with its own preprocessing (docs/MODELS.md).

The library hands depth.pt the content image as [1,3,H,W] RGB in [0,1] at any H, W >= 1 and
resizes / normalizes whatever map comes back, so everything the network needs (resizing to the
sizes it was trained on, mean/std normalization) happens inside the module.
"""
import math
from typing import List, Tuple

import torch
from torch import nn
import torch.nn.functional as F

# MiDaS v2.1 small (run.py, "midas_v21_small"): Resize(256, 256, keep_aspect_ratio=True,
# ensure_multiple_of=32, resize_method="upper_bound", cv2.INTER_CUBIC), ImageNet normalization,
# output is relative inverse depth.
MIDAS_LONG_SIDE = 256
MIDAS_MULTIPLE = 32
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def round_half_even(value: float) -> int:
    """numpy.round for a scalar (ties to even), written out so TorchScript computes exactly the
    same sizes as MiDaS's Python transform."""
    r = math.floor(value)
    diff = value - r
    if diff > 0.5 or (diff == 0.5 and r % 2 == 1):
        r += 1
    return int(r)


def constrain_to_multiple(x: float, multiple: int, max_value: int) -> int:
    """MiDaS Resize.constrain_to_multiple_of: round to a multiple, floor instead if that exceeds
    max_value (0 = no maximum).  Unlike MiDaS the result is at least one multiple, so extreme
    aspect ratios (e.g. 1000 x 5) give a usable input instead of a zero-sized one."""
    y = round_half_even(x / multiple) * multiple
    if max_value > 0 and y > max_value:
        y = int(math.floor(x / multiple)) * multiple
    if y < multiple:
        y = multiple
    return y


def network_input_size(height: int, width: int, long_side: int, multiple: int) -> Tuple[int, int]:
    """Network input size for an H x W image: scale by min(L/H, L/W) so the long side is L (no
    scaling when long_side is 0), then constrain each side to a multiple (MiDaS "upper_bound")."""
    scale = 1.0
    if long_side > 0:
        scale = min(long_side / height, long_side / width)
    return (constrain_to_multiple(scale * height, multiple, long_side),
            constrain_to_multiple(scale * width, multiple, long_side))


def as_depth_map(y: torch.Tensor) -> torch.Tensor:
    """[h,w], [1,h,w] or [1,1,h,w] network output -> [1,1,h,w]."""
    if y.dim() == 2:
        y = y.unsqueeze(0).unsqueeze(0)
    elif y.dim() == 3:
        y = y.unsqueeze(1)
    if y.dim() != 4 or y.size(0) != 1 or y.size(1) != 1:
        raise RuntimeError("depth network output must be [h,w], [1,h,w] or [1,1,h,w]")
    return y


class PreprocessedDepth(nn.Module):
    """depth.pt: [1,3,H,W] RGB in [0,1], any H, W >= 1 -> [1,1,h',w'] raw relative map.

    Resizes with bicubic interpolation (align_corners=False, no antialiasing, no clamping) to
    network_input_size(H, W, adn_input_size, adn_multiple) when that differs from H x W, then
    normalizes (x - mean) / std per channel and runs the wrapped network."""

    adn_kind: str
    adn_output: str
    adn_input_size: int
    adn_multiple: int

    def __init__(self, net, output: str, long_side: int, multiple: int, mean: List[float],
                 std: List[float]):
        super().__init__()
        self.adn_kind = "depth"
        self.adn_output = output
        self.adn_input_size = long_side
        self.adn_multiple = multiple
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height = x.size(2)
        width = x.size(3)
        size = network_input_size(height, width, self.adn_input_size, self.adn_multiple)
        if size[0] != height or size[1] != width:
            x = F.interpolate(x, size=[size[0], size[1]], mode="bicubic", align_corners=False)
        x = (x - self.mean) / self.std
        return as_depth_map(self.net(x))


def midas_small(net):
    """MiDaS v2.1 small (model-small-traced.pt) with its preprocessing; output is disparity."""
    return PreprocessedDepth(net, "disparity", MIDAS_LONG_SIDE, MIDAS_MULTIPLE,
                             list(IMAGENET_MEAN), list(IMAGENET_STD)).eval()
