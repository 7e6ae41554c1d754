//! Owned planar images and PNG / JPEG files.
use std::ffi::CString;
use std::path::Path;
use std::ptr;

use crate::error::{check, to_i32, Error, Result};
use crate::sys;

/// A planar `C x H x W` float image owned by Rust: channel `c`, row `y`, column `x` is at
/// `data[(c * height + y) * width + x]`.  Colour images are RGB in `[0,1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    channels: usize,
    height: usize,
    width: usize,
    data: Vec<f32>,
}

/// Which codec a file used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Unknown,
    Png,
    Jpeg,
}

/// What an image file stores (`adn_image_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: FileFormat,
    pub height: i32,
    pub width: i32,
    /// 8 or 16.
    pub bit_depth: i32,
    /// Channels in the file (1..4; CMYK JPEG reports 4).
    pub file_channels: i32,
    pub has_alpha: bool,
}

/// Options of [`Image::read_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Refuse images with more pixels (None: the library default, 2^28).
    pub max_pixels: Option<u64>,
    /// One channel: colour files become luma.
    pub gray: bool,
    /// Keep the stored integers (0..255 / 0..65535) instead of scaling to `[0,1]` (depth maps).
    pub raw_values: bool,
    /// > 0: resize while reading so the shorter side has this many pixels (0 = keep).  The result
    /// equals reading the whole file and [`resize_bilinear`](crate::resize_bilinear), bit for bit,
    /// without the full-size image in memory.
    pub short_side: i32,
    /// > 0: then shrink so the longer side has at most this many pixels (0 = no limit).
    pub max_side: i32,
}

/// Options of [`Image::write_with`] (None: library defaults, JPEG quality 95, PNG 8-bit).
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteOptions {
    pub jpeg_quality: Option<i32>,
    pub png_bit_depth: Option<i32>,
}

pub(crate) fn path_to_c(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("path {:?} is not valid UTF-8", path)))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| Error::invalid(format!("path {:?} contains a NUL byte", path)))
}

impl Image {
    /// A zero-filled `channels x height x width` image.  Sizes must be >= 1.
    pub fn new(channels: usize, height: usize, width: usize) -> Result<Image> {
        let count = Self::count(channels, height, width)?;
        Ok(Image { channels, height, width, data: vec![0.0; count] })
    }

