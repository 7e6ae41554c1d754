//! The library and header search of build.rs (build_support/locate.rs), on fake build trees and
//! fake pkg-config programs.  The order is documented in bindings/README.md ("Rust").
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[path = "../build_support/locate.rs"]
mod locate;

const MISSING_PKG_CONFIG: &str = "/nonexistent/adn-test/pkg-config";

/// A fresh empty directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("locate-{}-{}", name, std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    fs::canonicalize(&dir).unwrap()
}

/// A fresh directory holding an (empty) adain_dcs.h.
fn dir_with_header(name: &str) -> PathBuf {
    let dir = scratch(name);
    fs::write(dir.join("adain_dcs.h"), "").unwrap();
    dir
}

/// What meson 1.x writes for this project (meson-uninstalled/adain_dcs-uninstalled.pc).
fn uninstalled_pc_text(build: &Path, source: &Path) -> String {
    format!(
        "prefix={}\nincludedir=${{prefix}}/include\nlibdir=${{prefix}}/lib/x86_64-linux-gnu\nsrcdir={}\n\n\
         Name: adain_dcs\nDescription: Depth-preserving real-time arbitrary style transfer (AdaIN-DCS), C ABI\n\
         Version: 0.1.0\nLibs: -L${{prefix}} -ladain_dcs\n\
         Cflags: -I${{prefix}} -I${{srcdir}} -I${{prefix}}/include -I${{srcdir}}/include -I/usr/include\n",
        build.display(),
        source.display()
    )
}

/// A fake checkout: ROOT/{include/adain_dcs.h, bindings/rust/adain-dcs-sys/, BUILD/} where BUILD
/// is a configured (and, if `built`, built) meson build directory.  Returns (manifest dir, build).
fn fake_tree(name: &str, build_name: &str, built: bool) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    let manifest = root.join("bindings/rust/adain-dcs-sys");
    fs::create_dir_all(&manifest).unwrap();
    fs::create_dir_all(root.join("include")).unwrap();
    fs::write(root.join("include/adain_dcs.h"), "").unwrap();
    let build = root.join(build_name);
    fs::create_dir_all(build.join("meson-uninstalled")).unwrap();
    fs::write(build.join(locate::UNINSTALLED_PC), uninstalled_pc_text(&build, &root)).unwrap();
    if built {
        fs::write(build.join("libadain_dcs.so"), "").unwrap();
    }
    (manifest, build)
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let map: HashMap<String, OsString> =
        pairs.iter().map(|(k, v)| (k.to_string(), OsString::from(v))).collect();
    move |name: &str| map.get(name).cloned()
}

