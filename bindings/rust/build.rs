//! Links libadain_dcs and records the C layout of the public structs.
//!
//! Library: the directory in ADN_LIB_DIR (holding libadain_dcs.so), else what
//! `pkg-config --libs-only-L adain_dcs` says, else the linker's default path.  That directory is
//! also written as an rpath so `cargo test` runs without LD_LIBRARY_PATH.
//!
//! Layout: a small C program compiled with the system `cc` (or $CC) against adain_dcs.h prints
//! sizeof / _Alignof / offsetof of every public struct as Rust source in OUT_DIR/c_layout.rs;
//! tests/layout.rs compares those numbers with the #[repr(C)] mirrors in src/sys.rs.
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "build_support/locate.rs"]
mod locate;

/// Every public struct and its fields, in header order.
const STRUCTS: &[(&str, &[&str])] = &[
    ("adn_image", &["data", "width", "height", "channels"]),
    ("adn_image_u8", &["data", "width", "height", "channels", "stride"]),
    ("adn_read_params", &["max_pixels", "mode", "raw_values"]),
    ("adn_image_info", &["format", "width", "height", "bit_depth", "file_channels", "has_alpha"]),
    ("adn_write_params", &["jpeg_quality", "png_bit_depth"]),
    ("adn_depth_norm_params", &["is_disparity", "has_invalid", "invalid_value"]),
    ("adn_model_params", &["device", "cuda_device_index", "n_threads", "load_depth", "optimize"]),
    ("adn_model_info", &["feature_channels", "downsample", "depth_kind", "device", "depth_lo", "depth_hi"]),
    (
        "adn_stylize_params",
        &[
            "alpha",
            "mask",
            "style_weights",
            "region_masks",
            "depth_source",
            "depth",
            "depth_is_disparity",
            "depth_has_invalid",
            "depth_invalid_value",
            "preserve_color",
            "out_depth",
            "out_strength",
        ],
    ),
];

const ENUMS: &[&str] = &[
    "adn_status",
    "adn_log_level",
    "adn_file_format",
    "adn_pixel_mode",
    "adn_device",
    "adn_depth_kind",
    "adn_depth_source",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build_support/locate.rs");
    println!("cargo:rerun-if-env-changed=ADN_LIB_DIR");
    println!("cargo:rerun-if-env-changed=ADN_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG");

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));

    match library_dir() {
        Some(dir) => {
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        }
        None => println!(
            "cargo:warning=libadain_dcs not located (set ADN_LIB_DIR or install its pkg-config file); \
             relying on the linker's default search path"
        ),
    }
    println!("cargo:rustc-link-lib=dylib=adain_dcs");

    let layout = match include_dir(&manifest_dir) {
        Some(dir) => {
            println!("cargo:rerun-if-changed={}", dir.join("adain_dcs.h").display());
            probe_layout(&dir, &out_dir)
        }
        None => Err("adain_dcs.h not found (set ADN_INCLUDE_DIR)".to_string()),
    };
    let source = match layout {
        Ok(source) => source,
        Err(why) => {
            println!("cargo:warning=C layout probe unavailable: {}", why);
            unavailable_layout(&why)
        }
    };
    fs::write(out_dir.join("c_layout.rs"), source).expect("write c_layout.rs");
}

fn library_dir() -> Option<PathBuf> {
    if let Some(dir) = env::var_os("ADN_LIB_DIR") {
        if !dir.is_empty() {
            return Some(PathBuf::from(dir));
        }
    }
    locate::pkg_config_dirs(&locate::pkg_config_program(), &["--libs-only-L", "adain_dcs"], "-L")
        .into_iter()
        .next()
}

fn include_dir(manifest_dir: &Path) -> Option<PathBuf> {
    if let Some(dir) = env::var_os("ADN_INCLUDE_DIR") {
        return Some(PathBuf::from(dir));
    }
    // In the source tree first, then what pkg-config says, then the system include directory
    // (also when pkg-config itself is missing).
    locate::in_tree_header_dir(manifest_dir)
        .or_else(|| locate::header_dir(&locate::pkg_config_program(), &[PathBuf::from("/usr/include")]))
}

