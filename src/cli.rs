use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "herald",
    version,
    about = "Self-hosted alert notification console"
)]
pub struct Cli {
    /// TOML settings file (default: herald.toml when present). HERALD_* variables override it.
    #[arg(long, global = true)]
    pub config: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the console (the default).
    Serve,
    /// Manage console users from the shell.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Measure the console under load on loopback and print the figures.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user who owns a new workspace (the first owner on a fresh install).
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (one line), so it stays out of shell history.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Name of the workspace the user will own.
        #[arg(long, default_value = "Default")]
        workspace: String,
    },
}
