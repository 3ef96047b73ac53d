use std::process::ExitCode;

use clap::Parser;
use mtts_frontend::cli::{Cli, Command};

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
    match cli.command {
        Some(Command::Llb(_)) | Some(Command::Graph { .. }) => {
            anyhow::bail!("the mikrotik-tailscale recipe is not implemented yet")
        }
        None => anyhow::bail!(
            "not started by BuildKit: run with a subcommand (see --help); the gateway frontend is not implemented yet"
        ),
    }
}
