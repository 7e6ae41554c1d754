//! Where build.rs looks for the library and the header.  A file of its own (no crate paths, std
//! only) so that tests/locate.rs can check the search with `#[path]`.
#![allow(dead_code)] // each includer uses part of it
use std::path::{Path, PathBuf};
use std::process::Command;

/// The directories `program args...` prints behind `prefix` (`-I`, `-L`).  Empty when the program
/// is missing, fails or prints nothing: pkg-config is only one of the candidates, so its absence
/// must let the search go on to the others rather than end it.
pub fn pkg_config_dirs(program: &str, args: &[&str], prefix: &str) -> Vec<PathBuf> {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| {
            String::from_utf8_lossy(&output.stdout)
                .split_whitespace()
                .filter_map(|flag| flag.strip_prefix(prefix).map(PathBuf::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The pkg-config program: $PKG_CONFIG, else `pkg-config`.
pub fn pkg_config_program() -> String {
    std::env::var("PKG_CONFIG").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "pkg-config".to_string())
}

/// The first directory holding adain_dcs.h among what `pkg_config` says, then `fallbacks`.
pub fn header_dir(pkg_config: &str, fallbacks: &[PathBuf]) -> Option<PathBuf> {
    pkg_config_dirs(pkg_config, &["--cflags-only-I", "adain_dcs"], "-I")
        .into_iter()
        .chain(fallbacks.iter().cloned())
        .find(|dir| dir.join("adain_dcs.h").exists())
}

/// The header in the source tree this crate sits in (bindings/rust -> include/), if it is there.
pub fn in_tree_header_dir(manifest_dir: &Path) -> Option<PathBuf> {
    let dir = manifest_dir.join("../../include");
    if dir.join("adain_dcs.h").exists() {
        Some(dir)
    } else {
        None
    }
}
