//! Finds libadain_dcs, links it with an rpath, and records the C layout of the public structs.
//!
//! Library: the search in build_support/locate.rs (ADN_LIB_DIR, ADN_BUILD_DIR, the source tree's
//! `build` directory, `pkg-config --libs adain_dcs`).  The directory found becomes
//! `rustc-link-search`, an absolute rpath for this crate's own test binaries, and the `links`
//! metadata `lib_dir` (DEP_ADAIN_DCS_LIB_DIR in the build scripts of direct dependents: an rpath
//! from here does not reach their binaries, so adain-dcs's build.rs adds its own).
//!
//! Layout: a small C program compiled with the system `cc` (or $CC) against adain_dcs.h prints
//! sizeof / _Alignof / offsetof of every public struct and the value of every enum constant as
//! Rust source in OUT_DIR/c_layout.rs; tests/layout.rs compares those numbers with the
//! #[repr(C)] mirrors in src/lib.rs.
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "build_support/locate.rs"]
mod locate;

/// Every public struct and its fields, in header order.
const STRUCTS: &[(&str, &[&str])] = &[
    ("adn_image", &["data", "channels", "height", "width"]),
    ("adn_image_u8", &["data", "channels", "height", "width", "stride"]),
    ("adn_read_params",
     &["struct_size", "max_pixels", "mode", "raw_values", "short_side", "max_side", "decoder_scaling"]),
    (
        "adn_image_info",
        &["struct_size", "format", "height", "width", "bit_depth", "file_channels", "has_alpha"],
    ),
    ("adn_write_params", &["struct_size", "jpeg_quality", "png_bit_depth"]),
    ("adn_depth_norm_params", &["is_disparity", "has_invalid", "invalid_value"]),
    (
        "adn_model_params",
        &[
            "struct_size",
            "device",
            "cuda_device_index",
            "n_threads",
            "load_depth",
            "optimize",
            "precision",
            "trust_unsealed",
        ],
    ),
    (
        "adn_model_info",
        &[
            "struct_size",
            "feature_channels",
            "downsample",
            "depth_kind",
            "device",
            "cuda_device_index",
            "precision",
            "backend",
        ],
    ),
    (
        "adn_context_params",
        &["struct_size", "depth_lo", "depth_hi", "progress", "progress_user_data", "memory_budget_bytes"],
    ),
    (
        "adn_stylize_params",
        &[
            "struct_size",
            "alpha",
            "mask",
            "style_weights",
            "region_masks",
            "depth_source",
            "depth",
            "depth_norm",
            "preserve_color",
        ],
    ),
    (
        "adn_timings",
        &[
            "struct_size",
            "style_encode_ms",
            "content_encode_ms",
            "depth_ms",
            "adain_blend_ms",
            "decode_ms",
            "total_ms",
        ],
    ),
    (
        "adn_temporal_params",
        &["struct_size", "depth_ema", "range_ema", "content_stats_ema", "scene_cut_threshold"],
    ),
];

const ENUMS: &[&str] = &[
    "adn_status",
    "adn_log_level",
    "adn_file_format",
    "adn_pixel_mode",
    "adn_device",
    "adn_precision",
    "adn_depth_kind",
    "adn_stage",
    "adn_depth_source",
];

