//! `checkout-server`: runs the reference billing server (`cargo xtask serve` starts it for you).

use billing::PlanId;
use billing::wire::Login;
use checkout_server::config::SecretKeyHash;
use checkout_server::http::serve;
use checkout_server::http::session_tokens::{NewToken, SessionKind};
use checkout_server::jobs::{self, webhooks};
use checkout_server::store::{self, Account, CheckoutSession, PortalSession};
use checkout_server::{AppState, Config, Store, app, config, ids, subscriptions};
use clap::Parser;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(version, about = "Kiro's reference billing server (test mode)")]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// SQLite database file (`:memory:` for a throwaway one): the embedded default, one instance.
    #[arg(long, default_value = "data/checkout.sqlite3")]
    db: PathBuf,
    /// A PostgreSQL database (`postgres://user:password@host:port/dbname`) instead of `--db`:
    /// several instances may share it.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// PostgreSQL connections this instance keeps open at most.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    database_pool: u32,
    /// The secret key the IDE's backend sends. If unset, one is generated once and shown by
    /// `--demo` that once; the database keeps only its hash.
    #[arg(long, env = "CHECKOUT_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    /// The built app (trunk's output).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// An https origin that `return_url`s may point at, besides kiro:// (repeatable).
    #[arg(long = "allow-return-origin")]
    allow_return_origins: Vec<String>,
    /// The origin session URLs are built on; defaults to http://HOST:PORT.
    #[arg(long)]
    public_url: Option<String>,
    /// Create a demo checkout session and a demo portal session and print their URLs.
    #[arg(long)]
    demo: bool,
    /// Connections open at once; at the cap the longest-idle one is closed to make room.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Seconds a payment attempt stays its instance's without renewal (renewed while it works):
    /// after a crash, how long its account waits before any instance settles it.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    attempt_lease_secs: u64,
    /// Where events are delivered: https, or http to localhost for development (repeatable).
    #[arg(long = "webhook-url")]
    webhook_urls: Vec<String>,
    /// The secret events are signed with. Generated once and kept in the database if unset.
    #[arg(long, env = "CHECKOUT_WEBHOOK_SECRET", hide_env_values = true)]
    webhook_secret: Option<String>,
    /// Who moves the money: `test` (Stripe's test cards, offline) or `stripe` (Stripe mode).
    #[arg(long, value_parser = ["test", "stripe"], default_value = "test")]
    processor: String,
    /// Stripe mode: the secret key (sk_...). Only from the environment.
    #[arg(skip = std::env::var("STRIPE_SECRET_KEY").ok())]
    stripe_secret_key: Option<String>,
    /// Stripe mode: the publishable key (pk_...), the only key the page sees.
    #[arg(skip = std::env::var("STRIPE_PUBLISHABLE_KEY").ok())]
    stripe_publishable_key: Option<String>,
    /// Stripe mode: the signing secret of the webhook endpoint registered with Stripe.
    #[arg(skip = std::env::var("STRIPE_WEBHOOK_SECRET").ok())]
    stripe_webhook_secret: Option<String>,
    /// Stripe mode: Stripe's API origin.
    #[arg(long, default_value = checkout_server::payments::stripe::DEFAULT_API_BASE)]
    stripe_api_base: String,
    /// Stripe mode: where the page loads Stripe.js from.
    #[arg(long, default_value = config::DEFAULT_STRIPE_JS_URL)]
    stripe_js_url: String,
    /// A token `/metrics` accepts (`Authorization: Bearer <token>`) besides the secret key, for
    /// the scraper. At least 24 characters.
    #[arg(long, env = "CHECKOUT_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// How logs are written to stderr: `text` (for people) or `json` (one object a line, for a
    /// log collector).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Sets this instance's wall clock off by this many seconds (tests of instances whose clocks
    /// disagree).
    #[arg(long, hide = true, default_value_t = 0, allow_negative_numbers = true)]
    clock_skew_secs: i64,
    /// Prints the server API's OpenAPI document and exits (`cargo xtask build` writes it to
    /// docs/openapi.json).
    #[arg(long)]
    print_openapi: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    // Logs go to stderr (plain when it is not a terminal); the demo's links and key to stdout.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(true).with_span_list(false).init(),
    }
    if let Err(e) = run(args).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn open_store(args: &Args) -> Result<Store, String> {
    if let Some(url) = args.database_url.as_deref().filter(|u| !u.trim().is_empty()) {
        let options = store::PostgresOptions { max_connections: args.database_pool, ..Default::default() };
        // The URL may hold a password: only its host is shown.
        let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
        return Store::connect(url, &options).map_err(|e| format!("can't open the PostgreSQL database on {host}: {e}"));
    }
    if args.db.as_os_str() == ":memory:" {
        Store::in_memory()
    } else {
        if let Some(dir) = args.db.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("can't create {}: {e}", dir.display()))?;
        }
        Store::open(&args.db)
    }
    .map_err(|e| format!("can't open the database {}: {e}", args.db.display()))
}

