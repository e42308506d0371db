//! Records the git commit the binary is built from as `MEDLEY_BUILD` ("unknown" outside git).

use std::process::Command;

fn main() {
    let commit = std::env::var("MEDLEY_BUILD").ok().or_else(|| {
        Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|out| out.status.success())
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .map(|s| s.trim().to_owned())
    });
    println!("cargo:rustc-env=MEDLEY_BUILD={}", commit.unwrap_or_else(|| "unknown".to_owned()));
    println!("cargo:rerun-if-env-changed=MEDLEY_BUILD");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
