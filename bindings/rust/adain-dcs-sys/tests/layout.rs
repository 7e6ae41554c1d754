//! The #[repr(C)] mirrors in src/lib.rs against the C compiler's own sizes, offsets and constants
//! (printed by the probe program build.rs compiles against include/adain_dcs.h), and the extern
//! declarations against the functions the header exports.
//!
//! These tests fail, never skip, when the probe could not be built: the header not being found is
//! exactly the kind of defect they exist to catch (a silent skip once hid a broken header search).
use std::mem::{align_of, size_of, MaybeUninit};

use adain_dcs_sys::{self as sys, c_layout, experimental};

/// Offset of a field without `core::mem::offset_of!` (which needs rustc 1.77).
macro_rules! offset_of_field {
    ($t:ty, $f:ident) => {{
        let probe = MaybeUninit::<$t>::uninit();
        let base = probe.as_ptr();
        // SAFETY: addr_of! computes the field address without reading or making a reference.
        let field = unsafe { std::ptr::addr_of!((*base).$f) };
        field as *const u8 as usize - base as *const u8 as usize
    }};
}

type Layout = (&'static str, usize, usize, Vec<(&'static str, usize)>);

macro_rules! rust_layout {
    ($t:ident in $m:ident { $($f:ident),* $(,)? }) => {
        (
            stringify!($t),
            size_of::<$m::$t>(),
            align_of::<$m::$t>(),
            vec![$((stringify!($f), offset_of_field!($m::$t, $f))),*],
        )
    };
    ($t:ident { $($f:ident),* $(,)? }) => { rust_layout!($t in sys { $($f),* }) };
}

fn rust_structs() -> Vec<Layout> {
    vec![
        rust_layout!(adn_image { data, channels, height, width }),
        rust_layout!(adn_image_u8 { data, channels, height, width, stride }),
        rust_layout!(adn_read_params {
            struct_size, max_pixels, mode, raw_values, short_side, max_side, decoder_scaling
        }),
        rust_layout!(adn_image_info {
            struct_size,
            format,
            height,
            width,
            bit_depth,
            file_channels,
            has_alpha
        }),
        rust_layout!(adn_write_params { struct_size, jpeg_quality, png_bit_depth }),
        rust_layout!(adn_depth_norm_params { is_disparity, has_invalid, invalid_value }),
        rust_layout!(adn_model_params {
            struct_size,
            device,
            cuda_device_index,
            n_threads,
            load_depth,
            optimize,
            precision,
            trust_unsealed
        }),
        rust_layout!(adn_model_info {
            struct_size,
            feature_channels,
            downsample,
            depth_kind,
            device,
            cuda_device_index,
            precision,
            backend
        }),
        rust_layout!(adn_context_params {
            struct_size,
            depth_lo,
            depth_hi,
            progress,
            progress_user_data,
            memory_budget_bytes
        }),
        rust_layout!(adn_stylize_params {
            struct_size,
            alpha,
            mask,
            style_weights,
            region_masks,
            depth_source,
            depth,
            depth_norm,
            preserve_color,
        }),
        rust_layout!(adn_timings {
            struct_size,
            style_encode_ms,
            content_encode_ms,
            depth_ms,
            adain_blend_ms,
            decode_ms,
            total_ms
        }),
        rust_layout!(adn_temporal_params in experimental {
            struct_size,
            depth_ema,
            range_ema,
            content_stats_ema,
            scene_cut_threshold
        }),
    ]
}

fn rust_enums() -> Vec<(&'static str, usize)> {
    vec![
        ("adn_status", size_of::<sys::adn_status>()),
        ("adn_log_level", size_of::<sys::adn_log_level>()),
        ("adn_file_format", size_of::<sys::adn_file_format>()),
        ("adn_pixel_mode", size_of::<sys::adn_pixel_mode>()),
        ("adn_device", size_of::<sys::adn_device>()),
        ("adn_precision", size_of::<sys::adn_precision>()),
        ("adn_depth_kind", size_of::<sys::adn_depth_kind>()),
        ("adn_stage", size_of::<sys::adn_stage>()),
        ("adn_depth_source", size_of::<sys::adn_depth_source>()),
    ]
}

macro_rules! constants {
    ($($name:ident),* $(,)?) => { vec![$((stringify!($name), sys::$name as i64)),*] };
}

fn rust_constants() -> Vec<(&'static str, i64)> {
    constants![
        ADN_OK,
        ADN_ERR_INVALID_ARGUMENT,
        ADN_ERR_OUT_OF_MEMORY,
        ADN_ERR_IO,
        ADN_ERR_FORMAT,
        ADN_ERR_TOO_LARGE,
        ADN_ERR_NON_FINITE,
        ADN_ERR_MODEL,
        ADN_ERR_DEVICE,
        ADN_ERR_UNSUPPORTED,
        ADN_ERR_INTERNAL,
        ADN_ERR_CANCELLED,
        ADN_LOG_DEBUG,
        ADN_LOG_INFO,
        ADN_LOG_WARN,
        ADN_LOG_ERROR,
        ADN_FORMAT_UNKNOWN,
        ADN_FORMAT_PNG,
        ADN_FORMAT_JPEG,
        ADN_PIXELS_RGB,
        ADN_PIXELS_GRAY,
        ADN_DEFAULT_MAX_PIXELS,
        ADN_DEVICE_AUTO,
        ADN_DEVICE_CPU,
        ADN_DEVICE_CUDA,
        ADN_PRECISION_FP32,
        ADN_PRECISION_BF16,
        ADN_PRECISION_FP16,
        ADN_MAX_THREADS,
        ADN_DEPTH_KIND_NONE,
        ADN_DEPTH_KIND_DEPTH,
        ADN_DEPTH_KIND_DISPARITY,
        ADN_STAGE_ENCODE_CONTENT,
        ADN_STAGE_ENCODE_STYLE,
        ADN_STAGE_DEPTH,
        ADN_STAGE_ADAIN_BLEND,
        ADN_STAGE_DECODE,
        ADN_DEPTH_AUTO,
        ADN_DEPTH_NETWORK,
        ADN_DEPTH_CALLER,
        ADN_DEPTH_NONE,
        ADN_VERSION_MAJOR,
        ADN_VERSION_MINOR,
        ADN_VERSION_PATCH,
        ADN_VERSION_NUMBER,
        ADN_SOVERSION,
    ]
}

