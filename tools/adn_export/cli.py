"""Command line of tools/adn-export (see docs/MODELS.md)."""
import argparse
import hashlib
import os
import sys
import traceback
import warnings

from .errors import ExportError

_DESCRIPTION = """Build a libadain_dcs model bundle (encoder.pt, decoder.pt, optional depth.pt).
Exactly one source: --vgg/--decoder (the pytorch-AdaIN files), --synthetic SEED (seeded stand-ins
for them, kept in OUT/source/) or --analytic (8x8 space-to-depth pair).  Every bundle is sealed
with manifest.txt (sizes and SHA-256 of its modules), which the library checks before loading;
--seal DIR seals a bundle made by hand instead (only seal bundles you trust: a TorchScript
bundle is code)."""


def _parse_triple(text, option):
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 3:
        raise ExportError(f"{option} needs three comma-separated numbers, got {text!r}")
    return values


def _parser():
    p = argparse.ArgumentParser(prog="adn-export", description=_DESCRIPTION)
    p.add_argument("--out", metavar="DIR", help="bundle directory (created if needed)")
    p.add_argument("--seal", metavar="DIR",
                   help="write manifest.txt for the hand-made bundle DIR (its modules as they are now)")
    p.add_argument("--vgg", metavar="FILE", help="vgg_normalised.pth (legacy or zip torch format)")
    p.add_argument("--decoder", metavar="FILE", help="decoder.pth")
    p.add_argument("--synthetic", type=int, metavar="SEED",
                   help="write seeded stand-in weight files to DIR/source and export them")
    p.add_argument("--analytic", action="store_true", help="the analytic space-to-depth bundle")
    p.add_argument("--analytic-depth", choices=("luma", "ground-plane", "none"), default="luma",
                   help="depth.pt of the analytic bundle: luma (bright = far; default), ground-plane "
                        "(a fixed prior that ignores the picture: the top row farthest, the bottom "
                        "row nearest, linear in between) or none")
    depth = p.add_argument_group("depth network (with --vgg/--decoder)")
    depth.add_argument("--depth-midas", metavar="FILE", help="MiDaS v2.1 small model-small-traced.pt")
    depth.add_argument("--depth-torchscript", metavar="FILE", help="any TorchScript depth network")
    depth.add_argument("--depth-output", choices=("depth", "disparity"),
                       help="what --depth-torchscript returns (larger = farther / nearer)")
    depth.add_argument("--depth-input-size", type=int, default=0, metavar="N",
                       help="resize so the long side is N (0: keep the size; default 0)")
    depth.add_argument("--depth-multiple", type=int, default=1, metavar="M",
                       help="make both input sides multiples of M (default 1)")
    depth.add_argument("--depth-mean", default="0,0,0", metavar="A,B,C", help="per-channel mean (default 0)")
    depth.add_argument("--depth-std", default="1,1,1", metavar="A,B,C", help="per-channel std (default 1)")
    p.add_argument("--benchmark-zero-padding", action="store_true",
                   help="BENCHMARK ONLY, NOT EXACT: zero padding in every 3x3 convolution instead of "
                        "reflection padding (with --vgg/--decoder or --synthetic); adn-bench's speed "
                        "limit for direct fp32 convolution, whose outputs are not the method's")
    p.add_argument("--stamp", metavar="FILE", help="touch FILE after a successful export (for build systems)")
    return p


_GENERIC_DEPTH_OPTIONS = ("depth_output", "depth_input_size", "depth_multiple", "depth_mean", "depth_std")


def _check_seal(args, parser):
    given = [a for a in ("out", "vgg", "decoder", "synthetic", "depth_midas", "depth_torchscript")
             if getattr(args, a) is not None]
    given += [a for a in ("analytic", "analytic_depth", "benchmark_zero_padding") + _GENERIC_DEPTH_OPTIONS
              if getattr(args, a) != parser.get_default(a)]
    if given:
        raise ExportError("--seal DIR goes alone (with --stamp at most), not with --" + given[0].replace("_", "-"))


