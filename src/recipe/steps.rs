//! What every stage's steps share: the request they read, how a step is
//! named and cached, which network it gets, how a script runs, and how
//! image layers are made and stacked. The stage files call down into this;
//! nothing here knows a stage.

use super::config::Recipe;
use super::request::BuildRequest;
use super::sources::{self, Inputs, SourceError};
use crate::llb::{CopyOptions, Exec, FileActions, OpOptions, State};

/// Where a step mounts its part of the build context.
pub(super) const CONTEXT: &str = "/context";
/// Where a step that makes files writes them (an empty output mount).
pub(super) const OUT: &str = "/out";

/// Runs one of the fixed scripts of `scripts/` with `sh -eu` on `base`,
/// `$0` being `name`. The text goes in through the environment, not the
/// command line: BuildKit quotes a failed process's whole command line as
/// the error's last line, which would bury the step's own message under
/// kilobytes of script.
pub(super) fn script(base: &State, name: &str, text: &str) -> Exec {
    base.run(["/bin/sh", "-euc", "eval \"$MTTS_SCRIPT\"", name])
        .env("MTTS_SCRIPT", text)
}

/// Shared settings every step reads.
pub(crate) struct Steps<'a> {
    pub(crate) req: &'a BuildRequest,
}

impl Steps<'_> {
    pub(super) fn recipe(&self) -> &Recipe {
        &self.req.recipe
    }

    /// Base image `name` (pinned as `pin` unless a named context replaces
    /// it), resolved for the build platform in the request's resolve mode.
    pub(super) async fn base_image<I: Inputs>(
        &self,
        inputs: &I,
        name: &str,
        pin: &crate::llb::ImageRef,
    ) -> Result<sources::BaseImage, SourceError> {
        let req = self.req;
        let key = format!("images.{name}");
        let located = req.source.locations(&[&key]);
        sources::base_image(
            inputs,
            name,
            pin,
            &req.build_platform,
            req.resolve_mode,
            located,
        )
        .await
    }

    /// Names an op, applies `--no-cache` (or `--no-cache-filter` to the
    /// op's group) and points it at the recipe `keys` that made it (its
    /// source map: a failed step shows those lines).
    pub(super) fn op<T: OpOptions>(&self, op: T, name: impl Into<String>, keys: &[&str]) -> T {
        let name = name.into();
        let ignore = self.req.no_cache.covers(&name);
        op.named(name)
            .ignore_cache(ignore)
            .located(self.req.source.locations(keys))
    }

    /// An exec that downloads: it gets the network (unless `--network
    /// none`) and the build's proxies. Every other step runs without a
    /// network, so it needs neither.
    pub(super) fn downloading(&self, exec: Exec) -> Exec {
        exec.network(self.req.network).proxy(&self.req.args.proxy)
    }

    /// The build's epoch as `SOURCE_DATE_EPOCH` is written, for tools that
    /// would otherwise write today's date into what they make.
    pub(super) fn epoch_seconds(&self) -> String {
        self.req.args.source_date_epoch.seconds().to_string()
    }

    /// `state` made into an image layer: copied onto scratch with every
    /// entry's time set to the build's epoch, so the layer's bytes depend
    /// on what is in it, not on when the step `made_by` ran.
    pub(super) fn layer(&self, state: &State, made_by: &str, keys: &[&str]) -> State {
        let epoch = self.req.args.source_date_epoch;
        self.op(
            state.restamped(epoch),
            format!("{made_by}: times set to {epoch}"),
            keys,
        )
        .state()
    }

    /// `layers` stacked bottom up, each staying its own layer: a MergeOp,
    /// which copies nothing. Daemons without one get copies of each layer
    /// onto the ones below, times again set to the epoch.
    pub(super) fn stack(&self, name: &str, layers: &[State], keys: &[&str]) -> State {
        if self.req.daemon.merge_op {
            return self.op(State::merge(layers), name, keys).state();
        }
        let Some((bottom, above)) = layers.split_first() else {
            return State::scratch();
        };
        let onto = CopyOptions {
            dir_copy_contents: true,
            create_dest_path: true,
            timestamp: Some(self.req.args.source_date_epoch),
            ..CopyOptions::default()
        };
        above
            .iter()
            .enumerate()
            .fold(bottom.clone(), |below, (i, layer)| {
                let files = FileActions::new().copy(layer, "/", "/", onto.clone());
                let step = format!("{name} ({}/{})", i + 2, layers.len());
                self.op(below.file(files), step, keys).state()
            })
    }
}
