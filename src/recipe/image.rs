//! Stage 9: the final scratch image and its OCI config.

use std::collections::{BTreeMap, HashMap};

use oci_spec::image::{
    Arch, ConfigBuilder, ImageConfiguration, ImageConfigurationBuilder, Os, RootFsBuilder,
};

use super::{BuildError, Ctx};
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

/// The CA bundle the daemon needs to reach the coordination server, taken
/// from the Go base. The same for every platform.
pub(super) fn certificates(ctx: &Ctx, go_base: &State) -> State {
    ctx.op(
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
        "[image] ca-certificates.crt",
    )
    .state()
}

/// The image filesystem: busybox rootfs, CA bundle, `/usr/local/bin`, each
/// its own layer. MergeOp stacks them without copying; older daemons get
/// the same layers from chained copies.
pub(super) fn assemble(
    ctx: &Ctx,
    rootfs: &State,
    certs: &State,
    usr_local_bin: &State,
    target: &Platform,
) -> State {
    let name = format!("[image {target}] assemble");
    if ctx.req.daemon.merge_op {
        return ctx
            .op(
                State::merge(&[rootfs.clone(), certs.clone(), usr_local_bin.clone()]),
                name,
            )
            .state();
    }
    let everything = CopyOptions {
        dir_copy_contents: true,
        follow_symlinks: false,
        create_dest_path: true,
        ..CopyOptions::default()
    };
    let with_certs = ctx
        .op(
            rootfs.file(FileActions::new().copy(certs, "/", "/", everything.clone())),
            format!("[image {target}] add ca-certificates.crt"),
        )
        .state();
    ctx.op(
        with_certs.file(FileActions::new().copy(usr_local_bin, "/", "/", everything)),
        name,
    )
    .state()
}

/// Labels of the final image: the recipe's, the version (`OCI_VERSION`, or
/// the recipe's own version label: the two never both, see `BuildArgs`),
/// then `--label` values.
pub(super) fn labels(ctx: &Ctx) -> BTreeMap<String, String> {
    let mut labels = ctx.recipe().labels.clone();
    labels.insert(
        "org.opencontainers.image.version".to_string(),
        ctx.req.args.oci_version.clone(),
    );
    for (k, v) in &ctx.req.labels {
        labels.insert(k.clone(), v.clone());
    }
    labels
}

/// The OCI image config for `target`. BuildKit's exporter fills in the
/// rootfs diff ids and history.
pub(super) fn config(ctx: &Ctx, target: &Platform) -> Result<ImageConfiguration, BuildError> {
    let labels: HashMap<String, String> = labels(ctx).into_iter().collect();
    let config = ConfigBuilder::default()
        .env(vec![PATH_ENV.to_string()])
        .entrypoint(vec![ENTRYPOINT.to_string()])
        .cmd(CMD.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .volumes(vec![STATE_VOLUME.to_string()])
        .working_dir("/".to_string())
        .labels(labels)
        .build()
        .map_err(|e| BuildError::ImageConfig(e.to_string()))?;
    let mut builder = ImageConfigurationBuilder::default()
        .architecture(Arch::from(target.architecture()))
        .os(Os::from(target.os()))
        .config(config)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers".to_string())
                .diff_ids(Vec::<String>::new())
                .build()
                .map_err(|e| BuildError::ImageConfig(e.to_string()))?,
        );
    if let Some(v) = target.variant() {
        builder = builder.variant(v.to_string());
    }
    builder
        .build()
        .map_err(|e| BuildError::ImageConfig(e.to_string()))
}

/// The config as JSON with every object's keys sorted, so the same build
/// gives the same bytes (the labels map would otherwise leak hash order).
pub fn config_json(config: &ImageConfiguration) -> Result<Vec<u8>, serde_json::Error> {
    let value = serde_json::to_value(config)?;
    // serde_json's Map is ordered by key unless `preserve_order` is on.
    serde_json::to_vec(&value)
}
