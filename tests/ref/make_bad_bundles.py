#!/usr/bin/python3
"""Writes broken and hostile model bundles for the error-path tests of adn_model_load
(tests/test_pipeline.c, which holds the expected status and message of each).

usage: make_bad_bundles.py OUTPUT_DIR STAMP

OUTPUT_DIR is emptied first.  Each sub-directory is one defect.  Bundles whose defect lies in
the modules themselves are sealed (manifest.txt, tools/adn_export/manifest.py) so that the
library passes them on to libtorch, which is where the defect must be caught:
  not_torchscript   encoder.pt is random bytes
  truncated         encoder.pt cut in half
  corrupt_code      encoder.pt's TorchScript source has a syntax error
  wrong_shape       the encoder downsamples by 4 while declaring 8
  wrong_channels    the encoder outputs 192 channels while declaring 64 (so does the decoder)
  channel_mismatch  encoder has 192 channels, decoder declares and takes 64
  scale_mismatch    the decoder declares adn_upsample 4, the encoder adn_downsample 8
  missing_attr      the encoder lacks adn_channels
  float64_encoder   the encoder returns float64 features
  float64_decoder   the decoder returns a float64 image
  tuple_encoder     the encoder returns a tuple of two tensors
  raising_encoder   the encoder raises "encoder exploded" on every input
  nan_encoder       the encoder returns NaN on every input
  bad_depth         depth.pt returns 3 channels
  empty_depth       depth.pt returns a map with no rows
  raising_depth     loads fine, but depth.pt raises "depth exploded" for inputs taller than 32
  nan_decoder       loads fine, but decoder.pt returns NaN for inputs taller than 32 (16 in the probe)
  nan_depth         loads fine, but depth.pt returns NaN for inputs taller than 32
  bad_alloc_decoder loads fine, but decoder.pt throws std::bad_alloc for inputs taller than 32
  oom_decoder       loads fine, but decoder.pt asks torch for 64 TiB for inputs taller than 32
Files that are no plain module file (refused before the manifest is even read):
  missing_encoder   decoder.pt only
  empty_encoder     encoder.pt has 0 bytes
  huge_encoder      encoder.pt is a 5 GiB sparse file (above the 4 GiB limit)
  sparse_encoder    encoder.pt is a 64 MiB file that is all holes
  fifo_encoder      encoder.pt is a FIFO (a load that opened it would block forever)
  dir_encoder       encoder.pt is a directory
  loop_encoder      encoder.pt is a symbolic link loop
  dangling_encoder  encoder.pt is a symbolic link to a file that does not exist
  unreadable_encoder  encoder.pt has mode 000 (root reads it anyway: the test skips it as root)
The seal:
  unsealed          a good bundle without manifest.txt (loads only with trust_unsealed)
  tampered          sealed, then one byte of encoder.pt changed
  resized           sealed, then decoder.pt grew by one byte
  added_depth       sealed without depth.pt, which was added afterwards
  removed_depth     sealed with depth.pt, which was removed afterwards
  bad_manifest      manifest.txt is not a manifest
  truncated_manifest  manifest.txt lacks its last line ("end")
  edited_manifest   manifest.txt says the encoder declares 64 channels; it declares 192
The structural check of unsealed archives (trust_unsealed = 1):
  unsealed_not_zip      encoder.pt is random bytes
  unsealed_truncated    encoder.pt cut in half
  unsealed_state_dict   encoder.pt is a torch.save'd state dict, not TorchScript
  unsealed_bad_offset   a central directory record points outside the file
  unsealed_bad_crc      one byte of data.pkl (a stored record) changed: its CRC-32 no longer matches
  unsealed_huge_record  a deflated record claims to expand to 2 GiB (as a mutated 2 KB file made
                        libtorch allocate 21 GB)
"""
import os
import shutil
import stat
import struct
import sys
import zipfile
from typing import List

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..", "tools"))
sys.dont_write_bytecode = True
from adn_export import manifest as seal  # noqa: E402