async fn run(args: Args) -> Result<(), String> {
    if args.print_openapi {
        print!("{}", checkout_server::http::document_json());
        return Ok(());
    }
    checkout_server::clock::set_skew(time::Duration::seconds(args.clock_skew_secs));
    let store = open_store(&args)?;

    let (key_hash, shown_key) = match args.secret_key.filter(|k| !k.trim().is_empty()) {
        Some(key) => config::check_secret_key(&key).map(|()| (SecretKeyHash::of(&key), ShownKey::Given))?,
        None => {
            let (hash, new_key) = store.write_blocking(store::secret_key_hash_or_new).map_err(|e| format!("{e:?}"))?;
            (hash, new_key.map_or(ShownKey::Kept, ShownKey::New))
        }
    };
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{}:{}", args.host, args.port));
    let mut cfg = Config::with_key_hash(key_hash, public_url.trim_end_matches('/'));
    cfg.allowed_return_origins =
        args.allow_return_origins.iter().map(|o| config::parse_allowed_origin(o)).collect::<Result<_, _>>()?;
    cfg.dist_dir = Some(args.dist.clone());
    cfg.webhook_urls = args.webhook_urls.iter().map(|u| webhooks::check_endpoint(u)).collect::<Result<_, _>>()?;
    cfg.webhook_secret = args.webhook_secret.filter(|s| !s.trim().is_empty()).map(Into::into);
    cfg.attempt_lease = std::time::Duration::from_secs(args.attempt_lease_secs);
    if let Some(token) = args.metrics_token.filter(|t| !t.trim().is_empty()) {
        if token.chars().count() < config::MIN_SECRET_KEY_LEN {
            return Err(format!(
                "the metrics token (--metrics-token or CHECKOUT_METRICS_TOKEN) must be at least {} characters",
                config::MIN_SECRET_KEY_LEN
            ));
        }
        cfg.metrics_token = Some(SecretKeyHash::of(&token));
    }
    if args.processor == "stripe" {
        let stripe = config::StripeSettings::new(
            args.stripe_secret_key.as_deref(),
            args.stripe_publishable_key.as_deref(),
            args.stripe_webhook_secret.as_deref(),
            &args.stripe_api_base,
            &args.stripe_js_url,
        )?;
        cfg.test_mode = stripe.is_test();
        cfg.stripe = Some(stripe);
    }
    let state = AppState::new(cfg, store)?;

    let addr: SocketAddr =
        format!("{}:{}", args.host, args.port).parse().map_err(|e| format!("bad --host/--port: {e}"))?;
    let listener = serve::bind(addr).map_err(|e| format!("can't listen on {addr}: {e}"))?;
    if args.demo {
        print_demo(&state, &shown_key)?;
    }
    jobs::start_reconciling(state.payments.clone());
    jobs::start_renewals(state.payments.clone(), state.clock.clone());
    state.start_webhooks();
    let stopped = stop_signal();
    tracing::info!(%addr, webhooks = state.config.webhook_urls.len(), "listening");
    let limits = serve::Limits { max_connections: args.max_connections, ..serve::Limits::default() };
    serve::serve(listener, app(state.clone()), limits, async {
        stopped.await;
        tracing::info!("shutting down");
    })
    .await;
    Ok(())
}

