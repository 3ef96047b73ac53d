//! What a rebuild redoes: each step mounts only the part of the build
//! context it reads, so editing `patches/` redoes no busybox step and
//! editing the applet list redoes no Tailscale step, as the Dockerfile's
//! per-file COPY did. Judged by the steps BuildKit reports as run vs cached.

use std::path::Path;

use crate::harness::{self, Daemon, copy_dir, fixture, out_dir};
use crate::oci::Oci;
use crate::progress::{self, Step, ran};
use mtts_frontend::recipe::step;

/// The amd64 image from `context`, kept only in the build cache; the steps
/// BuildKit reported.
fn build(daemon: &Daemon, context: &Path, what: &str) -> Vec<Step> {
    build_to(daemon, context, what, "type=cacheonly")
}

/// As `build`, with the image sent to `output` (buildx `--output`).
fn build_to(daemon: &Daemon, context: &Path, what: &str, output: &str) -> Vec<Step> {
    let build = daemon.buildx_in(
        context,
        &daemon.real_stub("Dockerfile"),
        &[
            "--platform",
            "linux/amd64",
            "--provenance=false",
            "--output",
            output,
        ],
    );
    build.assert_ok(what);
    // Each build's whole log, for a failure's post-mortem.
    let log = build.log();
    let name: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let _ = std::fs::write(out_dir("rebuild-logs").join(format!("{name}.log")), &log);
    progress::steps(&log)
}

#[test]
#[ignore = "needs the BuildKit daemons and served sources: run scripts/test"]
fn a_rebuild_redoes_only_the_steps_whose_inputs_changed() {
    let _ = crate::main_image();
    let daemon = Daemon::today();
    let context = out_dir("rebuild-context");
    let _ = std::fs::remove_dir_all(&context);
    copy_dir(&fixture("context"), &context);

    let first = build(&daemon, &context, "the first build");
    let again = build(&daemon, &context, "the identical rebuild");
    assert_eq!(
        ran(&again, &first),
        Vec::<&str>::new(),
        "an identical rebuild runs nothing: {again:#?}"
    );

    // Edits no earlier run made, so no cache can hold their results.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    // A new overlay in patches/: a valid, empty Go file of the binary's
    // package.
    std::fs::write(
        context.join("patches/e2e_rebuild.go"),
        format!("package main\n\n// Added by the rebuild test, run {nonce}.\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let patched = build(&daemon, &context, "the rebuild after editing patches/");
    let ran_patched = ran(&patched, &again);
    assert!(
        ran_patched.contains(&step::APPLY_PATCHES_STEP),
        "the patch step re-ran: {ran_patched:?}"
    );
    // The dependencies compiled apart are found by their inputs' content
    // (the list the edit left as it was), not compiled again.
    let dependencies = step::deps_build_step("linux/amd64");
    assert!(
        ran_patched.contains(&"[tailscale linux/amd64] go build")
            && !ran_patched.contains(&dependencies.as_str()),
        "after editing patches/ go build re-ran, and {dependencies:?} did not: {ran_patched:?}"
    );
    let busybox: Vec<&&str> = ran_patched
        .iter()
        .filter(|n| n.starts_with("[busybox"))
        .collect();
    assert!(
        busybox.is_empty(),
        "editing patches/ re-ran {busybox:?}; all steps: {patched:#?}"
    );

    // An applet the list lacks. The comment with the nonce makes the list
    // new, so configure re-runs; busybox's make may still come from the
    // cache of an earlier run of this test (the same .config), so the
    // image is checked for the new applet instead.
    harness::add_applet(
        &context,
        "FACTOR",
        &format!("added by the rebuild test, run {nonce}"),
    );
    let archive = out_dir("rebuild-image").join("applets.oci.tar");
    let configured = build_to(
        &daemon,
        &context,
        "the rebuild after editing the applet list",
        &format!("type=oci,dest={}", archive.display()),
    );
    let ran_configured = ran(&configured, &patched);
    assert!(
        ran_configured.contains(&step::CONFIGURE_STEP),
        "the configure step re-ran: {ran_configured:?}; all steps: {configured:#?}"
    );
    let tailscale: Vec<&&str> = ran_configured
        .iter()
        .filter(|n| n.starts_with("[tailscale"))
        .collect();
    assert!(
        tailscale.is_empty(),
        "editing the applet list re-ran {tailscale:?}; all steps: {configured:#?}"
    );
    let links = Oci::open(&archive)
        .images()
        .first()
        .map(|i| i.applet_links())
        .unwrap_or_default();
    assert!(
        links.contains("factor"),
        "the image after adding FACTOR has no factor link: {links:?}"
    );
    eprintln!(
        "e2e: after patches/: ran {ran_patched:?}\ne2e: after the applet list: ran {ran_configured:?}"
    );
}
