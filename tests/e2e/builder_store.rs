//! buildx builders of the standalone-BuildKit tests (builders.rs,
//! arm64_host.rs), each in a builder store of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{Daemon, out_dir, run};

/// buildx with a builder store of its own (`config`), so a test's
/// builders are nobody else's.
pub fn buildx_with_store(daemon: &Daemon, config: &Path) -> Command {
    let mut cmd = daemon.docker();
    cmd.env("BUILDX_CONFIG", config).arg("buildx");
    cmd
}

/// A `remote` builder `name` for the BuildKit at `addr`, in a new builder
/// store at target/e2e/`store`; that store's path.
pub fn remote_builder(daemon: &Daemon, store: &str, name: &str, addr: &str) -> PathBuf {
    let config = out_dir(store);
    let _ = std::fs::remove_dir_all(&config);
    std::fs::create_dir_all(&config).unwrap_or_else(|e| panic!("{e}"));
    run(buildx_with_store(daemon, &config)
        .args(["create", "--name", name, "--driver", "remote", addr]));
    config
}
