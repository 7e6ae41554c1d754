//! An rpath for this crate's own test, example and binary targets, and the library directory for
//! crates that depend on this one.
//!
//! adain-dcs-sys finds the library and passes its directory as `links` metadata
//! (DEP_ADAIN_DCS_LIB_DIR).  Its `cargo:rustc-link-arg` rpath only reaches its own targets, not
//! the binaries of its dependents, so this build script adds the same rpath for this crate's
//! targets and hands the directory on as DEP_ADAIN_DCS_RS_LIB_DIR (this crate's `links` key) to
//! the build scripts of crates that depend on it.  Their binaries need one line (see
//! bindings/README.md, "Rust"):
//!
//! ```text
//! if let Ok(dir) = std::env::var("DEP_ADAIN_DCS_RS_LIB_DIR") { println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir) }
//! ```
use std::env;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_ADAIN_DCS_LIB_DIR");
    if let Some(dir) = env::var_os("DEP_ADAIN_DCS_LIB_DIR").filter(|d| !d.is_empty()) {
        let dir = dir.to_string_lossy().into_owned();
        if dir.contains(',') {
            // `-Wl,` would split the directory at the comma.
            for arg in ["-Xlinker", "-rpath", "-Xlinker", dir.as_str()] {
                println!("cargo:rustc-link-arg={}", arg);
            }
        } else {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
        }
        println!("cargo:lib_dir={}", dir);
    }
}
