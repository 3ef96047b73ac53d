//! The table of `scripts/bench`: ours against the original Dockerfile, the
//! median of each number over the rounds, read from the bench's logs with
//! the e2e tests' own progress-log parser and OCI reader. Run by
//! `scripts/bench` (`cargo run --example bench-table -- ...`); see
//! bench/README.md for what each row measures.

#[path = "../tests/e2e/oci.rs"]
#[allow(dead_code)]
mod oci;
#[path = "../tests/e2e/progress.rs"]
#[allow(dead_code)]
mod progress;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Parser;
use mtts_frontend::recipe::step;
use progress::Step;

/// Prints the bench's markdown table from the logs of a run.
#[derive(Debug, Parser)]
struct Args {
    /// The bench's directory (target/bench): logs/, rounds/, out/ and
    /// ours-graph.json.
    #[arg(long)]
    work: PathBuf,
    /// How many rounds to read (the first N).
    #[arg(long)]
    rounds: usize,
    /// The platform the builds ran on.
    #[arg(long)]
    build_platform: String,
    /// The bump build's versions, for its row ("v1.102.1 to v1.102.2").
    #[arg(long)]
    bump: String,
    /// The machine's cores, for the CPU rows.
    #[arg(long)]
    cores: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Original,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Ours => "ours",
            Side::Original => "original",
        }
    }
}

/// What the bench knows besides the logs.
struct Bench {
    args: Args,
    /// Our graph's exec steps: (platform, name).
    our_execs: Vec<(String, String)>,
}

/// Sources BuildKit checks again on every build and reports as run: ours
/// as the e2e tests know them, and the original's `FROM` lines.
fn is_source(name: &str) -> bool {
    progress::is_source(name)
        || name
            .split_once("] ")
            .is_some_and(|(_, s)| s.starts_with("FROM "))
}

/// One number of one build.
#[derive(Clone, Copy)]
enum Metric {
    Wall,
    /// The CPU seconds the machine spent during the build (/proc/stat).
    Cpu,
    StepTime,
    Steps,
    Execs,
    Downloads,
    Featuretags,
    Configure,
    Emulated,
}

impl Bench {
    fn log(&self, side: Side, round: usize, run: &str) -> anyhow::Result<Vec<Step>> {
        let path = self
            .args
            .work
            .join(format!("logs/{}-{round}-{run}.log", side.name()));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(progress::steps(&text))
    }

    /// The vertices that ran (not CACHED), without buildx's own loading and
    /// the export.
    fn executed(steps: &[Step]) -> Vec<&Step> {
        steps
            .iter()
            .filter(|s| s.done.is_some() && !s.cached && !s.name.is_empty())
            .filter(|s| {
                ![
                    "[internal] ",
                    "resolve image config ",
                    "docker-image://",
                    "exporting ",
                ]
                .iter()
                .any(|p| s.name.starts_with(p))
            })
            .collect()
    }

