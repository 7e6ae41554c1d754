//! The library's pure math (METHOD.md §2, §3, §5, §6) on Rust slices and images.
//!
//! Feature maps are `C x N` channel-major slices (`x.len() == channels * n`).  The wrappers check
//! every length the C function will trust (so no call can read or write out of bounds) and leave
//! value checks (NaN, ranges, sizes < 1) to the library, whose error comes back as [`Error`].
use std::ptr;

use crate::error::{check, to_i32, to_i64, Error, Result};
use crate::image::Image;
use crate::sys;

/// ε added to the variance in AdaIN statistics (METHOD.md §2).
pub const ADAIN_EPS: f32 = sys::ADN_ADAIN_EPS;

/// Pixels per channel of a `channels x n` map.
fn pixels(x: &[f32], channels: usize, what: &str) -> Result<usize> {
    if channels == 0 || x.is_empty() || x.len() % channels != 0 {
        return Err(Error::invalid(format!(
            "{} has {} values, not a positive multiple of {} channel(s)",
            what,
            x.len(),
            channels
        )));
    }
    Ok(x.len() / channels)
}

fn expect_len(values: &[f32], expected: usize, what: &str) -> Result<()> {
    if values.len() != expected {
        return Err(Error::invalid(format!("{} has {} values, expected {}", what, values.len(), expected)));
    }
    Ok(())
}

/// Per-channel mean and std (`sqrt(unbiased variance + eps)`) of a `channels x n` map.
pub fn channel_stats(x: &[f32], channels: usize, eps: f32) -> Result<(Vec<f32>, Vec<f32>)> {
    let n = pixels(x, channels, "x")?;
    let (mut mean, mut std) = (vec![0.0; channels], vec![0.0; channels]);
    // SAFETY: x holds channels * n values; mean / std hold channels.
    check(unsafe {
        sys::adn_channel_stats(
            x.as_ptr(),
            to_i32(channels, "channels")?,
            to_i64(n, "n")?,
            eps,
            mean.as_mut_ptr(),
            std.as_mut_ptr(),
        )
    })?;
    Ok((mean, std))
}

/// Like [`channel_stats`] over the pixels where `weight > 0.5` only.
pub fn channel_stats_masked(
    x: &[f32],
    channels: usize,
    weight: &[f32],
    eps: f32,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let n = pixels(x, channels, "x")?;
    expect_len(weight, n, "weight")?;
    let (mut mean, mut std) = (vec![0.0; channels], vec![0.0; channels]);
    // SAFETY: lengths checked above.
    check(unsafe {
        sys::adn_channel_stats_masked(
            x.as_ptr(),
            to_i32(channels, "channels")?,
            to_i64(n, "n")?,
            weight.as_ptr(),
            eps,
            mean.as_mut_ptr(),
            std.as_mut_ptr(),
        )
    })?;
    Ok((mean, std))
}

/// AdaIN of a `channels x n` map to the style statistics (`channels` values each).
pub fn adain(
    x: &[f32],
    channels: usize,
    style_mean: &[f32],
    style_std: &[f32],
    eps: f32,
) -> Result<Vec<f32>> {
    let n = pixels(x, channels, "x")?;
    expect_len(style_mean, channels, "style_mean")?;
    expect_len(style_std, channels, "style_std")?;
    let mut out = vec![0.0; x.len()];
    // SAFETY: lengths checked above.
    check(unsafe {
        sys::adn_adain(
            x.as_ptr(),
            to_i32(channels, "channels")?,
            to_i64(n, "n")?,
            style_mean.as_ptr(),
            style_std.as_ptr(),
            eps,
            out.as_mut_ptr(),
        )
    })?;
    Ok(out)
}

/// `sum_k w_k AdaIN(x, style_k)`, weights normalised; `style_means` / `style_stds` are K x C.
pub fn adain_interpolate(
    x: &[f32],
    channels: usize,
    weights: &[f32],
    style_means: &[f32],
    style_stds: &[f32],
    eps: f32,
) -> Result<Vec<f32>> {
    let n = pixels(x, channels, "x")?;
    let k = weights.len();
    expect_len(style_means, k * channels, "style_means")?;
    expect_len(style_stds, k * channels, "style_stds")?;
    let mut out = vec![0.0; x.len()];
    // SAFETY: lengths checked above.
    check(unsafe {
        sys::adn_adain_interpolate(
            x.as_ptr(),
            to_i32(channels, "channels")?,
            to_i64(n, "n")?,
            to_i32(k, "n_styles")?,
            weights.as_ptr(),
            style_means.as_ptr(),
            style_stds.as_ptr(),
            eps,
            out.as_mut_ptr(),
        )
    })?;
    Ok(out)
}

