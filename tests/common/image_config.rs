//! The image config every platform's image must have, shared by recipe-graph-tests
//! (the config the recipe makes) and the e2e tests (the config BuildKit
//! exported). Values are spelled out here, not taken from the code under
//! test.

use serde_json::{Value, json};

/// Checks the `config` object of an OCI image config.
pub fn assert_runs_tailscaled(c: &Value, what: &str) {
    assert_eq!(
        c["Entrypoint"],
        json!(["/usr/local/bin/entrypoint.sh"]),
        "{what}"
    );
    assert_eq!(
        c["Cmd"],
        json!([
            "--no-logs-no-support",
            "--state=/var/lib/tailscale/tailscaled.state",
            "--socket=/var/run/tailscale/tailscaled.sock",
            "--statedir=/var/lib/tailscale"
        ]),
        "{what}"
    );
    assert_eq!(
        c["Env"],
        json!(["PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]),
        "{what}"
    );
    assert_eq!(c["Volumes"], json!({"/var/lib/tailscale": {}}), "{what}");
    assert_eq!(
        c["Labels"]["org.opencontainers.image.title"], "mikrotik-tailscale",
        "{what}"
    );
}
