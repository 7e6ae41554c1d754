//! Where build.rs finds libadain_dcs and its header.  A file of its own (std only, no crate paths)
//! so that tests/locate.rs can check the search with `#[path]`.
//!
//! Order (the first that answers wins; bindings/README.md, "Rust", says the same):
//!
//! 1. `ADN_LIB_DIR`: a directory holding `libadain_dcs.so`.  When it is a meson build directory
//!    (it has `meson-uninstalled/adain_dcs-uninstalled.pc`) that file also gives the include
//!    directories.
//! 2. `ADN_BUILD_DIR`: a meson build directory; its `meson-uninstalled/adain_dcs-uninstalled.pc`
//!    gives the library and include directories.
//! 3. The `build` directory at the root of the source checkout this crate sits in
//!    (`bindings/rust/adain-dcs-sys/../../../build`), when it holds a built library.
//! 4. An installed library: `pkg-config --libs adain_dcs` (`$PKG_CONFIG` if set).
//! 5. Nothing: `-ladain_dcs` from the linker's default path, without an rpath.
//!
//! Relative paths in the variables are taken relative to the directory of this crate
//! (CARGO_MANIFEST_DIR, where cargo runs build scripts).  A variable that is set but points at
//! no library is an error, not a reason to go on looking: linking some other copy silently would
//! test the wrong library.
#![allow(dead_code)] // each includer uses part of it
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pkg-config name of the library.
pub const PC_NAME: &str = "adain_dcs";
/// Where meson writes the uninstalled pkg-config file, relative to a build directory.
pub const UNINSTALLED_PC: &str = "meson-uninstalled/adain_dcs-uninstalled.pc";

/// A library found by [`find_library`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// Absolute directory holding `libadain_dcs.so` (link search path and rpath).
    pub lib_dir: PathBuf,
    /// Absolute include directories the library's pkg-config file names (may be empty).
    pub include_dirs: Vec<PathBuf>,
    /// The pkg-config file used, if any (build.rs watches it).
    pub pc_file: Option<PathBuf>,
    /// How it was found, for messages: "ADN_BUILD_DIR=/x (meson-uninstalled)".
    pub origin: String,
}

/// `value` as an absolute path: relative values are taken relative to `base`.
pub fn resolve(value: &Path, base: &Path) -> PathBuf {
    if value.is_absolute() {
        value.to_path_buf()
    } else {
        base.join(value)
    }
}

