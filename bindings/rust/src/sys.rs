//! Raw declarations of `include/adain_dcs.h`, one to one.
//!
//! C enums are `c_int` type aliases plus constants rather than Rust enums: the library writes enum
//! fields (`adn_model_info::device`, return codes), and a Rust enum receiving a value it does not
//! list would be undefined behaviour.  `int` is what GCC and Clang use for these enums; the layout
//! test (`tests/layout.rs`) checks every size and offset against the C compiler's answer.
#![allow(non_camel_case_types)]

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

pub type adn_depth_kind = c_int;
pub const ADN_DEPTH_KIND_NONE: adn_depth_kind = 0;
pub const ADN_DEPTH_KIND_DEPTH: adn_depth_kind = 1;
pub const ADN_DEPTH_KIND_DISPARITY: adn_depth_kind = 2;

pub type adn_depth_source = c_int;
pub const ADN_DEPTH_AUTO: adn_depth_source = 0;
pub const ADN_DEPTH_NETWORK: adn_depth_source = 1;
pub const ADN_DEPTH_CALLER: adn_depth_source = 2;
pub const ADN_DEPTH_NONE: adn_depth_source = 3;

// --- constants ----------------------------------------------------------------------------------------

pub const ADN_VERSION_MAJOR: c_int = 0;
pub const ADN_VERSION_MINOR: c_int = 1;
pub const ADN_VERSION_PATCH: c_int = 0;
pub const ADN_VERSION_STRING: &str = "0.1.0";
pub const ADN_VERSION_NUMBER: c_int = ADN_VERSION_MAJOR * 10000 + ADN_VERSION_MINOR * 100 + ADN_VERSION_PATCH;
pub const ADN_ADAIN_EPS: f32 = 1e-5;

// --- structs ------------------------------------------------------------------------------------------

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_image {
    pub data: *mut f32,
    pub width: i32,
    pub height: i32,
    pub channels: i32,
}

impl Default for adn_image {
    /// The empty image (`{0}` in C).
    fn default() -> Self {
        adn_image { data: std::ptr::null_mut(), width: 0, height: 0, channels: 0 }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_image_u8 {
    pub data: *mut u8,
    pub width: i32,
    pub height: i32,
    pub channels: i32,
    pub stride: usize,
}

impl Default for adn_image_u8 {
    fn default() -> Self {
        adn_image_u8 { data: std::ptr::null_mut(), width: 0, height: 0, channels: 0, stride: 0 }
    }
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_read_params {
    pub max_pixels: u64,
    pub mode: adn_pixel_mode,
    pub raw_values: i32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct adn_image_info {
    pub format: adn_file_format,
    pub width: i32,
    pub height: i32,
    pub bit_depth: i32,
    pub file_channels: i32,
    pub has_alpha: i32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_write_params {
    pub jpeg_quality: i32,
    pub png_bit_depth: i32,
}

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
    pub device: adn_device,
    pub cuda_device_index: i32,
    pub n_threads: i32,
    pub load_depth: i32,
    pub optimize: i32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct adn_model_info {
    pub feature_channels: i32,
    pub downsample: i32,
    pub depth_kind: adn_depth_kind,
    pub device: adn_device,
    pub depth_lo: f32,
    pub depth_hi: f32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct adn_stylize_params {
    pub alpha: f32,
    pub mask: *const adn_image,
    pub style_weights: *const f32,
    pub region_masks: *const adn_image,
    pub depth_source: adn_depth_source,
    pub depth: *const adn_image,
    pub depth_is_disparity: i32,
    pub depth_has_invalid: i32,
    pub depth_invalid_value: f32,
    pub preserve_color: i32,
    pub out_depth: *mut adn_image,
    pub out_strength: *mut adn_image,
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

    pub fn adn_image_alloc(img: *mut adn_image, channels: i32, width: i32, height: i32) -> adn_status;
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
    pub fn adn_u8_free(img: *mut adn_image_u8);

    pub fn adn_read_default_params() -> adn_read_params;
    pub fn adn_write_default_params() -> adn_write_params;
    pub fn adn_image_read(
        path: *const c_char,
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

    pub fn adn_model_default_params() -> adn_model_params;
    pub fn adn_model_load(
        bundle_dir: *const c_char,
        params: *const adn_model_params,
        out: *mut *mut adn_model,
    ) -> adn_status;
    pub fn adn_model_free(model: *mut adn_model);
    pub fn adn_model_get_info(model: *const adn_model, info: *mut adn_model_info) -> adn_status;
    pub fn adn_set_depth_range(model: *mut adn_model, lo: f32, hi: f32) -> adn_status;
    pub fn adn_style_create(
        model: *mut adn_model,
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
    pub fn adn_stylize_default_params() -> adn_stylize_params;
    pub fn adn_stylize(
        model: *mut adn_model,
        content: *const adn_image,
        styles: *const *const adn_style,
        n_styles: i32,
        params: *const adn_stylize_params,
        out: *mut adn_image,
    ) -> adn_status;
}

/// Sizes and offsets of the public structs as the C compiler sees them (written by build.rs from a
/// probe program compiled against the header), for the layout test.
#[doc(hidden)]
#[allow(clippy::type_complexity, clippy::excessive_precision)]
pub mod c_layout {
    include!(concat!(env!("OUT_DIR"), "/c_layout.rs"));
}
