"""The analytic bundle: an exactly invertible encoder/decoder pair and a luma "depth".

encoder = 8x8 space-to-depth: [1,3,H,W] -> [1,192,H/8,W/8] with
    feature[c*64 + dy*8 + dx, i, j] = x[c, 8*i + dy, 8*j + dx]      (the order of F.pixel_unshuffle)
decoder = its exact inverse (pure data movement, so decoder(encoder(x)) == x bit for bit).
With S = 0 the pipeline therefore returns the content unchanged, and AdaIN acts on the 192
per-position colour statistics of 8x8 blocks, which makes every stage checkable by hand.
"""
import torch
from torch import nn

BLOCK = 8
CHANNELS = 3 * BLOCK * BLOCK


class SpaceToDepth(nn.Module):
    adn_kind: str
    adn_channels: int
    adn_downsample: int
    adn_receptive_field: int  # 0: each 8x8 block maps to its own feature pixel

    def __init__(self):
        super().__init__()
        self.adn_kind = "encoder"
        self.adn_channels = CHANNELS
        self.adn_downsample = BLOCK
        self.adn_receptive_field = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.adn_downsample  # TorchScript cannot read module-level globals
        n, c, height, width = x.size(0), x.size(1), x.size(2), x.size(3)
        h, w = height // b, width // b
        blocks = x.reshape(n, c, h, b, w, b).permute(0, 1, 3, 5, 2, 4)
        return blocks.reshape(n, c * b * b, h, w)


class DepthToSpace(nn.Module):
    adn_kind: str
    adn_channels: int
    adn_upsample: int
    adn_receptive_field: int  # 0: each 8x8 block maps to its own feature pixel

    def __init__(self):
        super().__init__()
        self.adn_kind = "decoder"
        self.adn_channels = CHANNELS
        self.adn_upsample = BLOCK
        self.adn_receptive_field = 0

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        b = self.adn_upsample
        n, channels, h, w = f.size(0), f.size(1), f.size(2), f.size(3)
        c = channels // (b * b)
        blocks = f.reshape(n, c, b, b, h, w).permute(0, 1, 4, 2, 5, 3)
        return blocks.reshape(n, c, h * b, w * b)


class LumaDepth(nn.Module):
    """depth.pt of the analytic bundle: luma 0.299 R + 0.587 G + 0.114 B at the input resolution,
    declared as "depth" (larger = farther), so bright pixels count as far and take more style."""

    adn_kind: str
    adn_output: str

    def __init__(self):
        super().__init__()
        self.adn_kind = "depth"
        self.adn_output = "depth"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


class GroundPlaneDepth(nn.Module):
    """depth.pt of ``--analytic-depth ground-plane``: a prior, not a measurement.  Many photos show
    the ground running away from the camera, so lower in the picture is nearer.  The depth is
    1 - (y + 0.5) / H for row y of H (larger = farther), the same in every column and for every
    picture: the top row is farthest and takes the most style, the bottom row keeps the most
    detail."""

    adn_kind: str
    adn_output: str

    def __init__(self):
        super().__init__()
        self.adn_kind = "depth"
        self.adn_output = "depth"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, height, width = x.size(0), x.size(2), x.size(3)
        rows = torch.arange(height, dtype=x.dtype, device=x.device)
        depth = 1.0 - (rows + 0.5) / height
        return depth.reshape(1, 1, height, 1).expand(n, 1, height, width).contiguous()
