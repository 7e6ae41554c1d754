//! The progress / cancel closure of a Context: stages in order, cancellation leaving the output
//! untouched, and a panicking closure whose panic is resumed after the C call instead of unwinding
//! through C.
mod common;

use std::ops::ControlFlow;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use adain_dcs::{Context, Device, Image, Model, ModelOptions, Stage, Status, StylizeParams};
use common::{analytic_bundle, quiet_expected_panics, random_rgb, Rng, EXPECTED_PANIC};

fn model_or_skip(test: &str) -> Option<Model> {
    match analytic_bundle() {
        Ok(dir) => Some(
            Model::load_with(
                &dir,
                &ModelOptions { device: Device::Cpu, threads: 1, ..ModelOptions::default() },
            )
            .unwrap(),
        ),
        Err(why) => {
            eprintln!("SKIP {}: no analytic bundle ({})", test, why);
            None
        }
    }
}

#[test]
fn stages_come_in_order() {
    let model = match model_or_skip("stages") {
        Some(model) => model,
        None => return,
    };
    let mut ctx = Context::new(&model).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    ctx.set_progress(move |stage| {
        log.lock().unwrap().push(stage);
        ControlFlow::Continue(())
    });
    let mut rng = Rng::new(1);
    let content = random_rgb(&mut rng, 16, 16);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    ctx.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
    let stages = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(stages.first(), Some(&Stage::EncodeContent), "{:?}", stages);
    assert_eq!(stages.last(), Some(&Stage::Decode), "{:?}", stages);
    assert!(stages.windows(2).all(|w| w[0] < w[1]), "not in order: {:?}", stages);
    assert!(stages.contains(&Stage::Depth) && stages.contains(&Stage::AdainBlend), "{:?}", stages);
    ctx.estimate_depth(&content).unwrap();
    assert!(seen.lock().unwrap().contains(&Stage::Depth), "estimate_depth reports its stage");
    ctx.clear_progress();
    seen.lock().unwrap().clear();
    ctx.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
    assert!(seen.lock().unwrap().is_empty(), "a cleared closure is not called");
}

#[test]
fn cancelling_stops_the_call_and_leaves_the_output() {
    let model = match model_or_skip("cancel") {
        Some(model) => model,
        None => return,
    };
    let mut ctx = Context::new(&model).unwrap();
    let mut rng = Rng::new(2);
    let content = random_rgb(&mut rng, 16, 16);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    for stop_at in [Stage::EncodeContent, Stage::Depth, Stage::Decode] {
        ctx.clear_progress();
        ctx.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
        assert!(ctx.depth().is_ok());
        let calls = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&calls);
        ctx.set_progress(move |stage| {
            log.lock().unwrap().push(stage);
            if stage == stop_at {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        let mut out = Image::from_vec(3, 16, 16, vec![-7.0; 3 * 16 * 16]).unwrap();
        let err = ctx.stylize_into(&content, &[&style], &StylizeParams::new(), &mut out).unwrap_err();
        assert_eq!(err.status(), Status::Cancelled, "{:?}: {}", stop_at, err);
        assert!(out.data().iter().all(|&v| v == -7.0), "{:?}: a cancelled call wrote its output", stop_at);
        assert_eq!(calls.lock().unwrap().last(), Some(&stop_at), "nothing is called after the stop");
        assert_eq!(
            ctx.depth().unwrap_err().status(),
            Status::InvalidArgument,
            "a cancelled call leaves no maps"
        );
        if stop_at == Stage::Depth {
            let err = ctx.estimate_depth(&content).unwrap_err();
            assert_eq!(err.status(), Status::Cancelled, "estimate_depth asks before its depth stage too");
        }
    }
    // Going on after a cancellation works.
    ctx.set_progress(|_| ControlFlow::Continue(()));
    let out = ctx.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
    assert_eq!(
        out,
        Context::new(&model).unwrap().stylize(&content, &[&style], &StylizeParams::new()).unwrap()
    );
}

#[test]
fn a_panicking_closure_is_resumed_after_the_call() {
    let model = match model_or_skip("panic") {
        Some(model) => model,
        None => return,
    };
    quiet_expected_panics();
    let mut ctx = Context::new(&model).unwrap();
    let mut rng = Rng::new(3);
    let content = random_rgb(&mut rng, 16, 16);
    let style = model.style(&random_rgb(&mut rng, 8, 8)).unwrap();
    let after_panic = Arc::new(Mutex::new(0));
    let count = Arc::clone(&after_panic);
    let mut panicked = false;
    ctx.set_progress(move |stage| {
        if panicked {
            *count.lock().unwrap() += 1;
        }
        if stage == Stage::Depth && !panicked {
            panicked = true;
            panic!("{} progress closure panicked at {:?}", EXPECTED_PANIC, stage);
        }
        ControlFlow::Continue(())
    });
    let mut out = Image::from_vec(3, 16, 16, vec![-7.0; 3 * 16 * 16]).unwrap();
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        let _ = ctx.stylize_into(&content, &[&style], &StylizeParams::new(), &mut out);
    }))
    .expect_err("the closure's panic reaches the caller");
    let message = caught
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| caught.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert_eq!(message, format!("{} progress closure panicked at Depth", EXPECTED_PANIC));
    assert_eq!(*after_panic.lock().unwrap(), 0, "the call stopped at the panic");
    assert!(out.data().iter().all(|&v| v == -7.0), "the interrupted call wrote no output");
    // The context (and its closure, which now lets every stage pass) still works.
    let result = ctx.stylize(&content, &[&style], &StylizeParams::new()).unwrap();
    assert_eq!(
        result,
        Context::new(&model).unwrap().stylize(&content, &[&style], &StylizeParams::new()).unwrap()
    );
    assert!(*after_panic.lock().unwrap() > 0);
}
