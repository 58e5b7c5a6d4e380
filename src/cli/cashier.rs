//! `posagent cashier`: the console's cashiers, for store IT — add one (or change their
//! name, role or PIN), list them, disable one. The PIN is asked for twice on the terminal
//! without echo (or read from standard input with `--pin-stdin`), sent over the ECR API
//! and kept there only as its hash.

use anyhow::bail;
use posagent_ecr_api::{Cashier, CashierRole, EcrClient, PutCashier};
use std::io::BufRead;
use std::path::Path;

/// A cashier's role on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Role {
    /// Sells and refunds up to the store's limit.
    Cashier,
    /// Also voids, refunds over the limit, closes the day, approves.
    Supervisor,
}

/// What `posagent cashier` does.
#[derive(clap::Subcommand)]
pub enum CashierAction {
    /// Adds a cashier with a new PIN, or changes one (a new PIN unlocks a locked cashier).
    Add {
        /// The cashier's number (1 to 6 digits), typed at sign-in and printed on receipts.
        id: String,
        /// The name shown and printed.
        #[arg(long)]
        name: String,
        /// The role.
        #[arg(long, value_enum, default_value = "cashier")]
        role: Role,
        /// Read the PIN from the first line of standard input instead of asking twice.
        #[arg(long)]
        pin_stdin: bool,
    },
    /// Lists the cashiers.
    List {
        /// The API's JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disables a cashier: they can no longer sign in; their sales keep the number.
    Disable {
        /// The cashier's number.
        id: String,
    },
}

/// Runs `posagent cashier …` against the running daemon.
pub async fn cashier(action: CashierAction, config: Option<&Path>, data_dir: &Path) -> anyhow::Result<()> {
    let ecr = super::remote::client(config, data_dir)?;
    match action {
        CashierAction::Add { id, name, role, pin_stdin } => {
            let pin = if pin_stdin { pin_from_stdin()? } else { pin_from_terminal()? };
            let role = match role {
                Role::Cashier => CashierRole::Cashier,
                Role::Supervisor => CashierRole::Supervisor,
            };
            let (c, new) = ecr.put_cashier(&id, &PutCashier { name, role, active: true, pin: Some(pin) }).await?;
            println!("{} cashier {} ({}, {})", if new { "added" } else { "changed" }, c.id, c.name, role_name(c.role));
        }
        CashierAction::List { json } => {
            let list = ecr.cashiers().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print!("{}", render(&list.cashiers));
            }
        }
        CashierAction::Disable { id } => disable(&ecr, &id).await?,
    }
    Ok(())
}

async fn disable(ecr: &EcrClient, id: &str) -> anyhow::Result<()> {
    let list = ecr.cashiers().await?;
    let Some(c) = list.cashiers.into_iter().find(|c| c.id == id) else {
        bail!("there is no cashier {id}; `posagent cashier list` shows them");
    };
    ecr.put_cashier(id, &PutCashier { name: c.name, role: c.role, active: false, pin: None }).await?;
    println!("disabled cashier {id}");
    Ok(())
}

fn role_name(r: CashierRole) -> &'static str {
    match r {
        CashierRole::Cashier => "cashier",
        CashierRole::Supervisor => "supervisor",
    }
}

/// One line per cashier.
pub fn render(cashiers: &[Cashier]) -> String {
    let mut out = format!("{:<7} {:<40} {:<11} {}\n", "NUMBER", "NAME", "ROLE", "ACTIVE");
    for c in cashiers {
        out.push_str(&format!(
            "{:<7} {:<40} {:<11} {}\n",
            c.id,
            c.name,
            role_name(c.role),
            if c.active { "yes" } else { "no" }
        ));
    }
    out
}

fn pin_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn pin_from_terminal() -> anyhow::Result<String> {
    let pin = rpassword::prompt_password("PIN (4 to 8 digits): ")?;
    if rpassword::prompt_password("The same PIN again: ")? != pin {
        bail!("the two PINs differ; nothing was changed");
    }
    Ok(pin)
}
