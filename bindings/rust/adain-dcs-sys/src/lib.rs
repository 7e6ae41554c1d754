//! Raw declarations of `include/adain_dcs.h` (libadain_dcs), one to one.  The safe API is the
//! `adain-dcs` crate; use this one for what it does not wrap.
//!
//! C enums are `c_int` type aliases plus constants rather than Rust enums: the library writes enum
//! fields (`adn_model_info::device`, return codes, progress stages), and a Rust enum receiving a
//! value it does not list would be undefined behaviour.  `int` is what GCC and Clang use for these
//! enums; the layout test (`tests/layout.rs`) checks every size, offset and constant against the
//! C compiler's answer.
//!
//! Parameter and info structs start with `struct_size`.  The header's `static inline`
//! `adn_*_default_params()` are not exported by the library; this crate has Rust versions of them
//! ([`adn_read_default_params`], ...) that call the exported `adn_*_params_init` with this crate's
//! `size_of`, as the inline ones do with the caller's `sizeof`.
//!
//! The declarations of the header's "Experimental" section (`ADN_EXPERIMENTAL_API`) are in
//! [`experimental`]: no compatibility promise.
#![allow(non_camel_case_types)]

use std::mem::{size_of, MaybeUninit};
use std::os::raw::{c_char, c_int, c_void};

// --- enums ------------------------------------------------------------------------------------------

pub type adn_status = c_int;
pub const ADN_OK: adn_status = 0;
pub const ADN_ERR_INVALID_ARGUMENT: adn_status = 1;
pub const ADN_ERR_OUT_OF_MEMORY: adn_status = 2;
pub const ADN_ERR_IO: adn_status = 3;
pub const ADN_ERR_FORMAT: adn_status = 4;
pub const ADN_ERR_TOO_LARGE: adn_status = 5;
pub const ADN_ERR_NON_FINITE: adn_status = 6;
pub const ADN_ERR_MODEL: adn_status = 7;
pub const ADN_ERR_DEVICE: adn_status = 8;
pub const ADN_ERR_UNSUPPORTED: adn_status = 9;
pub const ADN_ERR_INTERNAL: adn_status = 10;
pub const ADN_ERR_CANCELLED: adn_status = 11;

pub type adn_log_level = c_int;
pub const ADN_LOG_DEBUG: adn_log_level = 0;
pub const ADN_LOG_INFO: adn_log_level = 1;
pub const ADN_LOG_WARN: adn_log_level = 2;
pub const ADN_LOG_ERROR: adn_log_level = 3;

pub type adn_file_format = c_int;
pub const ADN_FORMAT_UNKNOWN: adn_file_format = 0;
pub const ADN_FORMAT_PNG: adn_file_format = 1;
pub const ADN_FORMAT_JPEG: adn_file_format = 2;

pub type adn_pixel_mode = c_int;
pub const ADN_PIXELS_RGB: adn_pixel_mode = 0;
pub const ADN_PIXELS_GRAY: adn_pixel_mode = 1;

pub type adn_device = c_int;
pub const ADN_DEVICE_AUTO: adn_device = 0;
pub const ADN_DEVICE_CPU: adn_device = 1;
pub const ADN_DEVICE_CUDA: adn_device = 2;

pub type adn_precision = c_int;
pub const ADN_PRECISION_FP32: adn_precision = 0;
pub const ADN_PRECISION_BF16: adn_precision = 1;
pub const ADN_PRECISION_FP16: adn_precision = 2;

pub type adn_depth_kind = c_int;
pub const ADN_DEPTH_KIND_NONE: adn_depth_kind = 0;
pub const ADN_DEPTH_KIND_DEPTH: adn_depth_kind = 1;
pub const ADN_DEPTH_KIND_DISPARITY: adn_depth_kind = 2;

pub type adn_stage = c_int;
pub const ADN_STAGE_ENCODE_CONTENT: adn_stage = 0;
pub const ADN_STAGE_ENCODE_STYLE: adn_stage = 1;
pub const ADN_STAGE_DEPTH: adn_stage = 2;
pub const ADN_STAGE_ADAIN_BLEND: adn_stage = 3;
pub const ADN_STAGE_DECODE: adn_stage = 4;