    /// The executed exec steps: ours by our graph's exec vertices, the
    /// original's by RUN.
    fn exec_steps<'a>(&self, side: Side, steps: &'a [Step]) -> Vec<&'a Step> {
        let ours: BTreeSet<&str> = self.our_execs.iter().map(|(_, n)| n.as_str()).collect();
        Self::executed(steps)
            .into_iter()
            .filter(|s| match side {
                Side::Ours => ours.contains(s.name.as_str()),
                Side::Original => s.name.contains("] RUN "),
            })
            .collect()
    }

    fn metric(&self, side: Side, round: usize, run: &str, what: Metric) -> anyhow::Result<f64> {
        // Wall and CPU time: what scripts/bench wrote beside the log.
        let recorded = match what {
            Metric::Wall => Some("wall"),
            Metric::Cpu => Some("cpu"),
            _ => None,
        };
        if let Some(extension) = recorded {
            let path = self
                .args
                .work
                .join(format!("rounds/{}-{round}-{run}.{extension}", side.name()));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return text
                .trim()
                .parse()
                .with_context(|| format!("{}: not a number", path.display()));
        }
        let steps = self.log(side, round, run)?;
        let execs = || self.exec_steps(side, &steps);
        let count = |n: usize| n as f64;
        Ok(match what {
            Metric::Wall | Metric::Cpu => unreachable!("handled above"),
            Metric::StepTime => Self::executed(&steps)
                .iter()
                .filter_map(|s| s.done)
                .map(|d| d.as_secs_f64())
                .sum(),
            Metric::Steps => count(
                Self::executed(&steps)
                    .iter()
                    .filter(|s| !is_source(&s.name))
                    .count(),
            ),
            Metric::Execs => count(execs().len()),
            // Module downloads: our download step, or a step where go
            // fetched modules itself (it prints "go: downloading M V").
            Metric::Downloads => count(
                Self::executed(&steps)
                    .iter()
                    .filter(|s| s.name == step::MOD_DOWNLOAD_STEP)
                    .count()
                    + steps
                        .iter()
                        .filter(|s| {
                            s.output
                                .iter()
                                .any(|(_, l)| l.starts_with("go: downloading "))
                        })
                        .count(),
            ),
            Metric::Featuretags => count(
                execs()
                    .iter()
                    .filter(|s| s.name.contains("featuretags"))
                    .count(),
            ),
            Metric::Configure => count(
                execs()
                    .iter()
                    .filter(|s| s.name.contains("make allnoconfig"))
                    .count(),
            ),
            // Target binaries run under QEMU. Ours: exec steps whose
            // platform is not the build machine's. The original's: its
            // applet probe runs the stage's busybox, the target's.
            Metric::Emulated => {
                let build = &self.args.build_platform;
                let elsewhere: BTreeSet<&str> = self
                    .our_execs
                    .iter()
                    .filter(|(p, _)| p != build)
                    .map(|(_, n)| n.as_str())
                    .collect();
                count(
                    execs()
                        .iter()
                        .filter(|s| match side {
                            Side::Ours => elsewhere.contains(s.name.as_str()),
                            Side::Original => {
                                s.name.contains("./busybox ")
                                    && !s.name.starts_with(&format!("[{build} "))
                            }
                        })
                        .count(),
                )
            }
        })
    }

    /// The median over the rounds.
    fn median(&self, side: Side, run: &str, what: Metric) -> anyhow::Result<f64> {
        let mut values = (1..=self.args.rounds)
            .map(|r| self.metric(side, r, run, what))
            .collect::<anyhow::Result<Vec<f64>>>()?;
        values.sort_by(f64::total_cmp);
        let n = values.len();
        Ok(match n {
            0 => bail!("no rounds"),
            _ if n % 2 == 1 => values[n / 2],
            _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        })
    }

    /// "ours / original" of the medians.
    fn pair(&self, run: &str, what: Metric, unit: &str) -> anyhow::Result<String> {
        Ok(format!(
            "{}{unit} / {}{unit}",
            number(self.median(Side::Ours, run, what)?),
            number(self.median(Side::Original, run, what)?)
        ))
    }

    /// "wall s (N steps, C CPU-s) / ...".
    fn rebuild(&self, run: &str) -> anyhow::Result<String> {
        let side = |s| -> anyhow::Result<String> {
            Ok(format!(
                "{} s ({} steps, {} CPU-s)",
                number(self.median(s, run, Metric::Wall)?),
                number(self.median(s, run, Metric::Steps)?),
                number(self.median(s, run, Metric::Cpu)?)
            ))
        };
        Ok(format!("{} / {}", side(Side::Ours)?, side(Side::Original)?))
    }

    fn ratio(&self, run: &str) -> anyhow::Result<String> {
        Ok(format!(
            "{:.2}",
            self.median(Side::Ours, run, Metric::Wall)?
                / self.median(Side::Original, run, Metric::Wall)?
        ))
    }
}

