//! `klog users`: the SASL users of `klog serve` (`klog::server::users` keeps the file).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use super::{Ctx, ExitCode};
use klog::server::sasl::DEFAULT_ITERATIONS;
use klog::server::users::Users;

#[derive(Debug, Subcommand)]
#[command(after_help = "Examples:
  klog users add alice                         # asks for the password twice
  printf '%s\\n' \"$PASSWORD\" | klog users add alice
  klog users list
  klog users delete alice

Passwords are read from the terminal, else from the first line of stdin; never from the
command line. Only SCRAM's salted keys are stored (SCRAM-SHA-256 and SCRAM-SHA-512), in
klog-users.json in the data directory, mode 0600 (refused if group or others can read it).
A running `klog serve` sees a change at the next login.")]
pub enum UsersCommand {
    /// Add a user, or change its password
    Add(NameArgs),
    /// List the users and their mechanisms
    List(ListArgs),
    /// Delete a user
    Delete(NameArgs),
}

#[derive(Debug, Args)]
pub struct NameArgs {
    /// User name (the SASL username clients give)
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {}

/// Reads a line from the terminal without echoing it.
fn prompt_hidden(prompt: &str) -> Result<String> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let saved = tcgetattr(&stdin).context("read the terminal settings")?;
    let mut quiet = saved.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    tcsetattr(&stdin, OptionalActions::Flush, &quiet).context("turn the terminal echo off")?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    let _ = tcsetattr(&stdin, OptionalActions::Flush, &saved);
    eprintln!();
    read.context("read the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// The password: asked twice on a terminal, else the first line of stdin.
fn read_password(name: &str) -> Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let p = prompt_hidden(&format!("Password for {name}: "))?;
        if prompt_hidden("Again: ")? != p {
            bail!("the passwords differ");
        }
        p
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("read the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.is_empty() {
        bail!("empty password");
    }
    Ok(password)
}

pub fn run(ctx: &Ctx, c: UsersCommand) -> Result<ExitCode> {
    match c {
        UsersCommand::Add(a) => {
            let password = read_password(&a.name)?;
            let existed = Users::update(&ctx.dir, |u| {
                let existed = u.list().iter().any(|(n, _)| *n == a.name);
                u.set_password(&a.name, password.as_bytes(), DEFAULT_ITERATIONS)?;
                Ok(existed)
            })?;
            if !ctx.quiet {
                let what = if existed {
                    "changed the password of"
                } else {
                    "added"
                };
                eprintln!("klog: {what} user '{}'", a.name);
            }
        }
        UsersCommand::List(_) => {
            let users = Users::load(&ctx.dir)?;
            let mut out = std::io::stdout().lock();
            for (name, mechs) in users.list() {
                writeln!(out, "{name}\t{}", mechs.join(","))?;
            }
        }
        UsersCommand::Delete(a) => {
            if !Users::update(&ctx.dir, |u| Ok(u.remove(&a.name)))? {
                bail!("user '{}' does not exist", a.name);
            }
            if !ctx.quiet {
                eprintln!("klog: deleted user '{}'", a.name);
            }
        }
    }
    Ok(ExitCode::Success)
}
