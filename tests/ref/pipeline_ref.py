"""Independent PyTorch reference of the whole AdaIN-DCS pipeline (METHOD.md §1-§6).

It shares nothing with the exported TorchScript encoder/decoder: for a VGG bundle it rebuilds the
networks as the nn.Sequential of pytorch-AdaIN (net.py) from the state dicts in DIR/source/ (or
the files bundle.json names), and for the analytic bundle it does space-to-depth by slicing.  Only
depth.pt is used as shipped, as a black box, because it stands for an arbitrary network.

Networks run in float32 (as the library's do), or in float64 with network_dtype=torch.float64: the
method's value itself, which conformance measures the library's error against (docs/METHOD.md §7);
everything between the networks is method_ref's float64.

    ref = Reference("build/tests/bundle_synthetic")
    mean, std = ref.style_stats(style)                    # style: 3 x H x W in [0,1]
    result = ref.stylize(content, styles=[style], alpha=0.8, depth_source="network")
    result["out"]       3 x H x W decoder output (unclamped; float32, float64 with float64 networks)
    result["depth"]     H x W float64 D (0 = near), or None without depth
    result["strength"]  h x w float64 S
"""
import json
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import method_ref as mr  # noqa: E402

BLOCK = 8  # the encoder's downsampling factor (METHOD.md §1)
DEPTH_SOURCES = ("auto", "network", "caller", "none")


# ---- networks, as pytorch-AdaIN's net.py writes them ------------------------------------------

def _edge_indices(n):
    """Source indices of a length-n axis padded by 1 on both sides: reflection (-1 -> 1,
    n -> n - 2), and for n = 1 the one pixel repeated (the header's rule for n = 1)."""
    if n == 1:
        return torch.zeros(3, dtype=torch.int64)
    return torch.tensor([1] + list(range(n)) + [n - 2], dtype=torch.int64)


class _Pad(nn.Module):
    """nn.ReflectionPad2d((1, 1, 1, 1)) as gathered indices, also defined for sides of length 1
    (an 8-pixel side reaches relu4_1 as one pixel; the library accepts any size)."""

    def forward(self, x):
        x = x.index_select(2, _edge_indices(x.shape[2]))
        return x.index_select(3, _edge_indices(x.shape[3]))


def _pad():
    return _Pad()


def _pool():
    return nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)


def _conv_relu(c_in, c_out):
    return [_pad(), nn.Conv2d(c_in, c_out, (3, 3)), nn.ReLU()]


def full_vgg():
    """The whole normalised VGG-19 of vgg_normalised.pth; [:31] ends at relu4_1."""
    layers = [nn.Conv2d(3, 3, (1, 1))]
    layers += _conv_relu(3, 64) + _conv_relu(64, 64) + [_pool()]
    layers += _conv_relu(64, 128) + _conv_relu(128, 128) + [_pool()]
    layers += _conv_relu(128, 256) + _conv_relu(256, 256) + _conv_relu(256, 256) + _conv_relu(256, 256)
    layers += [_pool()]
    layers += _conv_relu(256, 512)  # relu4_1 is layer 30
    layers += _conv_relu(512, 512) + _conv_relu(512, 512) + _conv_relu(512, 512) + [_pool()]
    layers += _conv_relu(512, 512) + _conv_relu(512, 512) + _conv_relu(512, 512) + _conv_relu(512, 512)
    return nn.Sequential(*layers)


def decoder():
    """The pytorch-AdaIN decoder (nearest x2 upsampling, no ReLU after the last conv)."""
    up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731
    layers = _conv_relu(512, 256) + [up()]
    layers += _conv_relu(256, 256) + _conv_relu(256, 256) + _conv_relu(256, 256) + _conv_relu(256, 128)
    layers += [up()] + _conv_relu(128, 128) + _conv_relu(128, 64)
    layers += [up()] + _conv_relu(64, 64) + [_pad(), nn.Conv2d(64, 3, (3, 3))]
    return nn.Sequential(*layers)


def load_vgg_encoder(path):
    vgg = full_vgg()
    vgg.load_state_dict(torch.load(path, map_location="cpu"), strict=True)
    return vgg[:31].eval()


def load_decoder(path):
    dec = decoder()
    dec.load_state_dict(torch.load(path, map_location="cpu"), strict=True)
    return dec.eval()


# ---- the analytic pair --------------------------------------------------------------------------

def space_to_depth(x):
    """x[3, H, W] -> [192, H/8, W/8], feature c*64 + dy*8 + dx = x[c, dy::8, dx::8]."""
    planes = [x[c, dy::BLOCK, dx::BLOCK] for c in range(x.shape[0])
              for dy in range(BLOCK) for dx in range(BLOCK)]
    return torch.stack(planes)


