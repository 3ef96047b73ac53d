//! The same inputs give the same image, with no reproducibility flags:
//! every layer is made with its file times set to the build's epoch (the
//! recipe's `tailscale.commit_time`), and so are the config's times.
//!
//! It prunes today's daemon's build cache, so `scripts/test` runs it on its
//! own, after the other end-to-end tests: `cargo test --test reproducible
//! -- --ignored`. The prune keeps the exec cache mounts (Go's build cache):
//! what a step writes into its output is written anew either way, and the
//! next CI run need not compile Tailscale's dependencies cold.

#[allow(dead_code)]
mod harness;
#[allow(dead_code)]
mod oci;
#[allow(dead_code)]
mod progress;

use std::path::Path;

use harness::{Daemon, copy_dir, fixture, out_dir};
use oci::{Oci, PlatformImage};

/// The 3-platform image from `context`, exported as an OCI archive. No
/// provenance attestation: it records when the build started and a unique
/// id, so it differs on every build by design (see the README).
fn build(daemon: &Daemon, context: &Path, name: &str, extra: &[&str]) -> Oci {
    let archive = out_dir("reproducible").join(format!("{name}.oci.tar"));
    let _ = std::fs::remove_file(&archive);
    let output = format!("type=oci,dest={}", archive.display());
    let platforms = mtts_frontend::recipe::SUPPORTED_PLATFORMS.join(",");
    let mut args = vec!["--platform", &platforms, "--provenance=false"];
    args.extend_from_slice(extra);
    args.extend(["--output", output.as_str()]);
    let started = std::time::Instant::now();
    daemon
        .buildx_in(context, &daemon.real_stub("Dockerfile"), &args)
        .assert_ok(&format!("the {name} build"));
    eprintln!(
        "e2e: {name} build took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Oci::open(&archive)
}

fn by_platform(oci: &Oci) -> Vec<PlatformImage> {
    let images = oci.images();
    assert_eq!(images.len(), 3, "three platforms");
    images
}

/// The e2e build context with one more applet in its list.
fn context_with_another_applet() -> std::path::PathBuf {
    let context = out_dir("reproducible").join("context");
    let _ = std::fs::remove_dir_all(&context);
    copy_dir(&fixture("context"), &context);
    harness::add_applet(&context, "FACTOR", "added by the reproducibility test");
    context
}

#[test]
#[ignore = "prunes the build cache of docker 28: run scripts/test"]
fn same_inputs_give_the_same_digests_after_the_cache_is_pruned() {
    let daemon = Daemon::today();
    let context = fixture("context");
    let first = build(&daemon, &context, "first", &[]);
    // Read (and decompressed) once, compared three times.
    let first_images = by_platform(&first);

    let pruned = daemon
        .docker()
        .args(["buildx", "prune", "--all", "--force"])
        .args(["--filter", "type!=exec.cachemount"])
        .output()
        .unwrap_or_else(|e| panic!("docker buildx prune: {e}"));
    assert!(
        pruned.status.success(),
        "docker buildx prune: {}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    eprintln!(
        "e2e: pruned: {}",
        String::from_utf8_lossy(&pruned.stdout)
            .lines()
            .last()
            .unwrap_or_default()
    );
    let again = build(&daemon, &context, "after-prune", &[]);
    for (a, b) in first_images.iter().zip(by_platform(&again).iter()) {
        assert_eq!(a.diff_ids(), b.diff_ids(), "{}: diff ids", a.platform);
        assert_eq!(a.layer_digests, b.layer_digests, "{}: layers", a.platform);
        assert_eq!(a.config_digest, b.config_digest, "{}: config", a.platform);
        assert_eq!(
            a.manifest_digest, b.manifest_digest,
            "{}: manifest",
            a.platform
        );
    }
    assert_eq!(first.index_digest(), again.index_digest(), "index");
    eprintln!("e2e: index {} twice", first.index_digest());

    // Only the version label: new configs, so new manifests and index, on
    // the very same layers.
    let relabelled = build(
        &daemon,
        &context,
        "oci-version",
        &["--build-arg", "OCI_VERSION=v0.0.0-reproducible"],
    );
    for (a, b) in first_images.iter().zip(by_platform(&relabelled).iter()) {
        assert_eq!(a.layer_digests, b.layer_digests, "{}: layers", a.platform);
        assert_ne!(a.config_digest, b.config_digest, "{}: config", a.platform);
        assert_ne!(
            a.manifest_digest, b.manifest_digest,
            "{}: manifest",
            a.platform
        );
    }
    assert_ne!(first.index_digest(), relabelled.index_digest(), "index");

    // Only the applet list: the busybox layers change; the CA bundle and
    // the Tailscale layer, what a router keeps, do not.
    let applets = build(&daemon, &context_with_another_applet(), "applet-list", &[]);
    for (a, b) in first_images.iter().zip(by_platform(&applets).iter()) {
        let p = &a.platform;
        let (was, now) = (&a.layer_digests, &b.layer_digests);
        assert_eq!(
            was.len(),
            4,
            "{p}: links, busybox, certificates, /usr/local/bin"
        );
        assert_ne!(was[0], now[0], "{p}: the applet links changed");
        assert_ne!(was[1], now[1], "{p}: busybox changed");
        assert_eq!(was[2], now[2], "{p}: the CA bundle layer stays");
        assert_eq!(was[3], now[3], "{p}: the Tailscale layer stays");
    }
}
