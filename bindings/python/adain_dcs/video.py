"""Video helpers: the flicker measure of docs/METHOD.md §8 and a small YUV4MPEG2 (Y4M) reader.

The flicker of a stylized sequence compares how much the output changes from frame to frame with
how much the input does::

    flicker = sum_{t>=2} mean|out_t - out_{t-1}|  /  sum_{t>=2} mean|in_t - in_{t-1}|

1.0 means the stylization adds no change of its own; above 1 it flickers.  Inputs and outputs must
be on one scale (8-bit codes, or floats in [0,1]); the means run over every value of a frame.
``adn-video --stats`` prints the same number for its 8-bit Y4M samples, which
:func:`flicker_y4m` computes from the two files::

    import adain_dcs.video as video
    print(video.flicker_y4m("in.y4m", "out.y4m"))

    meter = video.FlickerMeter()              # or frame by frame, e.g. while stylizing
    for frame in frames:
        meter.add(frame, ctx.stylize(frame, style).image)
    print(meter.value)

numpy is used when present (the frames may then be any arrays of one shape); without it frames are
bytes-like objects of 8-bit samples.
"""
from __future__ import annotations

import os
from typing import Any, BinaryIO, Dict, Iterable, Iterator, Optional, Tuple, Union

from .errors import Status, binding_error

try:
    import numpy as np
except ImportError:  # pragma: no cover - exercised without numpy only
    np = None  # type: ignore[assignment]

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["FlickerMeter", "flicker", "flicker_y4m", "mean_abs_difference", "read_y4m", "Y4MHeader"]


def mean_abs_difference(a: Any, b: Any) -> float:
    """mean |a - b| over every value of two frames of one shape (numpy arrays or bytes-like)."""
    if np is not None and not isinstance(a, (bytes, bytearray, memoryview)):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            raise binding_error(Status.INVALID_ARGUMENT,
                                f"frames of different shapes {x.shape} and {y.shape}")
        if x.size == 0:
            raise binding_error(Status.INVALID_ARGUMENT, "empty frame")
        return float(np.abs(x.astype(np.float64) - y.astype(np.float64)).mean())
    x, y = memoryview(a).cast("B"), memoryview(b).cast("B")
    if len(x) != len(y) or len(x) == 0:
        raise binding_error(Status.INVALID_ARGUMENT,
                            f"frames of {len(x)} and {len(y)} samples: they must be equal and non-empty")
    if np is not None:
        return float(np.abs(np.frombuffer(x, np.uint8).astype(np.int16)
                            - np.frombuffer(y, np.uint8).astype(np.int16)).mean())
    return sum(abs(p - q) for p, q in zip(x, y)) / len(x)


class FlickerMeter:
    """Accumulates the flicker of a sequence one (input, output) pair at a time."""

    def __init__(self) -> None:
        self.frames = 0
        self.input_change = 0.0   # sum over t >= 2 of mean |in_t - in_{t-1}|
        self.output_change = 0.0  # the same for the outputs
        self._previous: Optional[Tuple[Any, Any]] = None

    def add(self, input_frame: Any, output_frame: Any) -> None:
        """Adds frame t (its input and its output; copies are kept for the next comparison)."""
        if self._previous is not None:
            self.input_change += mean_abs_difference(input_frame, self._previous[0])
            self.output_change += mean_abs_difference(output_frame, self._previous[1])
        self._previous = (_copy(input_frame), _copy(output_frame))
        self.frames += 1

    @property
    def value(self) -> Optional[float]:
        """The flicker, or None for fewer than two frames or an input that never changes."""
        if self.frames < 2 or self.input_change <= 0.0:
            return None
        return self.output_change / self.input_change


def _copy(frame: Any) -> Any:
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return bytes(frame)
    return np.array(frame, copy=True) if np is not None else frame


def flicker(inputs: Iterable[Any], outputs: Iterable[Any]) -> Optional[float]:
    """The flicker of a sequence: inputs[t] and outputs[t] are frame t before and after; both
    sequences must have the same length."""
    meter = FlickerMeter()
    inputs_it, outputs_it = iter(inputs), iter(outputs)
    sentinel = object()
    while True:
        a, b = next(inputs_it, sentinel), next(outputs_it, sentinel)
        if a is sentinel and b is sentinel:
            return meter.value
        if a is sentinel or b is sentinel:
            raise binding_error(Status.INVALID_ARGUMENT,
                                "inputs and outputs have different numbers of frames")
        meter.add(a, b)


class Y4MHeader:
    """The stream header of a Y4M file: sizes, chroma, frame rate and aspect as num:den."""

    def __init__(self, line: bytes):
        if not line.startswith(b"YUV4MPEG2"):
            raise binding_error(Status.FORMAT, "not a Y4M stream (no 'YUV4MPEG2' header)")
        self.line = line
        self.tags: Dict[str, str] = {}
        for token in line[9:].decode("ascii", "replace").split():
            self.tags.setdefault(token[0], token[1:])
        try:
            self.width, self.height = int(self.tags["W"]), int(self.tags["H"])
        except (KeyError, ValueError):
            raise binding_error(Status.FORMAT, "bad Y4M header: no usable W and H tags") from None
        self.chroma = self.tags.get("C", "420jpeg")
        if not (self.chroma.startswith("420") or self.chroma == "444"):
            raise binding_error(Status.UNSUPPORTED, f"unsupported Y4M colourspace C{self.chroma}")
        self.rate = _ratio(self.tags.get("F"))
        self.aspect = _ratio(self.tags.get("A"))

    @property
    def frame_size(self) -> int:
        """Bytes of picture data per frame."""
        if self.chroma == "444":
            return 3 * self.width * self.height
        return self.width * self.height + 2 * ((self.width + 1) // 2) * ((self.height + 1) // 2)


def _ratio(text: Optional[str]) -> Optional[Tuple[int, int]]:
    try:
        num, den = (int(v) for v in (text or "").split(":"))
        return (num, den)
    except ValueError:
        return None


def read_y4m(path_or_file: Union[PathLike, BinaryIO]) -> Tuple[Y4MHeader, Iterator[bytes]]:
    """Opens an 8-bit Y4M stream: returns its header and an iterator over the frames' picture data
    (all planes, as stored).  A truncated frame raises FormatError."""
    stream = open(path_or_file, "rb") if isinstance(path_or_file, (str, os.PathLike)) else path_or_file
    header = Y4MHeader(stream.readline())

    def frames() -> Iterator[bytes]:
        try:
            while True:
                line = stream.readline()
                if not line:
                    return
                if not line.startswith(b"FRAME"):
                    raise binding_error(Status.FORMAT, "bad Y4M frame header (expected 'FRAME')")
                data = stream.read(header.frame_size)
                if len(data) != header.frame_size:
                    raise binding_error(Status.FORMAT, f"truncated Y4M frame ({len(data)} of "
                                                       f"{header.frame_size} bytes)")
                yield data
        finally:
            if stream is not path_or_file:
                stream.close()

    return header, frames()


def flicker_y4m(input_path: PathLike, output_path: PathLike) -> Optional[float]:
    """The flicker of output_path against input_path, two Y4M streams of one size, over their 8-bit
    samples (what ``adn-video --stats`` prints)."""
    in_header, in_frames = read_y4m(input_path)
    out_header, out_frames = read_y4m(output_path)
    if (in_header.width, in_header.height, in_header.frame_size) != \
            (out_header.width, out_header.height, out_header.frame_size):
        raise binding_error(Status.INVALID_ARGUMENT, "the two streams have different frame sizes")
    return flicker(in_frames, out_frames)
