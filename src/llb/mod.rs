//! A typed, immutable LLB graph layer. It knows about BuildKit's ops and
//! nothing about what is being built.
//!
//! A graph is made of [`State`] values: each is one output of an op plus the
//! metadata that flows into the next op. Ops are built with small builders
//! ([`Exec`], [`File`], [`Merge`], [`Source`]) whose per-op constraints come
//! from [`OpOptions`], and a whole graph is turned into a BuildKit
//! `pb.Definition` in one pass by [`marshal`].

mod caps;
mod epoch;
mod exec;
mod file;
mod image_meta;
pub mod inspect;
mod marshal;
mod merge;
mod platform;
mod raw;
mod source;
mod source_map;
mod state;

pub use caps::Cap;
pub use epoch::{Epoch, EpochError};
pub use exec::{
    CacheSharing, DEFAULT_PATH, Exec, ExecState, Mount, NetMode, OutputMount, ProxyEnv,
};
pub use file::{CopyOptions, File, FileActions, Owner};
pub use image_meta::{ImageMeta, ImageMetaResolver, ResolveError};
pub use marshal::{Definition, head_of, marshal};
pub use merge::Merge;
pub use platform::{Platform, PlatformParseError};
pub use raw::RawError;
pub use source::{
    GIT_AUTH_HEADER, GIT_AUTH_TOKEN, ImageRef, ImageRefError, ResolveMode, Source, validate_digest,
};
pub use source_map::{Position, SourceFile, SourceLocation, SourceRange};
pub use state::{Env, OpOptions, State};

/// At most this many characters of a user's value appear in a message, so a
/// huge input cannot flood a log.
pub const MAX_QUOTED: usize = 80;

/// `s` cut after [`MAX_QUOTED`] characters, `...` marking the cut.
pub fn short(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
