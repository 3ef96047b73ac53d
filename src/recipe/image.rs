//! The Dockerfile's final `FROM scratch` stage: the image filesystem for
//! each platform, and its OCI config.

use std::collections::{BTreeMap, HashMap};

use oci_spec::image::{Arch, Config, History, ImageConfiguration, Os};

use super::steps::Steps;
use crate::llb::{CopyOptions, FileActions, Platform, State};

pub const PATH_ENV: &str = "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
pub const STATE_VOLUME: &str = "/var/lib/tailscale";
pub const ENTRYPOINT: &str = "/usr/local/bin/entrypoint.sh";
/// tailscaled's flags: no log uploads, state on the volume, socket on the
/// container's tmpfs.
pub const CMD: [&str; 4] = [
    "--no-logs-no-support",
    "--state=/var/lib/tailscale/tailscaled.state",
    "--socket=/var/run/tailscale/tailscaled.sock",
    "--statedir=/var/lib/tailscale",
];
pub const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// What every platform's image shares.
pub(super) struct Image<'a> {
    steps: &'a Steps<'a>,
    /// The CA bundle the daemon needs to reach the coordination server.
    certs: State,
}

impl<'a> Image<'a> {
    /// The shared layer: the CA bundle, taken from the Go base.
    pub(super) fn new(steps: &'a Steps<'a>, go_base: &State) -> Self {
        let bundle = steps.op(
            State::scratch().file(FileActions::new().copy(
                go_base,
                CA_BUNDLE,
                CA_BUNDLE,
                CopyOptions {
                    follow_symlinks: true,
                    create_dest_path: true,
                    ..CopyOptions::default()
                },
            )),
            CERTS_STEP,
            &["images.golang"],
        );
        let certs = steps.layer(&bundle.state(), CERTS_STEP, &["images.golang"]);
        Image { steps, certs }
    }

    /// The image filesystem, one layer each: the applet links,
    /// `/bin/busybox`, the CA bundle and `/usr/local/bin`.
    pub(super) fn filesystem(
        &self,
        target: &Platform,
        [links, busybox, usr_local_bin]: [State; 3],
    ) -> State {
        self.steps.stack(
            &format!("[image {target}] assemble"),
            &[links, busybox, self.certs.clone(), usr_local_bin],
            &["labels"],
        )
    }

    /// The OCI image config for `target`, with a history entry per layer,
    /// created at the build's epoch. BuildKit's exporter fills in the
    /// rootfs diff ids.
    pub(super) fn config(&self, target: &Platform) -> ImageConfiguration {
        let labels: HashMap<String, String> = labels(self.steps).into_iter().collect();
        let mut config = Config::default();
        config.set_env(Some(vec![PATH_ENV.to_string()]));
        config.set_entrypoint(Some(vec![ENTRYPOINT.to_string()]));
        config.set_cmd(Some(CMD.iter().map(|s| s.to_string()).collect()));
        config.set_volumes(Some(vec![STATE_VOLUME.to_string()]));
        config.set_working_dir(Some("/".to_string()));
        config.set_labels(Some(labels));
        let mut image = ImageConfiguration::default();
        image.set_architecture(Arch::from(target.architecture()));
        image.set_os(Os::from(target.os()));
        image.set_variant(target.variant().map(String::from));
        image.set_config(Some(config));
        let created = self.steps.req.args.source_date_epoch.to_string();
        image.set_created(Some(created.clone()));
        image.set_history(Some(history(target, &created)));
        image
    }
}

/// Progress name of the CA bundle layer.
pub const CERTS_STEP: &str = "[image] ca-certificates.crt";

/// One history entry per layer, bottom up, named by the step that made it
/// (BuildKit would otherwise name an exec-made layer by its whole script),
/// saying which frontend built it. The layers: the applet links, the
/// busybox binary, the CA bundle, `/usr/local/bin`; the same with and
/// without MergeOp.
fn history(target: &Platform, created: &str) -> Vec<History> {
    let built_by = format!("mtts-frontend {}", env!("CARGO_PKG_VERSION"));
    [
        super::busybox::LINKS_STEP.to_string(),
        super::busybox::binary_step(target),
        CERTS_STEP.to_string(),
        super::tailscale::usr_local_bin_step(target),
    ]
    .into_iter()
    .map(|step| {
        let mut h = History::default();
        h.set_created(Some(created.to_string()));
        h.set_created_by(Some(step));
        h.set_comment(Some(built_by.clone()));
        h
    })
    .collect()
}

/// Labels of the final image: the recipe's, the version (`OCI_VERSION`, or
/// the recipe's own version label: the two never both, see `BuildArgs`),
/// then `--label` values.
fn labels(steps: &Steps) -> BTreeMap<String, String> {
    let mut labels = steps.recipe().labels.clone();
    labels.insert(
        "org.opencontainers.image.version".to_string(),
        steps.req.args.oci_version.clone(),
    );
    for (k, v) in &steps.req.labels {
        labels.insert(k.clone(), v.clone());
    }
    labels
}

/// The config as JSON with every object's keys sorted, so the same build
/// gives the same bytes (the labels map would otherwise leak hash order).
pub fn config_json(config: &ImageConfiguration) -> Result<Vec<u8>, serde_json::Error> {
    let value = serde_json::to_value(config)?;
    // serde_json's Map is ordered by key unless `preserve_order` is on.
    serde_json::to_vec(&value)
}
