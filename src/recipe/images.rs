//! Base images and their metadata.
//!
//! Exec ops must run with the image's own config (ENV such as PATH and
//! GOPATH, WORKDIR, USER), as the Dockerfile frontend does. Inside BuildKit
//! the frontend asks the daemon (`ResolveImageConfig`); the offline `llb` and
//! `graph` commands use [`StaticResolver`]. The recipe only sees the
//! [`ImageResolver`] trait and never talks to BuildKit itself.

use std::future::Future;

use crate::llb::{Env, ImageRef, OpOptions, Platform, ResolveMode, Source, State};

/// What an image's config says about how to run things in it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageMeta {
    /// The manifest digest to pin, when the resolver knows it.
    pub digest: Option<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

/// An image could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("resolving {image} for {platform}: {message}")]
pub struct ResolveError {
    pub image: String,
    pub platform: String,
    pub message: String,
}

/// Finds an image's digest and config for a platform.
pub trait ImageResolver {
    fn resolve(
        &self,
        image: &ImageRef,
        platform: &Platform,
        mode: ResolveMode,
    ) -> impl Future<Output = Result<ImageMeta, ResolveError>> + Send;
}

/// The offline fallback: no daemon to ask, so pins stay as the recipe wrote
/// them and the config comes from a table of the images this build uses, as
/// their published configs set it. Any other image gets BuildKit's default
/// PATH and `/` as its working directory.
#[derive(Clone, Copy, Debug, Default)]
pub struct StaticResolver;

const DEFAULT_PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

impl StaticResolver {
    pub fn meta_for(image: &ImageRef) -> ImageMeta {
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
}

impl ImageMeta {
    /// The config of an image that sets nothing: BuildKit's default PATH.
    pub fn plain() -> Self {
        ImageMeta {
            env: vec![DEFAULT_PATH_ENV.into()],
            ..ImageMeta::default()
        }
    }
}

impl ImageResolver for StaticResolver {
    async fn resolve(
        &self,
        image: &ImageRef,
        _platform: &Platform,
        _mode: ResolveMode,
    ) -> Result<ImageMeta, ResolveError> {
        Ok(StaticResolver::meta_for(image))
    }
}

/// Where a base image comes from when a named context replaces it.
#[derive(Clone, Debug)]
pub enum BaseOverride {
    /// `docker-image://...`: resolved like the recipe's own pin.
    Image(ImageRef),
    /// Any other context (local dir, git, oci-layout, another frontend's
    /// input): used as the filesystem, with a default config.
    State(State),
}

/// Makes the state of base image `name` for the build platform: the
/// override if there is one, else the recipe's pin; resolved, pinned by
/// digest, and carrying the image's ENV/WORKDIR/USER for execs.
pub async fn base_image<R: ImageResolver>(
    resolver: &R,
    name: &str,
    recipe_ref: &ImageRef,
    over: Option<BaseOverride>,
    build_platform: &Platform,
    mode: ResolveMode,
) -> Result<State, ResolveError> {
    let image = match over {
        Some(BaseOverride::State(state)) => {
            return Ok(apply_meta(
                state.with_platform(build_platform),
                &ImageMeta::plain(),
            ));
        }
        Some(BaseOverride::Image(r)) => r,
        None => recipe_ref.clone(),
    };
    let meta = resolver.resolve(&image, build_platform, mode).await?;
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
        .state();
    Ok(apply_meta(state, &meta))
}

fn apply_meta(state: State, meta: &ImageMeta) -> State {
    let mut state = state.with_env(Env::from_strings(&meta.env));
    state = state.cwd(
        meta.working_dir
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/".into()),
    );
    if let Some(user) = meta.user.as_ref().filter(|u| !u.is_empty()) {
        state = state.user(user.clone());
    }
    state
}
