//! What the daemon can do, from `Ping`, checked against what we need.

use std::collections::BTreeSet;

use crate::llb::Cap;
use crate::proto::gateway::PongResponse;
use crate::proto::moby::buildkit::v1::apicaps::ApiCap;

/// Gateway caps this frontend cannot work without.
pub const REQUIRED_GATEWAY_CAPS: &[(&str, &str)] = &[
    ("solve.base", "v0.8.0"),
    ("return", "v0.8.0"),
    ("returnmap", "v0.8.0"),
    ("proto.refarray", "v0.8.0"),
    ("readfile", "v0.8.0"),
    ("resolveimage", "v0.8.0"),
];

/// Caps the daemon reported as enabled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DaemonCaps {
    pub gateway: BTreeSet<String>,
    pub llb: BTreeSet<String>,
}

/// The daemon lacks something we need.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this BuildKit is too old for mtts-frontend: it lacks {} (needs BuildKit {} or newer)",
    missing.join(", "),
    minimum
)]
pub struct CapsError {
    pub missing: Vec<String>,
    pub minimum: String,
}

fn enabled(caps: &[ApiCap]) -> BTreeSet<String> {
    caps.iter()
        .filter(|c| c.enabled)
        .map(|c| c.id.clone())
        .collect()
}

/// Compares `vX.Y.Z` strings numerically.
fn version_key(v: &str) -> Vec<u64> {
    v.trim_start_matches('v')
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

impl DaemonCaps {
    /// From the daemon's answer to `Ping`. A daemon that lists no caps at
    /// all is treated, as BuildKit's Go client does, as having the basic
    /// set every release has had.
    pub fn from_pong(pong: &PongResponse) -> Self {
        let mut gateway = enabled(&pong.frontend_api_caps);
        if pong.frontend_api_caps.is_empty() {
            gateway = [
                "solve.base",
                "solve.inlinereturn",
                "resolveimage",
                "readfile",
            ]
            .map(String::from)
            .into();
        }
        let mut llb = enabled(&pong.llb_caps);
        if pong.llb_caps.is_empty() {
            llb = [
                "source.image",
                "source.local",
                "source.local.unique",
                "source.local.sessionid",
                "source.local.includepatterns",
                "source.local.followpaths",
                "source.local.excludepatterns",
                "source.local.sharedkeyhint",
                "source.git",
                "source.git.keepgitdir",
                "source.git.fullurl",
                "source.http",
                "source.http.checksum",
                "source.http.perm",
                "exec.meta.base",
                "exec.meta.proxyenv",
                "exec.mount.bind",
                "exec.mount.cache",
                "exec.mount.cache.sharing",
                "exec.mount.selector",
                "exec.mount.tmpfs",
                "exec.mount.secret",
                "constraints",
                "platform",
                "meta.ignorecache",
                "meta.description",
                "meta.exportcache",
            ]
            .map(String::from)
            .into();
        }
        DaemonCaps { gateway, llb }
    }

    pub fn has_gateway(&self, id: &str) -> bool {
        self.gateway.contains(id)
    }

    /// Whether the daemon can take ops that need `cap`.
    pub fn has_llb(&self, cap: Cap) -> bool {
        self.llb.contains(cap.id())
    }

    /// Fails, naming every missing cap, unless the daemon has the gateway
    /// caps we need.
    pub fn check_gateway(&self) -> Result<(), CapsError> {
        let missing: Vec<(&str, &str)> = REQUIRED_GATEWAY_CAPS
            .iter()
            .copied()
            .filter(|(id, _)| !self.gateway.contains(*id))
            .collect();
        Self::fail_if(missing)
    }

    /// Fails, naming every missing cap, unless the daemon has all `needed`.
    pub fn check_llb(&self, needed: &BTreeSet<Cap>) -> Result<(), CapsError> {
        let missing: Vec<(&str, &str)> = needed
            .iter()
            .filter(|c| !self.llb.contains(c.id()))
            .map(|c| (c.id(), c.since()))
            .collect();
        Self::fail_if(missing)
    }

    fn fail_if(missing: Vec<(&str, &str)>) -> Result<(), CapsError> {
        if missing.is_empty() {
            return Ok(());
        }
        let minimum = missing
            .iter()
            .map(|(_, v)| *v)
            .max_by_key(|v| version_key(v))
            .unwrap_or("v0.8.0")
            .to_string();
        Err(CapsError {
            missing: missing.iter().map(|(id, _)| format!("{id:?}")).collect(),
            minimum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(id: &str, enabled: bool) -> ApiCap {
        ApiCap {
            id: id.to_string(),
            enabled,
            ..Default::default()
        }
    }

    fn pong(gateway: &[&str], llb: &[&str]) -> PongResponse {
        PongResponse {
            frontend_api_caps: gateway.iter().map(|c| cap(c, true)).collect(),
            llb_caps: llb.iter().map(|c| cap(c, true)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_current_daemon_supports_everything() {
        let caps = DaemonCaps::from_pong(&pong(
            &[
                "solve.base",
                "return",
                "returnmap",
                "proto.refarray",
                "readfile",
                "resolveimage",
            ],
            &["mergeop", "file.symlink.create", "exec.meta.base"],
        ));
        assert_eq!(caps.check_gateway(), Ok(()));
        assert!(caps.has_llb(Cap::MergeOp) && caps.has_llb(Cap::FileSymlinkCreate));
        assert_eq!(
            caps.check_llb(&BTreeSet::from([Cap::ExecMetaBase, Cap::MergeOp])),
            Ok(())
        );
    }

    #[test]
    fn disabled_caps_do_not_count() {
        let mut p = pong(&[], &["exec.meta.base"]);
        p.llb_caps.push(cap("mergeop", false));
        let caps = DaemonCaps::from_pong(&p);
        assert!(!caps.has_llb(Cap::MergeOp));
    }

    #[test]
    fn missing_caps_are_named_with_the_minimum_version() {
        let caps = DaemonCaps::from_pong(&pong(&["solve.base"], &["exec.meta.base"]));
        let e = caps
            .check_llb(&BTreeSet::from([
                Cap::ExecMetaBase,
                Cap::MergeOp,
                Cap::FileSymlinkCreate,
            ]))
            .unwrap_err();
        assert_eq!(e.missing, ["\"file.symlink.create\"", "\"mergeop\""]);
        assert_eq!(e.minimum, "v0.19.0");
        let msg = e.to_string();
        assert!(
            msg.contains("mergeop") && msg.contains("BuildKit v0.19.0 or newer"),
            "{msg}"
        );
        let e = caps.check_gateway().unwrap_err().to_string();
        assert!(
            e.contains("\"return\"") && e.contains("\"resolveimage\""),
            "{e}"
        );
    }

    #[test]
    fn an_old_daemon_without_cap_lists_gets_the_basic_set() {
        let caps = DaemonCaps::from_pong(&PongResponse::default());
        assert!(caps.has_gateway("solve.base"));
        assert!(caps.llb.contains("source.git"));
        assert!(!caps.has_llb(Cap::MergeOp));
        assert!(caps.check_gateway().is_err(), "no Return: too old");
    }
}
