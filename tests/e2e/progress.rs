//! Reading a `--progress plain` build log, for the e2e tests and the
//! bench's table (`bench/table.rs`). BuildKit prints `#N NAME` when vertex
//! N starts, `#N 1.234 TEXT` for each line of its output, and ends it with
//! `#N DONE 1.2s`, `#N CACHED` or `#N ERROR: ...`.

use std::collections::BTreeMap;
use std::time::Duration;

/// One vertex of a plain-progress log, as BuildKit reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    /// Reported `CACHED`: its result was reused.
    pub cached: bool,
    /// Printed output of its own (`#N 0.123 ...` lines): it executed.
    pub printed: bool,
    /// What its `DONE` line says it took.
    pub done: Option<Duration>,
    /// Its output lines, as (seconds since it started, text).
    pub output: Vec<(String, String)>,
}

/// The vertices a `--progress plain` build reported, in order: each named
/// `#N name` once, cached or not (`#N CACHED` vs `#N DONE`). Vertices
/// BuildKit did not need at all do not appear.
pub fn steps(log: &str) -> Vec<Step> {
    let mut names: Vec<(String, String)> = Vec::new();
    let mut seen: BTreeMap<String, Step> = BTreeMap::new();
    for line in log.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((id, text)) = rest.split_once(' ') else {
            continue;
        };
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let step = seen.entry(id.to_string()).or_insert_with(|| Step {
            name: String::new(),
            cached: false,
            printed: false,
            done: None,
            output: Vec::new(),
        });
        if let Some((time, out)) = text.split_once(' ')
            && time.parse::<f64>().is_ok()
        {
            step.printed = true;
            step.output.push((time.to_string(), out.to_string()));
        } else if text.parse::<f64>().is_ok() {
            // An empty output line.
            step.printed = true;
            step.output.push((text.to_string(), String::new()));
        } else if text == "CACHED" {
            step.cached = true;
        } else if let Some(took) = text.strip_prefix("DONE ") {
            step.done = took
                .strip_suffix('s')
                .and_then(|s| s.parse::<f64>().ok())
                .map(Duration::from_secs_f64);
        } else if !names.iter().any(|(n, _)| n == id)
            && !text.starts_with("ERROR")
            && !text.starts_with("...")
        {
            names.push((id.to_string(), text.to_string()));
        }
    }
    names
        .into_iter()
        .filter_map(|(id, name)| {
            let mut step = seen.remove(&id)?;
            step.name = name;
            Some(step)
        })
        .collect()
}

/// Sources: BuildKit checks them again on every build (the git ref, the
/// download, the client's files, a base image by its digest) and reports
/// them as run even when nothing new is fetched.
pub fn is_source(name: &str) -> bool {
    let step = name.split_once("] ").map_or("", |(_, step)| step);
    name.starts_with("[internal]")
        || name.starts_with("[context ")
        || step.starts_with("git ")
        || step.starts_with("download ")
        || (!step.contains(' ') && step.contains("@sha256:"))
}

