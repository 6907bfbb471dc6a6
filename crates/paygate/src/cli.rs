//! Subcommands: `serve`, `migrate`, `merchant …`. Each takes
//! `--database-url` like `serve`; every setting can also come from a
//! `PAYGATE_*` environment variable or the TOML file given by `--config`.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use paygate_server::config::{Overrides, Settings};
use paygate_server::http::admin::merchants::{parse_mode, MerchantOut, MerchantWithSecretOut};
use paygate_server::state::AppState;
use paygate_store::merchants::MerchantPatch;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "paygate", version, about = "Self-hosted payment gateway")]
struct Cli {
    /// TOML configuration file.
    #[arg(long, global = true, env = "PAYGATE_CONFIG")]
    config: Option<PathBuf>,
    /// `sqlite://paygate.db` (default, created if missing) or `postgres://…`.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (migrations run first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Inspect the double-entry ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// The statistics rollups: compare them with the payments, or rebuild them.
    #[command(subcommand)]
    Statistics(StatisticsCommand),
    /// Manage exchange partners (the Switchere-compatible API).
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Manage dashboard operators.
    #[command(subcommand)]
    Operator(OperatorCommand),
}

#[derive(Subcommand)]
enum OperatorCommand {
    /// Create a named dashboard account and print it as one JSON object,
    /// with a generated password unless one is given on standard input.
    Create {
        #[arg(long)]
        email: String,
        /// viewer (reads), operator (also moves payments) or admin (everything).
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Issue the operator's admin API key (`opk_…`, used as
    /// `Authorization: Bearer`), replacing any earlier one, and print it once.
    ApiKey {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum PartnerCommand {
    /// Give a merchant exchange credentials and print them, with their
    /// secrets, as one JSON object.
    Enable {
        merchant_id: String,
        /// Where partner callbacks go unless an order names its own.
        #[arg(long)]
        callback_url: Option<String>,
        /// Sign callbacks with unpadded base64 (Perl's form) instead of padded.
        #[arg(long)]
        unpadded: bool,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute every balance from its entries; exit 0 when all match,
    /// every transaction is balanced and no merchant bucket is negative.
    Check,
}

#[derive(Subcommand)]
enum StatisticsCommand {
    /// Recompute every rollup from the payments; exit 0 when they all
    /// match, non-zero with a report of each difference otherwise.
    Check,
    /// Recompute the rollups from the payments and store them (writers wait
    /// meanwhile).
    Rebuild,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    listen: Option<String>,
    /// Admin API bearer token; generated and printed once when unset.
    #[arg(long)]
    admin_token: Option<String>,
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant and print it, with its secret, as one JSON object.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "test")]
        mode: String,
    },
    /// Print every merchant as JSON lines (no secrets).
    List,
    /// Disable a merchant: its requests are refused with MERCHANT_DISABLED.
    Disable { id: String },
    /// Enable a disabled merchant.
    Enable { id: String },
    /// Issue a new secret; the old one works for the grace period.
    RotateSecret { id: String },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paygate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paygate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut overrides = Overrides { database_url: cli.database_url, ..Default::default() };
    if let Command::Serve(args) = &cli.command {
        overrides.listen = args.listen.clone();
        overrides.admin_token = args.admin_token.clone();
    }
    let settings = Settings::load(cli.config.as_deref(), &overrides)?;
    paygate_server::telemetry::init_tracing(&settings.log_format);
    match cli.command {
        Command::Serve(_) => serve(settings).await,
        Command::Migrate => {
            let db = paygate_store::Db::connect(settings.database_url.expose_secret(), 1).await?;
            let applied = paygate_store::migrate::run(&db).await?;
            println!(
                "{}",
                serde_json::json!({ "applied": applied, "version": paygate_store::migrate::latest_version() })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Merchant(cmd) => merchant(settings, cmd).await,
        Command::Partner(cmd) => partner(settings, cmd).await,
        Command::Operator(cmd) => operator(settings, cmd).await,
        Command::Statistics(cmd) => {
            let db = paygate_store::Db::connect(settings.database_url.expose_secret(), 2).await?;
            paygate_store::migrate::run(&db).await?;
            if matches!(cmd, StatisticsCommand::Rebuild) {
                db.rebuild_statistics().await?;
            }
            let differences = db.statistics_differences().await?;
            let ok = differences.is_empty();
            println!("{}", serde_json::to_string_pretty(&serde_json::json!({"ok": ok, "differences": differences}))?);
            db.close().await;
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Ledger(LedgerCommand::Check) => {
            let db = paygate_store::Db::connect(settings.database_url.expose_secret(), 2).await?;
            paygate_store::migrate::run(&db).await?;
            let report = db.ledger_check().await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            db.close().await;
            Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
    }
}

async fn serve(mut settings: Settings) -> anyhow::Result<ExitCode> {
    let listen = settings.listen;
    let listener = paygate_server::connections::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    // Pages link to themselves: with no public_url, the address actually
    // bound (a `:0` listen gets its port here).
    if settings.public_url.is_none() {
        settings.public_url = Some(format!("http://{}", listener.local_addr()?));
    }
    let (state, generated) = AppState::build(settings).await?;
    if let Some(token) = generated.admin_token {
        // Printed once, on stdout, never logged: set PAYGATE_ADMIN_TOKEN to keep a fixed one.
        println!(
            "admin token (generated for this run; set PAYGATE_ADMIN_TOKEN to choose one): {}",
            token.expose_secret()
        );
    }
    // The listening line comes last, in one write: tools (and the tests)
    // read up to it and may close the pipe then, and a print to a closed
    // pipe must not take the gateway down, so none is made after it and
    // write errors are ignored.
    let address = listener.local_addr()?;
    let banner = format!(
        "dashboard: http://{address}/dashboard (sign in with the admin token)\npaygate listening on http://{address}\n"
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
    }
    tracing::info!(address = %listener.local_addr()?, backend = state.db.backend().name(), "paygate started");
    paygate_server::startup::serve(listener, state, paygate_server::startup::shutdown_signal()).await?;
    tracing::info!("paygate stopped");
    Ok(ExitCode::SUCCESS)
}

async fn merchant(settings: Settings, cmd: MerchantCommand) -> anyhow::Result<ExitCode> {
    let (state, _) = AppState::build(settings).await?;
    let print = |v: serde_json::Value| println!("{v}");
    match cmd {
        MerchantCommand::Create { email, name, mode } => {
            let mode = parse_mode(&mode).map_err(api_to_anyhow)?;
            let made = paygate_server::merchants::create(&state, &email, &name, mode).await.map_err(api_to_anyhow)?;
            print(serde_json::to_value(MerchantWithSecretOut::from(made))?);
        }
        MerchantCommand::List => {
            let mut cursor: Option<String> = None;
            loop {
                let page = state.db.list_merchants(cursor.as_deref(), 100).await?;
                for m in &page {
                    print(serde_json::to_value(MerchantOut::from(m))?);
                }
                match page.last() {
                    Some(last) if page.len() == 100 => cursor = Some(last.id.clone()),
                    _ => break,
                }
            }
        }
        MerchantCommand::Disable { id } | MerchantCommand::Enable { id } if id.is_empty() => {
            anyhow::bail!("merchant id is empty")
        }
        MerchantCommand::Disable { id } => set_enabled(&state, &id, false).await?,
        MerchantCommand::Enable { id } => set_enabled(&state, &id, true).await?,
        MerchantCommand::RotateSecret { id } => {
            let rotated = paygate_server::merchants::rotate_secret(&state, &id).await.map_err(|e| match e {
                paygate_server::error::ApiError::NotFound => no_merchant(&id),
                other => api_to_anyhow(other),
            })?;
            print(serde_json::to_value(MerchantWithSecretOut::from(rotated))?);
        }
    }
    state.db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn partner(settings: Settings, cmd: PartnerCommand) -> anyhow::Result<ExitCode> {
    let (state, _) = AppState::build(settings).await?;
    match cmd {
        PartnerCommand::Enable { merchant_id, callback_url, unpadded } => {
            let padding = if unpadded { "unpadded" } else { "padded" };
            let made = paygate_server::exchange::partners::enable(&state, &merchant_id, callback_url, padding)
                .await
                .map_err(|e| match e {
                    paygate_server::error::ApiError::NotFound => no_merchant(&merchant_id),
                    other => api_to_anyhow(other),
                })?;
            println!("{}", serde_json::to_value(made)?);
        }
    }
    state.db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn operator(settings: Settings, cmd: OperatorCommand) -> anyhow::Result<ExitCode> {
    let (email, role, password_stdin) = match cmd {
        OperatorCommand::Create { email, role, password_stdin } => (email, role, password_stdin),
        OperatorCommand::ApiKey { email } => return operator_api_key(settings, &email).await,
    };
    let email = paygate_core::email::Email::parse(email.trim()).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let role = paygate_server::http::dashboard::session::Role::parse(&role)
        .ok_or_else(|| anyhow::anyhow!("--role must be viewer, operator or admin"))?;
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        paygate_core::tokens::new_pay_token()[..24].to_string()
    };
    if password.chars().count() < 12 {
        anyhow::bail!("the password must have at least 12 characters");
    }
    let hash = paygate_server::http::dashboard::signin::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (state, _) = AppState::build(settings).await?;
    let row = paygate_store::operators::OperatorRow {
        id: paygate_core::ids::new_id(paygate_core::ids::IdKind::Operator),
        email: email.as_str().to_lowercase(),
        role: role.as_str().into(),
        password_hash: paygate_store::merchants::Sealed(hash),
        enabled: true,
        created_at: paygate_store::time::now_micros(),
    };
    let made =
        state.db.insert_operator(&row).await?.ok_or_else(|| anyhow::anyhow!("an operator with this e-mail exists"))?;
    paygate_server::http::dashboard::record(
        &state,
        "cli",
        "admin",
        "cli",
        "operator.create",
        Some(made.email.clone()),
        "ok",
        None,
    )
    .await;
    let shown = serde_json::json!({"id": made.id, "email": made.email, "role": made.role,
                                   "password": if password_stdin { None } else { Some(password) }});
    println!("{shown}");
    state.db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn operator_api_key(settings: Settings, email: &str) -> anyhow::Result<ExitCode> {
    let (state, _) = AppState::build(settings).await?;
    let email = email.trim().to_lowercase();
    let key = paygate_server::http::dashboard::account::issue_api_key(&state, &email, "cli", "admin", "cli", None)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no operator has the e-mail {email:?}"))?;
    println!("{}", serde_json::json!({"email": key.email, "role": key.role, "api_key": key.api_key}));
    state.db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn set_enabled(state: &AppState, id: &str, enabled: bool) -> anyhow::Result<()> {
    let patch = MerchantPatch { enabled: Some(enabled), ..Default::default() };
    let m = state.db.update_merchant(id, patch).await?.ok_or_else(|| no_merchant(id))?;
    println!("{}", serde_json::to_value(MerchantOut::from(&m))?);
    Ok(())
}

/// Names what was not found and how to find the right one.
fn no_merchant(id: &str) -> anyhow::Error {
    anyhow::anyhow!("merchant {id:?} not found; `paygate merchant list` shows every merchant's id")
}

/// API errors carry codes meant for HTTP; on the command line their
/// message (and field details) is what helps.
fn api_to_anyhow(e: paygate_server::error::ApiError) -> anyhow::Error {
    match e {
        paygate_server::error::ApiError::Validation(d) => {
            anyhow::anyhow!(d.iter().map(|i| format!("{}: {}", i.field, i.issue)).collect::<Vec<_>>().join("; "))
        }
        other => anyhow::anyhow!("{other}"),
    }
}
