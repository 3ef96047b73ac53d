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
    /// Its output lines, without the `#N 0.123 ` prefix.
    pub output: Vec<String>,
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
            step.output.push(out.to_string());
        } else if text.parse::<f64>().is_ok() {
            // An empty output line.
            step.printed = true;
            step.output.push(String::new());
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
        assert_eq!(steps[1].output, ["go: downloading golang.org/x/net v0.1.0"]);
        assert!(steps[2].cached && !steps[2].printed && steps[2].done.is_none());
        assert!(!steps[0].printed, "an info line is not output");
    }
}
