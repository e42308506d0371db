//! Generates the Rust code for `proto/medley/v1` into `OUT_DIR` with a vendored `protoc`, so
//! neither the SDK's users nor CI need a system protoc. Generating at build time means the code
//! can never drift from the proto.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: prost-build reads `PROTOC` from the environment; this build script runs no other
    // thread, so nothing reads the environment concurrently.
    unsafe { env::set_var("PROTOC", protoc) };

    let proto_root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../proto");
    // Every .proto of the package, so a new service's file needs no edit here.
    let mut files: Vec<PathBuf> = std::fs::read_dir(proto_root.join("medley/v1"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "proto"));
    files.sort();
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Server traits compile only for those who ask for them.
        .server_mod_attribute("medley.v1", r#"#[cfg(feature = "server")]"#)
        // google.rpc.Status (vendored in proto/google for protoc) is tonic-types' own type, so
        // an item's status converts with tonic-types' rich-error helpers.
        .extern_path(".google.rpc", "::tonic_types::pb")
        .file_descriptor_set_path(out_dir.join("medley_descriptor.bin"))
        .compile_protos(&files, std::slice::from_ref(&proto_root))?;

    println!("cargo:rerun-if-changed={}", proto_root.display());
    Ok(())
}
