//! Fingerprints `migrations/` so the test template database is rebuilt whenever a migration
//! changes, and reused otherwise.

use std::{fs, path::Path};

fn hash_dir(dir: &Path, hash: &mut u64) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        for byte in path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default().bytes() {
            fnv(hash, byte);
        }
        if path.is_dir() {
            hash_dir(&path, hash);
        } else if let Ok(content) = fs::read(&path) {
            for byte in content {
                fnv(hash, byte);
            }
        }
    }
}

fn fnv(hash: &mut u64, byte: u8) {
    *hash ^= u64::from(byte);
    *hash = hash.wrapping_mul(0x0100_0000_01b3);
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    hash_dir(&dir, &mut hash);
    println!("cargo:rustc-env=MEDLEY_MIGRATIONS_HASH={hash:016x}");
    println!("cargo:rerun-if-changed={}", dir.display());
}