/// The recipe's steps that ran in a build, by name: not CACHED, unless
/// what the build showed was the previous build's vertex, not its own.
///
/// BuildKit v0.25 (docker 28.5) can still hold a vertex of the build
/// before when the next one starts, and merges the new build's equal step
/// (same cache key) into it: the new build then shows that old vertex,
/// with its old output replayed and its old `DONE`, beside its own vertex
/// of the same name as `CACHED`. Seen on new machines: the applet-list
/// rebuild showed `apply patches/` twice, once `CACHED` and once `DONE`
/// with the patch build's lines, timestamps to the millisecond included.
/// So a step with a `CACHED` twin of the same name did not run when it
/// printed nothing, or exactly what the same step printed in `before` (the
/// build before; a step that really runs again never repeats its
/// timestamps).
pub fn ran<'a>(steps: &'a [Step], before: &[Step]) -> Vec<&'a str> {
    let merged = |s: &Step| {
        steps.iter().any(|twin| twin.cached && twin.name == s.name)
            && (!s.printed
                || before
                    .iter()
                    .any(|b| b.name == s.name && b.printed && b.output == s.output))
    };
    steps
        .iter()
        .filter(|s| !s.cached && s.name.starts_with('[') && !is_source(&s.name))
        .filter(|s| !merged(s))
        .map(|s| s.name.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_reads_as_its_steps() {
        let log = "#1 [internal] load build definition\n\
                   #1 transferring dockerfile: 2B done\n\
                   #1 DONE 0.1s\n\
                   #5 [tailscale] go mod download\n\
                   #5 0.512 go: downloading golang.org/x/net v0.1.0\n\
                   #5 DONE 12.5s\n\
                   #6 [golang] apk add --no-cache ca-certificates upx\n\
                   #6 CACHED\n";
        let steps = steps(log);
        assert_eq!(steps.len(), 3, "{steps:?}");
        assert_eq!(steps[1].name, "[tailscale] go mod download");
        assert!(steps[1].printed && !steps[1].cached);
        assert_eq!(steps[1].done, Some(Duration::from_millis(12_500)));
        assert_eq!(
            steps[1].output,
            [(
                "0.512".to_string(),
                "go: downloading golang.org/x/net v0.1.0".to_string()
            )]
        );
        assert!(steps[2].cached && !steps[2].printed && steps[2].done.is_none());
        assert!(!steps[0].printed, "an info line is not output");
    }

    /// From a failed run on a new machine (docker 28.5): the applet-list
    /// rebuild showed the patch rebuild's `apply patches/` again, its
    /// lines and timestamps replayed, beside its own `CACHED` one.
    #[test]
    fn base_images_are_sources_whatever_their_registry() {
        for image in [
            "[golang] docker.io/library/mtts-fixture-golang:e2e@sha256:79e1",
            "[alpine] 127.0.0.1:5310/mtts-fixture-alpine:e2e@sha256:d422",
        ] {
            assert!(is_source(image), "{image}");
        }
        assert!(!is_source("[tailscale] go mod download"));
    }

    #[test]
    fn a_replay_of_the_build_before_is_not_a_run() {
        let patched = steps(
            "#16 [tailscale] apply patches/\n\
             #16 0.131 add the built-in stderr_verbosity_filter.go\n\
             #16 0.136 overlay e2e_rebuild.go -> cmd/tailscaled/\n\
             #16 DONE 0.2s\n",
        );
        let replayed = "#12 [tailscale] apply patches/\n\
                        #12 0.131 add the built-in stderr_verbosity_filter.go\n\
                        #12 0.136 overlay e2e_rebuild.go -> cmd/tailscaled/\n\
                        #12 DONE 0.2s\n\
                        #23 [busybox] make allnoconfig + applet list\n\
                        #23 10.72 99 applets\n\
                        #23 DONE 10.8s\n\
                        #28 [tailscale] apply patches/\n\
                        #28 CACHED\n";
        assert_eq!(
            ran(&steps(replayed), &patched),
            ["[busybox] make allnoconfig + applet list"]
        );
        // Run again for real: other timestamps, so it counts.
        let rerun = replayed.replace("#12 0.136", "#12 0.139");
        assert_eq!(
            ran(&steps(&rerun), &patched),
            [
                "[tailscale] apply patches/",
                "[busybox] make allnoconfig + applet list"
            ]
        );
        // Without a CACHED twin it ran, whatever it printed.
        let alone = "#12 [tailscale] apply patches/\n#12 0.131 add the built-in stderr_verbosity_filter.go\n#12 0.136 overlay e2e_rebuild.go -> cmd/tailscaled/\n#12 DONE 0.2s\n";
        assert_eq!(ran(&steps(alone), &patched), ["[tailscale] apply patches/"]);
    }
}
