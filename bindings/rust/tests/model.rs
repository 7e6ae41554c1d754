//! Model, Style and stylize on the analytic bundle (8x8 space-to-depth encoder, its exact inverse as
//! decoder, luma depth).  Skipped, saying so, when the bundle cannot be made.
mod common;

use std::path::PathBuf;

use adain_dcs::{Depth, DepthKind, Device, Image, Model, ModelOptions, Status, StylizeParams};
use common::{analytic_bundle, max_abs_diff, Rng};

fn bundle_or_skip(test: &str) -> Option<PathBuf> {
    match analytic_bundle() {
        Ok(dir) => Some(dir),
        Err(why) => {
            eprintln!("SKIP {}: no analytic bundle ({})", test, why);
            None
        }
    }
}

fn cpu_model(dir: &PathBuf) -> Model {
    Model::load_with(dir, &ModelOptions { device: Device::Cpu, threads: 1, ..ModelOptions::default() })
        .unwrap()
}

fn random_rgb(rng: &mut Rng, width: usize, height: usize) -> Image {
    Image::from_vec(3, width, height, rng.vec(3 * width * height)).unwrap()
}

#[test]
fn info_describes_the_analytic_pair() {
    let dir = match bundle_or_skip("info") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let info = model.info().unwrap();
    assert_eq!((info.feature_channels, info.downsample), (192, 8));
    assert_eq!(info.depth_kind, DepthKind::Depth);
    assert_eq!(info.device, Device::Cpu);
    assert_eq!((info.depth_lo, info.depth_hi), (0.0, 1.0));
    model.set_depth_range(0.75, 0.25).unwrap();
    let info = model.info().unwrap();
    assert_eq!((info.depth_lo, info.depth_hi), (0.75, 0.25));
    assert_eq!(model.set_depth_range(1.5, 0.0).unwrap_err().status(), Status::InvalidArgument);
}

#[test]
fn alpha_zero_returns_the_content() {
    let dir = match bundle_or_skip("alpha_zero") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut rng = Rng::new(11);
    let style = model.style(&random_rgb(&mut rng, 9, 11)).unwrap();
    for &(width, height) in &[(16, 16), (21, 13), (3, 45), (5, 7), (1, 1)] {
        let content = random_rgb(&mut rng, width, height);
        let out = model.stylize(&content, &[&style], &StylizeParams::new().alpha(0.0)).unwrap();
        assert_eq!((out.image.channels(), out.image.height(), out.image.width()), (3, height, width));
        let err = max_abs_diff(out.image.data(), content.data());
        assert!(err <= 1e-6, "{}x{}: max |out - content| = {}", height, width, err);
    }
}

#[test]
fn style_stats_match_space_to_depth_statistics() {
    let dir = match bundle_or_skip("style_stats") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut rng = Rng::new(5);
    let image = random_rgb(&mut rng, 16, 8); // multiple of 8: no padding involved
    let style = model.style(&image).unwrap();
    let (mean, std) = style.stats().unwrap();
    assert_eq!(mean.len(), 192);
    // Channel c*64 + dy*8 + dx holds pixels (8i + dy, 8j + dx) of colour c: here i = 0, j = 0..2.
    for channel in [0usize, 77, 191] {
        let (c, dy, dx) = (channel / 64, channel % 64 / 8, channel % 8);
        let values: Vec<f64> = (0..2).map(|j| image.get(c, dy, 8 * j + dx) as f64).collect();
        let m = (values[0] + values[1]) / 2.0;
        let var = (values[0] - m).powi(2) + (values[1] - m).powi(2); // unbiased, N - 1 = 1
        assert!((mean[channel] as f64 - m).abs() < 1e-6);
        assert!((std[channel] as f64 - (var + 1e-5).sqrt()).abs() < 1e-6);
    }
}

