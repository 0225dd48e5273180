//! `cargo xtask soak`: a bounded mixed load on release servers, then a consistency check.
//!
//! Starts the release server (by default one instance on a file database; `--postgres`: on a
//! fresh database in the PostgreSQL of `KIRO_SOAK_POSTGRES_URL`; `--instances N`: N instances on
//! it), every instance delivering its events to a webhook receiver of the soak's own. Runs
//! `--clients` paying clients for `--seconds` (each: create a session, read it, tokenize a card,
//! confirm; every fourth payment is confirmed from two tabs at once), each request of an account
//! on another instance than the last, and `--readers` clients reading sessions and subscriptions.
//! With several instances, one is killed with SIGKILL at 40% of the run and started again; its
//! clients send what got no answer again, with the same idempotency key, to another instance. At
//! 60% (earlier for a long cut) the last instance is cut off from PostgreSQL for `--partition-secs` (a third of the run by
//! default; `0`: never) by a proxy that stops forwarding without closing anything, then healed:
//! the other instances' answers meanwhile and the cut-off one's `503`s are reported.
//!
//! Then it checks through the server API that every account has at most one paid invoice, that
//! every payment the clients saw succeed has exactly one paid invoice of the amount shown and an
//! active subscription, and (after the deliveries drained) that every event `/v1/events` lists
//! reached the receiver, each account's in their listed order, with one `subscription.created` and
//! one `invoice.paid` per paying account. Prints the figures and the inconsistencies found, writes
//! the figures into docs/performance.md, and fails when anything is inconsistent. `--compare` runs SQLite
//! (1 instance), PostgreSQL (1 instance) and PostgreSQL (`--instances`, 3 by default) one after
//! the other and writes one table of the three.
//!
//! `--usage` runs the credits load instead (see `usage.rs`): meter events in batches, retries,
//! credits reads, every account's total checked; its figures go into docs/performance.md.

mod checks;
mod clients;
mod cluster;
mod receiver;
mod usage;

use clients::{Record, Targets};
use cluster::{Cluster, Database};
use headless::db_proxy::DbProxy;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The environment variable `cargo xtask soak --postgres` passes the throwaway PostgreSQL's URL in.
const POSTGRES_URL_VAR: &str = "KIRO_SOAK_POSTGRES_URL";

struct Options {
    clients: usize,
    readers: usize,
    seconds: u64,
    server: PathBuf,
    readme: bool,
    postgres: bool,
    instances: usize,
    compare: bool,
    kill: bool,
    usage: bool,
    partition_secs: Option<u64>,
}

fn options() -> Options {
    // The server is built into the same target folder as this binary.
    let beside_us = std::env::current_exe().ok().and_then(|p| Some(p.parent()?.join("checkout-server")));
    let mut o = Options {
        clients: 16,
        readers: 4,
        seconds: 30,
        server: beside_us.unwrap_or_else(|| PathBuf::from("target/release/checkout-server")),
        readme: true,
        postgres: false,
        instances: 1,
        compare: false,
        kill: true,
        usage: false,
        partition_secs: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("soak: {flag} needs a value"));
        let number = |v: String| v.parse::<usize>().unwrap_or_else(|_| panic!("soak: {flag} {v}: not a number"));
        match flag.as_str() {
            "--clients" => o.clients = number(value()),
            "--readers" => o.readers = number(value()),
            "--seconds" => o.seconds = number(value()) as u64,
            "--instances" => o.instances = number(value()).max(1),
            "--server" => o.server = PathBuf::from(value()),
            "--no-readme" => o.readme = false,
            "--no-kill" => o.kill = false,
            "--postgres" => o.postgres = true,
            "--compare" => o.compare = true,
            "--usage" => o.usage = true,
            "--partition-secs" => o.partition_secs = Some(number(value()) as u64),
            other => panic!("soak: unknown option {other}"),
        }
    }
    if o.instances > 1 && !o.postgres && !o.compare {
        panic!("soak: several instances share a PostgreSQL: add --postgres");
    }
    o
}

/// One configuration to measure.
#[derive(Clone, Copy)]
struct Setup {
    postgres: bool,
    instances: usize,
}

