//! Embeds every file under the repository's `builtin/` folder into the binary.

#![allow(
    clippy::disallowed_methods,
    clippy::panic,
    clippy::expect_used,
    reason = "a build script fails by panicking, with the path in the message"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let builtin = manifest.join("../../builtin");
    println!("cargo:rerun-if-changed={}", builtin.display());
    let mut files = Vec::new();
    collect(&builtin, &mut files);
    files.sort();
    let mut code = String::from(
        "/// Every built-in file: (path relative to `builtin/`, content).\npub(crate) static FILES: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file.strip_prefix(&builtin).unwrap_or(file);
        let rel = rel.to_string_lossy().replace('\\', "/");
        let _ = writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            file.display().to_string()
        );
    }
    code.push_str("];\n");
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("builtin_files.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
