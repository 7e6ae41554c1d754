//! Model, Style and Context on the analytic bundle (8x8 space-to-depth encoder, its exact inverse
//! as decoder, luma depth).  Skipped, saying so, when the bundle cannot be made.
mod common;

use std::path::PathBuf;

use adain_dcs::{
    Context, ContextOptions, Depth, DepthKind, DepthNorm, Device, Image, Model, ModelOptions, Precision,
    Status, StylizeParams,
};
use common::{analytic_bundle, max_abs_diff, random_rgb, Rng};

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

/// The luma "depth" of the analytic bundle, normalised to [0,1] (larger = farther).
fn luma_depth(content: &Image) -> Vec<f32> {
    let n = content.height() * content.width();
    let d = content.data();
    let luma: Vec<f64> =
        (0..n).map(|i| 0.299 * d[i] as f64 + 0.587 * d[n + i] as f64 + 0.114 * d[2 * n + i] as f64).collect();
    let (lo, hi) = luma.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    luma.iter().map(|v| ((v - lo) / (hi - lo)) as f32).collect()
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
    assert_eq!(info.precision, Precision::Fp32);
    assert_eq!(info.backend, "torch");
}

#[test]
fn unimplemented_precisions_are_unsupported() {
    let dir = match bundle_or_skip("precision") {
        Some(dir) => dir,
        None => return,
    };
    // bf16 is refused only on CPUs without AVX512_BF16 or AMX-BF16; fp16 on every CPU.
    let precisions: &[Precision] =
        if adain_dcs::has_feature("bf16") { &[Precision::Fp16] } else { &[Precision::Bf16, Precision::Fp16] };
    for &precision in precisions {
        let options = ModelOptions { device: Device::Cpu, threads: 1, precision, ..ModelOptions::default() };
        let err = Model::load_with(&dir, &options).unwrap_err();
        assert_eq!(err.status(), Status::Unsupported, "{:?}: {}", precision, err);
    }
}

#[test]
fn the_depth_range_belongs_to_the_context() {
    let dir = match bundle_or_skip("depth_range") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut a = Context::new(&model).unwrap();
    let b = Context::with_options(&model, &ContextOptions { depth_range: (0.25, 0.5), ..Default::default() }).unwrap();
    assert_eq!(a.depth_range().unwrap(), (0.0, 1.0));
    assert_eq!(b.depth_range().unwrap(), (0.25, 0.5));
    a.set_depth_range(0.75, 0.25).unwrap();
    assert_eq!(a.depth_range().unwrap(), (0.75, 0.25));
    assert_eq!(b.depth_range().unwrap(), (0.25, 0.5), "contexts do not share a range");
    let err = a.set_depth_range(1.5, 0.0).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(!err.message().is_empty());
    assert_eq!(a.depth_range().unwrap(), (0.75, 0.25), "a refused range changes nothing");
    assert!(Context::with_options(&model, &ContextOptions { depth_range: (-0.5, 1.0), ..Default::default() }).is_err());

    // The range shapes S: with lo = hi = 0.5 and alpha = 1, S is 0.5 everywhere.
    let mut rng = Rng::new(3);
    let content = random_rgb(&mut rng, 16, 16);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    a.set_depth_range(0.5, 0.5).unwrap();
    a.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
    let s = a.strength().unwrap();
    assert!(s.data().iter().all(|v| (v - 0.5).abs() < 1e-6), "{:?}", s.data());
}

#[test]
fn a_memory_budget_that_cannot_fit_is_refused_up_front() {
    let dir = match bundle_or_skip("memory_budget") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let options = ContextOptions { memory_budget_bytes: 1, ..Default::default() };
    let mut tiny = Context::with_options(&model, &options).unwrap();
    let mut rng = Rng::new(5);
    let content = random_rgb(&mut rng, 32, 32);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    let err = tiny.stylize(&content, &[&style], &StylizeParams::new()).unwrap_err();
    assert_eq!(err.status(), Status::TooLarge, "{}", err);
    assert!(err.message().contains("memory budget"), "{}", err.message());
    let mut roomy = Context::with_options(&model, &ContextOptions { memory_budget_bytes: u64::MAX, ..Default::default() }).unwrap();
    roomy.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
}

