//! Version, errors, image conversions and the pure math, each against an independent computation.
mod common;

use adain_dcs::{sys, Depth, DepthNorm, Error, FileFormat, Image, Model, ReadOptions, Status, StylizeParams};
use common::{max_abs_diff, Rng};

#[test]
#[allow(clippy::assertions_on_constants)] // a constant of the build, on purpose
fn version_matches_the_header() {
    assert_eq!(adain_dcs::version_number(), sys::ADN_VERSION_NUMBER);
    let expected =
        format!("{}.{}.{}", sys::ADN_VERSION_MAJOR, sys::ADN_VERSION_MINOR, sys::ADN_VERSION_PATCH);
    assert_eq!(adain_dcs::version(), expected);
    // The header the library was built from says the same (the layout probe is required: see
    // adain-dcs-sys/tests/layout.rs).
    assert!(sys::c_layout::AVAILABLE, "{}", sys::c_layout::UNAVAILABLE_REASON);
    assert_eq!(adain_dcs::version(), sys::c_layout::VERSION_STRING);
    let number = sys::c_layout::CONSTANTS.iter().find(|(name, _)| *name == "ADN_VERSION_NUMBER").unwrap().1;
    assert_eq!(adain_dcs::version_number() as i64, number);
    assert!(!adain_dcs::has_feature("no such feature"));
    assert!(!adain_dcs::has_feature("png\0"));
}

#[test]
fn status_codes_round_trip_and_have_names() {
    for code in 1..=11 {
        let status = Status::from_code(code);
        assert_ne!(status, Status::Unknown(code));
        assert_eq!(status.code(), code);
        assert_ne!(status.name(), "unknown status");
    }
    assert_eq!(Status::from_code(77), Status::Unknown(77));
    assert_eq!(Status::Unknown(77).name(), "unknown status");
    assert_eq!(Status::InvalidArgument.name(), "invalid argument");
    assert_eq!(Status::from_code(sys::ADN_ERR_CANCELLED), Status::Cancelled);
    assert_eq!(Status::Cancelled.name(), "cancelled");
}

#[test]
fn loading_a_missing_bundle_is_an_error_with_status_and_message() {
    let dir = std::env::temp_dir().join("adain-dcs-rust-no-such-bundle");
    let err: Error = match Model::load(&dir) {
        Ok(_) => panic!("loading {} succeeded", dir.display()),
        Err(e) => e,
    };
    let expected = if adain_dcs::has_feature("torch") { Status::Model } else { Status::Unsupported };
    assert_eq!(err.status(), expected);
    assert!(!err.message().is_empty());
    if expected == Status::Model {
        assert!(err.message().contains("adain-dcs-rust-no-such-bundle"), "{}", err);
    }
    let shown = err.to_string();
    assert!(shown.starts_with(&expected.name()), "{}", shown);
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert!(!boxed.to_string().is_empty());
}

#[test]
fn non_finite_depth_is_reported() {
    let err = adain_dcs::depth_normalize(&[0.5, f32::NAN, 1.0], &DepthNorm::default()).unwrap_err();
    assert_eq!(err.status(), Status::NonFinite);
    assert!(err.message().to_lowercase().contains("nan"), "{}", err);
}

#[test]
fn bad_sizes_are_invalid_arguments() {
    assert_eq!(Image::new(0, 4, 4).unwrap_err().status(), Status::InvalidArgument);
    assert_eq!(Image::from_vec(1, 2, 2, vec![0.0; 3]).unwrap_err().status(), Status::InvalidArgument);
    assert_eq!(
        adain_dcs::channel_stats(&[1.0, 2.0, 3.0], 2, 1e-5).unwrap_err().status(),
        Status::InvalidArgument
    );
    assert_eq!(
        adain_dcs::adain(&[1.0, 2.0], 1, &[0.0, 1.0], &[1.0], 1e-5).unwrap_err().status(),
        Status::InvalidArgument
    );
    assert_eq!(adain_dcs::round_up(0, 8).unwrap_err().status(), Status::InvalidArgument);
    // The library's own check (not the binding's): an empty depth map.
    let err = adain_dcs::depth_range_map(&[], 0.0, 1.0).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(!err.message().is_empty());
}

