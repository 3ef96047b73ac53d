//! Compiles the BuildKit wire schema under `proto/` with protox (pure Rust:
//! no protoc needed) and generates prost messages plus the gateway client.

use std::path::Path;

const FILES: &[&str] = &[
    "ops.proto",
    "caps.proto",
    "worker.proto",
    "stat.proto",
    "policy.proto",
    "google/rpc/status.proto",
    "gateway.proto",
    "errdefs.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = Path::new("proto");
    let descriptors = protox::compile(FILES, [proto_dir])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(false)
        // Maps encode in key order, so the same graph gives the same bytes.
        .btree_map(".")
        .compile_fds(descriptors)?;
    for f in FILES {
        println!("cargo:rerun-if-changed={}", proto_dir.join(f).display());
    }
    Ok(())
}