def _check_modes(args, parser):
    if args.seal is not None:
        _check_seal(args, parser)
        return
    if args.out is None:
        raise ExportError("give --out DIR (or --seal DIR for a bundle made by hand)")
    modes = [args.vgg is not None or args.decoder is not None, args.synthetic is not None, args.analytic]
    if sum(modes) != 1:
        raise ExportError("give exactly one of --vgg/--decoder, --synthetic SEED, --analytic")
    if modes[0] and (args.vgg is None or args.decoder is None):
        raise ExportError("--vgg and --decoder go together")
    if args.synthetic is not None and args.synthetic < 0:
        raise ExportError("--synthetic SEED must be >= 0")
    if not modes[0] and (args.depth_midas or args.depth_torchscript):
        raise ExportError("--depth-midas / --depth-torchscript go with --vgg/--decoder")
    if args.depth_midas and args.depth_torchscript:
        raise ExportError("give at most one of --depth-midas and --depth-torchscript")
    generic_given = [o for o in _GENERIC_DEPTH_OPTIONS if getattr(args, o) != parser.get_default(o)]
    if generic_given and not args.depth_torchscript:
        raise ExportError("--" + generic_given[0].replace("_", "-") + " only goes with --depth-torchscript")
    if args.depth_torchscript and args.depth_output is None:
        raise ExportError("--depth-torchscript needs --depth-output depth|disparity")
    if args.analytic_depth != "luma" and not args.analytic:
        raise ExportError("--analytic-depth only goes with --analytic")
    if args.benchmark_zero_padding and args.analytic:
        raise ExportError("--benchmark-zero-padding goes with --vgg/--decoder or --synthetic (the analytic pair has no padding)")


def _generic_depth_settings(args):
    if args.depth_input_size < 0:
        raise ExportError("--depth-input-size must be >= 0")
    if args.depth_multiple < 1:
        raise ExportError("--depth-multiple must be >= 1")
    if args.depth_input_size > 0 and args.depth_input_size < args.depth_multiple:
        raise ExportError("--depth-input-size must be at least --depth-multiple")
    mean = _parse_triple(args.depth_mean, "--depth-mean")
    std = _parse_triple(args.depth_std, "--depth-std")
    if not all(s > 0 for s in std):
        raise ExportError("--depth-std values must be > 0")
    return args.depth_input_size, args.depth_multiple, mean, std