/// METHOD.md §2 in f64: (mean, sqrt(unbiased var + eps)).
fn reference_stats(x: &[f32], channels: usize, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let n = x.len() / channels;
    let mut means = Vec::new();
    let mut stds = Vec::new();
    for c in 0..channels {
        let row = &x[c * n..(c + 1) * n];
        let mean = row.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = if n > 1 {
            row.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        means.push(mean);
        stds.push((var + eps).sqrt());
    }
    (means, stds)
}

#[test]
fn channel_stats_and_adain_match_the_formula() {
    let mut rng = Rng::new(7);
    let (channels, n) = (5, 37);
    let x: Vec<f32> = rng.vec(channels * n).iter().map(|v| 4.0 * v - 1.0).collect();
    let (mean, std) = adain_dcs::channel_stats(&x, channels, adain_dcs::ADAIN_EPS).unwrap();
    let (ref_mean, ref_std) = reference_stats(&x, channels, 1e-5);
    for c in 0..channels {
        assert!((mean[c] as f64 - ref_mean[c]).abs() < 1e-6);
        assert!((std[c] as f64 - ref_std[c]).abs() < 1e-6);
    }
    let style_mean: Vec<f32> = rng.vec(channels);
    let style_std: Vec<f32> = rng.vec(channels).iter().map(|v| 0.1 + 2.0 * v).collect();
    let out = adain_dcs::adain(&x, channels, &style_mean, &style_std, adain_dcs::ADAIN_EPS).unwrap();
    let mut worst = 0.0f64;
    for c in 0..channels {
        for i in 0..n {
            let expected =
                style_std[c] as f64 * (x[c * n + i] as f64 - ref_mean[c]) / ref_std[c] + style_mean[c] as f64;
            worst = worst.max((out[c * n + i] as f64 - expected).abs());
        }
    }
    assert!(worst < 1e-5, "max |adain - formula| = {}", worst);
}

#[test]
fn depth_normalize_and_strength_match_the_formula() {
    let depth = [2.0f32, 0.0, 6.0, 4.0, 0.0];
    let (d, valid) =
        adain_dcs::depth_normalize(&depth, &DepthNorm { is_disparity: true, invalid: Some(0.0) }).unwrap();
    assert_eq!(valid, vec![1, 0, 1, 1, 0]);
    // valid range 2..6: D = (d - 2) / 4, then 1 - D for disparity; invalid pixels get 1.
    assert!(max_abs_diff(&d, &[1.0, 1.0, 0.0, 0.5, 1.0]) < 1e-6, "{:?}", d);
    let r = adain_dcs::depth_range_map(&d, 0.2, 0.6).unwrap();
    assert!(max_abs_diff(&r, &[0.6, 0.6, 0.2, 0.4, 0.6]) < 1e-6);
    let s = adain_dcs::strength_map(0.5, Some(&[1.0, 0.5, 1.0, 0.0, 2.0]), Some(&r), 5).unwrap();
    assert!(max_abs_diff(&s, &[0.3, 0.15, 0.1, 0.0, 0.6]) < 1e-6, "{:?}", s);
    let f = adain_dcs::blend(&[1.0, 1.0, 1.0, 1.0, 1.0], &[0.0; 5], &s, 1).unwrap();
    assert!(max_abs_diff(&f, &s) < 1e-7);
}

#[test]
fn padding_resizing_and_averaging() {
    // One row 1 2 3: reflection without repeating the edge, period 2(n-1) = 4.
    let row = Image::from_vec(1, 1, 3, vec![1.0, 2.0, 3.0]).unwrap();
    let padded = adain_dcs::pad_reflect(&row, 1, 8).unwrap();
    assert_eq!(padded.data(), &[1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0]);
    assert_eq!(adain_dcs::crop(&padded, 1, 3).unwrap(), row);
    assert_eq!(adain_dcs::round_up(13, 8).unwrap(), 16);
    // 2x upsampling of [0, 1] with half-pixel centres: 0, 0.25, 0.75, 1.
    let two = Image::from_vec(1, 1, 2, vec![0.0, 1.0]).unwrap();
    let up = adain_dcs::resize_bilinear(&two, 1, 4).unwrap();
    assert!(max_abs_diff(up.data(), &[0.0, 0.25, 0.75, 1.0]) < 1e-7, "{:?}", up.data());
    let mut rng = Rng::new(3);
    let img = Image::from_vec(2, 4, 4, rng.vec(32)).unwrap();
    let avg = adain_dcs::block_average(&img, None, 2, 0.0).unwrap();
    assert_eq!((avg.channels(), avg.height(), avg.width()), (2, 2, 2));
    let expected = (img.get(1, 2, 0) + img.get(1, 2, 1) + img.get(1, 3, 0) + img.get(1, 3, 1)) / 4.0;
    assert!((avg.get(1, 1, 0) - expected).abs() < 1e-6);
}

#[test]
fn u8_conversions_round_trip() {
    let pixels: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7 % 256) as u8).collect();
    let image = Image::from_interleaved_u8(&pixels, 3, 3, 4).unwrap(); // C, H, W
    assert_eq!((image.channels(), image.height(), image.width()), (3, 3, 4));
    // Pixel (x=1, y=2) channel 2 is interleaved byte ((2 * 4 + 1) * 3 + 2).
    assert!((image.get(2, 2, 1) - pixels[29] as f32 / 255.0).abs() < 1e-7);
    assert_eq!(image.to_interleaved_u8().unwrap(), pixels);
    let grey = Image::from_interleaved_u8(&[0, 255], 1, 1, 2).unwrap();
    assert_eq!(grey.shape(), (3, 1, 2), "grey is replicated to RGB");
    // Rows 5 bytes apart for 4 bytes of pixels: the padding byte (99) is skipped.
    let strided =
        Image::from_interleaved_u8_strided(&[0, 51, 102, 153, 99, 255, 204, 153, 102], 1, 2, 4, 5).unwrap();
    assert_eq!(strided.shape(), (3, 2, 4));
    assert_eq!(strided.to_interleaved_u8().unwrap().len(), 3 * 2 * 4);
    assert!((strided.get(0, 1, 0) - 1.0).abs() < 1e-7);
    assert_eq!(
        Image::from_interleaved_u8_strided(&[0; 8], 1, 2, 4, 5).unwrap_err().status(),
        Status::InvalidArgument,
        "a buffer that stops short of the last row is refused before C reads it"
    );
}