impl Setup {
    /// A fresh database for run `n` of this setup.
    async fn database(self, n: usize) -> Database {
        if !self.postgres {
            return Database::sqlite(n);
        }
        let url = std::env::var(POSTGRES_URL_VAR)
            .unwrap_or_else(|_| panic!("soak: --postgres needs {POSTGRES_URL_VAR}: run `cargo xtask soak --postgres`"));
        Database::postgres(&url, n).await
    }

    fn label(self) -> String {
        let backend = if self.postgres { "PostgreSQL" } else { "SQLite" };
        let plural = if self.instances == 1 { "" } else { "s" };
        format!("{backend}, {} instance{plural}", self.instances)
    }
}

/// What one run measured.
struct Figures {
    setup: Setup,
    elapsed: f64,
    records: Vec<Record>,
    killed: Option<String>,
    partitioned: Option<String>,
    deliveries: checks::Deliveries,
    found: Vec<String>,
}

#[tokio::main]
async fn main() {
    let o = options();
    let setups = if o.compare {
        vec![
            Setup { postgres: false, instances: 1 },
            Setup { postgres: true, instances: 1 },
            Setup { postgres: true, instances: if o.instances > 1 { o.instances } else { 3 } },
        ]
    } else {
        vec![Setup { postgres: o.postgres, instances: o.instances }]
    };
    if o.usage {
        return usage_soak(&o, setups).await;
    }
    let mut runs = Vec::new();
    for (n, setup) in setups.into_iter().enumerate() {
        runs.push(soak(&o, setup, n).await);
    }
    let report = report(&o, &runs);
    println!("\n{report}");
    let mut failed = false;
    for run in &runs {
        for problem in run.found.iter().chain(&run.deliveries.found).take(30) {
            eprintln!("inconsistent ({}): {problem}", run.setup.label());
        }
        failed |= !(run.found.is_empty() && run.deliveries.found.is_empty());
        let mut errors: BTreeMap<&str, usize> = BTreeMap::new();
        for (what, count) in run.records.iter().flat_map(|r| &r.errors) {
            *errors.entry(what).or_default() += count;
        }
        for (what, count) in errors {
            eprintln!("failed ({}): {count} x {what}", run.setup.label());
        }
    }
    if o.readme {
        write_readme(&report);
    }
    if failed {
        std::process::exit(1);
    }
}