/// Ctrl-C, or SIGTERM (what a service manager or an orchestrator sends to stop an instance during
/// a rolling deploy): either lets the requests in flight finish. Listened for from the call on,
/// before the server says it is listening, so an early SIGTERM is not the default kill.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .inspect_err(|e| tracing::warn!(error = %e, "can't listen for SIGTERM; only Ctrl-C stops gracefully"))
        .ok();
    async move {
        #[cfg(unix)]
        if let Some(mut terminate) = terminate {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The server API's key, as far as the demo may show it: the database keeps only its hash.
enum ShownKey {
    /// Generated by this start: shown this once.
    New(String),
    /// Set with `--secret-key` / `CHECKOUT_SECRET_KEY`: the operator has it.
    Given,
    /// Generated by an earlier start, and shown then.
    Kept,
}

impl ShownKey {
    /// What the demo says the key is, and what its commands send as the bearer token.
    fn describe(&self) -> (String, &str) {
        const FROM_ENV: &str = "$CHECKOUT_SECRET_KEY";
        match self {
            ShownKey::New(key) => (format!("{key} (shown once: the database keeps only its hash)"), key),
            ShownKey::Given => ("the one set with --secret-key or CHECKOUT_SECRET_KEY".into(), FROM_ENV),
            ShownKey::Kept => ("shown when it was generated (the database keeps only its hash)".into(), FROM_ENV),
        }
    }
}

/// A fresh checkout session (a new account each run) and, in test mode, a portal session for an
/// account on Pro. In Stripe mode there is no such account (its card would have to be Stripe's):
/// the demo says how to open the portal once the checkout is paid.
fn print_demo(state: &AppState, shown_key: &ShownKey) -> Result<(), String> {
    let demo = seed_demo(state)?;
    let base = &state.config.public_url;
    let (key_said, key) = shown_key.describe();
    let mode = match (&state.config.stripe, state.config.test_mode) {
        (None, _) => "test mode",
        (Some(_), true) => "Stripe mode, test keys",
        (Some(_), false) => "Stripe mode, LIVE keys",
    };
    // A closed stdout (the demo's reader went away) must not take the server down.
    let print = || -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out)?;
        writeln!(out, "  Kiro checkout is running ({mode}) at {base}")?;
        writeln!(out)?;
        writeln!(out, "  Checkout (a new account buying Kiro Pro):")?;
        writeln!(out, "    {base}/checkout/{}", demo.checkout)?;
        match &demo.portal {
            Some(portal) => {
                writeln!(out, "  Manage subscription (an account that already has Kiro Pro):")?;
                writeln!(out, "    {base}/portal/{portal}")?;
            }
            None => {
                writeln!(out, "  Manage subscription: pay the checkout above, then open its account's portal:")?;
                writeln!(
                    out,
                    "    curl -s -X POST {base}/v1/portal/sessions -H \"Authorization: Bearer {key}\" -H 'Content-Type: application/json' \\\n      -d '{{\"account_id\":\"{}\",\"return_url\":\"kiro://kiro.kiroAgent/manage-plan\"}}'",
                    demo.account_id
                )?;
            }
        }
        writeln!(out)?;
        writeln!(out, "  Test card: 4242 4242 4242 4242, any future expiry, any CVC. More in README.md.")?;
        writeln!(out, "  Secret key: {key_said}")?;
        writeln!(out, "  Webhook signing secret: {}", state.webhook_secret)?;
        writeln!(out)?;
        writeln!(out, "  Create another checkout session:")?;
        writeln!(
            out,
            "    curl -s -X POST {base}/v1/checkout/sessions -H \"Authorization: Bearer {key}\" -H 'Content-Type: application/json' \\\n      -d '{{\"account\":{{\"id\":\"acct-{}\",\"email\":\"dev@example.com\",\"login\":\"github\",\"aws_account_linked\":false}},\"plan\":\"pro\",\"return_url\":\"kiro://kiro.kiroAgent/upgrade-success\"}}'",
            &ids::new_id("a")[2..8]
        )?;
        writeln!(out)?;
        writeln!(out, "  Press Ctrl-C to stop.")?;
        writeln!(out)?;
        out.flush()
    };
    if let Err(e) = print() {
        tracing::warn!(error = %e, "could not print the demo links");
    }
    Ok(())
}

/// The demo's sessions: a checkout for a new account, and (test mode) a portal for `demo-pro`;
/// their whole ids (the database keeps only their selectors).
fn seed_demo(state: &AppState) -> Result<DemoSessions, String> {
    let now = state.clock.now();
    let (checkout_token, portal_token) =
        (NewToken::random(SessionKind::Checkout), NewToken::random(SessionKind::Portal));
    let checkout = CheckoutSession {
        id: checkout_token.id.clone(),
        account_id: format!("demo-{}", &ids::new_id("a")[2..10]),
        plan: PlanId::Pro,
        return_url: "kiro://kiro.kiroAgent/upgrade-success".into(),
        created_at: now,
        expires_at: now + state.config.checkout_ttl,
        completed_at: None,
        declines: 0,
        invoice_id: None,
    };
    let portal = state.config.stripe.is_none().then(|| PortalSession {
        id: portal_token.id.clone(),
        account_id: "demo-pro".into(),
        return_url: "kiro://kiro.kiroAgent/manage-plan".into(),
        expires_at: now + state.config.portal_ttl,
    });
    let (new_checkout, new_portal) = (checkout.clone(), portal.clone());
    let (checkout_hash, portal_hash) = (checkout_token.verifier_hash, portal_token.verifier_hash);
    state
        .store
        .write_blocking(move |tx| {
            let new_account = Account {
                id: new_checkout.account_id.clone(),
                email: Some("dev@example.com".into()),
                login: Login::Github,
                aws_account_linked: false,
            };
            store::upsert_account(tx, &new_account)?;
            store::insert_checkout_session(tx, &new_checkout, &checkout_hash)?;
            let Some(portal) = &new_portal else { return Ok(()) };
            let pro = Account {
                id: "demo-pro".into(),
                email: Some("pro@example.com".into()),
                login: Login::Google,
                aws_account_linked: false,
            };
            subscriptions::seed_subscription(tx, &pro, PlanId::Pro, now)?;
            Ok::<_, checkout_server::error::AppError>(store::insert_portal_session(tx, portal, &portal_hash, now)?)
        })
        .map_err(|e| format!("{e:?}"))?;
    Ok(DemoSessions {
        checkout: checkout_token.whole,
        account_id: checkout.account_id,
        portal: portal.map(|_| portal_token.whole),
    })
}

/// The demo's session ids, whole, and the account of its checkout.
struct DemoSessions {
    checkout: String,
    account_id: String,
    portal: Option<String>,
}