#[test]
fn png_round_trip() {
    if !adain_dcs::has_feature("png") {
        eprintln!("SKIP: library built without PNG");
        return;
    }
    let pixels: Vec<u8> = (0..5 * 7 * 3).map(|i| (i * 31 % 256) as u8).collect();
    let image = Image::from_interleaved_u8(&pixels, 3, 7, 5).unwrap();
    let path = std::env::temp_dir().join(format!("adain-dcs-rust-{}.png", std::process::id()));
    image.write(&path).unwrap();
    let (back, alpha, info) = Image::read_with(&path, &ReadOptions::default()).unwrap();
    assert!(alpha.is_none());
    assert_eq!((info.height, info.width, info.bit_depth, info.file_channels), (7, 5, 8, 3));
    assert_eq!(info.format, FileFormat::Png);
    assert_eq!(back.to_interleaved_u8().unwrap(), pixels);
    // The same file from memory.
    let bytes = std::fs::read(&path).unwrap();
    let (from_memory, _, memory_info) = Image::read_memory_with(&bytes, &ReadOptions::default()).unwrap();
    assert_eq!(from_memory, back);
    assert_eq!(memory_info, info);
    let err = Image::read_memory(&bytes[..bytes.len() / 2]).unwrap_err();
    assert_eq!(err.status(), Status::Format, "{}", err);
    assert!(err.message().contains("<memory>"), "{}", err);
    std::fs::remove_file(&path).ok();
    let err = Image::read(std::env::temp_dir().join("adain-dcs-rust-missing.png")).unwrap_err();
    assert_eq!(err.status(), Status::Io);
}

#[test]
fn resize_while_reading_equals_read_then_resize() {
    if !adain_dcs::has_feature("png") {
        eprintln!("SKIP: library built without PNG");
        return;
    }
    let pixels: Vec<u8> = (0..40 * 24 * 3).map(|i| (i * 37 % 251) as u8).collect();
    let image = Image::from_interleaved_u8(&pixels, 3, 24, 40).unwrap();
    let path = std::env::temp_dir().join(format!("adain-dcs-rust-resize-{}.png", std::process::id()));
    image.write(&path).unwrap();
    let full = Image::read(&path).unwrap();
    // Short side 12: 24 x 40 -> 12 x 20; then a long side of at most 16: 10 x 16 (rounded half up).
    let short = ReadOptions { short_side: 12, ..ReadOptions::default() };
    let (small, _, info) = Image::read_with(&path, &short).unwrap();
    assert_eq!((info.height, info.width), (24, 40), "info describes the file");
    assert_eq!(small, adain_dcs::resize_bilinear(&full, 12, 20).unwrap());
    let capped = ReadOptions { short_side: 12, max_side: 16, ..ReadOptions::default() };
    let (smaller, _, _) = Image::read_with(&path, &capped).unwrap();
    assert_eq!(smaller, adain_dcs::resize_bilinear(&full, 10, 16).unwrap());
    std::fs::remove_file(&path).ok();
}

#[test]
fn stylize_params_builder_keeps_choices() {
    let map = Image::new(1, 2, 2).unwrap();
    let norm = DepthNorm { is_disparity: true, invalid: Some(0.0) };
    let params = StylizeParams::new().alpha(0.25).depth(Depth::Map { map: &map, norm }).preserve_color(true);
    let shown = format!("{:?}", params);
    assert!(
        shown.contains("alpha: 0.25")
            && shown.contains("is_disparity: true")
            && shown.contains("preserve_color: true"),
        "{}",
        shown
    );
}