#[allow(clippy::assertions_on_constants)] // a constant of the build, on purpose
fn require_probe() {
    assert!(
        c_layout::AVAILABLE,
        "the C layout probe was not built, so the #[repr(C)] mirrors cannot be checked: {} \
         (set ADN_INCLUDE_DIR or ADN_BUILD_DIR)",
        c_layout::UNAVAILABLE_REASON
    );
}

#[test]
fn struct_layouts_match_the_c_compiler() {
    require_probe();
    let rust = rust_structs();
    assert_eq!(rust.len(), c_layout::STRUCTS.len(), "struct lists differ");
    for ((name, size, align, fields), (c_name, c_size, c_align, c_fields)) in
        rust.iter().zip(c_layout::STRUCTS)
    {
        assert_eq!(name, c_name);
        assert_eq!((size, align), (c_size, c_align), "{}: (size, align)", name);
        assert_eq!(fields.as_slice(), *c_fields, "{}: field offsets", name);
    }
}

#[test]
fn enum_sizes_match_the_c_compiler() {
    require_probe();
    assert_eq!(rust_enums().as_slice(), c_layout::ENUMS);
}

#[test]
fn constants_match_the_header() {
    require_probe();
    assert_eq!(rust_constants().as_slice(), c_layout::CONSTANTS);
    assert_eq!(sys::ADN_VERSION_STRING, c_layout::VERSION_STRING);
    assert_eq!(sys::ADN_ADAIN_EPS, c_layout::ADAIN_EPS);
}

/// The names of the functions the header declares with ADN_API (the exported ones; the static
/// inline helpers are not among them).
fn header_functions(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    for piece in header.split("ADN_API ").skip(1) {
        let before_paren = match piece.find('(') {
            Some(i) => &piece[..i],
            None => continue,
        };
        let name =
            before_paren.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("");
        if name.starts_with("adn_") {
            names.push(name.to_string());
        }
    }
    names
}

#[test]
fn every_exported_function_is_declared() {
    require_probe();
    let header = std::fs::read_to_string(c_layout::HEADER).expect("read the probed header");
    let functions = header_functions(&header);
    assert!(functions.len() > 50, "found only {:?} in {}", functions, c_layout::HEADER);
    let ours = include_str!("../src/lib.rs");
    let missing: Vec<&String> =
        functions.iter().filter(|name| !ours.contains(&format!("pub fn {}(", name))).collect();
    assert!(missing.is_empty(), "declared in {} but not in src/lib.rs: {:?}", c_layout::HEADER, missing);
}

#[test]
fn default_params_carry_this_crate_struct_size() {
    // Rust versions of the header's inline adn_*_default_params(): the library fills the defaults
    // and the struct_size is ours.
    let read = sys::adn_read_default_params();
    assert_eq!(read.struct_size, size_of::<sys::adn_read_params>());
    assert_eq!(read.max_pixels, sys::ADN_DEFAULT_MAX_PIXELS);
    assert_eq!(read.mode, sys::ADN_PIXELS_RGB);
    let write = sys::adn_write_default_params();
    assert_eq!(
        (write.struct_size, write.jpeg_quality, write.png_bit_depth),
        (size_of::<sys::adn_write_params>(), 95, 8)
    );
    let model = sys::adn_model_default_params();
    assert_eq!(model.struct_size, size_of::<sys::adn_model_params>());
    assert_eq!((model.device, model.load_depth, model.optimize), (sys::ADN_DEVICE_AUTO, 1, 1));
    assert_eq!(model.precision, sys::ADN_PRECISION_FP32);
    let context = sys::adn_context_default_params();
    assert_eq!(context.struct_size, size_of::<sys::adn_context_params>());
    assert_eq!((context.depth_lo, context.depth_hi), (0.0, 1.0));
    assert!(context.progress.is_none() && context.progress_user_data.is_null());
    let stylize = sys::adn_stylize_default_params();
    assert_eq!(stylize.struct_size, size_of::<sys::adn_stylize_params>());
    assert_eq!((stylize.alpha, stylize.depth_source), (1.0, sys::ADN_DEPTH_AUTO));
    assert!(stylize.mask.is_null() && stylize.depth.is_null());
    let temporal = experimental::adn_temporal_default_params();
    assert_eq!(temporal.struct_size, size_of::<experimental::adn_temporal_params>());
    assert_eq!((temporal.depth_ema, temporal.range_ema), (0.0, 0.0));
}