/// One run: the instances and the receiver up, the load (and the kill), the checks.
async fn soak(o: &Options, setup: Setup, n: usize) -> Figures {
    let database = setup.database(n).await;
    let receiver = receiver::start().await;
    // A killed instance's payment attempts wait for their lease to run out: short, so they settle
    // within the run.
    let killing = o.kill && setup.instances > 1;
    let lease_secs = if killing { 5 } else { 30 };
    let cut_secs = o.partition_secs.unwrap_or(o.seconds / 3);
    let proxy = match &database {
        Database::Postgres { url, .. } if setup.instances > 1 && cut_secs > 0 => Some(DbProxy::start(url).await),
        _ => None,
    };
    let mut databases = vec![database.server_args(); setup.instances];
    if let Some((_, proxied)) = &proxy {
        databases[setup.instances - 1] = vec!["--database-url".into(), proxied.clone()];
    }
    let mut cluster = Cluster::start(&o.server, databases, &receiver.url, lease_secs).await;
    let targets = Targets::new(cluster.bases());
    eprintln!(
        "soak ({}): {} paying clients and {} readers for {} s against {}",
        setup.label(),
        o.clients,
        o.readers,
        o.seconds,
        targets.0.join(" ")
    );
    let run = format!("{}r{n}", std::process::id());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let known = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for id in 0..o.clients {
        tasks.push(tokio::spawn(clients::payer(targets.clone(), run.clone(), id, deadline, known.clone())));
    }
    for id in 0..o.readers {
        tasks.push(tokio::spawn(clients::reader(targets.clone(), run.clone(), id, deadline, known.clone())));
    }
    let killed = if killing { Some(kill_and_restart(&mut cluster, started, o.seconds).await) } else { None };
    let partitioned = match &proxy {
        Some((proxy, _)) => Some(partition(proxy, &targets, (started, o.seconds), cut_secs).await),
        None => None,
    };
    let mut records = Vec::new();
    for task in tasks {
        records.push(task.await.expect("a soak client panicked"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let base = targets.0[0].clone();
    let (found, paying) = checks::payments(&base, &records).await;
    let deliveries = checks::deliveries(&base, &receiver.arrivals, &paying).await;
    cluster.stop();
    let failures: usize = records.iter().map(Record::error_count).sum();
    if found.is_empty() && deliveries.found.is_empty() && failures == 0 {
        for log in cluster.logs() {
            let _ = std::fs::remove_file(log);
        }
    } else {
        eprintln!("soak: the instances' logs: {:?}", cluster.logs());
    }
    drop(cluster);
    database.remove().await;
    Figures { setup, elapsed, records, killed, partitioned, deliveries, found }
}

/// What one usage run measured.
struct UsageFigures {
    setup: Setup,
    elapsed: f64,
    records: Vec<usage::UsageRecord>,
    killed: Option<String>,
    found: Vec<String>,
}

/// `--usage`: meter events and credits reads on each setup, then every total checked.
async fn usage_soak(o: &Options, setups: Vec<Setup>) {
    let mut runs = Vec::new();
    for (n, setup) in setups.into_iter().enumerate() {
        runs.push(usage_run(o, setup, n).await);
    }
    let report = usage_report(o, &runs);
    println!("\n{report}");
    let mut failed = false;
    for run in &runs {
        for problem in run.found.iter().take(30) {
            eprintln!("inconsistent ({}): {problem}", run.setup.label());
        }
        for (what, count) in run.records.iter().flat_map(|r| &r.failed) {
            eprintln!("failed ({}): {count} x {what}", run.setup.label());
        }
        failed |= !run.found.is_empty();
    }
    if o.readme {
        write_between(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/performance.md"), "usage-soak", &report);
    }
    if failed {
        std::process::exit(1);
    }
}

async fn usage_run(o: &Options, setup: Setup, n: usize) -> UsageFigures {
    let database = setup.database(n).await;
    let receiver = receiver::start().await;
    let mut cluster = Cluster::start(&o.server, vec![database.server_args(); setup.instances], &receiver.url, 5).await;
    let targets = Targets::new(cluster.bases());
    let run = format!("{}u{n}", std::process::id());
    usage::create_accounts(&targets, &run).await;
    eprintln!(
        "soak --usage ({}): {} senders of batches of 100 and {} readers for {} s, {} accounts",
        setup.label(),
        o.clients,
        o.readers,
        o.seconds,
        usage::ACCOUNTS
    );
    let started = Instant::now();
    let deadline = started + Duration::from_secs(o.seconds);
    let mut tasks = Vec::new();
    for id in 0..o.clients {
        tasks.push(tokio::spawn(usage::sender(targets.clone(), run.clone(), id, deadline)));
    }
    for id in 0..o.readers {
        tasks.push(tokio::spawn(usage::reader(targets.clone(), run.clone(), id, deadline)));
    }
    let killing = o.kill && setup.instances > 1;
    let killed = if killing { Some(kill_and_restart(&mut cluster, started, o.seconds).await) } else { None };
    let mut records = Vec::new();
    for task in tasks {
        records.push(task.await.expect("a soak client panicked"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let found = usage::check_totals(&targets.0[0], &run, &records).await;
    cluster.stop();
    drop(cluster);
    database.remove().await;
    UsageFigures { setup, elapsed, records, killed, found }
}

/// One row of the usage table: what one run says for it.
type UsageFigure = fn(&UsageFigures) -> String;

fn usage_report(o: &Options, runs: &[UsageFigures]) -> String {
    let mut text = format!(
        "Measured by `cargo xtask soak --usage{}` ({} senders of batches of 100 events, 5% of batches sent \
         twice, {} readers of `GET /v1/accounts/{{id}}/credits`, {} accounts, {} s per setup, release \
         servers on this 2-core machine).\n\n| figure |",
        if o.compare { " --compare" } else { "" },
        o.clients,
        o.readers,
        usage::ACCOUNTS,
        o.seconds
    );
    for run in runs {
        text.push_str(&format!(" {} |", run.setup.label()));
    }
    text.push_str(&format!("\n|---|{}\n", "---:|".repeat(runs.len())));
    let rows: [(&str, UsageFigure); 6] = [
        ("events recorded (per second)", |r| {
            let events: usize = r.records.iter().map(|x| x.events).sum();
            format!("{events} ({:.0}/s)", events as f64 / r.elapsed)
        }),
        ("events sent again / answered as duplicates", |r| {
            let resent: usize = r.records.iter().map(|x| x.resent_events).sum();
            let duplicates: usize = r.records.iter().map(|x| x.duplicates_answered).sum();
            format!("{resent} / {duplicates}")
        }),
        ("credits reads (per second)", |r| {
            let reads: usize = r.records.iter().map(|x| x.reads.len()).sum();
            format!("{reads} ({:.0}/s)", reads as f64 / r.elapsed)
        }),
        ("credits read p50 / p99", |r| {
            let mut reads: Vec<f64> = r.records.iter().flat_map(|x| x.reads.iter().copied()).collect();
            format!("{:.1} ms / {:.1} ms", percentile(&mut reads, 0.5), percentile(&mut reads, 0.99))
        }),
        ("requests sent again (no answer)", |r| r.records.iter().map(|x| x.unanswered).sum::<usize>().to_string()),
        ("totals that differ from what was sent", |r| r.found.len().to_string()),
    ];
    for (name, value) in rows {
        text.push_str(&format!("| {name} |"));
        for run in runs {
            text.push_str(&format!(" {} |", value(run)));
        }
        text.push('\n');
    }
    for run in runs.iter().filter(|r| r.killed.is_some()) {
        text.push_str(&format!("\n{}: {}.\n", run.setup.label(), run.killed.as_deref().unwrap_or_default()));
    }
    text
}

/// Replaces what stands between `<!-- {marker}:start -->` and `<!-- {marker}:end -->` in `file`.
fn write_between(file: PathBuf, marker: &str, report: &str) {
    let Ok(text) = std::fs::read_to_string(&file) else { return };
    let (start, end) = (format!("<!-- {marker}:start -->"), format!("<!-- {marker}:end -->"));
    if let (Some(from), Some(to)) = (text.find(&start), text.find(&end)) {
        let updated = format!("{}{start}\n{report}{}", &text[..from], &text[to..]);
        if std::fs::write(&file, updated).is_ok() {
            eprintln!("soak: wrote the figures into {}", file.display());
        }
    }
}

/// At 40% of the run, SIGKILL to the second instance; started again a second later. Says how
/// long it took to answer again.
async fn kill_and_restart(cluster: &mut Cluster, started: Instant, seconds: u64) -> String {
    let at = Duration::from_secs(seconds).mul_f64(0.4);
    tokio::time::sleep_until((started + at).into()).await;
    cluster.kill(1);
    let killed_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.restart(1).await;
    let text = format!(
        "instance 2 killed (SIGKILL) at {:.1} s, answering again {:.1} s later",
        at.as_secs_f64(),
        killed_at.elapsed().as_secs_f64()
    );
    eprintln!("soak: {text}");
    text
}

/// At 60% of the run (`run`: when it started, how long it lasts), or earlier so that the cut ends
/// under load (but after the kill), the last instance's network to PostgreSQL is cut for
/// `cut_secs`, then healed. Says when, and for how long.
async fn partition(proxy: &DbProxy, targets: &Targets, (started, seconds): (Instant, u64), cut_secs: u64) -> String {
    let seconds = seconds as f64;
    let at = Duration::from_secs_f64((0.6 * seconds).min(0.95 * seconds - cut_secs as f64).max(0.45 * seconds));
    tokio::time::sleep_until((started + at).into()).await;
    let instance = targets.0.len() - 1;
    proxy.cut();
    targets.cut_off(Some(instance));
    tokio::time::sleep(Duration::from_secs(cut_secs)).await;
    targets.cut_off(None);
    proxy.heal();
    let text = format!(
        "instance {} cut off from PostgreSQL (a proxy that stops forwarding) at {:.1} s for {cut_secs} s",
        instance + 1,
        at.as_secs_f64()
    );
    eprintln!("soak: {text}");
    text
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// The rows of one run's column.
fn column(run: &Figures) -> Vec<(&'static str, String)> {
    let all_of = |pick: fn(&Record) -> &Vec<f64>| -> Vec<f64> { run.records.iter().flat_map(pick).copied().collect() };
    let (mut reads, mut writes, mut confirms) = (all_of(|r| &r.reads), all_of(|r| &r.writes), all_of(|r| &r.confirms));
    let mut all: Vec<f64> = reads.iter().chain(&writes).chain(&confirms).copied().collect();
    let sum = |pick: fn(&Record) -> usize| -> usize { run.records.iter().map(pick).sum() };
    let payments = sum(|r| r.paid.len());
    let d = &run.deliveries;
    let both = |v: &mut Vec<f64>| format!("{:.1} ms / {:.1} ms", percentile(v, 0.5), percentile(v, 0.99));
    vec![
        ("payments", format!("{payments} ({:.0}/s)", payments as f64 / run.elapsed)),
        ("confirms p50 / p99", both(&mut confirms)),
        ("requests", format!("{} ({:.0}/s)", all.len(), all.len() as f64 / run.elapsed)),
        ("all requests p50 / p99", both(&mut all)),
        ("reads p50 / p99 (during the writes)", both(&mut reads)),
        ("other writes p50 / p99", both(&mut writes)),
        ("failed requests", sum(Record::error_count).to_string()),
        ("sent again (no answer: instance killed)", sum(|r| r.unanswered).to_string()),
        ("confirms sent again (`payment_in_progress`)", sum(|r| r.busy).to_string()),
        ("confirms whose outcome no tab saw (answer lost)", sum(|r| r.unknown.len()).to_string()),
        ("events delivered / listed", format!("{} / {}", d.events - d.lost, d.events)),
        (
            "deliveries (duplicates; of them after a later event)",
            format!("{} ({}; {})", d.arrivals, d.duplicates, d.late_duplicates),
        ),
        ("deliveries drained after the load", format!("{:.1} s", d.drained_in.as_secs_f64())),
        ("while cut off: other instances' answers p50 / p99 / max", with_max(&mut all_of(|r| &r.while_cut))),
        (
            "while cut off: the cut-off instance's answers (503) p50 / p99 / max",
            with_max(&mut all_of(|r| &r.cut_off_answers)),
        ),
        ("inconsistencies", (run.found.len() + d.found.len()).to_string()),
    ]
}

fn report(o: &Options, runs: &[Figures]) -> String {
    let columns: Vec<Vec<(&str, String)>> = runs.iter().map(column).collect();
    let mut text = format!(
        "Measured by `cargo xtask soak{}` ({} paying clients, {} readers, {} s per setup, release servers; \
         events delivered to a local receiver).\n\n| figure |",
        if o.compare { " --compare" } else { "" },
        o.clients,
        o.readers,
        o.seconds
    );
    for run in runs {
        text.push_str(&format!(" {} |", run.setup.label()));
    }
    text.push_str(&format!("\n|---|{}\n", "---:|".repeat(runs.len())));
    for (row, (name, _)) in columns[0].iter().enumerate() {
        text.push_str(&format!("| {name} |"));
        for column in &columns {
            text.push_str(&format!(" {} |", column[row].1));
        }
        text.push('\n');
    }
    for run in runs {
        for scenario in [&run.killed, &run.partitioned].into_iter().flatten() {
            text.push_str(&format!("\n{}: {scenario}.\n", run.setup.label()));
        }
    }
    text
}

/// p50 / p99 / max of `values` in ms, or "-" when there are none (no partition in this run).
fn with_max(values: &mut [f64]) -> String {
    if values.is_empty() {
        return "-".into();
    }
    let max = values.iter().copied().fold(0.0, f64::max);
    format!("{:.1} / {:.1} / {max:.1} ms", percentile(values, 0.5), percentile(values, 0.99))
}

fn write_readme(report: &str) {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/performance.md");
    let Ok(text) = std::fs::read_to_string(&readme) else { return };
    if let (Some(start), Some(end)) = (text.find("<!-- soak:start -->"), text.find("<!-- soak:end -->")) {
        let updated = format!("{}<!-- soak:start -->\n{report}{}", &text[..start], &text[end..]);
        if std::fs::write(&readme, updated).is_ok() {
            eprintln!("soak: wrote the figures into docs/performance.md");
        }
    }
}
