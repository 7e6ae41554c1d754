"""adn-video's video features end to end (examples/adn-video.c, examples/y4m.c): --stats and its
flicker measure against a computation made here from the two streams, the pass-through of frame
rate, aspect and interlacing, content-statistics smoothing and scene cuts (docs/METHOD.md §8).

Run by tests/meson.build (suite 'programs') with pytest under the python that has torch, which
also exports the analytic bundle; ADN_BUILD_DIR points at the build folder.  The scene-cut case
uses the shared test video (skipped without it or without ffmpeg).
"""
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

BUILD = os.environ.get("ADN_BUILD_DIR", "")
SOURCE = os.environ.get("ADN_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("ADN_SHARED_DATA") or os.path.join(SOURCE, "..", "shared", "data")
PYTHON = os.environ.get("ADN_PYTHON_TORCH") or sys.executable
VIDEO = os.path.join(BUILD, "examples", "adn-video")

if not (BUILD and os.path.exists(VIDEO)):
    pytest.skip("ADN_BUILD_DIR does not hold examples/adn-video", allow_module_level=True)
if os.environ.get("ADN_HAVE_TORCH", "1") != "1":
    pytest.skip("library built without the torch backend: no model runs", allow_module_level=True)
Image = pytest.importorskip("PIL.Image", reason="PIL is needed to write the test style")


@pytest.fixture(scope="session")
def analytic(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "analytic"
    done = subprocess.run([PYTHON, os.path.join(SOURCE, "tools", "adn-export"), "--analytic", "--out", str(out)],
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr.decode()
    return out


@pytest.fixture(scope="session")
def style(tmp_path_factory):
    rng = np.random.default_rng(3)
    path = tmp_path_factory.mktemp("style") / "style.png"
    Image.fromarray(rng.integers(30, 220, (20, 28, 3), dtype=np.uint8)).save(path)
    return path


def make_y4m(width, height, frames, tags=b"F30000:1001 Ib A4:3 C444"):
    """frames: list of 3 x H x W uint8 arrays (Y, Cb, Cr)."""
    return b"YUV4MPEG2 W%d H%d %s\n" % (width, height, tags) + b"".join(
        b"FRAME\n" + np.ascontiguousarray(f, np.uint8).tobytes() for f in frames)


def split_y4m(data):
    """(header line, [frame bytes]) of a stream whose frames have no parameters."""
    header, rest = data.split(b"\n", 1)
    tags = {t[:1]: t[1:] for t in header.split(b" ")[1:]}
    w, h = int(tags[b"W"]), int(tags[b"H"])
    chroma = tags.get(b"C", b"420jpeg")
    size = 3 * w * h if chroma == b"444" else w * h + 2 * ((w + 1) // 2) * ((h + 1) // 2)
    frames = []
    while rest:
        assert rest.startswith(b"FRAME\n")
        frames.append(rest[6:6 + size])
        assert len(frames[-1]) == size, "truncated frame"
        rest = rest[6 + size:]
    return header, frames


def flicker_of(ins, outs):
    """METHOD.md §8, written here from the formula: the sums over t >= 2 of the mean absolute
    frame-to-frame change of the 8-bit samples, output over input."""
    def change(frames):
        arrays = [np.frombuffer(f, np.uint8).astype(np.int64) for f in frames]
        return sum(np.abs(arrays[t] - arrays[t - 1]).mean() for t in range(1, len(arrays)))
    return change(outs) / change(ins)


def run_video(analytic, style, stream, *args):
    return subprocess.run([VIDEO, "--models", str(analytic), "--style", str(style), "--quiet", *args], input=stream,
                          capture_output=True, timeout=600)


def stats_of(stderr):
    text = stderr.decode()
    frames = re.search(r"stats: (\d+) frames, (\d+)x(\d+), frame rate (\S+), aspect (\S+)", text)
    flicker = re.search(r"stats: flicker ([0-9.]+) \(mean \|out_t - out_t-1\| ([0-9.]+) / mean \|in_t - in_t-1\| ([0-9.]+)",
                        text)
    library = re.search(r"stats: library ([0-9.]+) ms per frame \(median of (\d+)\), ([0-9.]+) frames/s", text)
    assert frames and flicker and library, text
    return frames.groups(), tuple(float(v) for v in flicker.groups()), library.groups()


def moving_frames(rng, count, width=40, height=24, step=6):
    """A textured picture that drifts by `step` codes per frame, with a little noise of its own."""
    base = rng.integers(40, 200, (3, height, width)).astype(np.int64)
    return [np.clip(base + step * t + rng.integers(-3, 4, base.shape), 16, 235).astype(np.uint8) for t in range(count)]


def test_help_documents_the_video_options():
    done = subprocess.run([VIDEO, "--help"], capture_output=True, timeout=60)
    assert done.returncode == 0
    text = done.stdout.decode()
    for option in ("--content-ema C", "--scene-cut T", "--stats", "--max-side N", "--max-pixels N",
                   "--memory-budget BYTES", "SHORT side"):
        assert option in text
    assert "-map 0:v -map 1:a? -c:a copy" in text  # how to put the original audio back


def test_stats_flicker_matches_the_streams_and_header_passes_through(analytic, style):
    rng = np.random.default_rng(11)
    stream = make_y4m(40, 24, moving_frames(rng, 5))
    done = run_video(analytic, style, stream, "--stats")
    assert done.returncode == 0, done.stderr.decode()
    in_header, ins = split_y4m(stream)
    out_header, outs = split_y4m(done.stdout)
    assert out_header == in_header  # F30000:1001, Ib and A4:3 unchanged
    assert len(outs) == 5
    (frames, w, h, rate, aspect), (value, out_change, in_change), (ms, n_median, fps) = stats_of(done.stderr)
    assert (frames, w, h, rate, aspect) == ("5", "40", "24", "30000:1001", "4:3")
    assert n_median == "5" and float(ms) > 0 and float(fps) > 0
    want = flicker_of(ins, outs)
    assert abs(value - want) <= 6e-5, (value, want)
    assert abs(in_change - _mean_change(ins)) <= 6e-5
    assert abs(out_change - _mean_change(outs)) <= 6e-5
    assert value != pytest.approx(1.0, abs=1e-3)  # a style that changes the picture changes its motion


def _mean_change(frames):
    arrays = [np.frombuffer(f, np.uint8).astype(np.int64) for f in frames]
    return float(np.mean([np.abs(arrays[t] - arrays[t - 1]).mean() for t in range(1, len(arrays))]))


def test_alpha_zero_has_flicker_one_and_stats_handle_short_or_still_input(analytic, style):
    rng = np.random.default_rng(12)
    frames = moving_frames(rng, 4)
    done = run_video(analytic, style, make_y4m(40, 24, frames), "--stats", "--alpha", "0")
    assert done.returncode == 0, done.stderr.decode()
    assert stats_of(done.stderr)[1][0] == 1.0  # 4:4:4 with S = 0 gives the frames back: no flicker added
    one = run_video(analytic, style, make_y4m(40, 24, frames[:1], tags=b"C444"), "--stats")
    assert one.returncode == 0 and b"flicker n/a (fewer than two frames)" in one.stderr
    assert b"frame rate unknown, aspect unknown" in one.stderr
    still = run_video(analytic, style, make_y4m(40, 24, [frames[0]] * 3), "--stats")
    assert still.returncode == 0 and b"flicker n/a (the input never changes)" in still.stderr


def test_content_ema_smooths_after_the_first_frame(analytic, style):
    rng = np.random.default_rng(13)
    stream = make_y4m(40, 24, moving_frames(rng, 4, step=12))
    exact = run_video(analytic, style, stream, "--depth-ema", "0")
    smoothed = run_video(analytic, style, stream, "--depth-ema", "0", "--content-ema", "0.9")
    assert exact.returncode == 0 and smoothed.returncode == 0, smoothed.stderr.decode()
    _, a = split_y4m(exact.stdout)
    _, b = split_y4m(smoothed.stdout)
    assert a[0] == b[0]               # the first frame starts the average at its own statistics
    assert all(x != y for x, y in zip(a[1:], b[1:]))
    for bad in ("1", "-0.1", "x"):
        refused = run_video(analytic, style, stream, "--content-ema", bad)
        assert refused.returncode == 1 and b"--content-ema" in refused.stderr
    refused = run_video(analytic, style, stream, "--scene-cut", "-1")
    assert refused.returncode == 1 and b"--scene-cut" in refused.stderr


@pytest.fixture(scope="session")
def bunny_cut(tmp_path_factory):
    """12 small frames of the shared test video around its scene cut, and the index of the first
    frame after the cut (found here from the luma change)."""
    source = os.path.join(DATA, "video", "cutBunny.mp4")
    if not os.path.exists(source):
        pytest.skip(f"no test video at {source}")
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    path = tmp_path_factory.mktemp("bunny") / "cut.y4m"
    done = subprocess.run(["ffmpeg", "-v", "error", "-i", source, "-vf", "trim=start_frame=228,setpts=PTS-STARTPTS,scale=96:54",
                           "-frames:v", "12", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-y", str(path)],
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    stream = path.read_bytes()
    header, frames = split_y4m(stream)
    luma = [np.frombuffer(f[:96 * 54], np.uint8).astype(np.int64) for f in frames]
    changes = [np.abs(luma[t] - luma[t - 1]).mean() for t in range(1, len(luma))]
    cut = int(np.argmax(changes)) + 1
    assert changes[cut - 1] > 5 * np.median(changes), changes
    return header, frames, cut


def test_scene_cut_restarts_the_smoothing_on_the_bunny(analytic, style, bunny_cut):
    header, frames, cut = bunny_cut
    stream = header + b"\n" + b"".join(b"FRAME\n" + f for f in frames)
    after_cut = header + b"\n" + b"".join(b"FRAME\n" + f for f in frames[cut:])
    smoothing = ["--depth-ema", "0.8", "--range-ema", "0.5", "--content-ema", "0.8"]
    detected = run_video(analytic, style, stream, *smoothing, "--scene-cut", "0.1")
    blind = run_video(analytic, style, stream, *smoothing)
    fresh = run_video(analytic, style, after_cut, *smoothing, "--scene-cut", "0.1")
    for done in (detected, blind, fresh):
        assert done.returncode == 0, done.stderr.decode()
    _, with_cut = split_y4m(detected.stdout)
    _, without = split_y4m(blind.stdout)
    _, restarted = split_y4m(fresh.stdout)
    assert len(with_cut) == len(frames) and len(restarted) == len(frames) - cut
    assert with_cut[cut:] == restarted           # from the cut on: exactly a stream that starts there
    assert without[cut] != restarted[0]          # without detection the old shot's state leaks in
    assert with_cut[:cut] == without[:cut]       # before the cut the two runs are the same


def test_style_size_is_the_short_side_and_limits_are_settable(analytic, style):
    """--style-size means the short side, as in adn-stylize and the peers: the 20 x 28 style at
    short side 10 is 10 x 14, which --max-side 14 also gives, so the two streams are equal byte for
    byte (a long-side meaning would give 7 x 10).  --max-pixels refuses frames and styles above it,
    and --memory-budget refuses a frame that cannot fit, before any output frame."""
    rng = np.random.default_rng(5)
    stream = make_y4m(40, 24, moving_frames(rng, 2))
    short = run_video(analytic, style, stream, "--style-size", "10")
    assert short.returncode == 0, short.stderr.decode()
    capped = run_video(analytic, style, stream, "--max-side", "14")
    assert capped.returncode == 0, capped.stderr.decode()
    assert short.stdout == capped.stdout
    assert short.stdout != run_video(analytic, style, stream).stdout

    frames_too_big = run_video(analytic, style, stream, "--max-pixels", "900")  # 40 x 24 = 960
    assert frames_too_big.returncode == 2
    assert "above --max-pixels 900" in frames_too_big.stderr.decode()
    small = make_y4m(16, 16, moving_frames(rng, 1, 16, 16))
    style_too_big = run_video(analytic, style, small, "--max-pixels", "500")  # the style has 560
    assert style_too_big.returncode == 2, style_too_big.stderr.decode()
    assert "style" in style_too_big.stderr.decode()
    no_room = run_video(analytic, style, stream, "--memory-budget", "1")
    assert no_room.returncode == 2, no_room.stderr.decode()
    assert "memory budget" in no_room.stderr.decode()
    assert b"FRAME" not in no_room.stdout  # refused before the first frame was written


def _folder_listing(folder):
    return sorted(os.listdir(folder))


def _writes_into(pid, folder):
    """Whether process pid has a file in folder open (Linux /proc; an unnamed O_TMPFILE file shows
    as 'folder/#inode (deleted)')."""
    fds = f"/proc/{pid}/fd"
    for fd in os.listdir(fds):
        try:
            if os.readlink(os.path.join(fds, fd)).startswith(str(folder) + "/"):
                return True
        except OSError:
            pass
    return False


def test_output_file_is_replaced_only_by_a_complete_stream(analytic, style, tmp_path):
    """--output FILE takes its name only once the whole stream is written: a truncated input (exit
    2) or a kill -9 halfway leaves the old file byte for byte and no temporary file in its folder;
    a good run replaces it with exactly what standard output gets."""
    rng = np.random.default_rng(17)
    frames = moving_frames(rng, 6)
    stream = make_y4m(40, 24, frames)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "video.y4m"
    old = b"the old file, which must survive\n"
    target.write_bytes(old)

    truncated = stream[:len(stream) - 100]  # the last frame is cut short
    done = run_video(analytic, style, truncated, "--output", str(target))
    assert done.returncode == 2, done.stderr.decode()
    assert target.read_bytes() == old
    assert _folder_listing(out_dir) == ["video.y4m"]

    # kill -9 while frames are being written: a long input from a pipe that never ends.
    source = subprocess.Popen([VIDEO, "--models", str(analytic), "--style", str(style), "--quiet",
                               "--output", str(target)], stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    header, frame_bytes = stream.split(b"\n", 1)[0] + b"\n", stream.split(b"\n", 1)[1]
    source.stdin.write(header)
    one_frame = frame_bytes[:len(frame_bytes) // 6]
    deadline = time.monotonic() + 120
    while not _writes_into(source.pid, out_dir):  # the model is loaded and the output open
        assert time.monotonic() < deadline and source.poll() is None, source.stderr.read().decode()
        source.stdin.write(one_frame)
        source.stdin.flush()
        time.sleep(0.05)
    for _ in range(3):
        source.stdin.write(one_frame)
        source.stdin.flush()
    source.kill()
    source.wait(timeout=60)
    assert target.read_bytes() == old
    assert _folder_listing(out_dir) == ["video.y4m"]

    done = run_video(analytic, style, stream, "--output", str(target))
    assert done.returncode == 0, done.stderr.decode()
    to_stdout = run_video(analytic, style, stream)
    assert target.read_bytes() == to_stdout.stdout
    assert _folder_listing(out_dir) == ["video.y4m"]


def test_output_to_a_fifo_streams_directly(analytic, style, tmp_path):
    """A FIFO given as --output is another program's pipe: written directly, not replaced."""
    rng = np.random.default_rng(19)
    stream = make_y4m(40, 24, moving_frames(rng, 2))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    done = run_video(analytic, style, stream, "--output", str(fifo))
    received = reader.communicate(timeout=120)[0]
    assert done.returncode == 0, done.stderr.decode()
    assert received == run_video(analytic, style, stream).stdout
    assert os.path.exists(fifo) and not os.path.isfile(fifo)
