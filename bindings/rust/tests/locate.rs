//! The header search of build.rs (build_support/locate.rs): a missing pkg-config must not end the
//! search before the fallback directories are tried (it used to, so an installed header in
//! /usr/include was "not found" and the layout tests skipped).
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

#[path = "../build_support/locate.rs"]
mod locate;

/// A fresh directory holding an (empty) adain_dcs.h.
fn dir_with_header(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{}", name, std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("adain_dcs.h"), "").unwrap();
    dir
}

#[test]
fn missing_pkg_config_falls_through_to_the_fallbacks() {
    let dir = dir_with_header("fallback");
    let missing = "/nonexistent/adn-test/pkg-config";
    assert!(locate::pkg_config_dirs(missing, &["--cflags-only-I", "adain_dcs"], "-I").is_empty());
    assert_eq!(locate::header_dir(missing, &[PathBuf::from("/nonexistent/include"), dir.clone()]), Some(dir));
}

#[test]
fn failing_pkg_config_falls_through_to_the_fallbacks() {
    let dir = dir_with_header("failing");
    // `false` runs and exits 1, as pkg-config does for a package it does not know.
    assert_eq!(locate::header_dir("false", std::slice::from_ref(&dir)), Some(dir));
}

#[test]
fn pkg_config_directories_come_before_the_fallbacks() {
    let listed = dir_with_header("listed");
    let fallback = dir_with_header("second");
    // A stand-in pkg-config that prints an -I flag, as the real one does for an installed package.
    let fake = listed.join("fake-pkg-config");
    fs::write(&fake, format!("#!/bin/sh\necho -pthread -I{}\n", listed.display())).unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let fake = fake.to_str().unwrap();
    assert_eq!(locate::pkg_config_dirs(fake, &["--cflags-only-I", "adain_dcs"], "-I"), vec![listed.clone()]);
    assert_eq!(locate::header_dir(fake, std::slice::from_ref(&fallback)), Some(listed));
}

#[test]
fn no_header_anywhere_is_none() {
    assert_eq!(
        locate::header_dir("/nonexistent/adn-test/pkg-config", &[PathBuf::from("/nonexistent")]),
        None
    );
}

#[test]
fn the_source_tree_header_is_found() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = locate::in_tree_header_dir(&manifest).expect("bindings/rust sits in the source tree");
    assert!(dir.join("adain_dcs.h").is_file());
}