pub type adn_depth_source = c_int;
pub const ADN_DEPTH_AUTO: adn_depth_source = 0;
pub const ADN_DEPTH_NETWORK: adn_depth_source = 1;
pub const ADN_DEPTH_CALLER: adn_depth_source = 2;
pub const ADN_DEPTH_NONE: adn_depth_source = 3;

// --- constants ----------------------------------------------------------------------------------------

/// adain_dcs_version.h (written by meson) of the library version these declarations describe.
pub const ADN_VERSION_MAJOR: c_int = 0;
pub const ADN_VERSION_MINOR: c_int = 3;
pub const ADN_VERSION_PATCH: c_int = 0;
pub const ADN_VERSION_STRING: &str = "0.3.0";
pub const ADN_VERSION_NUMBER: c_int = ADN_VERSION_MAJOR * 10000 + ADN_VERSION_MINOR * 100 + ADN_VERSION_PATCH;
/// The soname version (libadain_dcs.so.N); it changes on any ABI break.
pub const ADN_SOVERSION: c_int = 1;
pub const ADN_ADAIN_EPS: f32 = 1e-5;
pub const ADN_DEFAULT_MAX_PIXELS: u64 = 1 << 28;
pub const ADN_MAX_THREADS: c_int = 1024;

// --- structs ------------------------------------------------------------------------------------------

/// Planar float image, C x H x W (frozen layout).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_image {
    pub data: *mut f32,
    pub channels: i32,
    pub height: i32,
    pub width: i32,
}

impl Default for adn_image {
    /// The empty image (`{0}` in C).
    fn default() -> Self {
        adn_image { data: std::ptr::null_mut(), channels: 0, height: 0, width: 0 }
    }
}

/// Interleaved 8-bit image, rows `stride` bytes apart (0 = width * channels).  Frozen layout.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_image_u8 {
    pub data: *mut u8,
    pub channels: i32,
    pub height: i32,
    pub width: i32,
    pub stride: usize,
}