/// Region multi-style: `masks` is K x n; `style_means` / `style_stds` are K x C.
pub fn adain_regions(
    x: &[f32],
    channels: usize,
    masks: &[f32],
    style_means: &[f32],
    style_stds: &[f32],
    eps: f32,
) -> Result<Vec<f32>> {
    let n = pixels(x, channels, "x")?;
    if masks.is_empty() || masks.len() % n != 0 {
        return Err(Error::invalid(format!("masks has {} values, not K x {}", masks.len(), n)));
    }
    let k = masks.len() / n;
    expect_len(style_means, k * channels, "style_means")?;
    expect_len(style_stds, k * channels, "style_stds")?;
    let mut out = vec![0.0; x.len()];
    // SAFETY: lengths checked above.
    check(unsafe {
        sys::adn_adain_regions(
            x.as_ptr(),
            to_i32(channels, "channels")?,
            to_i64(n, "n")?,
            to_i32(k, "n_styles")?,
            masks.as_ptr(),
            style_means.as_ptr(),
            style_stds.as_ptr(),
            eps,
            out.as_mut_ptr(),
        )
    })?;
    Ok(out)
}

/// How to read a depth map in [`depth_normalize`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DepthNorm {
    /// Larger = nearer (disparity, MiDaS): D = 1 - D.
    pub is_disparity: bool,
    /// Pixels equal to this value are left out (and get D = 1).
    pub invalid: Option<f32>,
}

impl DepthNorm {
    /// The C `adn_depth_norm_params`.
    pub(crate) fn to_c(self) -> sys::adn_depth_norm_params {
        sys::adn_depth_norm_params {
            is_disparity: self.is_disparity as i32,
            has_invalid: self.invalid.is_some() as i32,
            invalid_value: self.invalid.unwrap_or(0.0),
        }
    }
}

/// D = (d - min) / (max - min) over valid pixels (constant -> 0), 1 - D for disparity.  Returns
/// D and the validity of each pixel (all 1 without an invalid value).
pub fn depth_normalize(depth: &[f32], params: &DepthNorm) -> Result<(Vec<f32>, Vec<u8>)> {
    let c_params = params.to_c();
    let mut out = vec![0.0; depth.len()];
    let mut valid = vec![1u8; depth.len()];
    let valid_ptr = if params.invalid.is_some() { valid.as_mut_ptr() } else { ptr::null_mut() };
    let depth_ptr = if depth.is_empty() { ptr::null() } else { depth.as_ptr() };
    // SAFETY: out and valid have depth.len() entries.
    check(unsafe {
        sys::adn_depth_normalize(depth_ptr, to_i64(depth.len(), "n")?, &c_params, out.as_mut_ptr(), valid_ptr)
    })?;
    Ok((out, valid))
}

/// R(D) = lo + (hi - lo) D.
pub fn depth_range_map(d: &[f32], lo: f32, hi: f32) -> Result<Vec<f32>> {
    let mut out = vec![0.0; d.len()];
    let d_ptr = if d.is_empty() { ptr::null() } else { d.as_ptr() };
    // SAFETY: out has d.len() entries.
    check(unsafe { sys::adn_depth_range_map(d_ptr, to_i64(d.len(), "n")?, lo, hi, out.as_mut_ptr()) })?;
    Ok(out)
}

/// S = alpha * M * R clamped to `[0,1]` for `n` pixels; `mask` / `range` None count as 1.
pub fn strength_map(alpha: f32, mask: Option<&[f32]>, range: Option<&[f32]>, n: usize) -> Result<Vec<f32>> {
    if let Some(m) = mask {
        expect_len(m, n, "mask")?;
    }
    if let Some(r) = range {
        expect_len(r, n, "range")?;
    }
    let mut out = vec![0.0; n];
    let out_ptr = if n == 0 { ptr::null_mut() } else { out.as_mut_ptr() };
    // SAFETY: every given buffer has n values.
    check(unsafe {
        sys::adn_strength_map(
            alpha,
            mask.map_or(ptr::null(), |m| m.as_ptr()),
            range.map_or(ptr::null(), |r| r.as_ptr()),
            to_i64(n, "n")?,
            out_ptr,
        )
    })?;
    Ok(out)
}

