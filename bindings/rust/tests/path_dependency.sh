#!/bin/sh
# A cargo project of its own, outside this workspace, that depends on the adain-dcs crate by path:
# it must build offline and its binary must run without LD_LIBRARY_PATH, i.e. find
# libadain_dcs.so.N through the rpath its build.rs adds with the one line bindings/README.md
# ("Rust") documents.  The library is located as for any user: ADN_BUILD_DIR or ADN_LIB_DIR if
# set, else the checkout's build/ directory, else pkg-config.
#
# A second project without that line is built too: when the library is not on the loader's
# default path its binary must fail to start, which shows the line is what makes the first work.
#
# Exit 0: passed; 77: skipped (no cargo); anything else: failed.
set -eu

CARGO=${CARGO:-cargo}
if ! command -v "$CARGO" >/dev/null 2>&1; then
    echo "SKIP: cargo not found"
    exit 77
fi

workspace=$(cd "$(dirname "$0")/.." && pwd) # bindings/rust
tmp=$(mktemp -d "${TMPDIR:-/tmp}/adn-rust-path-dependency.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# write_project DIR NAME WITH_RPATH_LINE
write_project() {
    mkdir -p "$1/src"
    # The empty [workspace] keeps the project its own workspace wherever TMPDIR is.
    cat >"$1/Cargo.toml" <<EOF
[package]
name = "$2"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
adain-dcs = { path = "$workspace/adain-dcs" }

[workspace]
EOF
    if [ "$3" = yes ]; then
        cat >"$1/build.rs" <<'EOF'
fn main() {
    // The one line of bindings/README.md ("Rust"): an rpath to the directory adain-dcs linked.
    if let Ok(dir) = std::env::var("DEP_ADAIN_DCS_RS_LIB_DIR") { println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir) }
}
EOF
    fi
    cat >"$1/src/main.rs" <<'EOF'
use adain_dcs::{Image, Status};

fn main() {
    // Calls into the library: version, the math, an image conversion and an error message.
    let (mean, std) = adain_dcs::channel_stats(&[1.0, 2.0, 3.0, 4.0], 1, adain_dcs::ADAIN_EPS).unwrap();
    assert!((mean[0] - 2.5).abs() < 1e-6 && (std[0] - (5.0f32 / 3.0 + 1e-5).sqrt()).abs() < 1e-5);
    let image = Image::from_interleaved_u8(&[0, 128, 255], 3, 1, 1).unwrap();
    assert_eq!(image.shape(), (3, 1, 1));
    let err = adain_dcs::depth_range_map(&[], 0.0, 1.0).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    println!("path dependency ok: libadain_dcs {} (torch: {})", adain_dcs::version(), adain_dcs::has_feature("torch"));
}
EOF
}

write_project "$tmp/with-line" adn-path-dependency yes
write_project "$tmp/without-line" adn-path-dependency-no-rpath no

echo "== cargo build --offline (a separate project depending on $workspace/adain-dcs)"
for project in with-line without-line; do
    "$CARGO" build --offline --quiet --manifest-path "$tmp/$project/Cargo.toml" --target-dir "$tmp/target"
done

binary="$tmp/target/debug/adn-path-dependency"
echo "== $binary (LD_LIBRARY_PATH unset)"
output=$(env -u LD_LIBRARY_PATH "$binary")
echo "$output"
case "$output" in
*"path dependency ok"*) ;;
*)
    echo "FAIL: unexpected output"
    exit 1
    ;;
esac

if command -v readelf >/dev/null 2>&1; then
    runpath=$(readelf -d "$binary" | grep -E 'R(UN)?PATH' || true)
    echo "$runpath"
    if [ -z "$runpath" ]; then
        echo "FAIL: the binary has no RUNPATH/RPATH entry"
        exit 1
    fi
fi

echo "== the same program without the build.rs line"
if env -u LD_LIBRARY_PATH "$tmp/target/debug/adn-path-dependency-no-rpath" >"$tmp/no-rpath.log" 2>&1; then
    echo "note: it runs too: libadain_dcs is on the loader's default path here (installed), so this"
    echo "      run cannot show that the line is needed"
else
    echo "fails as expected without the rpath line: $(head -n 1 "$tmp/no-rpath.log")"
fi
echo "PASS"
