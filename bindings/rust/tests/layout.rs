//! The #[repr(C)] mirrors in src/sys.rs against the C compiler's own sizes and offsets (printed by
//! the probe program build.rs compiles against include/adain_dcs.h).
use std::mem::{align_of, size_of, MaybeUninit};
use std::path::Path;

use adain_dcs::sys::{self, c_layout};

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
    ($t:ident { $($f:ident),* $(,)? }) => {
        (
            stringify!($t),
            size_of::<sys::$t>(),
            align_of::<sys::$t>(),
            vec![$((stringify!($f), offset_of_field!(sys::$t, $f))),*],
        )
    };
}

fn rust_structs() -> Vec<Layout> {
    vec![
        rust_layout!(adn_image { data, width, height, channels }),
        rust_layout!(adn_image_u8 { data, width, height, channels, stride }),
        rust_layout!(adn_read_params { max_pixels, mode, raw_values }),
        rust_layout!(adn_image_info { format, width, height, bit_depth, file_channels, has_alpha }),
        rust_layout!(adn_write_params { jpeg_quality, png_bit_depth }),
        rust_layout!(adn_depth_norm_params { is_disparity, has_invalid, invalid_value }),
        rust_layout!(adn_model_params { device, cuda_device_index, n_threads, load_depth, optimize }),
        rust_layout!(adn_model_info { feature_channels, downsample, depth_kind, device, depth_lo, depth_hi }),
        rust_layout!(adn_stylize_params {
            alpha,
            mask,
            style_weights,
            region_masks,
            depth_source,
            depth,
            depth_is_disparity,
            depth_has_invalid,
            depth_invalid_value,
            preserve_color,
            out_depth,
            out_strength,
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
        ("adn_depth_kind", size_of::<sys::adn_depth_kind>()),
        ("adn_depth_source", size_of::<sys::adn_depth_source>()),
    ]
}

/// Whether build.rs could compile and run the probe.  Skipping is only for a crate used away from
/// its source tree without an installed header; inside the tree the header is always there, so a
/// missing probe is a failure (a silent skip once hid a broken header search).
fn probe_available() -> bool {
    if c_layout::AVAILABLE {
        return true;
    }
    let in_tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../include/adain_dcs.h");
    assert!(
        !in_tree.exists(),
        "the C layout probe was not built although {} exists: {}",
        in_tree.display(),
        c_layout::UNAVAILABLE_REASON
    );
    eprintln!("SKIP: no C layout probe ({})", c_layout::UNAVAILABLE_REASON);
    false
}

#[test]
fn struct_layouts_match_the_c_compiler() {
    if !probe_available() {
        return;
    }
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
    if !probe_available() {
        return;
    }
    assert_eq!(rust_enums().as_slice(), c_layout::ENUMS);
}

#[test]
fn header_constants_match() {
    if !probe_available() {
        return;
    }
    assert_eq!(sys::ADN_VERSION_NUMBER, c_layout::VERSION_NUMBER);
    assert_eq!(sys::ADN_VERSION_STRING, c_layout::VERSION_STRING);
    assert_eq!(sys::ADN_ADAIN_EPS, c_layout::ADAIN_EPS);
}