/// A number as people write it: no trailing zeros, at most two decimals.
fn number(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Our graph's exec steps, from `mtts-frontend graph --format json`.
fn our_execs(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let graph: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let execs: Vec<(String, String)> = graph
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["kind"] == "exec")
        .map(|v| {
            (
                v["platform"].as_str().unwrap_or_default().to_string(),
                v["description"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    if execs.is_empty() {
        bail!("{}: no exec steps in our graph", path.display());
    }
    Ok(execs)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bench = Bench {
        our_execs: our_execs(&args.work.join("ours-graph.json"))?,
        args,
    };
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |name: &str, value: String| rows.push((name.to_string(), value));
    let cold = [
        ("cold 3-platform build: wall time", Metric::Wall, " s"),
        ("cold: CPU time of the whole machine", Metric::Cpu, " CPU-s"),
        ("cold: steps' durations, summed", Metric::StepTime, " s"),
        ("cold: exec steps run", Metric::Execs, ""),
        ("cold: steps downloading Go modules", Metric::Downloads, ""),
        ("cold: featuretags runs (steps)", Metric::Featuretags, ""),
        (
            "cold: busybox configure runs (make allnoconfig)",
            Metric::Configure,
            "",
        ),
        (
            "cold: exec steps running target binaries (QEMU)",
            Metric::Emulated,
            "",
        ),
    ];
    for (name, what, unit) in cold {
        row(name, bench.pair("cold", what, unit)?);
    }
    // How close the cold build comes to the machine's limit: CPU seconds
    // per wall second, out of the cores there are.
    let busy = |side: Side| -> anyhow::Result<String> {
        Ok(number(
            bench.median(side, "cold", Metric::Cpu)? / bench.median(side, "cold", Metric::Wall)?,
        ))
    };
    row(
        &format!(
            "cold: cores kept busy (CPU-s per second, of {})",
            bench.args.cores
        ),
        format!("{} / {}", busy(Side::Ours)?, busy(Side::Original)?),
    );
    let bump = format!("rebuild after only a Tailscale bump ({})", bench.args.bump);
    let ci_bump = format!(
        "CI: Tailscale bump ({}), new builder, registry cache only",
        bench.args.bump
    );
    let rebuilds = [
        ("fully cached rebuild", "cached"),
        ("rebuild after only OCI_VERSION", "oci"),
        (&bump, "bump"),
        ("rebuild after editing only patches/", "patches"),
        ("rebuild after editing only the applet list", "applets"),
        (&ci_bump, "ci-bump"),
        (
            "CI: editing only patches/, new builder, registry cache only",
            "ci-patches",
        ),
    ];
    for (name, run) in rebuilds {
        row(name, bench.rebuild(run)?);
    }
    // The first round's cold images: sizes and applet links.
    let image = |side: Side| {
        oci::Oci::open(
            &bench
                .args
                .work
                .join(format!("out/{}-1-cold.oci.tar", side.name())),
        )
        .images()
    };
    let (ours, original) = (image(Side::Ours), image(Side::Original));
    for (a, b) in ours.iter().zip(&original) {
        row(
            &format!("image size, {} (compressed layers)", a.platform),
            format!(
                "{:.2} MB / {:.2} MB",
                a.compressed_size as f64 / 1e6,
                b.compressed_size as f64 / 1e6
            ),
        );
    }
    let links = |images: &[oci::PlatformImage]| {
        images
            .iter()
            .map(|i| i.applet_links().len().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let platforms: Vec<&str> = ours.iter().map(|i| i.platform.as_str()).collect();
    row(
        &format!("busybox applet links ({})", platforms.join(", ")),
        format!("{} / {}", links(&ours), links(&original)),
    );

    println!("| metric | ours / original |");
    println!("|---|---|");
    for (name, value) in &rows {
        println!("| {name} | {value} |");
    }
    println!();
    println!(
        "cold wall time ratio {}, Tailscale bump ratio {}, CI bump ratio {}",
        bench.ratio("cold")?,
        bench.ratio("bump")?,
        bench.ratio("ci-bump")?
    );
    Ok(())
}
