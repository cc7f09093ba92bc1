//! `mailvortex`: the command-line face of the MailVortex engine, for people, scripts and relay servers.
//!
//! Every command is non-interactive: the vault passphrase comes from `MAILVORTEX_PASSPHRASE`
//! or `--passphrase-stdin` (otherwise the OS keychain is used), account passwords from an
//! environment variable or stdin. `--json` prints machine-readable output. Exit codes:
//! 0 success, 1 other failure, 2 usage, 3 no node / not found, 4 vault locked or wrong
//! passphrase, 5 mail server trouble, 6 invalid input or unknown recipient.

mod cli;
mod commands;
mod demo;
mod human;
mod input;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MAILVORTEX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(log_colour())
        .init();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            let code = exit_code(&e);
            if json {
                let code_name = e
                    .downcast_ref::<mailvortex_engine::EngineError>()
                    .map(|e| e.code())
                    .unwrap_or("error");
                println!(
                    "{}",
                    serde_json::json!({ "error": format!("{e:#}"), "code": code_name })
                );
            } else {
                eprintln!("error: {e:#}");
            }
            std::process::ExitCode::from(code)
        }
    }
}

/// Colour log lines only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>):
/// log files and pipes get plain text.
fn log_colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn exit_code(e: &anyhow::Error) -> u8 {
    use mailvortex_engine::EngineError as E;
    match e.downcast_ref::<E>() {
        Some(E::NoNode(_) | E::NotFound(_)) => 3,
        Some(E::Vault(_)) => 4,
        Some(E::Transport(_) | E::AccountCheck(_)) => 5,
        Some(
            E::UnknownRecipient(_)
            | E::Invalid(_)
            | E::Protocol(_)
            | E::NoAccount(_)
            | E::NodeExists(_),
        ) => 6,
        _ => 1,
    }
}