#[test]
fn alpha_zero_returns_the_content() {
    let dir = match bundle_or_skip("alpha_zero") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut ctx = model.context().unwrap();
    let mut rng = Rng::new(11);
    let style = model.style(&random_rgb(&mut rng, 11, 9)).unwrap();
    for &(height, width) in &[(16, 16), (13, 21), (45, 3), (7, 5), (1, 1)] {
        let content = random_rgb(&mut rng, height, width);
        let out = ctx.stylize(&content, &[&style], &StylizeParams::new().alpha(0.0)).unwrap();
        assert_eq!(out.shape(), (3, height, width));
        let err = max_abs_diff(out.data(), content.data());
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
    let image = random_rgb(&mut rng, 8, 16); // multiples of 8: no padding involved
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
fn depth_and_strength_maps_of_the_last_call() {
    let dir = match bundle_or_skip("maps") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut ctx = Context::new(&model).unwrap();
    assert_eq!(ctx.depth().unwrap_err().status(), Status::InvalidArgument, "no call yet");
    let mut rng = Rng::new(9);
    let content = random_rgb(&mut rng, 16, 24);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    ctx.stylize(&content, &[&style], &StylizeParams::new().alpha(0.5)).unwrap();
    let depth = ctx.depth().unwrap();
    let strength = ctx.strength().unwrap();
    assert_eq!(depth.shape(), (1, 16, 24));
    assert_eq!(strength.shape(), (1, 2, 3));
    let expected_d = luma_depth(&content);
    assert!(max_abs_diff(depth.data(), &expected_d) < 1e-5);
    // S = alpha * 8x8 block mean of D (no padding at 16 x 24).
    let s00: f32 =
        (0..8).flat_map(|y| (0..8).map(move |x| (y, x))).map(|(y, x)| expected_d[y * 24 + x]).sum::<f32>()
            / 64.0;
    assert!((strength.get(0, 0, 0) - 0.5 * s00).abs() < 1e-5);
    // The _into forms fill caller buffers with the same values.
    let mut depth_buffer = Image::new(1, 16, 24).unwrap();
    ctx.depth_into(&mut depth_buffer).unwrap();
    assert_eq!(depth_buffer, depth);
    let mut strength_buffer = Image::new(1, 2, 3).unwrap();
    ctx.strength_into(&mut strength_buffer).unwrap();
    assert_eq!(strength_buffer, strength);
    let mut wrong = Image::new(1, 2, 2).unwrap();
    assert_eq!(ctx.strength_into(&mut wrong).unwrap_err().status(), Status::InvalidArgument);
    // The network's depth on its own gives the same D.
    let estimated = ctx.estimate_depth(&content).unwrap();
    assert!(max_abs_diff(estimated.data(), depth.data()) < 1e-6);
    // A call without depth leaves none; reset forgets the maps.
    ctx.stylize(&content, &[&style], &StylizeParams::new().depth(Depth::None)).unwrap();
    assert_eq!(ctx.depth().unwrap_err().status(), Status::InvalidArgument);
    ctx.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
    assert!(ctx.depth().is_ok());
    ctx.reset().unwrap();
    assert_eq!(ctx.depth().unwrap_err().status(), Status::InvalidArgument);
    assert_eq!(ctx.strength().unwrap_err().status(), Status::InvalidArgument);
}

#[test]
fn timings_describe_the_last_call() {
    let dir = match bundle_or_skip("timings") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut ctx = Context::new(&model).unwrap();
    let mut rng = Rng::new(31);
    let content = random_rgb(&mut rng, 32, 32);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    ctx.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
    let t = ctx.timings().unwrap();
    assert!(t.total_ms > 0.0, "{:?}", t);
    for part in [t.style_encode_ms, t.content_encode_ms, t.depth_ms, t.adain_blend_ms, t.decode_ms] {
        assert!(part >= 0.0 && part <= t.total_ms, "{:?}", t);
    }
    ctx.estimate_depth(&content).unwrap();
    let t = ctx.timings().unwrap();
    assert_eq!(
        (t.content_encode_ms, t.decode_ms),
        (0.0, 0.0),
        "estimate_depth runs no networks but depth: {:?}",
        t
    );
}

#[test]
fn caller_depth_and_errors() {
    let dir = match bundle_or_skip("caller_depth") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut ctx = Context::new(&model).unwrap();
    let mut rng = Rng::new(13);
    let content = random_rgb(&mut rng, 16, 16);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    // A constant map normalises to D = 0 (near everywhere): S = 0, so the content comes back.
    let flat = Image::from_vec(1, 4, 4, vec![3.0; 16]).unwrap();
    let out = ctx.stylize(&content, &[&style], &StylizeParams::new().depth(Depth::map(&flat))).unwrap();
    assert!(max_abs_diff(out.data(), content.data()) <= 1e-6);
    // Disparity reverses it: D = 1 everywhere, S = alpha.
    let norm = DepthNorm { is_disparity: true, invalid: None };
    ctx.stylize(&content, &[&style], &StylizeParams::new().alpha(0.5).depth(Depth::Map { map: &flat, norm }))
        .unwrap();
    assert!(ctx.strength().unwrap().data().iter().all(|v| (v - 0.5).abs() < 1e-6));
    let mut nan = flat.clone();
    nan.data_mut()[5] = f32::NAN;
    let err = ctx.stylize(&content, &[&style], &StylizeParams::new().depth(Depth::map(&nan))).unwrap_err();
    assert_eq!(err.status(), Status::NonFinite);
    assert!(!err.message().is_empty());
    let err = ctx.stylize(&content, &[&style, &style], &StylizeParams::new().weights(&[1.0])).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    let err = ctx.stylize(&content, &[], &StylizeParams::new()).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    let grey = Image::new(1, 16, 16).unwrap();
    assert_eq!(
        ctx.stylize(&grey, &[&style], &StylizeParams::new()).unwrap_err().status(),
        Status::InvalidArgument
    );
}

#[test]
fn styles_and_contexts_keep_their_model_alive() {
    let dir = match bundle_or_skip("ownership") {
        Some(dir) => dir,
        None => return,
    };
    let mut rng = Rng::new(17);
    let image = random_rgb(&mut rng, 8, 8);
    let a = cpu_model(&dir);
    let b = cpu_model(&dir);
    let style_a = a.style(&image).unwrap();
    assert!(style_a.belongs_to(&a) && !style_a.belongs_to(&b));
    let mut ctx_b = Context::new(&b).unwrap();
    let err = ctx_b.stylize(&image, &[&style_a], &StylizeParams::new()).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument, "a style of another model is refused");
    let mut ctx_a = Context::new(&a).unwrap();
    assert!(ctx_a.model().same_as(&a));
    drop(a); // the C model lives on: the style and the context still refer to it
    let out = ctx_a.stylize(&image, &[&style_a], &StylizeParams::new().alpha(0.0)).unwrap();
    assert!(max_abs_diff(out.data(), image.data()) <= 1e-6);
    drop(ctx_a);
    drop(style_a); // frees the style, then the model
}

#[test]
fn four_threads_with_their_own_contexts_share_one_model_and_style() {
    let dir = match bundle_or_skip("threads") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut rng = Rng::new(21);
    let content = random_rgb(&mut rng, 24, 40);
    let style = model.style(&random_rgb(&mut rng, 16, 16)).unwrap();
    let params = StylizeParams::new().alpha(0.7);
    let expected = Context::new(&model).unwrap().stylize(&content, &[&style], &params).unwrap();
    let expected_depth = {
        let mut ctx = Context::new(&model).unwrap();
        ctx.stylize(&content, &[&style], &params).unwrap();
        ctx.depth().unwrap()
    };
    let results: Vec<(Image, Image)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut ctx = Context::new(&model).unwrap();
                    let mut last = None;
                    for _ in 0..3 {
                        last = Some(ctx.stylize(&content, &[&style], &params).unwrap());
                    }
                    (last.unwrap(), ctx.depth().unwrap())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (image, depth) in results {
        assert_eq!(image, expected);
        assert_eq!(depth, expected_depth);
    }
}

#[test]
fn a_context_moves_to_another_thread() {
    let dir = match bundle_or_skip("send") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut rng = Rng::new(29);
    let content = random_rgb(&mut rng, 8, 8);
    let style = std::sync::Arc::new(model.style(&content).unwrap());
    let mut ctx = Context::new(&model).unwrap();
    ctx.set_depth_range(0.1, 0.9).unwrap();
    drop(model); // the context and the style hold it
    let thread_style = std::sync::Arc::clone(&style);
    let ctx = std::thread::spawn(move || {
        ctx.stylize(&content, &[&thread_style], &StylizeParams::new()).unwrap();
        ctx
    })
    .join()
    .unwrap();
    assert_eq!(ctx.depth_range().unwrap(), (0.1, 0.9));
    assert!(ctx.depth().is_ok(), "the state made on the other thread came back with the context");
}

#[test]
fn stylize_into_writes_an_existing_buffer() {
    let dir = match bundle_or_skip("stylize_into") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut ctx = Context::new(&model).unwrap();
    let mut rng = Rng::new(37);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    let params = StylizeParams::new().alpha(0.6);
    let mut out = Image::new(3, 20, 28).unwrap();
    let buffer = out.data().as_ptr();
    for _ in 0..3 {
        let content = random_rgb(&mut rng, 20, 28);
        ctx.stylize_into(&content, &[&style], &params, &mut out).unwrap();
        assert_eq!(out.data().as_ptr(), buffer, "the caller's buffer is written, not replaced");
        let fresh = Context::new(&model).unwrap().stylize(&content, &[&style], &params).unwrap();
        assert_eq!(out, fresh);
    }
    // A buffer of the wrong size is refused before any work and left as it was.
    let mut wrong = Image::from_vec(3, 20, 27, vec![0.25; 3 * 20 * 27]).unwrap();
    let content = random_rgb(&mut rng, 20, 28);
    let err = ctx.stylize_into(&content, &[&style], &params, &mut wrong).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    assert!(wrong.data().iter().all(|&v| v == 0.25));
    // Smaller frames after larger ones reuse the context's buffers.
    let small = random_rgb(&mut rng, 9, 13);
    let mut small_out = Image::new(3, 9, 13).unwrap();
    ctx.stylize_into(&small, &[&style], &params, &mut small_out).unwrap();
    assert_eq!(small_out, Context::new(&model).unwrap().stylize(&small, &[&style], &params).unwrap());
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
    let mut ctx = Context::new(&model).unwrap();
    let mut rng = Rng::new(23);
    for &(height, width) in &[(8, 8), (8, 16), (16, 24)] {
        let content = random_rgb(&mut rng, height, width);
        let style_image = random_rgb(&mut rng, 8, 8);
        let (content_copy, style_copy) = (content.clone(), style_image.clone());
        let style = model.style(&style_image).unwrap();
        let out = ctx.stylize(&content, &[&style], &StylizeParams::new().depth(Depth::None)).unwrap();
        assert_eq!(content, content_copy, "{}x{}: content was modified", height, width);
        assert_eq!(style_image, style_copy, "style image was modified");
        assert!(max_abs_diff(out.data(), content.data()) > 1e-3, "the style had no effect");
    }
}

#[test]
fn temporal_smoothing_averages_the_depth_of_frames() {
    let dir = match bundle_or_skip("temporal") {
        Some(dir) => dir,
        None => return,
    };
    let model = cpu_model(&dir);
    let mut ctx = Context::new(&model).unwrap();
    let mut rng = Rng::new(41);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    let frames: Vec<Image> = (0..3).map(|_| random_rgb(&mut rng, 16, 16)).collect();
    let exact: Vec<Image> = frames.iter().map(|f| ctx.estimate_depth(f).unwrap()).collect();
    ctx.set_temporal(&adain_dcs::Temporal { depth_ema: 0.5, range_ema: 0.0 }).unwrap();
    ctx.stylize(&frames[0], &[&style], &StylizeParams::new()).unwrap();
    assert!(max_abs_diff(ctx.depth().unwrap().data(), exact[0].data()) < 1e-6, "the first frame is exact");
    ctx.stylize(&frames[1], &[&style], &StylizeParams::new()).unwrap();
    let expected: Vec<f32> =
        exact[0].data().iter().zip(exact[1].data()).map(|(a, b)| 0.5 * a + 0.5 * b).collect();
    assert!(max_abs_diff(ctx.depth().unwrap().data(), &expected) < 1e-5, "D'_1 = a D'_0 + (1 - a) D_1");
    ctx.reset().unwrap();
    ctx.stylize(&frames[2], &[&style], &StylizeParams::new()).unwrap();
    assert!(
        max_abs_diff(ctx.depth().unwrap().data(), exact[2].data()) < 1e-6,
        "reset restarts the smoothing"
    );
    let err = ctx.set_temporal(&adain_dcs::Temporal { depth_ema: 1.0, range_ema: 0.0 }).unwrap_err();
    assert_eq!(err.status(), Status::InvalidArgument);
    ctx.set_temporal(&adain_dcs::Temporal::default()).unwrap();
}

#[test]
fn an_unsealed_bundle_needs_trust_unsealed() {
    let dir = match bundle_or_skip("trust_unsealed") {
        Some(dir) => dir,
        None => return,
    };
    let unsealed = std::env::temp_dir().join(format!("adain-dcs-rust-unsealed-{}", std::process::id()));
    std::fs::create_dir_all(&unsealed).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap() != "manifest.txt" {
            std::fs::copy(&path, unsealed.join(path.file_name().unwrap())).unwrap();
        }
    }
    let default = ModelOptions { device: Device::Cpu, threads: 1, ..ModelOptions::default() };
    let err = Model::load_with(&unsealed, &default).unwrap_err();
    assert_eq!(err.status(), Status::Model, "{}", err);
    assert!(err.message().contains("--seal"), "{}", err.message());
    let trusting = ModelOptions { trust_unsealed: true, ..default };
    Model::load_with(&unsealed, &trusting).unwrap();
    std::fs::remove_dir_all(&unsealed).ok();
}
