//! `cargo xtask serve`, `cargo xtask test`, `cargo xtask bench`, `cargo xtask soak`.
//!
//! Each installs what it needs and is missing (and says so), skips what is already there at the
//! right version, then does its job. Nothing here needs to be installed by hand.

mod bootstrap;
mod build;
mod circles;
mod entries;
mod postgres;

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match task.as_str() {
        "serve" => serve(&rest),
        "test" => test(&rest),
        "build" => bootstrap::build_tools().and_then(|_| build::app()).and_then(|_| build::openapi()),
        "bench" => bench(&rest),
        "soak" => soak(&rest),
        "postgres" => postgres::hold(),
        "circles" => std::env::current_dir().map_err(|e| e.to_string()).and_then(|root| circles::check(&root)),
        _ => {
            eprintln!("usage: cargo xtask <serve|test|build|bench|soak> [options]");
            eprintln!("  serve [--port N] [--host H] [--db PATH] [--secret-key K] [--allow-return-origin URL]...");
            eprintln!("        builds the app and runs the server with a demo checkout and portal session");
            eprintln!("        --stripe-local: in Stripe mode, against localstripe started on a free port");
            eprintln!("        --postgres: on a throwaway PostgreSQL (initdb under target/, a free port)");
            eprintln!("  test  runs fmt, clippy (native and wasm32), unit, server and browser tests");
            eprintln!("  build installs the tools, builds the app into dist/ and writes docs/openapi.json");
            eprintln!("  postgres starts a throwaway PostgreSQL and prints its URL; Enter stops it");
            eprintln!("  circles  fails when files of one crate import each other in a circle (part of test)");
            eprintln!("  bench [--runs N] sizes and throttled cold-load timings, written into docs/performance.md");
            eprintln!("  soak  [--clients N] [--readers N] [--seconds N] [--postgres] [--instances N] load on");
            eprintln!("        release servers (several: one killed and restarted mid-run), then a consistency");
            eprintln!("        check of payments and webhook deliveries; figures written into docs/performance.md");
            eprintln!("        --compare: SQLite (1 instance), PostgreSQL (1 and 3 instances) in one table");
            eprintln!(
                "        --usage: meter events from 1,000 accounts and credits reads instead, every total checked;"
            );
            eprintln!("        figures written into docs/performance.md");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command with inherited output; an error names the command that failed.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    let shown = format!("{cmd:?}").replace('"', "");
    let status = cmd.status().map_err(|e| format!("can't start `{shown}`: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}

pub fn step(what: &str) {
    println!("\n==> {what}");
}

fn serve(args: &[String]) -> Result<(), String> {
    bootstrap::build_tools()?;
    let stripe_local = args.iter().any(|a| a == "--stripe-local");
    let on_postgres = args.iter().any(|a| a == "--postgres");
    let args: Vec<&String> = args.iter().filter(|a| *a != "--stripe-local" && *a != "--postgres").collect();
    // The demo on a throwaway PostgreSQL, stopped with the server.
    let postgres = if on_postgres { Some(postgres::LocalPostgres::start("serve-postgres")?) } else { None };
    // Stripe mode against localstripe on a free port, stopped with the server.
    let _localstripe = if stripe_local {
        bootstrap::localstripe()?;
        Some(bootstrap::start_localstripe()?)
    } else {
        None
    };
    build::app()?;
    step("Starting the server (Ctrl-C stops it)");
    let mut cmd = Command::new("cargo");
    cmd.args(["run", "--quiet", "--release", "-p", "checkout-server", "--", "--demo"]).args(args);
    if let Some(postgres) = &postgres {
        cmd.args(["--database-url", &postgres.url]);
    }
    if let Some(localstripe) = &_localstripe {
        println!("    Stripe mode against localstripe at {} (test keys, no real money)", localstripe.base);
        cmd.args(["--processor", "stripe", "--stripe-api-base", &localstripe.base])
            .args(["--stripe-js-url", &format!("{}/js.stripe.com/v3/", localstripe.base)])
            .env("STRIPE_SECRET_KEY", "sk_test_localstripe_0123456789")
            .env("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
            .env("STRIPE_WEBHOOK_SECRET", "whsec_localstripe_0123456789");
    }
    run(&mut cmd)
}

fn test(args: &[String]) -> Result<(), String> {
    let started = std::time::Instant::now();
    step("No files of one crate import each other in a circle");
    circles::check(&std::env::current_dir().map_err(|e| e.to_string())?)?;
    bootstrap::build_tools()?;
    bootstrap::browser_tools()?;
    bootstrap::localstripe()?;

    step("cargo fmt --check");
    run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))?;
    step("cargo clippy (native, all targets)");
    run(Command::new("cargo").args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    step(
        "cargo clippy (wasm32: the app, the shared views, the catalogs and the domain crate; the app with Stripe mode too)",
    );
    let wasm_clippy = |extra: &[&str]| {
        run(Command::new("cargo")
            .args([
                "clippy",
                "--target",
                "wasm32-unknown-unknown",
                "-p",
                "kiro-checkout",
                "-p",
                "views",
                "-p",
                "i18n",
                "-p",
                "billing",
            ])
            .args(extra)
            .args(["--lib", "--bins", "--", "-D", "warnings"]))
    };
    wasm_clippy(&[])?;
    wasm_clippy(&["--features", "kiro-checkout/stripe"])?;
    step("cargo build -p billing --target wasm32-unknown-unknown");
    run(Command::new("cargo").args(["build", "-p", "billing", "--target", "wasm32-unknown-unknown"]))?;

    build::app()?;

    let postgres = postgres::LocalPostgres::start("test-postgres")?;
    let driver = bootstrap::start_chromedriver()?;
    step("cargo test --workspace (unit, server and browser tests; the server's on SQLite)");
    let dist = std::env::current_dir().map_err(|e| e.to_string())?.join("dist");
    // The server's tests that only PostgreSQL can run (modules `on_postgres*`) run in the next step.
    let only_postgres: &[&str] = if args.is_empty() { &["--", "--skip", "on_postgres"] } else { &[] };
    let result = run(Command::new("cargo")
        .args(["test", "--workspace"])
        .args(args)
        .args(only_postgres)
        .env("APP_DIST", &dist)
        .env("WEBDRIVER_URL", &driver.url)
        .env("CHROMIUM", bootstrap::CHROMIUM));
    drop(driver);
    result?;
    keep_pictures()?;
    step("cargo test --workspace --test it, on PostgreSQL (every test that touches storage)");
    // The connection cap, the SQLite file's own checks and the in-process wrong-key map (20,000
    // addresses; the shared count has its own test) do not depend on the backend.
    // `--workspace`, as in the step before: with `-p checkout-server` alone, Cargo unifies features
    // over fewer crates and builds the server and its dependencies a second time.
    run(Command::new("cargo")
        .args(["test", "--workspace", "--test", "it", "--", "--skip", "socket::"])
        .args(["--skip", "secrets_at_rest::", "--skip", "attack::a_locked_address_stays_locked_while_20000"])
        .env("KIRO_TEST_POSTGRES_URL", &postgres.url))?;
    drop(postgres);
    println!("\nxtask test: all passed in {:.0?}", started.elapsed());
    Ok(())
}

/// The README's pictures of the checkout and the portal are the browser tests' screenshots of
/// this build (`test-artifacts/`), kept in `docs/images/`.
fn keep_pictures() -> Result<(), String> {
    for (taken, kept) in [("checkout-1280", "checkout"), ("layout-1280-portal-home", "portal")] {
        let from = format!("test-artifacts/{taken}.png");
        if std::path::Path::new(&from).exists() {
            std::fs::copy(&from, format!("docs/images/{kept}.png")).map_err(|e| format!("{from}: {e}"))?;
        }
    }
    Ok(())
}

fn bench(args: &[String]) -> Result<(), String> {
    bootstrap::build_tools()?;
    bootstrap::browser_tools()?;
    build::app()?;
    let driver = bootstrap::start_chromedriver()?;
    step("Measuring (cargo run --release -p bench)");
    let result = run(Command::new("cargo")
        .args(["run", "--quiet", "--release", "-p", "bench", "--"])
        .args(args)
        .env("WEBDRIVER_URL", &driver.url)
        .env("CHROMIUM", bootstrap::CHROMIUM));
    drop(driver);
    result
}

fn soak(args: &[String]) -> Result<(), String> {
    step("Building the release server");
    run(Command::new("cargo").args(["build", "--quiet", "--release", "-p", "checkout-server"]))?;
    // `--postgres` (and `--compare`, which measures it too): the servers share a throwaway
    // PostgreSQL, stopped at the end.
    let postgres = if args.iter().any(|a| a == "--postgres" || a == "--compare") {
        Some(postgres::LocalPostgres::start("soak-postgres")?)
    } else {
        None
    };
    step("Soaking (cargo run --release -p bench --bin soak)");
    let mut cmd = Command::new("cargo");
    cmd.args(["run", "--quiet", "--release", "-p", "bench", "--bin", "soak", "--"]).args(args);
    if let Some(postgres) = &postgres {
        cmd.env("KIRO_SOAK_POSTGRES_URL", &postgres.url);
    }
    run(&mut cmd)
}