/// The canonical form of an existing path (symlinks and `..` resolved), else the path as given.
fn absolute(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether `dir` holds the library under the name the linker's `-ladain_dcs` looks for.
pub fn has_library(dir: &Path) -> bool {
    ["libadain_dcs.so", "libadain_dcs.dylib", "adain_dcs.lib"].iter().any(|name| dir.join(name).exists())
}

/// `dir/meson-uninstalled/adain_dcs-uninstalled.pc` if it exists.
pub fn uninstalled_pc(dir: &Path) -> Option<PathBuf> {
    let pc = dir.join(UNINSTALLED_PC);
    if pc.is_file() {
        Some(pc)
    } else {
        None
    }
}

/// The `build` directory of the source checkout this crate sits in (bindings/rust/adain-dcs-sys).
pub fn source_tree_build_dir(manifest_dir: &Path) -> PathBuf {
    manifest_dir.join("../../../build")
}

/// The header in the source tree this crate sits in (bindings/rust/adain-dcs-sys -> include/).
pub fn in_tree_header_dir(manifest_dir: &Path) -> Option<PathBuf> {
    let dir = manifest_dir.join("../../../include");
    if dir.join("adain_dcs.h").exists() {
        Some(absolute(&dir))
    } else {
        None
    }
}

// --- pkg-config files ----------------------------------------------------------------------------

/// A parsed `.pc` file: `name=value` variables and `Key: value` fields, in file order.
#[derive(Debug, Default)]
pub struct PcFile {
    variables: Vec<(String, String)>,
    fields: Vec<(String, String)>,
}

impl PcFile {
    /// Parses the subset of the pkg-config format meson writes (comments, variables with
    /// `${name}` references, fields).
    pub fn parse(text: &str) -> PcFile {
        let mut pc = PcFile::default();
        for line in text.lines() {
            let line = match line.find('#') {
                Some(i) => &line[..i],
                None => line,
            }
            .trim();
            if line.is_empty() {
                continue;
            }
            let colon = line.find(':');
            let equals = line.find('=');
            let is_field = match (colon, equals) {
                (Some(c), Some(e)) => c < e,
                (Some(_), None) => true,
                _ => false,
            };
            if is_field {
                let (key, value) = line.split_at(colon.unwrap());
                let value = pc.expand(value[1..].trim());
                pc.fields.push((key.trim().to_string(), value));
            } else if let Some(e) = equals {
                let (key, value) = line.split_at(e);
                let value = pc.expand(value[1..].trim());
                pc.variables.push((key.trim().to_string(), value));
            }
        }
        pc
    }

    /// `${name}` references replaced by the variables defined so far (unknown ones by "").
    fn expand(&self, value: &str) -> String {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            match rest[start + 2..].find('}') {
                Some(end) => {
                    let name = &rest[start + 2..start + 2 + end];
                    out.push_str(self.variable(name).unwrap_or(""));
                    rest = &rest[start + 2 + end + 1..];
                }
                None => {
                    out.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Splits pkg-config flags on whitespace, honouring backslash escapes and single / double quotes
/// (as pkg-config does), so that a directory with a space survives.
pub fn split_flags(text: &str) -> Vec<String> {
    let mut flags = Vec::new();
    let mut current = String::new();
    let mut in_flag = false;
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            (Some(_), c) => current.push(c),
            (None, '\'') | (None, '"') => {
                quote = Some(c);
                in_flag = true;
            }
            (None, '\\') => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
                in_flag = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_flag {
                    flags.push(std::mem::take(&mut current));
                    in_flag = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_flag = true;
            }
        }
    }
    if in_flag {
        flags.push(current);
    }
    flags
}

/// The values of the flags that start with `prefix` (`-L`, `-I`), as paths.
pub fn flag_dirs(flags: &[String], prefix: &str) -> Vec<PathBuf> {
    flags
        .iter()
        .filter_map(|flag| flag.strip_prefix(prefix))
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// Existing directories among `dirs`, made absolute, without repeats, in order.
fn existing_unique(dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if dir.is_dir() {
            let dir = absolute(&dir);
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
    }
    out
}

/// The library of a meson build directory, from its uninstalled pkg-config file: the first `-L`
/// directory of `Libs` holding the library, and the `-I` directories of `Cflags`.  Err says what
/// is missing (e.g. the build ran `meson setup` but not yet `ninja`).
pub fn from_uninstalled_pc(pc_path: &Path, origin: &str) -> Result<Library, String> {
    let text =
        fs::read_to_string(pc_path).map_err(|e| format!("cannot read {}: {}", pc_path.display(), e))?;
    let pc = PcFile::parse(&text);
    let libs = split_flags(pc.field("Libs").unwrap_or(""));
    let lib_dirs = flag_dirs(&libs, "-L");
    let lib_dir = lib_dirs.iter().find(|dir| has_library(dir)).ok_or_else(|| {
        format!(
            "{} names no directory holding libadain_dcs.so (Libs: -L {}); is the library built (ninja -C ...)?",
            pc_path.display(),
            lib_dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" -L ")
        )
    })?;
    let cflags = split_flags(pc.field("Cflags").unwrap_or(""));
    Ok(Library {
        lib_dir: absolute(lib_dir),
        include_dirs: existing_unique(flag_dirs(&cflags, "-I")),
        pc_file: Some(absolute(pc_path)),
        origin: format!("{} ({})", origin, pc_path.display()),
    })
}

// --- pkg-config, the program ------------------------------------------------------------------------

/// The pkg-config program: $PKG_CONFIG, else `pkg-config`.
pub fn pkg_config_program() -> String {
    std::env::var("PKG_CONFIG").ok().filter(|p| !p.is_empty()).unwrap_or_else(|| "pkg-config".to_string())
}

/// What `program args...` prints, split into flags; None when the program is missing, fails (the
/// package is not installed) or prints nothing useful.
pub fn pkg_config_output(program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The directories `program args...` prints behind `prefix` (`-I`, `-L`).  Empty when the program
/// is missing, fails or prints nothing: pkg-config is only one of the candidates, so its absence
/// must let the search go on to the others rather than end it.
pub fn pkg_config_dirs(program: &str, args: &[&str], prefix: &str) -> Vec<PathBuf> {
    pkg_config_output(program, args).map(|out| flag_dirs(&split_flags(&out), prefix)).unwrap_or_default()
}

/// The installed library as pkg-config describes it: the first `-L` directory of
/// `pkg-config --libs adain_dcs` holding the library, else its `libdir` variable (pkg-config leaves
/// out `-L` for the system's default directories, but the rpath is emitted all the same).
pub fn from_pkg_config(program: &str) -> Option<Library> {
    let libs = pkg_config_output(program, &["--libs", PC_NAME])?;
    let lib_dirs = flag_dirs(&split_flags(&libs), "-L");
    let lib_dir = match lib_dirs.iter().find(|dir| has_library(dir)) {
        Some(dir) => dir.clone(),
        None => {
            let libdir = pkg_config_output(program, &["--variable=libdir", PC_NAME]).unwrap_or_default();
            if libdir.is_empty() {
                return None;
            }
            PathBuf::from(libdir)
        }
    };
    let mut include_dirs = pkg_config_dirs(program, &["--cflags-only-I", PC_NAME], "-I");
    if let Some(dir) = pkg_config_output(program, &["--variable=includedir", PC_NAME]) {
        if !dir.is_empty() {
            include_dirs.push(PathBuf::from(dir));
        }
    }
    Some(Library {
        lib_dir: absolute(&lib_dir),
        include_dirs: existing_unique(include_dirs),
        pc_file: None,
        origin: format!("{} --libs {}", program, PC_NAME),
    })
}

/// The first directory holding adain_dcs.h among what `pkg_config` says, then `fallbacks`.
pub fn header_dir(pkg_config: &str, fallbacks: &[PathBuf]) -> Option<PathBuf> {
    pkg_config_dirs(pkg_config, &["--cflags-only-I", PC_NAME], "-I")
        .into_iter()
        .chain(fallbacks.iter().cloned())
        .find(|dir| dir.join("adain_dcs.h").exists())
}

// --- the search --------------------------------------------------------------------------------------

/// The search described at the top of this file.  `var` reads an environment variable (a closure
/// so that tests can pass their own); `manifest_dir` is CARGO_MANIFEST_DIR.  Ok(None): nothing
/// found (link from the default path).  Err: a variable is set but wrong.
pub fn find_library(
    var: &dyn Fn(&str) -> Option<OsString>,
    manifest_dir: &Path,
    pkg_config: &str,
) -> Result<Option<Library>, String> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(|v| resolve(Path::new(&v), manifest_dir));

    if let Some(dir) = set("ADN_LIB_DIR") {
        let origin = format!("ADN_LIB_DIR={}", dir.display());
        if let Some(pc) = uninstalled_pc(&dir) {
            return from_uninstalled_pc(&pc, &origin).map(Some);
        }
        if has_library(&dir) {
            return Ok(Some(Library {
                lib_dir: absolute(&dir),
                include_dirs: Vec::new(),
                pc_file: None,
                origin,
            }));
        }
        return Err(format!("{}: no libadain_dcs.so and no {} there", origin, UNINSTALLED_PC));
    }
    if let Some(dir) = set("ADN_BUILD_DIR") {
        let origin = format!("ADN_BUILD_DIR={}", dir.display());
        return match uninstalled_pc(&dir) {
            Some(pc) => from_uninstalled_pc(&pc, &origin).map(Some),
            None => Err(format!("{}: no {} there (not a meson build directory?)", origin, UNINSTALLED_PC)),
        };
    }
    let tree_build = source_tree_build_dir(manifest_dir);
    if let Some(pc) = uninstalled_pc(&tree_build) {
        // Only a fallback: a configured but unbuilt tree lets the search go on.
        if let Ok(found) = from_uninstalled_pc(&pc, "the source tree's build directory") {
            return Ok(Some(found));
        }
    }
    Ok(from_pkg_config(pkg_config))
}

/// The linker arguments for an rpath to `dir`, for `cargo:rustc-link-arg=`: `-Wl,-rpath,DIR`, or
/// `-Xlinker` pairs when DIR has a comma (which `-Wl,` would split).
pub fn rpath_args(dir: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    if dir.contains(',') {
        vec!["-Xlinker".into(), "-rpath".into(), "-Xlinker".into(), dir]
    } else {
        vec![format!("-Wl,-rpath,{}", dir)]
    }
}