class SpaceToDepth(torch.nn.Module):
    def __init__(self, factor: int, channels: int, declare_channels: bool = True):
        super().__init__()
        self.factor = factor
        if declare_channels:
            self.adn_channels = channels
        self.adn_downsample = 8
        self.adn_kind = "encoder"

    def forward(self, x):
        return F.pixel_unshuffle(x, self.factor)


class DepthToSpace(torch.nn.Module):
    def __init__(self, channels: int, upsample: int = 8):
        super().__init__()
        self.adn_channels = channels
        self.adn_upsample = upsample
        self.adn_kind = "decoder"

    def forward(self, f):
        return F.pixel_shuffle(f[:, :192], 8)


class Float64Encoder(SpaceToDepth):
    def forward(self, x):
        return F.pixel_unshuffle(x, 8).double()


class TupleEncoder(SpaceToDepth):
    def forward(self, x):
        f = F.pixel_unshuffle(x, 8)
        return f, f


class RaisingEncoder(SpaceToDepth):
    def forward(self, x):
        if x.shape[0] > 0:
            raise RuntimeError("encoder exploded")
        return F.pixel_unshuffle(x, 8)


class NanEncoder(SpaceToDepth):
    def forward(self, x):
        return F.pixel_unshuffle(x, 8) * float("nan")


class Float64Decoder(DepthToSpace):
    def forward(self, f):
        return F.pixel_shuffle(f[:, :192], 8).double()


class NanDecoder(DepthToSpace):
    def forward(self, f):
        y = F.pixel_shuffle(f[:, :192], 8)
        if y.shape[2] > 32:
            y = y * float("nan")
        return y


class BadAllocDecoder(DepthToSpace):
    """For inputs taller than 32, a 2^40-element list: std::bad_alloc inside the interpreter."""

    def forward(self, f):
        y = F.pixel_shuffle(f[:, :192], 8)
        if y.shape[2] > 32:
            big: List[int] = [0] * (1 << 40)
            y = y + len(big)
        return y


class OomDecoder(DepthToSpace):
    """For inputs taller than 32, a 64 TiB tensor: torch's CPU allocator fails."""

    def forward(self, f):
        y = F.pixel_shuffle(f[:, :192], 8)
        if y.shape[2] > 32:
            y = y + torch.empty([1 << 46], dtype=torch.uint8).sum()
        return y


class DepthContract(torch.nn.Module):
    """The attributes of a valid depth.pt; subclasses break the contract in forward()."""

    def __init__(self):
        super().__init__()
        self.adn_kind = "depth"
        self.adn_output = "depth"

    def forward(self, x):
        return x[:, :1]


class ThreeChannelDepth(DepthContract):
    def forward(self, x):
        return x


class EmptyDepth(DepthContract):
    def forward(self, x):
        return x[:, :1, :0, :]


class RaisingDepth(DepthContract):
    def forward(self, x):
        if x.shape[2] > 32:
            raise RuntimeError("depth exploded")
        return x[:, :1]


class NanDepth(DepthContract):
    def forward(self, x):
        d = x[:, :1]
        if x.shape[2] > 32:
            d = d * float("nan")
        return d


GOOD_ATTRS = {"encoder.pt": {"adn_kind": "encoder", "adn_channels": 192, "adn_downsample": 8},
              "decoder.pt": {"adn_kind": "decoder", "adn_channels": 192, "adn_upsample": 8}}


def save(module, path):
    torch.jit.save(torch.jit.script(module), path)


class Maker:
    def __init__(self, root):
        self.root = root

    def bundle(self, name, encoder=None, decoder=None, depth=None):
        """A directory with the given modules saved (None: not written)."""
        path = os.path.join(self.root, name)
        os.makedirs(path)
        for file, module in (("encoder.pt", encoder), ("decoder.pt", decoder), ("depth.pt", depth)):
            if module is not None:
                save(module, os.path.join(path, file))
        return path

    def good(self, name, depth=False):
        return self.bundle(name, SpaceToDepth(8, 192), DepthToSpace(192), DepthContract() if depth else None)


def sealed(path):
    """Seals a bundle whose modules torch can load (reads their attributes, as --seal does)."""
    seal.seal(path)
    return path


