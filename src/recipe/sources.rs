//! The recipe's inputs, asked for by name when a stage needs them (as
//! dalec's `GetContext`): the build context, the base images and the source
//! trees a named context may replace. Whoever runs the recipe (a BuildKit
//! frontend, the offline CLI) implements [`Inputs`]; this module alone
//! decides what a name means, so which inputs a target uses is decided here
//! and nowhere else.

use crate::llb::{
    ImageMeta, ImageMetaResolver, ImageRef, OpOptions, Platform, ResolveError, ResolveMode, Source,
    SourceLocation, State,
};

/// The name of each input: a named context (`--build-context NAME=...`)
/// of that name replaces it.
pub mod input {
    /// The Go toolchain image (`images.golang`).
    pub const GOLANG: &str = "golang";
    /// The busybox toolchain's base image (`images.alpine`).
    pub const ALPINE: &str = "alpine";
    /// The cross-compilation helpers' image (`images.xx`).
    pub const XX: &str = "xx";
    /// The Tailscale source tree (`tailscale.repository`).
    pub const TAILSCALE: &str = "tailscale";
    /// The busybox source tree (`busybox.url`).
    pub const BUSYBOX: &str = "busybox";
}

/// The inputs that are base images.
pub const IMAGE_INPUTS: [&str; 3] = [input::GOLANG, input::ALPINE, input::XX];

/// The names a named context (`--build-context NAME=...`) can replace.
pub const INPUT_NAMES: &[&str] = &[
    input::GOLANG,
    input::ALPINE,
    input::XX,
    input::TAILSCALE,
    input::BUSYBOX,
];

/// What a named context put in place of an input.
#[derive(Clone, Debug)]
pub enum Named {
    /// `docker-image://...`: resolved like the recipe's own pin.
    Image(ImageRef),
    /// Any other context (local directory, git, oci-layout, a forwarded
    /// input): used as a filesystem, with the image config it came with
    /// (an OCI layout's, a bake target's), if any.
    Tree {
        state: State,
        config: Option<ImageMeta>,
    },
}

/// Where the recipe's inputs come from.
pub trait Inputs: ImageMetaResolver + Sync {
    /// The build context with only `path` in it (nothing when it has
    /// none), for the one step that reads it: a change elsewhere in the
    /// context leaves it, and so the step, as it was.
    fn build_context(&self, path: &str) -> Result<State, SourceError>;

    /// What the user gave in place of input `name`, if anything. Asking is
    /// what makes a named context "used".
    fn named_context(&self, name: &str) -> Result<Option<Named>, SourceError>;

    /// The environment a directory given in place of base image `pin` runs
    /// with: none but BuildKit's default PATH, unless these inputs know the
    /// image's config without asking a registry.
    fn tree_config(&self, _pin: &ImageRef) -> ImageMeta {
        ImageMeta::plain()
    }
}

/// An input that could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// Whoever answers says what failed, naming the input.
    #[error(transparent)]
    Input(Box<dyn std::error::Error + Send + Sync>),
}

/// A base image, and whether the user's named context replaced the pin.
#[derive(Clone, Debug)]
pub struct BaseImage {
    pub state: State,
    pub from_named_context: bool,
    /// The image as pinned and resolved (by digest when the daemon said
    /// it); `None` when a named context gave a directory.
    pub reference: Option<ImageRef>,
}

/// A base image of the recipe (`FROM <pin> AS <name>`): a named context of
/// that name replaces the pin. Resolved for the build platform, pinned by
/// digest, and carrying the image's ENV/WORKDIR/USER for the execs over it.
pub async fn base_image<I: Inputs>(
    inputs: &I,
    name: &str,
    pin: &ImageRef,
    build_platform: &Platform,
    mode: ResolveMode,
    recipe_key: Vec<SourceLocation>,
) -> Result<BaseImage, SourceError> {
    let image = match inputs.named_context(name)? {
        Some(Named::Tree { state, config }) => {
            let config = config.unwrap_or_else(|| inputs.tree_config(pin));
            return Ok(BaseImage {
                state: state
                    .with_platform(build_platform)
                    .with_image_config(&config),
                from_named_context: true,
                reference: None,
            });
        }
        Some(Named::Image(r)) => r,
        None => pin.clone(),
    };
    let from_named_context = image != *pin;
    // The recipe's line, unless a named context replaced what it says.
    let located = if from_named_context {
        Vec::new()
    } else {
        recipe_key
    };
    let meta = inputs.resolve_image(&image, build_platform, mode).await?;
    let pinned = match &meta.digest {
        Some(d) => image.with_digest(d).map_err(|e| ResolveError {
            image: image.to_string(),
            platform: build_platform.to_string(),
            message: e.to_string(),
        })?,
        None => image,
    };
    let state = Source::image(&pinned)
        .resolve_mode(mode)
        .platform(build_platform)
        .named(format!("[{name}] {pinned}"))
        .located(located)
        .state();
    Ok(BaseImage {
        state: state.with_image_config(&meta),
        from_named_context,
        reference: Some(pinned),
    })
}

/// A source tree the user may replace with a named context of its name
/// (`tailscale`, `busybox`); `None` means the recipe's own.
pub fn source_tree<I: Inputs>(inputs: &I, name: &str) -> Result<Option<State>, SourceError> {
    Ok(inputs.named_context(name)?.map(|named| match named {
        Named::Tree { state, .. } => state,
        Named::Image(r) => Source::image(&r)
            .named(format!("[context {name}] {r}"))
            .state(),
    }))
}

/// An image's config as the images this recipe uses publish it, for
/// building the graph without a daemon to ask. Any other image gets
/// BuildKit's defaults.
fn published_config(image: &ImageRef) -> ImageMeta {
    match image.name() {
            "docker.io/library/golang" => ImageMeta {
                digest: None,
                env: vec![
                    "PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
                    "GOTOOLCHAIN=local".into(),
                    "GOPATH=/go".into(),
                ],
                working_dir: Some("/go".into()),
                user: None,
            },
            _ => ImageMeta::plain(),
    }
}

/// Inputs whose images are not looked up anywhere: pins stay as the recipe
/// wrote them, configs are the published ones. For the offline commands
/// and for `--check`, which build the graph without asking a daemon.
pub struct Unresolved<F> {
    /// The session local that holds the build context (`buildctl --local
    /// NAME=DIR`); `None` for an empty one.
    pub context: Option<String>,
    /// Named contexts, by name.
    pub named: F,
}

impl<F: Sync> ImageMetaResolver for Unresolved<F> {
    async fn resolve_image(
        &self,
        image: &ImageRef,
        _platform: &Platform,
        _mode: ResolveMode,
    ) -> Result<ImageMeta, ResolveError> {
        Ok(published_config(image))
    }
}

impl<F> Inputs for Unresolved<F>
where
    F: Fn(&str) -> Result<Option<Named>, SourceError> + Sync,
{
    fn build_context(&self, path: &str) -> Result<State, SourceError> {
        Ok(match &self.context {
            Some(local) => Source::local(local)
                .include_patterns(&[path])
                .shared_key_hint(&format!("{local}:{path}"))
                .named(format!("[internal] load build context ({path})"))
                .state(),
            None => State::scratch(),
        })
    }

    fn named_context(&self, name: &str) -> Result<Option<Named>, SourceError> {
        (self.named)(name)
    }

    /// The published config: a directory in place of golang is expected to
    /// be a golang root, with Go where that image's PATH has it.
    fn tree_config(&self, pin: &ImageRef) -> ImageMeta {
        published_config(pin)
    }
}