    /// Wraps planar data of exactly `channels * height * width` values.
    pub fn from_vec(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Result<Image> {
        let count = Self::count(channels, height, width)?;
        if data.len() != count {
            return Err(Error::invalid(format!(
                "{} values given for a {}x{}x{} (CxHxW) image, which needs {}",
                data.len(),
                channels,
                height,
                width,
                count
            )));
        }
        Ok(Image { channels, height, width, data })
    }

    fn count(channels: usize, height: usize, width: usize) -> Result<usize> {
        if channels < 1 || width < 1 || height < 1 {
            return Err(Error::invalid(format!(
                "invalid image size {}x{}x{} (CxHxW)",
                channels, height, width
            )));
        }
        to_i32(width, "width")?;
        to_i32(height, "height")?;
        to_i32(channels, "channels")?;
        channels
            .checked_mul(width)
            .and_then(|v| v.checked_mul(height))
            .ok_or_else(|| Error::invalid("image size overflows"))
    }

    /// Converts interleaved 8-bit pixels (`height x width x channels`, rows packed; 1 grey,
    /// 2 grey+alpha, 3 RGB, 4 RGBA) to RGB in `[0,1]` with the library's conversion.  Alpha is
    /// dropped.
    pub fn from_interleaved_u8(pixels: &[u8], channels: usize, height: usize, width: usize) -> Result<Image> {
        Image::from_interleaved_u8_strided(pixels, channels, height, width, width.saturating_mul(channels))
    }

    /// Like [`Image::from_interleaved_u8`] with rows `stride` bytes apart (`stride >=
    /// width * channels`; `pixels` must reach the end of the last row).
    pub fn from_interleaved_u8_strided(
        pixels: &[u8],
        channels: usize,
        height: usize,
        width: usize,
        stride: usize,
    ) -> Result<Image> {
        Self::count(channels, height, width)?;
        let row = width * channels; // no overflow: count() checked the product
        if stride < row {
            return Err(Error::invalid(format!("stride {} is below width x channels = {}", stride, row)));
        }
        let needed = stride
            .checked_mul(height - 1)
            .and_then(|v| v.checked_add(row))
            .ok_or_else(|| Error::invalid("image size overflows"))?;
        if pixels.len() < needed {
            return Err(Error::invalid(format!(
                "{} bytes given for {} rows of {} bytes {} apart, which need {}",
                pixels.len(),
                height,
                row,
                stride,
                needed
            )));
        }
        let src = sys::adn_image_u8 {
            data: pixels.as_ptr() as *mut u8, // read only: the parameter is const in C
            channels: to_i32(channels, "channels")?,
            height: to_i32(height, "height")?,
            width: to_i32(width, "width")?,
            stride,
        };
        let mut rgb = sys::adn_image::default();
        // SAFETY: src describes `pixels` (checked above); rgb is empty and receives a library
        // allocation.
        check(unsafe { sys::adn_image_from_u8(&src, &mut rgb, ptr::null_mut()) })?;
        // SAFETY: rgb was just filled by the library.
        Ok(unsafe { Image::take_library(&mut rgb) })
    }

    /// Interleaved 8-bit pixels (`height x width x channels`, C = 1 or 3, rows packed), clamped
    /// to `[0,1]` and rounded by the library.
    pub fn to_interleaved_u8(&self) -> Result<Vec<u8>> {
        let raw = self.raw();
        let mut dst = sys::adn_image_u8::default();
        // SAFETY: raw points at self.data, valid for the call; dst receives a malloc'd buffer.
        check(unsafe { sys::adn_image_to_u8(&raw, ptr::null(), &mut dst) })?;
        let packed = dst.width.max(0) as usize * dst.channels.max(0) as usize;
        let row = if dst.stride != 0 { dst.stride } else { packed };
        let mut out = Vec::with_capacity(packed * dst.height.max(0) as usize);
        for y in 0..dst.height.max(0) as usize {
            // SAFETY: the library allocated height rows of `row` bytes.
            let line = unsafe { std::slice::from_raw_parts(dst.data.add(y * row), packed) };
            out.extend_from_slice(line);
        }
        // SAFETY: dst came from adn_image_to_u8.
        unsafe { sys::adn_image_u8_free(&mut dst) };
        Ok(out)
    }

    /// Reads a PNG or JPEG as RGB in `[0,1]`.
    pub fn read(path: impl AsRef<Path>) -> Result<Image> {
        Image::read_with(path, &ReadOptions::default()).map(|(image, _, _)| image)
    }

    /// Reads a PNG or JPEG: (pixels, alpha if the file has it, file info).
    pub fn read_with(
        path: impl AsRef<Path>,
        options: &ReadOptions,
    ) -> Result<(Image, Option<Image>, ImageInfo)> {
        let c_path = path_to_c(path.as_ref())?;
        read_common(options, |params, pixels, alpha, info| {
            // SAFETY: every pointer is valid for the call.
            unsafe { sys::adn_image_read(c_path.as_ptr(), params, pixels, alpha, info) }
        })
    }

    /// Decodes a PNG or JPEG file held in memory as RGB in `[0,1]`.
    pub fn read_memory(bytes: &[u8]) -> Result<Image> {
        Image::read_memory_with(bytes, &ReadOptions::default()).map(|(image, _, _)| image)
    }

    /// Decodes a PNG or JPEG file held in memory: (pixels, alpha if it has it, file info).
    pub fn read_memory_with(
        bytes: &[u8],
        options: &ReadOptions,
    ) -> Result<(Image, Option<Image>, ImageInfo)> {
        read_common(options, |params, pixels, alpha, info| {
            // SAFETY: `bytes` is valid for its length during the call; the other pointers too.
            unsafe {
                sys::adn_image_read_memory(
                    bytes.as_ptr() as *const _,
                    bytes.len(),
                    params,
                    pixels,
                    alpha,
                    info,
                )
            }
        })
    }

    /// Writes a 1- or 3-channel image to PNG or JPEG (by extension), values clamped to `[0,1]`.
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        self.write_with(path, None, &WriteOptions::default())
    }