/// A stand-in pkg-config printing `libs` for --libs and nothing for the rest.
fn fake_pkg_config(dir: &Path, libs: &str) -> String {
    let path = dir.join("fake-pkg-config");
    fs::write(
        &path,
        format!("#!/bin/sh\ncase \"$1\" in --libs) echo '{}' ;; --variable=libdir) echo /usr/lib ;; *) echo ;; esac\n", libs),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    wait_until_executable(&path);
    path.to_str().unwrap().to_string()
}

/// Tests run on parallel threads, and a child another thread forks while our write descriptor of
/// a new script is open inherits it until its exec; executing the script in that window fails with
/// ETXTBSY ("Text file busy"), and the search under test would read that as "no pkg-config".  Run
/// the script once until it is not busy: descriptors leaked that way close at those children's exec.
fn wait_until_executable(path: &Path) {
    const ETXTBSY: i32 = 26;
    for _ in 0..500 {
        match std::process::Command::new(path).arg("--probe").output() {
            Err(err) if err.raw_os_error() == Some(ETXTBSY) => std::thread::sleep(std::time::Duration::from_millis(10)),
            Err(err) => panic!("{} does not run: {}", path.display(), err),
            Ok(_) => return,
        }
    }
    panic!("{} stayed busy for 5 s", path.display());
}

#[test]
fn pc_files_parse_with_variables_and_escapes() {
    let pc = locate::PcFile::parse(
        "# comment\nprefix=/opt/a b\nlibdir=${prefix}/lib\n\nName: x\nLibs: -L${libdir} -lx # trailing\n\
         Cflags: -I\"${prefix}/inc\"\nURL: http://x\n",
    );
    assert_eq!(pc.variable("libdir"), Some("/opt/a b/lib"));
    assert_eq!(pc.field("Libs"), Some("-L/opt/a b/lib -lx"));
    assert_eq!(locate::split_flags("-L/a\\ b -lx  'c d' \"-I/e f\""), vec!["-L/a b", "-lx", "c d", "-I/e f"]);
    assert_eq!(
        locate::flag_dirs(&locate::split_flags(pc.field("Cflags").unwrap()), "-I"),
        vec![PathBuf::from("/opt/a b/inc")]
    );
}

#[test]
fn a_meson_build_directory_gives_library_and_include_dirs() {
    let (manifest, build) = fake_tree("meson", "builddir", true);
    let root = manifest.join("../../..").canonicalize().unwrap();
    let found = locate::from_uninstalled_pc(&build.join(locate::UNINSTALLED_PC), "test").unwrap();
    assert_eq!(found.lib_dir, build);
    // Existing directories only, in Cflags order, without repeats.
    assert_eq!(
        found.include_dirs,
        vec![build.clone(), root.clone(), root.join("include"), PathBuf::from("/usr/include")]
    );
    let (_, unbuilt) = fake_tree("unbuilt", "builddir", false);
    let err = locate::from_uninstalled_pc(&unbuilt.join(locate::UNINSTALLED_PC), "test").unwrap_err();
    assert!(err.contains("is the library built"), "{}", err);
}

#[test]
fn adn_build_dir_is_used_and_relative_paths_are_taken_from_the_crate() {
    let (manifest, build) = fake_tree("build-dir", "out/meson", true);
    let found = locate::find_library(
        &env_of(&[("ADN_BUILD_DIR", "../../../out/meson")]),
        &manifest,
        MISSING_PKG_CONFIG,
    )
    .unwrap()
    .unwrap();
    assert_eq!(found.lib_dir, build);
    assert!(found.lib_dir.is_absolute());
    assert_eq!(found.pc_file, Some(build.join(locate::UNINSTALLED_PC)));
    let found = locate::find_library(
        &env_of(&[("ADN_BUILD_DIR", build.to_str().unwrap())]),
        &manifest,
        MISSING_PKG_CONFIG,
    )
    .unwrap()
    .unwrap();
    assert_eq!(found.lib_dir, build);
}

#[test]
fn a_wrong_variable_is_an_error_not_a_fallback() {
    let (manifest, _) = fake_tree("wrong", "build", true); // the fallback would be there
    let empty = scratch("wrong-empty");
    for var in ["ADN_BUILD_DIR", "ADN_LIB_DIR"] {
        let err =
            locate::find_library(&env_of(&[(var, empty.to_str().unwrap())]), &manifest, MISSING_PKG_CONFIG)
                .unwrap_err();
        assert!(err.contains(var), "{}", err);
    }
}

#[test]
fn adn_lib_dir_takes_a_plain_library_directory_or_a_build_directory() {
    let (manifest, build) = fake_tree("lib-dir", "b", true);
    let plain = scratch("lib-dir-plain");
    fs::write(plain.join("libadain_dcs.so"), "").unwrap();
    let found = locate::find_library(
        &env_of(&[("ADN_LIB_DIR", plain.to_str().unwrap()), ("ADN_BUILD_DIR", build.to_str().unwrap())]),
        &manifest,
        MISSING_PKG_CONFIG,
    )
    .unwrap()
    .unwrap();
    assert_eq!(found.lib_dir, plain, "ADN_LIB_DIR comes before ADN_BUILD_DIR");
    assert!(found.include_dirs.is_empty() && found.pc_file.is_none());
    let found = locate::find_library(
        &env_of(&[("ADN_LIB_DIR", build.to_str().unwrap())]),
        &manifest,
        MISSING_PKG_CONFIG,
    )
    .unwrap()
    .unwrap();
    assert_eq!(found.pc_file, Some(build.join(locate::UNINSTALLED_PC)), "a build directory's .pc is read");
}

#[test]
fn without_variables_the_source_tree_build_comes_before_pkg_config() {
    let (manifest, build) = fake_tree("fallback", "build", true);
    let installed = scratch("fallback-installed");
    fs::write(installed.join("libadain_dcs.so"), "").unwrap();
    let pkg_config = fake_pkg_config(&installed, &format!("-L{} -ladain_dcs", installed.display()));
    let found = locate::find_library(&env_of(&[]), &manifest, &pkg_config).unwrap().unwrap();
    assert_eq!(found.lib_dir, build);
    // An unbuilt tree lets the search go on to the installed library.
    fs::remove_file(build.join("libadain_dcs.so")).unwrap();
    let found =
        locate::find_library(&env_of(&[("ADN_LIB_DIR", "")]), &manifest, &pkg_config).unwrap().unwrap();
    assert_eq!(found.lib_dir, installed);
    assert!(found.origin.contains("--libs"), "{}", found.origin);
    // Nothing anywhere: the linker's default path.
    assert_eq!(locate::find_library(&env_of(&[]), &manifest, MISSING_PKG_CONFIG).unwrap(), None);
}

#[test]
fn pkg_config_without_l_flags_gives_its_libdir() {
    let dir = scratch("libdir");
    let pkg_config = fake_pkg_config(&dir, "-ladain_dcs");
    let found = locate::from_pkg_config(&pkg_config).unwrap();
    assert_eq!(found.lib_dir, fs::canonicalize("/usr/lib").unwrap());
}

#[test]
fn rpath_arguments() {
    assert_eq!(locate::rpath_args(Path::new("/opt/adn/lib")), vec!["-Wl,-rpath,/opt/adn/lib"]);
    assert_eq!(locate::rpath_args(Path::new("/opt/a,b")), vec!["-Xlinker", "-rpath", "-Xlinker", "/opt/a,b"]);
}

#[test]
fn missing_pkg_config_falls_through_to_the_fallbacks() {
    let dir = dir_with_header("fallback-header");
    assert!(locate::pkg_config_dirs(MISSING_PKG_CONFIG, &["--cflags-only-I", "adain_dcs"], "-I").is_empty());
    assert!(locate::from_pkg_config(MISSING_PKG_CONFIG).is_none());
    assert_eq!(
        locate::header_dir(MISSING_PKG_CONFIG, &[PathBuf::from("/nonexistent/include"), dir.clone()]),
        Some(dir)
    );
}

#[test]
fn failing_pkg_config_falls_through_to_the_fallbacks() {
    let dir = dir_with_header("failing");
    // `false` runs and exits 1, as pkg-config does for a package it does not know.
    assert_eq!(locate::header_dir("false", std::slice::from_ref(&dir)), Some(dir));
    assert!(locate::from_pkg_config("false").is_none());
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
    assert_eq!(locate::header_dir(MISSING_PKG_CONFIG, &[PathBuf::from("/nonexistent")]), None);
}

#[test]
fn the_source_tree_header_is_found() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir =
        locate::in_tree_header_dir(&manifest).expect("bindings/rust/adain-dcs-sys sits in the source tree");
    assert!(dir.join("adain_dcs.h").is_file());
}