def sealed_as_good(path):
    """Seals a bundle whose encoder torch cannot load, with the good attributes: the library must
    then pass it to torch, which must refuse it."""
    seal.write_manifest(path, GOOD_ATTRS, ["encoder.pt", "decoder.pt"])
    return path


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def rewrite_zip(source, target, mutate):
    """Copies a zip archive record by record, passing each record's bytes through mutate."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            zout.writestr(zipfile.ZipInfo(info.filename, info.date_time), mutate(info.filename, zin.read(info.filename)))


def central_records(data):
    """Offsets of the central directory records of a zip file (from its end record)."""
    eocd = data.rfind(b"PK\x05\x06")
    count, _, offset = struct.unpack_from("<HII", data, eocd + 10)
    records, at = [], offset
    for _ in range(count):
        records.append(at)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, at + 28)
        at += 46 + name_len + extra_len + comment_len
    return records


def module_defects(make, root):
    """Bundles whose modules break the contract (sealed: torch must see them)."""
    good_encoder, good_decoder = SpaceToDepth(8, 192), DepthToSpace(192)

    d = make.bundle("not_torchscript", decoder=good_decoder)
    write_bytes(os.path.join(d, "encoder.pt"), bytes(range(256)) * 4)
    sealed_as_good(d)

    d = make.bundle("truncated", good_encoder, good_decoder)
    data = open(os.path.join(d, "encoder.pt"), "rb").read()
    write_bytes(os.path.join(d, "encoder.pt"), data[: len(data) // 2])
    sealed_as_good(d)

    d = make.bundle("corrupt_code", good_encoder, good_decoder)
    encoder = os.path.join(d, "encoder.pt")
    os.rename(encoder, encoder + ".orig")
    rewrite_zip(encoder + ".orig", encoder,
                lambda name, data: data.replace(b"def forward(self", b"def forward(self x")
                if name.endswith("code/__torch__.py") else data)
    os.remove(encoder + ".orig")
    sealed_as_good(d)

    for name, encoder, decoder in (
            ("wrong_shape", SpaceToDepth(4, 48), DepthToSpace(48)),
            ("wrong_channels", SpaceToDepth(8, 64), DepthToSpace(64)),
            ("channel_mismatch", good_encoder, DepthToSpace(64)),
            ("scale_mismatch", good_encoder, DepthToSpace(192, upsample=4)),
            ("missing_attr", SpaceToDepth(8, 192, declare_channels=False), good_decoder),
            ("float64_encoder", Float64Encoder(8, 192), good_decoder),
            ("float64_decoder", good_encoder, Float64Decoder(192)),
            ("tuple_encoder", TupleEncoder(8, 192), good_decoder),
            ("raising_encoder", RaisingEncoder(8, 192), good_decoder),
            ("nan_encoder", NanEncoder(8, 192), good_decoder),
            ("nan_decoder", good_encoder, NanDecoder(192)),
            ("bad_alloc_decoder", good_encoder, BadAllocDecoder(192)),
            ("oom_decoder", good_encoder, OomDecoder(192))):
        sealed(make.bundle(name, encoder, decoder))

    for name, depth in (("bad_depth", ThreeChannelDepth()), ("empty_depth", EmptyDepth()),
                        ("raising_depth", RaisingDepth()), ("nan_depth", NanDepth())):
        sealed(make.bundle(name, good_encoder, good_decoder, depth))


def file_defects(make, root):
    """encoder.pt is no plain module file; the library refuses it before reading a byte."""
    make.bundle("missing_encoder", decoder=DepthToSpace(192))

    def with_encoder(name, create):
        d = make.bundle(name, decoder=DepthToSpace(192))
        create(os.path.join(d, "encoder.pt"))

    def sparse(size):
        def create(path):
            with open(path, "wb") as f:
                f.truncate(size)
        return create

    with_encoder("empty_encoder", lambda p: write_bytes(p, b""))
    with_encoder("huge_encoder", sparse(5 << 30))
    with_encoder("sparse_encoder", sparse(64 << 20))
    with_encoder("fifo_encoder", os.mkfifo)
    with_encoder("dir_encoder", os.mkdir)
    with_encoder("loop_encoder", lambda p: (os.symlink("loop_b", os.path.join(os.path.dirname(p), "loop_a")),
                                            os.symlink("loop_a", os.path.join(os.path.dirname(p), "loop_b")),
                                            os.symlink("loop_a", p)))
    with_encoder("dangling_encoder", lambda p: os.symlink("no_such_file.pt", p))
    d = sealed(make.good("unreadable_encoder"))
    os.chmod(os.path.join(d, "encoder.pt"), 0)


def seal_defects(make, root):
    make.good("unsealed", depth=True)

    d = sealed(make.good("tampered"))
    encoder = os.path.join(d, "encoder.pt")
    data = bytearray(open(encoder, "rb").read())
    data[len(data) // 3] ^= 0x01
    write_bytes(encoder, bytes(data))

    d = sealed(make.good("resized"))
    with open(os.path.join(d, "decoder.pt"), "ab") as f:
        f.write(b"\0")

    d = sealed(make.good("added_depth"))
    save(DepthContract(), os.path.join(d, "depth.pt"))

    d = sealed(make.good("removed_depth", depth=True))
    os.remove(os.path.join(d, "depth.pt"))

    d = make.good("bad_manifest")
    write_bytes(os.path.join(d, seal.MANIFEST_FILE), b"encoder.pt is fine, trust me\n")

    d = sealed(make.good("truncated_manifest"))
    path = os.path.join(d, seal.MANIFEST_FILE)
    text = open(path).read()
    write_bytes(path, text[: text.rindex("end\n")].encode())

    d = sealed(make.good("edited_manifest"))
    path = os.path.join(d, seal.MANIFEST_FILE)
    text = open(path).read()
    write_bytes(path, text.replace("attr encoder.pt adn_channels 192", "attr encoder.pt adn_channels 64").encode())


def zip_defects(make, root):
    """Unsealed bundles for the structural check that trust_unsealed runs instead of the seal."""
    d = make.bundle("unsealed_not_zip", decoder=DepthToSpace(192))
    write_bytes(os.path.join(d, "encoder.pt"), bytes(range(256)) * 4)

    d = make.good("unsealed_truncated")
    data = open(os.path.join(d, "encoder.pt"), "rb").read()
    write_bytes(os.path.join(d, "encoder.pt"), data[: len(data) // 2])

    d = make.bundle("unsealed_state_dict", decoder=DepthToSpace(192))
    torch.save(torch.nn.Conv2d(3, 3, 1).state_dict(), os.path.join(d, "encoder.pt"))

    d = make.good("unsealed_bad_offset")
    encoder = os.path.join(d, "encoder.pt")
    data = bytearray(open(encoder, "rb").read())
    struct.pack_into("<I", data, central_records(bytes(data))[0] + 42, len(data) + 4096)
    write_bytes(encoder, bytes(data))

    d = make.good("unsealed_bad_crc")
    encoder = os.path.join(d, "encoder.pt")
    data = bytearray(open(encoder, "rb").read())
    with zipfile.ZipFile(encoder) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("/data.pkl"))  # a stored record
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0x20
    write_bytes(encoder, bytes(data))

    d = make.good("unsealed_huge_record")
    encoder = os.path.join(d, "encoder.pt")
    data = bytearray(open(encoder, "rb").read())
    for at in central_records(bytes(data)):
        if struct.unpack_from("<H", data, at + 10)[0] == 8:  # the first deflated record
            struct.pack_into("<I", data, at + 24, 2 << 30)
            break
    write_bytes(encoder, bytes(data))


def empty_directory(root):
    """Removes an earlier run's bundles (mode 000 files and FIFOs included)."""
    if os.path.lexists(root):
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = os.path.join(folder, name)
                if not os.path.islink(path) and stat.S_ISREG(os.lstat(path).st_mode):
                    os.chmod(path, 0o644)
        shutil.rmtree(root)
    os.makedirs(root)


def main():
    root, stamp = sys.argv[1], sys.argv[2]
    empty_directory(root)
    make = Maker(root)
    module_defects(make, root)
    file_defects(make, root)
    seal_defects(make, root)
    zip_defects(make, root)
    with open(stamp, "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
