use std::io::BufRead;

use anyhow::Context;
use clap::Parser;

use herald::cli::{AdminCommand, Cli, Command};
use herald::config::Settings;
use herald::domain::{EmailAddress, NewPassword};
use herald::startup::Application;
use herald::store::{Db, users, workspaces};
use herald::{passwords, telemetry};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings),
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    password_stdin: _,
                    workspace,
                },
        } => admin_create(&settings, &email, &workspace),
        Command::Bench(args) => herald::bench::run(args),
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let url = settings.public_url.clone();
        let app = Application::build(settings)?;
        tracing::info!("Herald console on {url} (listening on port {})", app.port());
        println!("Herald is running: open {url}");
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn admin_create(settings: &Settings, email: &str, workspace: &str) -> anyhow::Result<()> {
    let email = EmailAddress::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let workspace =
        workspaces::parse_name(workspace).map_err(|e| anyhow::anyhow!("--workspace: {e}"))?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = NewPassword::parse(line.trim_end_matches(['\r', '\n']))
        .map_err(|e| anyhow::anyhow!("password: {e}"))?;
    let hash = passwords::hash(password.expose()).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    let db = Db::connect(&settings.database_url, 1)?;
    let mut conn = db.get()?;
    let created = users::create_owner_with_workspace(&mut conn, &email, &hash, &workspace)?;
    match created {
        Some(_) => {
            println!("Created {email}, owner of workspace “{workspace}”.");
            Ok(())
        }
        None => anyhow::bail!("a user with email {email} already exists"),
    }
}
