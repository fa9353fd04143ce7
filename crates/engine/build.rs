//! Hashes the sources that shape a serialized `Model` (this crate's, tenure-core's, and
//! tenure-ingest's, whose Stripe interpretation the model applies), so a snapshot is read only
//! by a build whose model has the same fields and derives them the same way (see
//! `src/snapshot.rs`).

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let mut paths = Vec::new();
    for dir in [
        here.join("src"),
        here.join("../core/src"),
        here.join("../ingest/src"),
    ] {
        println!("cargo:rerun-if-changed={}", dir.display());
        files(&dir, &mut paths);
    }
    // FNV-1a, 64 bits: stable across builds and toolchains, and no dependency to build.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for path in &paths {
        let name = path.strip_prefix(&here).unwrap_or(path).to_string_lossy();
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for byte in name.bytes().chain([0]).chain(text).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=TENURE_ENGINE_SOURCE_HASH={hash:016x}");
}
