//! Builds the app with trunk (release, offline) and precompresses it for the server.

use crate::bootstrap::path_with_tools;
use crate::{run, step};
use std::io::Write;
use std::path::Path;
use std::process::Command;

pub fn app() -> Result<(), String> {
    step("Building the app (trunk build --release --offline)");
    run(Command::new("trunk").args(["build", "--release", "--offline"]).env("PATH", path_with_tools()))?;
    compress(Path::new("dist"))
}

/// Writes `.br` (quality 11) and `.gz` (level 9) beside each text and wasm file, so the server can
/// send the smallest encoding the browser accepts without compressing on every request.
fn compress(dist: &Path) -> Result<(), String> {
    let entries = std::fs::read_dir(dist).map_err(|e| format!("can't read {}: {e}", dist.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !matches!(ext, "wasm" | "js" | "css" | "html" | "svg") {
            continue;
        }
        let data = std::fs::read(&path).map_err(|e| e.to_string())?;
        let mut br = Vec::new();
        let params = brotli::enc::BrotliEncoderParams { quality: 11, lgwin: 22, ..Default::default() };
        brotli::BrotliCompress(&mut data.as_slice(), &mut br, &params).map_err(|e| e.to_string())?;
        std::fs::write(path.with_extension(format!("{ext}.br")), br).map_err(|e| e.to_string())?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data).map_err(|e| e.to_string())?;
        std::fs::write(path.with_extension(format!("{ext}.gz")), gz.finish().map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    println!("    precompressed dist/ (brotli 11, gzip 9)");
    Ok(())
}
