//! What an image's config says about running things in it, and the trait
//! that looks it up (BuildKit's Go `llb.ImageMetaResolver`).
//!
//! Execs over an image must run with its own config (ENV such as PATH,
//! WORKDIR, USER), as the Dockerfile frontend does, and the image should be
//! pinned by the digest the lookup found.

use std::future::Future;

use super::exec::DEFAULT_PATH;
use super::platform::Platform;
use super::source::{ImageRef, ResolveMode};
use super::state::{Env, State};

/// The parts of an image config that matter to execs over it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageMeta {
    /// The manifest digest to pin, when the resolver knows it.
    pub digest: Option<String>,
    /// `KEY=value` entries.
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
}

impl ImageMeta {
    /// The config of an image that sets nothing: BuildKit's default PATH.
    pub fn plain() -> Self {
        ImageMeta {
            env: vec![format!("PATH={DEFAULT_PATH}")],
            ..ImageMeta::default()
        }
    }
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
pub trait ImageMetaResolver {
    fn resolve_image(
        &self,
        image: &ImageRef,
        platform: &Platform,
        mode: ResolveMode,
    ) -> impl Future<Output = Result<ImageMeta, ResolveError>> + Send;
}

impl State {
    /// This state with the environment, working directory and user an image
    /// config gives the execs over it (`/` when it sets no directory).
    pub fn with_image_config(self, meta: &ImageMeta) -> State {
        let mut state = self.with_env(Env::from_strings(&meta.env));
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
}