#[test]
fn depth_and_strength_maps_come_back() {
    let dir = match bundle_or_skip("maps") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut rng = Rng::new(9);
    let content = random_rgb(&mut rng, 24, 16);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    let out = model
        .stylize(
            &content,
            &[&style],
            &StylizeParams::new().alpha(0.5).return_depth(true).return_strength(true),
        )
        .unwrap();
    let depth = out.depth.unwrap();
    let strength = out.strength.unwrap();
    assert_eq!((depth.channels(), depth.height(), depth.width()), (1, 16, 24));
    assert_eq!((strength.channels(), strength.height(), strength.width()), (1, 2, 3));
    // The luma "depth" normalised to [0,1] (larger = farther).
    let luma: Vec<f64> = (0..16 * 24)
        .map(|i| {
            0.299 * content.data()[i] as f64
                + 0.587 * content.data()[384 + i] as f64
                + 0.114 * content.data()[768 + i] as f64
        })
        .collect();
    let (lo, hi) = luma.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let expected_d: Vec<f32> = luma.iter().map(|v| ((v - lo) / (hi - lo)) as f32).collect();
    assert!(max_abs_diff(depth.data(), &expected_d) < 1e-5);
    // S = alpha * 8x8 block mean of D (no padding at 16 x 24).
    let s00: f32 =
        (0..8).flat_map(|y| (0..8).map(move |x| (y, x))).map(|(y, x)| expected_d[y * 24 + x]).sum::<f32>()
            / 64.0;
    assert!((strength.get(0, 0, 0) - 0.5 * s00).abs() < 1e-5);
}

#[test]
fn caller_depth_and_errors() {
    let dir = match bundle_or_skip("caller_depth") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut rng = Rng::new(13);
    let content = random_rgb(&mut rng, 16, 16);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    // A constant map normalises to D = 0 (near everywhere): S = 0, so the content comes back.
    let flat = Image::from_vec(1, 4, 4, vec![3.0; 16]).unwrap();
    let params = StylizeParams::new().depth(Depth::Map { map: &flat, is_disparity: false, invalid: None });
    let out = model.stylize(&content, &[&style], &params).unwrap();
    assert!(max_abs_diff(out.image.data(), content.data()) <= 1e-6);
    let mut nan = flat.clone();
    nan.data_mut()[5] = f32::NAN;
    let params = StylizeParams::new().depth(Depth::Map { map: &nan, is_disparity: false, invalid: None });
    let err = model.stylize(&content, &[&style], &params).unwrap_err();
    assert_eq!(err.status(), Status::NonFinite);
    assert!(!err.message().is_empty());
    let err = model.stylize(&content, &[&style, &style], &StylizeParams::new().weights(&[1.0])).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
}

#[test]
fn styles_are_bound_to_their_model_and_outlive_handles_safely() {
    let dir = match bundle_or_skip("ownership") {
        Some(dir) => dir,
        None => return,
    };
    let mut rng = Rng::new(17);
    let image = random_rgb(&mut rng, 8, 8);
    let a = cpu_model(&dir);
    let b = cpu_model(&dir);
    let style_a = a.style(&image).unwrap();
    let err = b.stylize(&image, &[&style_a], &StylizeParams::new()).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    let clone = a.clone();
    drop(a); // the C model lives on: the style and the clone still refer to it
    let out = clone.stylize(&image, &[&style_a], &StylizeParams::new().alpha(0.0)).unwrap();
    assert!(max_abs_diff(out.image.data(), image.data()) <= 1e-6);
    drop(clone);
    drop(style_a); // frees the style, then the model
}

#[test]
fn threads_share_one_model() {
    let dir = match bundle_or_skip("threads") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut rng = Rng::new(21);
    let content = random_rgb(&mut rng, 40, 24);
    let style = model.style(&random_rgb(&mut rng, 16, 16)).unwrap();
    let params = StylizeParams::new().alpha(0.7);
    let expected = model.stylize(&content, &[&style], &params).unwrap().image;
    let results: Vec<Image> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| model.stylize(&content, &[&style], &params).unwrap().image))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for image in results {
        assert_eq!(image, expected);
    }
}

#[test]
fn stylize_leaves_its_inputs_untouched() {
    // The binding hands the library `&Image`s as const pointers; writing through them would break
    // Rust's aliasing rules.  8 x 8 is the size where the analytic encoder's output can be a view.
    let dir = match bundle_or_skip("inputs_untouched") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut rng = Rng::new(23);
    for &(width, height) in &[(8, 8), (16, 8), (24, 16)] {
        let content = random_rgb(&mut rng, width, height);
        let style_image = random_rgb(&mut rng, 8, 8);
        let (content_copy, style_copy) = (content.clone(), style_image.clone());
        let style = model.style(&style_image).unwrap();
        let out = model.stylize(&content, &[&style], &StylizeParams::new().depth(Depth::None)).unwrap();
        assert_eq!(content, content_copy, "{}x{}: content was modified", height, width);
        assert_eq!(style_image, style_copy, "style image was modified");
        assert!(max_abs_diff(out.image.data(), content.data()) > 1e-3, "the style had no effect");
    }
}
