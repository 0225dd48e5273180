//! Installs the tools the build and the tests need, skipping those present at the right version.

use crate::{run, step};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TRUNK_VERSION: &str = "0.21.14";
/// Debian's binaryen (108) produces a wasm that fails at start-up; this one works.
pub const BINARYEN_NPM: &str = "binaryen@132.0.0";
/// Minifies wasm-bindgen's JS glue (trunk's own minifier breaks it).
pub const ESBUILD_NPM: &str = "esbuild@0.28.2";
pub const BINARYEN_VERSION: &str = "version 132";
pub const AXE_NPM: &str = "axe-core@4.14.1";
/// localstripe (PyPI), a stand-in for Stripe's API and Stripe.js, for the tests of Stripe mode.
pub const LOCALSTRIPE_VERSION: &str = "1.15.10";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// `.tools/` in the repository: npm packages (wasm-opt, axe-core), kept out of git.
pub fn tools_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_default().join(".tools")
}

/// PATH with `.tools/node_modules/.bin` first, so trunk finds the right wasm-opt.
pub fn path_with_tools() -> String {
    let bin = tools_dir().join("node_modules").join(".bin");
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

fn output_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.env("PATH", path_with_tools()).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The exact wasm-bindgen version in Cargo.lock (the CLI must match it).
fn locked_wasm_bindgen() -> Result<String, String> {
    let lock = std::fs::read_to_string("Cargo.lock").map_err(|e| format!("can't read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_string());
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

/// The wasm32 target, trunk, wasm-bindgen-cli and wasm-opt.
pub fn build_tools() -> Result<(), String> {
    step("Checking build tools");
    let targets = output_of(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if targets.lines().any(|t| t == "wasm32-unknown-unknown") {
        println!("    wasm32-unknown-unknown target: present");
    } else {
        println!("    installing the wasm32-unknown-unknown target");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let trunk = output_of(Command::new("trunk").arg("--version")).unwrap_or_default();
    if trunk.ends_with(TRUNK_VERSION) {
        println!("    trunk {TRUNK_VERSION}: present");
    } else {
        println!("    installing trunk {TRUNK_VERSION} (takes about 8 minutes; found: {trunk:?})");
        run(Command::new("cargo").args(["install", "trunk", "--version", TRUNK_VERSION, "--locked"]))?;
    }

    let wanted = locked_wasm_bindgen()?;
    let bindgen = output_of(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if bindgen.ends_with(&wanted) {
        println!("    wasm-bindgen-cli {wanted}: present");
    } else {
        // Without --locked: the CLI's own lock names a crate version the registry lacks.
        println!("    installing wasm-bindgen-cli {wanted} to match Cargo.lock (about 4 minutes; found: {bindgen:?})");
        run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &wanted, "--force"]))?;
    }

    npm_tools()
}

/// wasm-opt (binaryen 132), esbuild and axe-core, from npm into `.tools/`.
fn npm_tools() -> Result<(), String> {
    let wasm_opt = tools_dir().join("node_modules/.bin/wasm-opt");
    let version = output_of(Command::new(&wasm_opt).arg("--version")).unwrap_or_default();
    let axe = tools_dir().join("node_modules/axe-core/axe.min.js");
    let esbuild = output_of(Command::new(tools_dir().join("node_modules/.bin/esbuild")).arg("--version"));
    let esbuild_wanted = ESBUILD_NPM.trim_start_matches("esbuild@");
    if version.contains(BINARYEN_VERSION) && axe.exists() && esbuild.as_deref() == Some(esbuild_wanted) {
        println!("    wasm-opt ({BINARYEN_NPM}), {ESBUILD_NPM} and {AXE_NPM}: present");
        return Ok(());
    }
    println!("    installing {BINARYEN_NPM}, {ESBUILD_NPM} and {AXE_NPM} into .tools/ with npm");
    std::fs::create_dir_all(tools_dir()).map_err(|e| e.to_string())?;
    run(Command::new("npm")
        .args(["install", "--no-save", "--no-audit", "--no-fund", "--prefix"])
        .arg(tools_dir())
        .args([BINARYEN_NPM, ESBUILD_NPM, AXE_NPM]))
}

/// localstripe, pinned, in a virtual environment under `.tools/localstripe` (its own Python
/// packages, nothing installed system-wide).
pub fn localstripe() -> Result<(), String> {
    step("Checking localstripe (Stripe mode's tests)");
    let venv = tools_dir().join("localstripe");
    let pip = venv.join("bin/pip");
    let installed = output_of(Command::new(&pip).args(["show", "localstripe"])).unwrap_or_default();
    if installed.lines().any(|l| l == format!("Version: {LOCALSTRIPE_VERSION}")) {
        println!("    localstripe {LOCALSTRIPE_VERSION}: present");
    } else {
        println!("    installing localstripe {LOCALSTRIPE_VERSION} into .tools/localstripe (python3 -m venv, pip)");
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv)).map_err(|e| {
            format!("{e}; Stripe mode's tests need Python 3 with venv (Debian: apt-get install python3-venv)")
        })?;
        run(Command::new(&pip).args(["install", "--quiet", &format!("localstripe=={LOCALSTRIPE_VERSION}")]))?;
    }
    scope_localstripe_js(&venv)
}

/// localstripe, running until dropped.
pub struct LocalStripe {
    pub base: String,
    child: Child,
}

impl Drop for LocalStripe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts localstripe (from scratch) on a free port and waits until it answers.
pub fn start_localstripe() -> Result<LocalStripe, String> {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let child = Command::new(tools_dir().join("localstripe/bin/localstripe"))
        .args(["--port", &port.to_string(), "--from-scratch"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("can't start localstripe: {e}"))?;
    let localstripe = LocalStripe { base: format!("http://127.0.0.1:{port}"), child };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("localstripe did not start".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(localstripe)
}

/// localstripe's Stripe.js declares `class Element` at the top level of a classic script: a global
/// binding that shadows the DOM's `Element` for every script on the page, so wasm-bindgen's
/// `instanceof Element` checks fail and the app stops updating the page. Real Stripe.js declares
/// nothing global but `Stripe`. Wrapping the file in a block keeps its declarations to itself
/// (`Stripe` is assigned, not declared, so it stays global).
fn scope_localstripe_js(venv: &std::path::Path) -> Result<(), String> {
    const MARK: &str = "// scoped by cargo xtask\n{\n";
    let lib = venv.join("lib");
    let python = std::fs::read_dir(&lib)
        .map_err(|e| format!("{}: {e}", lib.display()))?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("python"));
    let script = python
        .map(|p| p.path().join("site-packages/localstripe/localstripe-v3.js"))
        .filter(|p| p.exists())
        .ok_or("localstripe's localstripe-v3.js is missing")?;
    let source = std::fs::read_to_string(&script).map_err(|e| e.to_string())?;
    if !source.starts_with(MARK) {
        std::fs::write(&script, format!("{MARK}{source}\n}}\n")).map_err(|e| e.to_string())?;
        println!("    scoped localstripe's Stripe.js (its global `class Element` hid the DOM's)");
    }
    Ok(())
}

/// Chromium and chromedriver: Debian's packages, installed with apt where we can.
pub fn browser_tools() -> Result<(), String> {
    step("Checking the browser for the browser tests");
    let chromium = output_of(Command::new(CHROMIUM).arg("--version"));
    let driver = output_of(Command::new(CHROMEDRIVER).arg("--version"));
    if let (Some(c), Some(d)) = (&chromium, &driver) {
        println!("    {c}; {}", d.split(" (").next().unwrap_or(d));
        return Ok(());
    }
    let is_root = output_of(Command::new("id").arg("-u")).as_deref() == Some("0");
    let has_apt = std::path::Path::new("/usr/bin/apt-get").exists();
    if !(is_root && has_apt) {
        return Err("the browser tests need Debian's Chromium and ChromeDriver: install the packages `chromium` and \
                    `chromium-driver` (sudo apt-get install chromium chromium-driver), giving /usr/bin/chromium and \
                    /usr/bin/chromedriver"
            .into());
    }
    println!("    installing chromium and chromium-driver with apt-get");
    run(Command::new("apt-get").arg("update").stdout(Stdio::null()))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// One chromedriver shared by every browser test; stopped when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_chromedriver() -> Result<Driver, String> {
    let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("can't start {CHROMEDRIVER}: {e}"))?;
    let driver = Driver { child, url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("chromedriver did not start within 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(driver)
}