/// Every enum constant and integer macro of the header.
const CONSTANTS: &[&str] = &[
    "ADN_OK",
    "ADN_ERR_INVALID_ARGUMENT",
    "ADN_ERR_OUT_OF_MEMORY",
    "ADN_ERR_IO",
    "ADN_ERR_FORMAT",
    "ADN_ERR_TOO_LARGE",
    "ADN_ERR_NON_FINITE",
    "ADN_ERR_MODEL",
    "ADN_ERR_DEVICE",
    "ADN_ERR_UNSUPPORTED",
    "ADN_ERR_INTERNAL",
    "ADN_ERR_CANCELLED",
    "ADN_LOG_DEBUG",
    "ADN_LOG_INFO",
    "ADN_LOG_WARN",
    "ADN_LOG_ERROR",
    "ADN_FORMAT_UNKNOWN",
    "ADN_FORMAT_PNG",
    "ADN_FORMAT_JPEG",
    "ADN_PIXELS_RGB",
    "ADN_PIXELS_GRAY",
    "ADN_DEFAULT_MAX_PIXELS",
    "ADN_DEVICE_AUTO",
    "ADN_DEVICE_CPU",
    "ADN_DEVICE_CUDA",
    "ADN_PRECISION_FP32",
    "ADN_PRECISION_BF16",
    "ADN_PRECISION_FP16",
    "ADN_MAX_THREADS",
    "ADN_DEPTH_KIND_NONE",
    "ADN_DEPTH_KIND_DEPTH",
    "ADN_DEPTH_KIND_DISPARITY",
    "ADN_STAGE_ENCODE_CONTENT",
    "ADN_STAGE_ENCODE_STYLE",
    "ADN_STAGE_DEPTH",
    "ADN_STAGE_ADAIN_BLEND",
    "ADN_STAGE_DECODE",
    "ADN_DEPTH_AUTO",
    "ADN_DEPTH_NETWORK",
    "ADN_DEPTH_CALLER",
    "ADN_DEPTH_NONE",
    "ADN_VERSION_MAJOR",
    "ADN_VERSION_MINOR",
    "ADN_VERSION_PATCH",
    "ADN_VERSION_NUMBER",
    "ADN_SOVERSION",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build_support/locate.rs");
    for var in ["ADN_LIB_DIR", "ADN_BUILD_DIR", "ADN_INCLUDE_DIR", "CC", "PKG_CONFIG", "PKG_CONFIG_PATH"] {
        println!("cargo:rerun-if-env-changed={}", var);
    }

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let pkg_config = locate::pkg_config_program();

    let library = match locate::find_library(&|name| env::var_os(name), &manifest_dir, &pkg_config) {
        Ok(found) => found,
        // A variable that points at no library: stop with the reason rather than link another copy.
        Err(why) => panic!("adain-dcs-sys: {}", why),
    };
    match &library {
        Some(lib) => {
            println!("cargo:rustc-link-search=native={}", lib.lib_dir.display());
            for arg in locate::rpath_args(&lib.lib_dir) {
                println!("cargo:rustc-link-arg={}", arg);
            }
            println!("cargo:lib_dir={}", lib.lib_dir.display());
            if let Some(pc) = &lib.pc_file {
                println!("cargo:rerun-if-changed={}", pc.display());
            }
        }
        None => println!(
            "cargo:warning=libadain_dcs not located (set ADN_BUILD_DIR or ADN_LIB_DIR, or install its \
             pkg-config file); relying on the linker's default search path, without an rpath"
        ),
    }
    println!("cargo:rustc-link-lib=dylib=adain_dcs");

    let include_dirs = include_dirs(&manifest_dir, library.as_ref(), &pkg_config);
    let header = include_dirs.iter().map(|d| d.join("adain_dcs.h")).find(|h| h.is_file());
    let layout = match &header {
        Some(header) => {
            println!("cargo:rerun-if-changed={}", header.display());
            if let Ok(joined) = env::join_paths(&include_dirs) {
                println!("cargo:include={}", joined.to_string_lossy());
            }
            probe_layout(&include_dirs, header, &out_dir)
        }
        None => Err(format!(
            "adain_dcs.h not found (searched {}; set ADN_INCLUDE_DIR)",
            include_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
        )),
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

/// Include directories for the probe, in search order: ADN_INCLUDE_DIR, those of the library's
/// pkg-config file (a meson build directory also holds the generated adain_dcs_version.h), the
/// source tree's include/, what pkg-config says, /usr/include.
fn include_dirs(manifest_dir: &Path, library: Option<&locate::Library>, pkg_config: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = env::var_os("ADN_INCLUDE_DIR").filter(|d| !d.is_empty()) {
        dirs.push(locate::resolve(Path::new(&dir), manifest_dir));
    }
    if let Some(lib) = library {
        dirs.extend(lib.include_dirs.iter().cloned());
    }
    if let Some(dir) = locate::in_tree_header_dir(manifest_dir) {
        dirs.push(dir);
    }
    dirs.extend(locate::pkg_config_dirs(pkg_config, &["--cflags-only-I", locate::PC_NAME], "-I"));
    dirs.push(PathBuf::from("/usr/include"));
    let mut unique = Vec::new();
    for dir in dirs {
        if dir.is_dir() && !unique.contains(&dir) {
            unique.push(dir);
        }
    }
    unique
}

/// C source printing the Rust file with the layout table.
fn probe_source() -> String {
    let mut c = String::from(
        "#define ADN_EXPERIMENTAL_API 1\n#include <stdio.h>\n#include <stddef.h>\n#include \"adain_dcs.h\"\n\n\
         int main(void) {\n",
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
    c.push_str("    puts(\"/// (constant, value) as the header defines them.\");\n");
    c.push_str("    puts(\"pub const CONSTANTS: &[(&str, i64)] = &[\");\n");
    for name in CONSTANTS {
        c.push_str(&format!("    printf(\"    (\\\"{n}\\\", %lld),\\n\", (long long)({n}));\n", n = name));
    }
    c.push_str("    puts(\"];\");\n");
    c.push_str("    printf(\"pub const VERSION_STRING: &str = \\\"%s\\\";\\n\", ADN_VERSION_STRING);\n");
    c.push_str("    printf(\"pub const ADAIN_EPS: f32 = %.9g;\\n\", (double)ADN_ADAIN_EPS);\n");
    c.push_str("    puts(\"pub const AVAILABLE: bool = true;\");\n");
    c.push_str("    puts(\"pub const UNAVAILABLE_REASON: &str = \\\"\\\";\");\n");
    c.push_str("    return 0;\n}\n");
    c
}

fn probe_layout(include_dirs: &[PathBuf], header: &Path, out_dir: &Path) -> Result<String, String> {
    let source = out_dir.join("layout_probe.c");
    let program = out_dir.join("layout_probe");
    fs::write(&source, probe_source()).map_err(|e| format!("cannot write {}: {}", source.display(), e))?;
    let compiler = env::var("CC").ok().filter(|c| !c.is_empty()).unwrap_or_else(|| "cc".to_string());
    let mut command = Command::new(&compiler);
    command.arg("-std=c11");
    for dir in include_dirs {
        command.arg("-I").arg(dir);
    }
    let compiled = command
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
    let table =
        String::from_utf8(ran.stdout).map_err(|_| "the layout probe printed non-UTF-8".to_string())?;
    Ok(format!(
        "/// The header the probe was compiled against.\npub const HEADER: &str = {:?};\n{}",
        header.display().to_string(),
        table
    ))
}

fn unavailable_layout(why: &str) -> String {
    format!(
        "pub const HEADER: &str = \"\";\n\
         pub const STRUCTS: &[(&str, usize, usize, &[(&str, usize)])] = &[];\n\
         pub const ENUMS: &[(&str, usize)] = &[];\n\
         pub const CONSTANTS: &[(&str, i64)] = &[];\n\
         pub const VERSION_STRING: &str = \"\";\n\
         pub const ADAIN_EPS: f32 = 0.0;\n\
         pub const AVAILABLE: bool = false;\n\
         pub const UNAVAILABLE_REASON: &str = {:?};\n",
        why
    )
}
