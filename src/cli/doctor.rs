//! `omost doctor`: what this build and this terminal can do, and which models it finds — the first thing
//! to run when images do not show or a model is not picked up.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::CliResult;
use crate::fsutil;
use crate::llm::remote::{RemoteLlm, RemoteOptions};
use crate::llm::{ChatEngine, Message, Role, Sampling};
use crate::render::weights::hf_cache_dir;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| "(unset)".into())
}

/// SDXL pipelines (repos with `unet/`) and GGUF files in the Hugging Face cache.
fn hf_models(hub: &Path) -> (Vec<String>, Vec<PathBuf>) {
    let mut sdxl = Vec::new();
    let mut gguf = Vec::new();
    let Ok(repos) = std::fs::read_dir(hub) else {
        return (sdxl, gguf);
    };
    for repo in repos.filter_map(|e| e.ok()).map(|e| e.path()) {
        let Some(name) = repo
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("models--"))
        else {
            continue;
        };
        let name = name.replace("--", "/");
        for snapshot in std::fs::read_dir(repo.join("snapshots"))
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok())
        {
            let snapshot = snapshot.path();
            if snapshot.join("unet").is_dir() && !sdxl.contains(&name) {
                sdxl.push(name.clone());
            }
            for file in std::fs::read_dir(&snapshot)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok())
            {
                if file.path().extension().is_some_and(|x| x == "gguf") {
                    gguf.push(file.path());
                }
            }
        }
    }
    sdxl.sort();
    gguf.sort();
    (sdxl, gguf)
}

/// Connects to the LLM server and says what it found: kind, model, how the grammar is sent, and a
/// one-token round trip.
fn check_server(options: &RemoteOptions) {
    let started = Instant::now();
    match RemoteLlm::connect(options) {
        Ok(mut server) => {
            println!(
                "  LLM server: {} — reached in {:.0} ms",
                server.describe(),
                started.elapsed().as_secs_f64() * 1e3
            );
            let sampling = Sampling {
                max_tokens: 1,
                grammar: false,
                ..Sampling::default()
            };
            let started = Instant::now();
            let hello = [Message::new(Role::User, "Hi")];
            match server.generate(&hello, &sampling, &AtomicBool::new(false), &mut |_| {}) {
                Ok(_) => println!(
                    "  LLM server: a one-token reply in {:.0} ms",
                    started.elapsed().as_secs_f64() * 1e3
                ),
                Err(e) => println!("  LLM server: ERROR {e}"),
            }
        }
        Err(e) => println!("  LLM server: ERROR {e}"),
    }
}

/// Prints the report; `remote` is the LLM server to check, when one is configured.
pub fn doctor(remote: Option<&RemoteOptions>) -> CliResult {
    println!("omost-tui {}", env!("CARGO_PKG_VERSION"));
    println!();
    println!("build");
    println!(
        "  CUDA (renderer and LLM): {}",
        if cfg!(feature = "cuda") {
            "built in"
        } else {
            "not built in (cargo build --release --features cuda)"
        }
    );
    println!(
        "  cuDNN convolutions: {}",
        if cfg!(feature = "cudnn") { "yes" } else { "no" }
    );
    if cfg!(feature = "cuda") {
        match candle_core::Device::new_cuda(0) {
            Ok(_) => println!("  CUDA device usable now: yes (cuda:0)"),
            Err(e) => println!(
                "  CUDA device usable now: no ({})",
                crate::render::clip::first_line(&e)
            ),
        }
    }
    println!(
        "  llama.cpp GPU offload: {}",
        if crate::llm::gpu_offload_supported() {
            "yes"
        } else {
            "no (CPU only)"
        }
    );
    println!(
        "  CPU threads: {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    println!();
    println!("terminal");
    let tty = std::io::stdout().is_terminal();
    println!(
        "  stdout is a terminal: {}",
        if tty { "yes" } else { "no (the app needs one)" }
    );
    println!(
        "  TERM={} TERM_PROGRAM={} COLORTERM={}",
        env("TERM"),
        env("TERM_PROGRAM"),
        env("COLORTERM")
    );
    println!(
        "  colour: {}",
        if crate::tui::truecolor() {
            "24-bit (truecolor)"
        } else {
            "256 colours (set COLORTERM=truecolor if your terminal has more)"
        }
    );
    let in_tmux = std::env::var_os("TMUX").is_some();
    if in_tmux {
        println!("  tmux: yes — the preview uses half blocks unless --image-protocol kitty|sixel|iterm2 is given;");
        println!("        for those add `set -g allow-passthrough on`, and `set -g set-clipboard on` for copying (OSC 52)");
    } else {
        println!("  tmux: no");
    }
    let protocol = if tty && !in_tmux {
        let picker = ratatui_image::picker::Picker::from_query_stdio();
        match picker.map(|p| p.protocol_type()) {
            Ok(p) => format!("{p:?} (asked the terminal)"),
            Err(e) => format!("half blocks (the terminal did not answer: {e})"),
        }
    } else {
        "half blocks".to_owned()
    };
    println!("  image preview: {protocol}");
    println!(
        "  clipboard: OSC 52{}",
        if std::env::var_os("SSH_TTY").is_some() {
            " (over SSH: works when your terminal allows it)"
        } else {
            ""
        }
    );

    println!();
    println!("models");
    let hub = hf_cache_dir();
    let (sdxl, gguf) = hf_models(&hub);
    println!("  Hugging Face cache: {}", hub.display());
    if sdxl.is_empty() {
        println!("  SDXL: none found; pass --sdxl a diffusers folder, a single .safetensors file, or download a repo");
        println!("        (e.g. `huggingface-cli download SG161222/RealVisXL_V4.0`)");
    }
    for s in &sdxl {
        println!("  SDXL: {s}   (--sdxl {s})");
    }
    if gguf.is_empty() {
        println!("  LLM: no GGUF in the cache; pass --llm MODEL.gguf (e.g. an omost-llama-3-8b conversion)");
    }
    for g in &gguf {
        println!("  LLM: {}", g.display());
    }
    if let Some(options) = remote {
        check_server(options);
    }

    println!();
    println!("files");
    println!(
        "  sessions: {}",
        fsutil::data_dir().join("sessions").display()
    );
    println!("  log: {}", fsutil::state_dir().join("omost.log").display());
    let config = crate::config::config_dir();
    let file = config.join("config.toml");
    let state = match crate::config::Config::load(&file, false) {
        Ok(_) if file.is_file() => "read".to_owned(),
        Ok(_) => "none (optional)".to_owned(),
        Err(e) => format!("ERROR {e}"),
    };
    println!("  config: {} — {state}", file.display());
    println!("  user themes: {}", config.join("themes").display());
    Ok(())
}
