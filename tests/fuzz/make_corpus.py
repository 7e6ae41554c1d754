#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/ (committed; rerun
only to change them).  Seeds are tiny (a few hundred bytes to a few KB) so each exercises one
feature of its format quickly:

  png/    crops of the shared test images in every PNG layout libpng reads for us: grey 1/8/16-bit,
          grey+alpha, RGB 8/16-bit, RGBA, palette with tRNS, RGB with tRNS, Adam7 interlaced
  jpeg/   baseline 4:2:0 and 4:4:4, progressive, optimised Huffman, grey, Adobe CMYK, odd sizes
  y4m/    every chroma layout y4m.c accepts, full/limited range, odd sizes, extra tags, several
          frames, and a cut frame
  math/   random bytes for each function of fuzz_math.c and each value mode
  model_load/  the analytic bundle's encoder.pt (and its other modules, valid TorchScript that
          is the wrong network)

Usage: /usr/bin/python3 tests/fuzz/make_corpus.py SHARED_DATA_DIR ANALYTIC_BUNDLE_DIR
(the bundle from `/usr/bin/python3 tools/adn-export --analytic --out DIR`)."""
import io
import os
import random
import struct
import sys
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def save(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def crop(path, width, height, mode="RGB"):
    img = Image.open(path)
    img = img.convert(mode) if mode else img
    return img.resize((width, height), Image.BILINEAR) if mode else img.crop((0, 0, width, height))


def pil_bytes(img, fmt, **options):
    out = io.BytesIO()
    img.save(out, fmt, **options)
    return out.getvalue()


# --- PNG by hand, for the layouts Pillow does not write (16-bit colour, interlacing, tRNS on RGB) ---

def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_bytes(samples, bit_depth, colour_type, interlace=False, extra=b""):
    """samples: H x W x C uint array of stored values."""
    height, width, channels = samples.shape
    big = ">u2" if bit_depth == 16 else "u1"

    def rows(image):
        out = b""
        for row in image:
            out += b"\0" + row.astype(big).tobytes()
        return out

    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.size:
                raw += rows(sub)
    else:
        raw = rows(samples)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw, 9)) +
            chunk(b"IEND", b""))


def make_png(data):
    content = os.path.join(data, "content", "chicago.jpg")
    rgb = crop(content, 12, 9)
    save("png", "rgb8.png", pil_bytes(rgb, "PNG"))
    save("png", "grey8.png", pil_bytes(crop(os.path.join(data, "mask", "mask.png"), 10, 7, "L"), "PNG"))
    save("png", "grey1.png", pil_bytes(crop(content, 16, 5, "L").convert("1"), "PNG"))
    save("png", "grey_alpha.png", pil_bytes(crop(content, 8, 6, "LA"), "PNG"))
    rgba = crop(content, 9, 8, "RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize((9, 8)))
    save("png", "rgba8.png", pil_bytes(rgba, "PNG"))
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=16)
    save("png", "palette4_trns.png", pil_bytes(pal, "PNG", bits=4, transparency=3))
    depth16 = np.asarray(Image.open(os.path.join(data, "rgbd", "tum_office", "depth.png")))[100:108, 200:211]
    save("png", "grey16.png", png_bytes(depth16.astype(np.uint16)[..., None], 16, 0))
    rgb16 = (np.asarray(rgb, dtype=np.uint16) * 257)[:6, :7]
    save("png", "rgb16_adam7.png", png_bytes(rgb16, 16, 2, interlace=True))
    rgb8 = np.asarray(rgb)[:9, :11]
    save("png", "rgb8_adam7_trns.png", png_bytes(rgb8, 8, 2, interlace=True,
                                                 extra=chunk(b"tRNS", struct.pack(">HHH", *rgb8[0, 0]))))
    save("png", "rgba16.png", png_bytes(np.concatenate([rgb16, rgb16[..., :1]], axis=2), 16, 6))


def make_jpeg(data):
    content = os.path.join(data, "content", "sailboat.jpg")
    img = crop(content, 16, 16)
    save("jpeg", "baseline420.jpg", pil_bytes(img, "JPEG", quality=75))
    save("jpeg", "full444.jpg", pil_bytes(img, "JPEG", quality=95, subsampling=0))
    save("jpeg", "progressive.jpg", pil_bytes(crop(content, 24, 16), "JPEG", quality=80, progressive=True))
    save("jpeg", "optimized_odd.jpg", pil_bytes(crop(content, 13, 7), "JPEG", quality=60, optimize=True))
    save("jpeg", "grey.jpg", pil_bytes(crop(content, 11, 9, "L"), "JPEG", quality=85))
    save("jpeg", "cmyk_adobe.jpg", pil_bytes(crop(content, 8, 8, "CMYK"), "JPEG", quality=90))
    save("jpeg", "422.jpg", pil_bytes(crop(content, 17, 10), "JPEG", quality=70, subsampling=1))


def yuv_planes(rgb, chroma):
    a = np.asarray(rgb, dtype=np.float64) / 255.0
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb, cr = 128 + 224 * (b - y) / 1.772, 128 + 224 * (r - y) / 1.402
    planes = [16 + 219 * y, cb, cr]
    if chroma != "444":
        h, w = y.shape
        for p in (1, 2):
            padded = np.pad(planes[p], ((0, h % 2), (0, w % 2)), mode="edge")
            planes[p] = padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).mean(axis=(1, 3))
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def make_y4m(data):
    content = os.path.join(data, "content", "cornell.jpg")
    cases = [  # name, width, height, colourspace tag ("" = none), extra header, frames
        ("c420jpeg_2frames.y4m", 8, 6, "C420jpeg", " F25:1 Ip A1:1", 2),
        ("c444_full_odd.y4m", 7, 5, "C444", " XCOLORRANGE=FULL", 1),
        ("c420mpeg2.y4m", 9, 3, "C420mpeg2", " F30000:1001 It", 1),
        ("c420paldv.y4m", 6, 7, "C420paldv", " X-COLORRANGE=LIMITED", 1),
        ("c420_plain.y4m", 4, 4, "C420", "", 3),
        ("no_c_tag.y4m", 5, 5, "", " XYSCSS=420JPEG", 1),
    ]
    for name, width, height, tag, extra, frames in cases:
        header = f"YUV4MPEG2 W{width} H{height}" + (f" {tag}" if tag else "") + extra + "\n"
        chroma = tag[1:4] if tag else "420"
        frame = yuv_planes(crop(content, width, height), "444" if chroma == "444" else "420")
        body = b"".join((b"FRAME Ixyz\n" if i == 1 else b"FRAME\n") + frame for i in range(frames))
        save("y4m", name, header.encode() + body)
    frame = yuv_planes(crop(content, 6, 4), "420")
    save("y4m", "cut_frame.y4m", b"YUV4MPEG2 W6 H4 C420jpeg\nFRAME\n" + frame[:-5])


def make_math():
    # Seeds use the small-value mode (2) so that they pass on a correct library; the fuzzer reaches
    # the raw and huge-finite modes by mutating the second byte.
    rng = random.Random(20240610)
    for case in range(10):
        for size in (48, 160, 600):
            body = bytes(rng.getrandbits(8) for _ in range(size))
            save("math", f"case{case}_{size}.bin", bytes([case, 2]) + body)


def make_model_load(bundle):
    for module in ("encoder.pt", "decoder.pt", "depth.pt"):
        path = os.path.join(bundle, module)
        if os.path.exists(path):
            with open(path, "rb") as f:
                save("model_load", module.replace(".pt", "") + ".pt", f.read())


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    make_png(sys.argv[1])
    make_jpeg(sys.argv[1])
    make_y4m(sys.argv[1])
    make_math()
    make_model_load(sys.argv[2])


if __name__ == "__main__":
    main()
