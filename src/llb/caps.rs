//! The LLB capabilities an op can require of the daemon.
//!
//! BuildKit reports the caps it supports in `Ping`; a definition that needs a
//! cap the daemon lacks fails late and obscurely, so every op records what it
//! needs and the frontend checks the whole set up front.

use std::fmt;

/// One LLB capability, spelled exactly as BuildKit's `solver/pb/caps.go`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cap {
    SourceImage,
    SourceImageResolveMode,
    SourceLocal,
    SourceLocalUnique,
    SourceLocalSessionId,
    SourceLocalIncludePatterns,
    SourceLocalExcludePatterns,
    SourceLocalSharedKeyHint,
    SourceGit,
    SourceGitKeepDir,
    SourceGitFullUrl,
    SourceGitChecksum,
    SourceGitKnownSshHosts,
    SourceGitMountSshSock,
    SourceHttp,
    SourceHttpChecksum,
    SourceHttpPerm,
    SourceOciLayout,
    ExecMetaBase,
    ExecMetaNetwork,
    ExecMetaProxy,
    ExecMountBind,
    ExecMountCache,
    ExecMountCacheSharing,
    ExecMountSelector,
    ExecMountTmpfs,
    FileBase,
    FileRmWildcard,
    FileSymlinkCreate,
    Constraints,
    Platform,
    MetaIgnoreCache,
    MetaDescription,
    MergeOp,
}

impl Cap {
    /// The cap id on the wire.
    pub fn id(self) -> &'static str {
        match self {
            Cap::SourceImage => "source.image",
            Cap::SourceImageResolveMode => "source.image.resolvemode",
            Cap::SourceLocal => "source.local",
            Cap::SourceLocalUnique => "source.local.unique",
            Cap::SourceLocalSessionId => "source.local.sessionid",
            Cap::SourceLocalIncludePatterns => "source.local.includepatterns",
            Cap::SourceLocalExcludePatterns => "source.local.excludepatterns",
            Cap::SourceLocalSharedKeyHint => "source.local.sharedkeyhint",
            Cap::SourceGit => "source.git",
            Cap::SourceGitKeepDir => "source.git.keepgitdir",
            Cap::SourceGitFullUrl => "source.git.fullurl",
            Cap::SourceGitChecksum => "source.git.checksum",
            Cap::SourceGitKnownSshHosts => "source.git.knownsshhosts",
            Cap::SourceGitMountSshSock => "source.git.mountsshsock",
            Cap::SourceHttp => "source.http",
            Cap::SourceHttpChecksum => "source.http.checksum",
            Cap::SourceHttpPerm => "source.http.perm",
            Cap::SourceOciLayout => "source.ocilayout",
            Cap::ExecMetaBase => "exec.meta.base",
            Cap::ExecMetaNetwork => "exec.meta.network",
            Cap::ExecMetaProxy => "exec.meta.proxyenv",
            Cap::ExecMountBind => "exec.mount.bind",
            Cap::ExecMountCache => "exec.mount.cache",
            Cap::ExecMountCacheSharing => "exec.mount.cache.sharing",
            Cap::ExecMountSelector => "exec.mount.selector",
            Cap::ExecMountTmpfs => "exec.mount.tmpfs",
            Cap::FileBase => "file.base",
            Cap::FileRmWildcard => "file.rm.wildcard",
            Cap::FileSymlinkCreate => "file.symlink.create",
            Cap::Constraints => "constraints",
            Cap::Platform => "platform",
            Cap::MetaIgnoreCache => "meta.ignorecache",
            Cap::MetaDescription => "meta.description",
            Cap::MergeOp => "mergeop",
        }
    }

    /// The oldest BuildKit release that has this cap, for error messages
    /// that tell the user what to upgrade to (from BuildKit's history of
    /// `solver/pb/caps.go`; caps not listed predate v0.8).
    pub fn since(self) -> &'static str {
        match self {
            Cap::SourceGitChecksum => "v0.23.0",
            Cap::FileSymlinkCreate => "v0.19.0",
            Cap::SourceOciLayout => "v0.11.0",
            Cap::MergeOp => "v0.10.0",
            _ => "v0.8.0",
        }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}