/// f = S t + (1 - S) fc for `channels x n` maps with S of n values.
pub fn blend(stylized: &[f32], content: &[f32], strength: &[f32], channels: usize) -> Result<Vec<f32>> {
    let n = pixels(stylized, channels, "stylized")?;
    expect_len(content, stylized.len(), "content")?;
    expect_len(strength, n, "strength")?;
    let mut out = vec![0.0; stylized.len()];
    // SAFETY: lengths checked above.
    check(unsafe {
        sys::adn_blend(
            stylized.as_ptr(),
            content.as_ptr(),
            strength.as_ptr(),
            to_i32(channels, "channels")?,
            to_i64(n, "n")?,
            out.as_mut_ptr(),
        )
    })?;
    Ok(out)
}

/// Smallest multiple of `multiple` that is >= `size` (both >= 1).
pub fn round_up(size: i32, multiple: i32) -> Result<i32> {
    if size < 1 || multiple < 1 {
        return Err(Error::invalid(format!("round_up({}, {}): both must be >= 1", size, multiple)));
    }
    // SAFETY: plain integers.
    Ok(unsafe { sys::adn_round_up(size, multiple) })
}

type Resampler = unsafe extern "C" fn(*const f32, i32, i32, i32, *mut f32, i32, i32) -> sys::adn_status;

fn resample(f: Resampler, src: &Image, height: usize, width: usize) -> Result<Image> {
    let mut out = Image::new(src.channels(), height, width)?;
    let raw = out.raw_mut();
    // SAFETY: src and out are live images of the sizes passed.
    check(unsafe {
        f(
            src.data().as_ptr(),
            src.channels() as i32,
            src.height() as i32,
            src.width() as i32,
            raw.data,
            raw.height,
            raw.width,
        )
    })?;
    Ok(out)
}

/// Bilinear resize with half-pixel centres (`F.interpolate(mode='bilinear', align_corners=False)`).
pub fn resize_bilinear(src: &Image, height: usize, width: usize) -> Result<Image> {
    resample(sys::adn_resize_bilinear, src, height, width)
}

/// Reflection padding at the bottom and right (periodic for pads >= the size).
pub fn pad_reflect(src: &Image, height: usize, width: usize) -> Result<Image> {
    if height < src.height() || width < src.width() {
        return Err(Error::invalid("pad_reflect cannot shrink an image"));
    }
    resample(sys::adn_pad_reflect, src, height, width)
}

/// The top-left `height x width` of an image.
pub fn crop(src: &Image, height: usize, width: usize) -> Result<Image> {
    if height > src.height() || width > src.width() {
        return Err(Error::invalid("crop cannot grow an image"));
    }
    resample(sys::adn_crop, src, height, width)
}

/// Average of each `block x block` tile (`F.avg_pool2d`); with `valid` (H x W, nonzero = use) only
/// valid pixels count and a tile without any gets `empty_value`.
pub fn block_average(src: &Image, valid: Option<&[u8]>, block: usize, empty_value: f32) -> Result<Image> {
    if block == 0 || src.height() % block != 0 || src.width() % block != 0 {
        return Err(Error::invalid(format!(
            "block {} does not divide {}x{}",
            block,
            src.height(),
            src.width()
        )));
    }
    if let Some(v) = valid {
        if v.len() != src.height() * src.width() {
            return Err(Error::invalid(format!(
                "valid has {} values, expected {}",
                v.len(),
                src.height() * src.width()
            )));
        }
    }
    let mut out = Image::new(src.channels(), src.height() / block, src.width() / block)?;
    let raw = out.raw_mut();
    // SAFETY: buffers have the sizes passed.
    check(unsafe {
        sys::adn_block_average(
            src.data().as_ptr(),
            valid.map_or(ptr::null(), |v| v.as_ptr()),
            src.channels() as i32,
            src.height() as i32,
            src.width() as i32,
            block as i32,
            empty_value,
            raw.data,
        )
    })?;
    Ok(out)
}

/// CORAL: the `3 x n_style` style pixels re-coloured to the content's (`3 x n_content`) colour
/// statistics.
pub fn coral(style: &[f32], content: &[f32]) -> Result<Vec<f32>> {
    let n_style = pixels(style, 3, "style")?;
    let n_content = pixels(content, 3, "content")?;
    let mut out = vec![0.0; style.len()];
    // SAFETY: lengths are 3 * n.
    check(unsafe {
        sys::adn_coral(
            style.as_ptr(),
            to_i64(n_style, "n_style")?,
            content.as_ptr(),
            to_i64(n_content, "n_content")?,
            out.as_mut_ptr(),
        )
    })?;
    Ok(out)
}