    /// Writes with an optional alpha channel (1 x H x W) and codec options.
    pub fn write_with(
        &self,
        path: impl AsRef<Path>,
        alpha: Option<&Image>,
        options: &WriteOptions,
    ) -> Result<()> {
        let c_path = path_to_c(path.as_ref())?;
        let mut params = sys::adn_write_default_params();
        if let Some(q) = options.jpeg_quality {
            params.jpeg_quality = q;
        }
        if let Some(bits) = options.png_bit_depth {
            params.png_bit_depth = bits;
        }
        let pixels = self.raw();
        let alpha_raw = alpha.map(Image::raw);
        let alpha_ptr = alpha_raw.as_ref().map_or(ptr::null(), |a| a as *const sys::adn_image);
        // SAFETY: the images point at live Rust buffers of the sizes they state.
        check(unsafe { sys::adn_image_write(c_path.as_ptr(), &pixels, alpha_ptr, &params) })
    }

    pub fn channels(&self) -> usize {
        self.channels
    }

    pub fn height(&self) -> usize {
        self.height
    }

    pub fn width(&self) -> usize {
        self.width
    }

    /// `(channels, height, width)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.channels, self.height, self.width)
    }

    /// Planar data, `C x H x W`.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// The value at channel c, row y, column x.
    pub fn get(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[(c * self.height + y) * self.width + x]
    }

    /// The C view of this image.  The library only reads through it where the parameter is const.
    pub(crate) fn raw(&self) -> sys::adn_image {
        sys::adn_image {
            data: self.data.as_ptr() as *mut f32,
            channels: self.channels as i32,
            height: self.height as i32,
            width: self.width as i32,
        }
    }

    /// A writable C view, for outputs the library fills in place.
    pub(crate) fn raw_mut(&mut self) -> sys::adn_image {
        sys::adn_image {
            data: self.data.as_mut_ptr(),
            channels: self.channels as i32,
            height: self.height as i32,
            width: self.width as i32,
        }
    }

    /// Copies a library-allocated image into Rust memory and frees the original.
    ///
    /// # Safety
    /// `raw` must be empty or hold a buffer allocated by libadain_dcs of the sizes it states.
    pub(crate) unsafe fn take_library(raw: &mut sys::adn_image) -> Image {
        let (c, h, w) = (raw.channels.max(0) as usize, raw.height.max(0) as usize, raw.width.max(0) as usize);
        let data = if raw.data.is_null() {
            Vec::new()
        } else {
            std::slice::from_raw_parts(raw.data, c * h * w).to_vec()
        };
        sys::adn_image_free(raw);
        Image { channels: c, height: h, width: w, data }
    }
}

/// The shared part of [`Image::read_with`] and [`Image::read_memory_with`]: parameters in, images
/// and info out.
fn read_common(
    options: &ReadOptions,
    read: impl FnOnce(
        *const sys::adn_read_params,
        *mut sys::adn_image,
        *mut sys::adn_image,
        *mut sys::adn_image_info,
    ) -> sys::adn_status,
) -> Result<(Image, Option<Image>, ImageInfo)> {
    let mut params = sys::adn_read_default_params();
    if let Some(max) = options.max_pixels {
        params.max_pixels = max;
    }
    params.mode = if options.gray { sys::ADN_PIXELS_GRAY } else { sys::ADN_PIXELS_RGB };
    params.raw_values = options.raw_values as i32;
    params.short_side = options.short_side;
    params.max_side = options.max_side;
    let mut pixels = sys::adn_image::default();
    let mut alpha = sys::adn_image::default();
    let mut info = sys::adn_image_info::default();
    let status = read(&params, &mut pixels, &mut alpha, &mut info);
    check(status)?;
    // SAFETY: both were filled (or left empty) by the library.
    let image = unsafe { Image::take_library(&mut pixels) };
    let alpha = if alpha.data.is_null() { None } else { Some(unsafe { Image::take_library(&mut alpha) }) };
    let format = match info.format {
        sys::ADN_FORMAT_PNG => FileFormat::Png,
        sys::ADN_FORMAT_JPEG => FileFormat::Jpeg,
        _ => FileFormat::Unknown,
    };
    let info = ImageInfo {
        format,
        height: info.height,
        width: info.width,
        bit_depth: info.bit_depth,
        file_channels: info.file_channels,
        has_alpha: info.has_alpha != 0,
    };
    Ok((image, alpha, info))
}