def _load_torchscript(path):
    import torch
    from .state_dict import check_readable
    check_readable(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.load(path, map_location="cpu")
    except Exception as e:
        lines = str(e).strip().splitlines()
        raise ExportError(f"{path} is not a loadable TorchScript file: "
                          f"{lines[0] if lines else type(e).__name__}") from None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_record(path, out):
    """Where a source file came from: relative to the bundle when it lies inside it (synthetic
    bundles keep theirs in source/), absolute otherwise."""
    absolute, bundle = os.path.abspath(path), os.path.abspath(out)
    inside = os.path.commonpath([absolute, bundle]) == bundle
    return {"path": os.path.relpath(absolute, bundle) if inside else absolute, "sha256": _sha256(path)}


def export_files(vgg_path, decoder_path, out, depth_midas=None, depth_torchscript=None,
                 generic_depth=None, depth_output=None, extra_manifest=None, padding="reflect"):
    """The one export path for published and synthetic weight files.  padding "zero" makes
    adn-bench's limit network (--benchmark-zero-padding): not exact, for timing only."""
    from . import bundle, depth, networks, state_dict
    encoder = networks.vgg_encoder(state_dict.load_vgg(vgg_path), padding)
    decoder = networks.vgg_decoder(state_dict.load_decoder(decoder_path), padding)
    manifest = {"kind": "vgg", "channels": 512, "downsample": 8, "padding": padding,
                "sources": {"vgg": _source_record(vgg_path, out), "decoder": _source_record(decoder_path, out)},
                "depth": None}
    depth_module = None
    if depth_midas:
        depth_module = depth.midas_small(_load_torchscript(depth_midas))
        manifest["depth"] = {"wrapper": "midas_v21_small", "output": "disparity",
                             "source": _source_record(depth_midas, out)}
    elif depth_torchscript:
        long_side, multiple, mean, std = generic_depth
        depth_module = depth.PreprocessedDepth(_load_torchscript(depth_torchscript), depth_output,
                                               long_side, multiple, mean, std).eval()
        manifest["depth"] = {"wrapper": "generic", "output": depth_output, "input_size": long_side,
                             "multiple": multiple, "mean": mean, "std": std,
                             "source": _source_record(depth_torchscript, out)}
    if padding == "zero":
        manifest["benchmark_only"] = "zero padding instead of reflection: NOT the method's outputs"
    manifest.update(extra_manifest or {})
    bundle.write_bundle(out, encoder, decoder, depth_module, manifest)


def export_synthetic(seed, out, padding="reflect"):
    from . import synthetic
    source_dir = os.path.join(out, synthetic.SOURCE_DIR)
    try:
        paths = synthetic.write_sources(seed, source_dir)
    except (OSError, RuntimeError) as e:  # torch.save reports write failures as RuntimeError
        lines = str(e).strip().splitlines()
        raise ExportError(f"cannot write the synthetic weight files to {source_dir}: "
                          f"{getattr(e, 'strerror', None) or (lines[0] if lines else type(e).__name__)}") from None
    export_files(paths["vgg"], paths["decoder"], out, depth_midas=paths["depth"],
                 extra_manifest={"synthetic_seed": seed}, padding=padding)


def export_analytic(out, depth_kind):
    from . import analytic, bundle
    depth_module = {"luma": analytic.LumaDepth, "ground-plane": analytic.GroundPlaneDepth}.get(depth_kind)
    depth_module = depth_module() if depth_module else None
    manifest = {"kind": "analytic", "channels": analytic.CHANNELS, "downsample": analytic.BLOCK,
                "channel_order": "c*64 + dy*8 + dx (F.pixel_unshuffle)",
                "depth": {"wrapper": depth_kind, "output": "depth"} if depth_module else None}
    bundle.write_bundle(out, analytic.SpaceToDepth(), analytic.DepthToSpace(), depth_module, manifest)


def _touch(path):
    try:
        with open(path, "w") as f:
            f.write("ok\n")
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None


def run(argv):
    parser = _parser()
    args = parser.parse_args(argv)
    _check_modes(args, parser)
    generic = _generic_depth_settings(args) if args.depth_torchscript else None
    import torch
    torch.set_grad_enabled(False)
    if args.seal is not None:
        from . import manifest
        manifest.seal(args.seal)
    elif args.synthetic is not None:
        export_synthetic(args.synthetic, args.out, "zero" if args.benchmark_zero_padding else "reflect")
    elif args.analytic:
        export_analytic(args.out, args.analytic_depth)
    else:
        export_files(args.vgg, args.decoder, args.out, args.depth_midas, args.depth_torchscript,
                     generic, args.depth_output, padding="zero" if args.benchmark_zero_padding else "reflect")
    if args.stamp:
        _touch(args.stamp)


def main(argv=None):
    """Exit status 0 on success, 1 with a one-line message on any failure (2 for usage errors,
    from argparse).  ADN_EXPORT_DEBUG=1 shows the traceback of unexpected errors."""
    try:
        run(sys.argv[1:] if argv is None else argv)
    except ExportError as e:
        print(f"adn-export: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("adn-export: interrupted", file=sys.stderr)
        return 1
    except Exception as e:  # a bug or an environment problem: still one line unless debugging
        if os.environ.get("ADN_EXPORT_DEBUG"):
            traceback.print_exc()
        lines = str(e).strip().splitlines()
        print(f"adn-export: internal error ({type(e).__name__}): {lines[0] if lines else ''}"
              " (set ADN_EXPORT_DEBUG=1 for details)", file=sys.stderr)
        return 1
    return 0