impl Default for adn_image_u8 {
    fn default() -> Self {
        adn_image_u8 { data: std::ptr::null_mut(), channels: 0, height: 0, width: 0, stride: 0 }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_read_params {
    pub struct_size: usize,
    pub max_pixels: u64,
    pub mode: adn_pixel_mode,
    pub raw_values: i32,
    pub short_side: i32,
    pub max_side: i32,
    pub decoder_scaling: i32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_image_info {
    pub struct_size: usize,
    pub format: adn_file_format,
    pub height: i32,
    pub width: i32,
    pub bit_depth: i32,
    pub file_channels: i32,
    pub has_alpha: i32,
}

impl Default for adn_image_info {
    /// Zeroed with `struct_size` set, ready for the library to fill.
    fn default() -> Self {
        adn_image_info {
            struct_size: size_of::<adn_image_info>(),
            format: 0,
            height: 0,
            width: 0,
            bit_depth: 0,
            file_channels: 0,
            has_alpha: 0,
        }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_write_params {
    pub struct_size: usize,
    pub jpeg_quality: i32,
    pub png_bit_depth: i32,
}

/// How to read a raw depth map (frozen plain data; zeroed = depth, no invalid value).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct adn_depth_norm_params {
    pub is_disparity: i32,
    pub has_invalid: i32,
    pub invalid_value: f32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_model_params {
    pub struct_size: usize,
    pub device: adn_device,
    pub cuda_device_index: i32,
    pub n_threads: i32,
    pub load_depth: i32,
    pub optimize: i32,
    pub precision: adn_precision,
    pub trust_unsealed: i32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_model_info {
    pub struct_size: usize,
    pub feature_channels: i32,
    pub downsample: i32,
    pub depth_kind: adn_depth_kind,
    pub device: adn_device,
    pub cuda_device_index: i32,
    pub precision: adn_precision,
    /// Static name of the backend, e.g. "torch" (owned by the library).
    pub backend: *const c_char,
}

impl Default for adn_model_info {
    /// Zeroed with `struct_size` set, ready for the library to fill.
    fn default() -> Self {
        adn_model_info {
            struct_size: size_of::<adn_model_info>(),
            feature_channels: 0,
            downsample: 0,
            depth_kind: 0,
            device: 0,
            cuda_device_index: 0,
            precision: 0,
            backend: std::ptr::null(),
        }
    }
}

/// Called before each stage of `adn_stylize` / `adn_estimate_depth`; non-zero cancels.
pub type adn_progress_callback =
    Option<unsafe extern "C" fn(next_stage: adn_stage, user_data: *mut c_void) -> c_int>;

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_context_params {
    pub struct_size: usize,
    pub depth_lo: f32,
    pub depth_hi: f32,
    pub progress: adn_progress_callback,
    pub progress_user_data: *mut c_void,
    /// Most bytes one call's estimate may reach; 0 = the library's default (tiles above it).
    pub memory_budget_bytes: u64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_stylize_params {
    pub struct_size: usize,
    pub alpha: f32,
    pub mask: *const adn_image,
    pub style_weights: *const f32,
    pub region_masks: *const adn_image,
    pub depth_source: adn_depth_source,
    pub depth: *const adn_image,
    pub depth_norm: adn_depth_norm_params,
    pub preserve_color: i32,
}

/// Wall-clock milliseconds of the stages of a context's last call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_timings {
    pub struct_size: usize,
    pub style_encode_ms: f64,
    pub content_encode_ms: f64,
    pub depth_ms: f64,
    pub adain_blend_ms: f64,
    pub decode_ms: f64,
    pub total_ms: f64,
}

impl Default for adn_timings {
    /// Zeroed with `struct_size` set, ready for the library to fill.
    fn default() -> Self {
        adn_timings {
            struct_size: size_of::<adn_timings>(),
            style_encode_ms: 0.0,
            content_encode_ms: 0.0,
            depth_ms: 0.0,
            adain_blend_ms: 0.0,
            decode_ms: 0.0,
            total_ms: 0.0,
        }
    }
}

/// Opaque model handle.
#[repr(C)]
pub struct adn_model {
    _private: [u8; 0],
}

/// Opaque style handle.
#[repr(C)]
pub struct adn_style {
    _private: [u8; 0],
}

/// Opaque context handle.
#[repr(C)]
pub struct adn_context {
    _private: [u8; 0],
}

pub type adn_log_callback =
    Option<unsafe extern "C" fn(level: adn_log_level, message: *const c_char, user_data: *mut c_void)>;

// --- functions ------------------------------------------------------------------------------------------

extern "C" {
    pub fn adn_version() -> *const c_char;
    pub fn adn_version_number() -> c_int;
    pub fn adn_has_feature(name: *const c_char) -> c_int;

    pub fn adn_status_str(status: adn_status) -> *const c_char;
    pub fn adn_last_error() -> *const c_char;
    pub fn adn_clear_error();

    pub fn adn_set_log_callback(callback: adn_log_callback, user_data: *mut c_void, min_level: adn_log_level);

    pub fn adn_image_alloc(img: *mut adn_image, channels: i32, height: i32, width: i32) -> adn_status;
    pub fn adn_image_free(img: *mut adn_image);
    pub fn adn_image_from_u8(
        src: *const adn_image_u8,
        rgb: *mut adn_image,
        alpha: *mut adn_image,
    ) -> adn_status;
    pub fn adn_image_to_u8(
        rgb: *const adn_image,
        alpha: *const adn_image,
        dst: *mut adn_image_u8,
    ) -> adn_status;
    pub fn adn_image_u8_free(img: *mut adn_image_u8);

    pub fn adn_read_params_init(params: *mut adn_read_params, struct_size: usize) -> adn_status;
    pub fn adn_write_params_init(params: *mut adn_write_params, struct_size: usize) -> adn_status;
    pub fn adn_image_read(
        path: *const c_char,
        params: *const adn_read_params,
        pixels: *mut adn_image,
        alpha: *mut adn_image,
        info: *mut adn_image_info,
    ) -> adn_status;
    pub fn adn_image_read_memory(
        data: *const c_void,
        size: usize,
        params: *const adn_read_params,
        pixels: *mut adn_image,
        alpha: *mut adn_image,
        info: *mut adn_image_info,
    ) -> adn_status;
    pub fn adn_image_write(
        path: *const c_char,
        pixels: *const adn_image,
        alpha: *const adn_image,
        params: *const adn_write_params,
    ) -> adn_status;

    pub fn adn_channel_stats(
        x: *const f32,
        channels: i32,
        n: i64,
        eps: f32,
        mean: *mut f32,
        std: *mut f32,
    ) -> adn_status;
    pub fn adn_channel_stats_masked(
        x: *const f32,
        channels: i32,
        n: i64,
        weight: *const f32,
        eps: f32,
        mean: *mut f32,
        std: *mut f32,
    ) -> adn_status;
    pub fn adn_adain(
        x: *const f32,
        channels: i32,
        n: i64,
        style_mean: *const f32,
        style_std: *const f32,
        eps: f32,
        out: *mut f32,
    ) -> adn_status;
    pub fn adn_adain_interpolate(
        x: *const f32,
        channels: i32,
        n: i64,
        n_styles: i32,
        weights: *const f32,
        style_mean: *const f32,
        style_std: *const f32,
        eps: f32,
        out: *mut f32,
    ) -> adn_status;
    pub fn adn_adain_regions(
        x: *const f32,
        channels: i32,
        n: i64,
        n_styles: i32,
        masks: *const f32,
        style_mean: *const f32,
        style_std: *const f32,
        eps: f32,
        out: *mut f32,
    ) -> adn_status;
    pub fn adn_depth_normalize(
        depth: *const f32,
        n: i64,
        params: *const adn_depth_norm_params,
        out: *mut f32,
        valid: *mut u8,
    ) -> adn_status;
    pub fn adn_depth_range_map(d: *const f32, n: i64, lo: f32, hi: f32, out: *mut f32) -> adn_status;
    pub fn adn_resize_bilinear(
        src: *const f32,
        channels: i32,
        height: i32,
        width: i32,
        dst: *mut f32,
        out_height: i32,
        out_width: i32,
    ) -> adn_status;
    pub fn adn_round_up(size: i32, multiple: i32) -> i32;
    pub fn adn_pad_reflect(
        src: *const f32,
        channels: i32,
        height: i32,
        width: i32,
        dst: *mut f32,
        out_height: i32,
        out_width: i32,
    ) -> adn_status;
    pub fn adn_crop(
        src: *const f32,
        channels: i32,
        height: i32,
        width: i32,
        dst: *mut f32,
        out_height: i32,
        out_width: i32,
    ) -> adn_status;
    pub fn adn_block_average(
        src: *const f32,
        valid: *const u8,
        channels: i32,
        height: i32,
        width: i32,
        block: i32,
        empty_value: f32,
        dst: *mut f32,
    ) -> adn_status;
    pub fn adn_strength_map(
        alpha: f32,
        mask: *const f32,
        range: *const f32,
        n: i64,
        strength: *mut f32,
    ) -> adn_status;
    pub fn adn_blend(
        stylized: *const f32,
        content: *const f32,
        strength: *const f32,
        channels: i32,
        n: i64,
        out: *mut f32,
    ) -> adn_status;
    pub fn adn_coral(
        style: *const f32,
        n_style: i64,
        content: *const f32,
        n_content: i64,
        out: *mut f32,
    ) -> adn_status;

    pub fn adn_model_params_init(params: *mut adn_model_params, struct_size: usize) -> adn_status;
    pub fn adn_model_load(
        bundle_dir: *const c_char,
        params: *const adn_model_params,
        out: *mut *mut adn_model,
    ) -> adn_status;
    pub fn adn_model_free(model: *mut adn_model);
    pub fn adn_model_get_info(model: *const adn_model, info: *mut adn_model_info) -> adn_status;
    pub fn adn_style_create(
        model: *const adn_model,
        style: *const adn_image,
        out: *mut *mut adn_style,
    ) -> adn_status;
    pub fn adn_style_free(style: *mut adn_style);
    pub fn adn_style_get_stats(
        style: *const adn_style,
        mean: *mut f32,
        std: *mut f32,
        channels: *mut i32,
    ) -> adn_status;

    pub fn adn_context_params_init(params: *mut adn_context_params, struct_size: usize) -> adn_status;
    pub fn adn_context_create(
        model: *const adn_model,
        params: *const adn_context_params,
        out: *mut *mut adn_context,
    ) -> adn_status;
    pub fn adn_context_free(ctx: *mut adn_context);
    pub fn adn_context_get_model(ctx: *const adn_context) -> *const adn_model;
    pub fn adn_set_depth_range(ctx: *mut adn_context, lo: f32, hi: f32) -> adn_status;
    pub fn adn_context_get_depth_range(ctx: *const adn_context, lo: *mut f32, hi: *mut f32) -> adn_status;
    pub fn adn_context_reset(ctx: *mut adn_context) -> adn_status;
    pub fn adn_stylize_params_init(params: *mut adn_stylize_params, struct_size: usize) -> adn_status;
    pub fn adn_stylize(
        ctx: *mut adn_context,
        content: *const adn_image,
        styles: *const *const adn_style,
        n_styles: i32,
        params: *const adn_stylize_params,
        out: *mut adn_image,
    ) -> adn_status;
    pub fn adn_estimate_depth(
        ctx: *mut adn_context,
        rgb: *const adn_image,
        depth: *mut adn_image,
    ) -> adn_status;
    pub fn adn_context_get_depth(ctx: *const adn_context, out: *mut adn_image) -> adn_status;
    pub fn adn_context_get_strength(ctx: *const adn_context, out: *mut adn_image) -> adn_status;
    pub fn adn_context_get_timings(ctx: *const adn_context, out: *mut adn_timings) -> adn_status;
}

/// A parameter struct initialised by its `adn_*_params_init`, as the header's inline
/// `adn_*_default_params()` do.
///
/// # Safety
/// `init` must be the init function of `T`, a plain-data struct for which all-zero bytes are a
/// valid value.
unsafe fn default_params<T>(init: unsafe extern "C" fn(*mut T, usize) -> adn_status) -> T {
    let mut params = MaybeUninit::<T>::zeroed();
    // The status is ignored, as in the header's inline versions: only a struct_size of 0 fails.
    init(params.as_mut_ptr(), size_of::<T>());
    params.assume_init()
}

/// `adn_read_default_params()` of the header: the defaults, with this crate's struct size.
pub fn adn_read_default_params() -> adn_read_params {
    // SAFETY: the matching init function; the struct holds integers only.
    unsafe { default_params(adn_read_params_init) }
}

/// `adn_write_default_params()` of the header.
pub fn adn_write_default_params() -> adn_write_params {
    // SAFETY: the matching init function; the struct holds integers only.
    unsafe { default_params(adn_write_params_init) }
}

/// `adn_model_default_params()` of the header.
pub fn adn_model_default_params() -> adn_model_params {
    // SAFETY: the matching init function; the struct holds integers only.
    unsafe { default_params(adn_model_params_init) }
}

/// `adn_context_default_params()` of the header.
pub fn adn_context_default_params() -> adn_context_params {
    // SAFETY: the matching init function; zeroed pointers are NULL, a zeroed callback is None.
    unsafe { default_params(adn_context_params_init) }
}

/// `adn_stylize_default_params()` of the header.
pub fn adn_stylize_default_params() -> adn_stylize_params {
    // SAFETY: the matching init function; zeroed pointers are NULL.
    unsafe { default_params(adn_stylize_params_init) }
}

/// The header's "Experimental" section (declared there only with `ADN_EXPERIMENTAL_API`; the
/// symbols carry the version node ADN_EXPERIMENTAL).  No compatibility promise: may change or go
/// in any release.
pub mod experimental {
    use super::{adn_context, adn_status};

    /// Temporal smoothing for video in a context (docs/METHOD.md §7).
    #[repr(C)]
    #[derive(Debug, Clone, Copy)]
    pub struct adn_temporal_params {
        pub struct_size: usize,
        pub depth_ema: f32,
        pub range_ema: f32,
        pub content_stats_ema: f32,
        pub scene_cut_threshold: f32,
    }

    extern "C" {
        pub fn adn_temporal_params_init(params: *mut adn_temporal_params, struct_size: usize) -> adn_status;
        pub fn adn_context_set_temporal(
            ctx: *mut adn_context,
            params: *const adn_temporal_params,
        ) -> adn_status;
    }

    /// `adn_temporal_default_params()` of the header.
    pub fn adn_temporal_default_params() -> adn_temporal_params {
        // SAFETY: the matching init function; the struct holds numbers only.
        unsafe { super::default_params(adn_temporal_params_init) }
    }
}

/// Sizes, offsets and constants of the public API as the C compiler sees them (written by build.rs
/// from a probe program compiled against the header), for the layout test.
#[doc(hidden)]
#[allow(clippy::type_complexity, clippy::excessive_precision, clippy::unreadable_literal)]
pub mod c_layout {
    include!(concat!(env!("OUT_DIR"), "/c_layout.rs"));
}
