use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
mod cli;

use cli::{Cli, Command, Format};
use mtts_frontend::frontend::MikrotikTailscale;
use mtts_frontend::gateway;
use mtts_frontend::llb::inspect::Graph;
use mtts_frontend::offline;

fn main() -> ExitCode {
    // Logs go to stderr: stdout is the gateway transport or the definition.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MTTS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Some(Command::Llb(args)) => {
            let def = offline::definition(&args.into())?;
            stdout
                .write_all(&def.to_bytes())
                .context("writing the definition")?;
        }
        Some(Command::Recipe(args)) => {
            let text = offline::recipe_json(&args.into())?;
            stdout
                .write_all(text.as_bytes())
                .context("writing the recipe")?;
        }
        Some(Command::Graph { args, format }) => {
            let def = offline::definition(&args.into())?;
            let graph = Graph::decode(&def.pb)?;
            let text = match format {
                Format::Text => graph.to_text(),
                Format::Json => offline::graph_json(&graph)?,
            };
            stdout
                .write_all(text.as_bytes())
                .context("writing the graph")?;
        }
        None => {
            if !gateway::options::started_by_buildkit(gateway::options::process_vars()) {
                anyhow::bail!(
                    "not started by BuildKit (no BUILDKIT_* environment): use it through `# syntax=` in a Dockerfile, or run a subcommand (see --help)"
                );
            }
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            runtime.block_on(gateway::serve(&MikrotikTailscale))?;
        }
    }
    stdout.flush().context("writing to stdout")?;
    Ok(())
}