def depth_to_space(f):
    """The inverse of space_to_depth: f[192, h, w] -> [3, 8h, 8w]."""
    channels = f.shape[0] // (BLOCK * BLOCK)
    out = torch.empty(channels, f.shape[1] * BLOCK, f.shape[2] * BLOCK, dtype=f.dtype)
    for c in range(channels):
        for dy in range(BLOCK):
            for dx in range(BLOCK):
                out[c, dy::BLOCK, dx::BLOCK] = f[c * BLOCK * BLOCK + dy * BLOCK + dx]
    return out


# ---- the pipeline -------------------------------------------------------------------------------

def _round_up(n):
    return -(-int(n) // BLOCK) * BLOCK


def _manifest(bundle_dir):
    path = os.path.join(bundle_dir, "bundle.json")
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def _source_path(bundle_dir, manifest, role, default_name):
    """DIR/source/<name> when present, else the path bundle.json recorded (relative to DIR or
    absolute)."""
    local = os.path.join(bundle_dir, "source", default_name)
    if os.path.exists(local):
        return local
    recorded = manifest.get("sources", {}).get(role, {}).get("path")
    if recorded is None:
        raise FileNotFoundError(f"{bundle_dir}: no {default_name} in source/ and none in bundle.json")
    return recorded if os.path.isabs(recorded) else os.path.join(bundle_dir, recorded)


class Reference:
    def __init__(self, bundle_dir, vgg_path=None, decoder_path=None, network_dtype=torch.float32):
        self.bundle_dir = bundle_dir
        self.network_dtype = network_dtype
        manifest = _manifest(bundle_dir)
        has_sources = vgg_path is not None or os.path.isdir(os.path.join(bundle_dir, "source"))
        self.kind = manifest.get("kind", "vgg" if has_sources else None)
        if self.kind == "vgg":
            vgg_path = vgg_path or _source_path(bundle_dir, manifest, "vgg", "vgg_normalised.pth")
            decoder_path = decoder_path or _source_path(bundle_dir, manifest, "decoder", "decoder.pth")
            self._encoder_net = load_vgg_encoder(vgg_path).to(network_dtype)
            self._decoder_net = load_decoder(decoder_path).to(network_dtype)
        elif self.kind != "analytic":
            raise ValueError(f"{bundle_dir}: unknown bundle kind {self.kind!r}")
        depth_path = os.path.join(bundle_dir, "depth.pt")
        self.depth_net = torch.jit.load(depth_path, map_location="cpu") if os.path.exists(depth_path) else None
        self.depth_is_disparity = self.depth_net is not None and self.depth_net.adn_output == "disparity"

    # -- networks: network_dtype in, float64 out --

    @torch.no_grad()
    def encode(self, image):
        """E(image) for image[3, H, W] with H, W multiples of 8 -> float64 [C, H/8, W/8]."""
        x = image.to(self.network_dtype)
        if self.kind == "analytic":
            return space_to_depth(x).to(torch.float64)
        return self._encoder_net(x[None])[0].to(torch.float64)

    @torch.no_grad()
    def decode(self, features):
        """G(features[C, h, w]) -> network_dtype [3, 8h, 8w]."""
        f = features.to(self.network_dtype)
        if self.kind == "analytic":
            return depth_to_space(f)
        return self._decoder_net(f[None])[0]

    @torch.no_grad()
    def raw_depth(self, content):
        """depth.pt on content[3, H, W] as is -> float64 [h', w']."""
        return self.depth_net(content.to(torch.float32)[None])[0, 0].to(torch.float64)

    # -- METHOD.md --

    def _features(self, image):
        """Pads image[3, H, W] (bottom/right reflection) to multiples of 8 and encodes it."""
        height, width = image.shape[1], image.shape[2]
        return self.encode(mr.pad_reflect(image, _round_up(height), _round_up(width)))

    def style_stats(self, style):
        """(mean[C], std[C]) of the style's encoder features, float64."""
        f = self._features(torch.as_tensor(style))
        return mr.channel_stats(f.reshape(f.shape[0], -1))

    def _to_feature_grid(self, maps, height, width):
        """maps[K, H, W] at content size -> [K, h*w]: pad like the content, 8x8 block average."""
        padded = mr.pad_reflect(maps, _round_up(height), _round_up(width))
        return mr.block_average(padded, BLOCK).reshape(maps.shape[0], -1)

    def _range_grid(self, content, source, depth, is_disparity, invalid, lo, hi):
        """Returns (D[H, W], R at feature resolution [h*w]) or (None, None) without depth."""
        height, width = content.shape[1], content.shape[2]
        if source == "auto":
            source = "network" if self.depth_net is not None else "none"
        if source == "none":
            return None, None
        if source == "network":
            if self.depth_net is None:
                raise ValueError("depth_source='network' but the bundle has no depth.pt")
            raw, is_disparity, invalid = self.raw_depth(content), self.depth_is_disparity, None
        elif source == "caller":
            if depth is None:
                raise ValueError("depth_source='caller' needs depth")
            given = torch.as_tensor(depth)
            raw = given.to(torch.float64).reshape(given.shape[-2], given.shape[-1])
            # METHOD.md §3: non-finite depth is an error -- judged on the map as given, since a
            # bilinear downscale may never sample some pixels.  Declared-invalid pixels are exempt.
            marked = raw == float(invalid) if invalid is not None else torch.zeros_like(raw, dtype=torch.bool)
            if not bool(torch.isfinite(raw[~marked]).all()):
                raise ValueError("non-finite value in the caller's depth map")
            # Invalid pixels must stay out of min/max; resizing would blend them into valid ones,
            # so a map that declares an invalid value must already have the content's size.
            if invalid is not None and tuple(raw.shape) != (height, width):
                raise ValueError("a depth map with an invalid value must have the content's size")
        else:
            raise ValueError(f"depth_source must be one of {DEPTH_SOURCES}")
        resized = mr.resize_bilinear(raw[None], height, width)[0]
        D, valid = mr.depth_normalize(resized.reshape(-1), is_disparity, invalid)
        R = mr.range_map(D, lo, hi).reshape(1, height, width)
        padded = mr.pad_reflect(R, _round_up(height), _round_up(width))
        if invalid is None:
            grid = mr.block_average(padded, BLOCK)
        else:
            valid_padded = mr.pad_reflect(valid.reshape(1, height, width).to(torch.float64),
                                          _round_up(height), _round_up(width))[0] > 0.5
            empty = float(mr.range_map(torch.tensor(1.0), lo, hi))
            grid = mr.block_average(padded, BLOCK, valid=valid_padded, empty_value=empty)
        return D.reshape(height, width), grid.reshape(-1)

    def stylize(self, content, styles, alpha=1.0, mask=None, weights=None, regions=None,
                depth_source="auto", depth=None, depth_is_disparity=False, depth_invalid=None,
                lo=0.0, hi=1.0, preserve_color=False):
        content = torch.as_tensor(content)
        if content.dim() != 3 or content.shape[0] != 3:
            raise ValueError("content must be 3 x H x W")
        if not styles:
            raise ValueError("at least one style")
        if regions is not None and weights is not None:
            raise ValueError("regions and weights exclude each other")
        height, width = content.shape[1], content.shape[2]

        stats = []
        for style in styles:
            style = torch.as_tensor(style)
            if preserve_color:  # §6: the style takes the content's colours before encoding
                flat_style, flat_content = style.reshape(3, -1), content.reshape(3, -1)
                if flat_style.shape[1] >= 2 and flat_content.shape[1] >= 2:
                    style = mr.coral(flat_style, flat_content).reshape(style.shape)
                else:  # unbiased std undefined for one pixel: match the mean colour only
                    shift = flat_content.to(torch.float64).mean(1) - flat_style.to(torch.float64).mean(1)
                    style = (flat_style.to(torch.float64) + shift[:, None]).reshape(style.shape)
            stats.append(self.style_stats(style))
        style_means = torch.stack([m for m, _ in stats])
        style_stds = torch.stack([s for _, s in stats])

        fc_grid = self._features(content)
        channels, h, w = fc_grid.shape
        fc = fc_grid.reshape(channels, -1)
        if regions is not None:
            region_grid = self._to_feature_grid(torch.as_tensor(regions).to(torch.float64), height, width)
            t = mr.adain_regions(fc, region_grid, style_means, style_stds)
        elif len(styles) == 1 and weights is None:
            t = mr.adain(fc, style_means[0], style_stds[0])
        else:
            w_k = torch.ones(len(styles), dtype=torch.float64) if weights is None else torch.as_tensor(
                weights, dtype=torch.float64)
            t = mr.adain_interpolate(fc, w_k, style_means, style_stds)

        D, range_grid = self._range_grid(content, depth_source, depth, depth_is_disparity,
                                         depth_invalid, lo, hi)
        mask_grid = None
        if mask is not None:
            mask = torch.as_tensor(mask).to(torch.float64).reshape(1, height, width)
            mask_grid = self._to_feature_grid(mask, height, width)[0]
        S = mr.strength_map(alpha, mask=mask_grid, range=range_grid, n=h * w)
        f = mr.blend(t, fc, S).reshape(channels, h, w)
        out = self.decode(f)[:, :height, :width].contiguous()
        return {"out": out, "depth": D, "strength": S.reshape(h, w)}