/// C source printing the Rust file with the layout table.
fn probe_source() -> String {
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"adain_dcs.h\"\n\nint main(void) {\n",
    );
    c.push_str(
        "    puts(\"/// (struct, size, align, [(field, offset)]) as the C compiler lays them out.\");\n",
    );
    c.push_str("    puts(\"pub const STRUCTS: &[(&str, usize, usize, &[(&str, usize)])] = &[\");\n");
    for (name, fields) in STRUCTS {
        c.push_str(&format!(
            "    printf(\"    (\\\"{n}\\\", %zu, %zu, &[\\n\", sizeof({n}), (size_t)_Alignof({n}));\n",
            n = name
        ));
        for field in *fields {
            c.push_str(&format!(
                "    printf(\"        (\\\"{f}\\\", %zu),\\n\", offsetof({n}, {f}));\n",
                n = name,
                f = field
            ));
        }
        c.push_str("    puts(\"    ]),\");\n");
    }
    c.push_str("    puts(\"];\");\n");
    c.push_str("    puts(\"/// (enum, size) as the C compiler lays them out.\");\n");
    c.push_str("    puts(\"pub const ENUMS: &[(&str, usize)] = &[\");\n");
    for name in ENUMS {
        c.push_str(&format!("    printf(\"    (\\\"{n}\\\", %zu),\\n\", sizeof({n}));\n", n = name));
    }
    c.push_str("    puts(\"];\");\n");
    c.push_str("    printf(\"pub const VERSION_NUMBER: i32 = %d;\\n\", ADN_VERSION_NUMBER);\n");
    c.push_str("    printf(\"pub const VERSION_STRING: &str = \\\"%s\\\";\\n\", ADN_VERSION_STRING);\n");
    c.push_str("    printf(\"pub const ADAIN_EPS: f32 = %.9g;\\n\", (double)ADN_ADAIN_EPS);\n");
    c.push_str("    puts(\"pub const AVAILABLE: bool = true;\");\n");
    c.push_str("    puts(\"pub const UNAVAILABLE_REASON: &str = \\\"\\\";\");\n");
    c.push_str("    return 0;\n}\n");
    c
}

fn probe_layout(include: &Path, out_dir: &Path) -> Result<String, String> {
    let source = out_dir.join("layout_probe.c");
    let program = out_dir.join("layout_probe");
    fs::write(&source, probe_source()).map_err(|e| format!("cannot write {}: {}", source.display(), e))?;
    let compiler = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let compiled = Command::new(&compiler)
        .arg("-std=c11")
        .arg("-I")
        .arg(include)
        .arg(&source)
        .arg("-o")
        .arg(&program)
        .output()
        .map_err(|e| format!("cannot run {}: {}", compiler, e))?;
    if !compiled.status.success() {
        return Err(format!("{} failed: {}", compiler, String::from_utf8_lossy(&compiled.stderr).trim()));
    }
    let ran = Command::new(&program).output().map_err(|e| format!("cannot run the probe: {}", e))?;
    if !ran.status.success() {
        return Err("the layout probe failed".to_string());
    }
    String::from_utf8(ran.stdout).map_err(|_| "the layout probe printed non-UTF-8".to_string())
}

fn unavailable_layout(why: &str) -> String {
    format!(
        "pub const STRUCTS: &[(&str, usize, usize, &[(&str, usize)])] = &[];\n\
         pub const ENUMS: &[(&str, usize)] = &[];\n\
         pub const VERSION_NUMBER: i32 = -1;\n\
         pub const VERSION_STRING: &str = \"\";\n\
         pub const ADAIN_EPS: f32 = 0.0;\n\
         pub const AVAILABLE: bool = false;\n\
         pub const UNAVAILABLE_REASON: &str = {:?};\n",
        why
    )
}
