//! `omost`: the command line. Parses arguments and hands each subcommand to `omost_tui::cli`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use omost_tui::cli::canvas_cmd::{self, GridOptions};
use omost_tui::cli::chat_cmd::{self, ChatOptions};
use omost_tui::cli::dev_cmd;
use omost_tui::cli::grid::ColorMode;
use omost_tui::cli::llm_args::{engine_choice, RemoteArgs};
use omost_tui::cli::render_cmd;
use omost_tui::cli::{CliError, CliResult};
use omost_tui::llm::{LoadOptions, Sampling};
use omost_tui::render::pipeline::{Pooled, RenderSettings};
use omost_tui::render::sampler::Sampler;

/// Compose images by chatting, in the terminal: an LLM writes an Omost canvas, you revise it, SDXL
/// renders it. Without a subcommand, starts the terminal app.
#[derive(Parser)]
#[command(name = "omost", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    app: AppArgs,
}

/// The terminal app's options.
#[derive(clap::Args)]
struct AppArgs {
    /// The LLM: a GGUF file (Omost's fine-tunes, e.g. omost-llama-3-8b).
    #[arg(long, value_name = "MODEL.gguf")]
    llm: Option<PathBuf>,
    #[command(flatten)]
    remote: RemoteArgs,
    /// SDXL weights: a diffusers folder, a single .safetensors file, or a Hugging Face repo id in the
    /// local cache.
    #[arg(long, value_name = "PATH")]
    sdxl: Option<String>,
    /// Start from this canvas (LLM reply, canvas code, canvas JSON, or a PNG made by omost: its canvas
    /// and settings).
    #[arg(long, value_name = "FILE")]
    canvas: Option<String>,
    /// Colour theme: dark (default), light, high-contrast, or NAME.toml in ~/.config/omost-tui/themes/.
    #[arg(long)]
    theme: Option<String>,
    /// Where rendered images are saved (default: beside the session file).
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// Session name (or a .json path): continued when it exists, autosaved as you go. Default: a new
    /// session named by the date and time.
    #[arg(long, value_name = "NAME", conflicts_with = "resume")]
    session: Option<String>,
    /// Reopen a session: the given one, or the most recent.
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    resume: Option<String>,
    /// Renderer device: auto (default), cpu, cuda or cuda:N.
    #[arg(long)]
    device: Option<String>,
    /// Renderer precision: f32, f16 or bf16 (default: f32 on the CPU, f16 on a GPU).
    #[arg(long)]
    dtype: Option<String>,
    /// LLM layers to offload to the GPU (default: all on a GPU build).
    #[arg(long)]
    gpu_layers: Option<u32>,
    /// LLM context length in tokens (default 8192).
    #[arg(long)]
    ctx: Option<u32>,
    /// Image width for renders (multiple of 64; default 896).
    #[arg(long)]
    width: Option<usize>,
    /// Image height for renders (multiple of 64; default 1152).
    #[arg(long)]
    height: Option<usize>,
    /// Sampling steps for renders (default 25).
    #[arg(long)]
    steps: Option<usize>,
    /// Seed for renders (default 12345).
    #[arg(long)]
    seed: Option<u64>,
    /// Image protocol for the preview (default: ask the terminal).
    #[arg(long, value_enum)]
    image_protocol: Option<ImageProtocolArg>,
    /// Capture the mouse: the wheel scrolls the chat (stops the terminal's own select-to-copy).
    #[arg(long)]
    mouse: bool,
    /// Read defaults from this config file instead of ~/.config/omost-tui/config.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum ImageProtocolArg {
    Auto,
    Kitty,
    Sixel,
    Iterm2,
    Halfblocks,
}

#[derive(Subcommand)]
enum Command {
    /// Read, check and convert canvases (LLM replies, bare canvas code or canvas JSON).
    #[command(subcommand)]
    Canvas(CanvasCommand),
    /// Ask the local LLM for a canvas: the reply streams to stdout, figures go to stderr.
    Chat(ChatArgs),
    /// Render a canvas with SDXL (regional attention as Omost does it) to a PNG with metadata.
    Render(Box<RenderArgs>),
    /// What this build and this terminal support, which models are found, and whether the LLM server
    /// (--llm-url, or llm_url in the config file) answers.
    Doctor(DoctorArgs),
    /// Developer tools.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(clap::Args)]
struct RenderArgs {
    /// LLM reply, canvas code or canvas JSON (`-` for stdin); or a PNG written by omost, whose canvas
    /// and settings are used (every option below overrides the PNG's).
    canvas: String,
    /// SDXL weights: a diffusers folder, a single-file .safetensors, or a Hugging Face repo id in the
    /// local cache [default: the PNG's].
    #[arg(long)]
    sdxl: Option<String>,
    /// Output PNG.
    #[arg(short, long)]
    output: PathBuf,
    /// Image width in pixels (multiple of 64) [default: 896].
    #[arg(long)]
    width: Option<usize>,
    /// Image height in pixels (multiple of 64) [default: 1152].
    #[arg(long)]
    height: Option<usize>,
    /// Sampling steps [default: 25].
    #[arg(long)]
    steps: Option<usize>,
    /// Classifier-free guidance scale [default: 5].
    #[arg(long)]
    cfg: Option<f64>,
    /// Noise seed; the same seed gives the same image on any device [default: 12345].
    #[arg(long)]
    seed: Option<u64>,
    /// Negative prompt [default: "lowres, bad anatomy, bad hands, cropped, worst quality"].
    #[arg(long)]
    negative: Option<String>,
    /// Sampler [default: dpmpp-2m].
    #[arg(long, value_enum)]
    sampler: Option<SamplerArg>,
    /// Hi-res fix: upscale by this factor and denoise again (1 = off) [default: 1].
    #[arg(long)]
    hires_scale: Option<f64>,
    /// Hi-res fix steps [default: 20].
    #[arg(long)]
    hires_steps: Option<usize>,
    /// Hi-res fix denoising strength [default: 0.4].
    #[arg(long)]
    hires_denoise: Option<f64>,
    /// Start from the blurred canvas colour sketch, denoising this much (e.g. 0.95; 0 = off).
    #[arg(long, value_name = "STRENGTH")]
    from_sketch: Option<f64>,
    /// Pooled text vector: CLIP-G's projected embedding (as SDXL was trained) or Omost's unprojected
    /// one [default: projected].
    #[arg(long, value_enum)]
    pooled: Option<PooledArg>,
    /// auto, cpu, cuda or cuda:N.
    #[arg(long, default_value = "auto")]
    device: String,
    /// f32, f16 or bf16 (default: the PNG's on the same device, else f32 on the CPU and f16 on a GPU;
    /// the VAE runs in f32 or bf16).
    #[arg(long)]
    dtype: Option<String>,
    /// Start sampling from this noise instead of the seed's: float32 [1, 4, H/8, W/8] in a .npy file or
    /// a safetensors file (key `noise`, or its only tensor). The start is noise × the first σ.
    #[arg(long, value_name = "FILE")]
    noise: Option<PathBuf>,
    /// Write the noise this render starts from to FILE (.npy, or safetensors for any other name).
    #[arg(long, value_name = "FILE")]
    save_noise: Option<PathBuf>,
}

#[derive(clap::Args)]
struct DoctorArgs {
    #[command(flatten)]
    remote: RemoteArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum SamplerArg {
    #[value(name = "dpmpp-2m")]
    DpmPp2m,
    Euler,
    #[value(name = "dpmpp-2m-sde")]
    DpmPp2mSde,
}

#[derive(Clone, Copy, ValueEnum)]
enum PooledArg {
    Projected,
    Omost,
}

#[derive(Subcommand)]
enum DevCommand {
    /// Write a tiny random SDXL (diffusers folder DIR/diffusers and single file DIR/tiny-sdxl.safetensors).
    TinySdxl {
        dir: PathBuf,
        /// Seed for the weights.
        #[arg(long, default_value_t = omost_tui::render::tiny::SEED)]
        seed: u64,
    },
    /// Write SDXL base in its real shapes with random fp16 weights, as a diffusers folder (7 GB), for
    /// speed measurements.
    RandomSdxl {
        dir: PathBuf,
        /// The tiny topology instead of the real one.
        #[arg(long)]
        tiny: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Run llama.cpp's llama-bench built into this binary (`--features llama-bench`) with ARGS.
    LlamaBench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Write a Llama GGUF of a real shape with random Q4_K_M weights, for speed measurements.
    RandomGguf {
        out: PathBuf,
        /// A GGUF whose tokenizer to copy (a vocab-only file is enough).
        #[arg(long, value_name = "GGUF")]
        vocab: PathBuf,
        /// `llama3-8b` or `tiny`.
        #[arg(long, default_value = "llama3-8b")]
        shape: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("engine").required(true).args(["llm", "llm_url"])))]
struct ChatArgs {
    /// The GGUF model (an Omost fine-tune for real canvases).
    #[arg(long, value_name = "PATH")]
    llm: Option<PathBuf>,
    #[command(flatten)]
    remote: RemoteArgs,
    /// The request; read from stdin when absent.
    prompt: Option<String>,
    /// Write the canvas here: JSON for .json, canonical Omost code otherwise.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Continue a saved conversation (a name, or a path ending in .json); the reply is added to it.
    #[arg(long, value_name = "NAME")]
    session: Option<String>,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.6)]
    temperature: f32,
    #[arg(long, default_value_t = 0.9)]
    top_p: f32,
    #[arg(long, default_value_t = 50)]
    top_k: i32,
    #[arg(long, default_value_t = 12345)]
    seed: u32,
    /// Most tokens in the reply.
    #[arg(long, default_value_t = 4096)]
    max_tokens: usize,
    /// Let the model write freely instead of constraining it to a canvas.
    #[arg(long)]
    no_grammar: bool,
    /// Layers to offload to the GPU (default: all, on a GPU build).
    #[arg(long)]
    gpu_layers: Option<u32>,
    /// Context length in tokens.
    #[arg(long, default_value_t = 8192)]
    ctx: u32,
    /// CPU threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Use this llama.cpp chat template (llama3, chatml, phi3, …) instead of the model's own.
    #[arg(long, value_name = "NAME")]
    chat_template: Option<String>,
}

#[derive(Subcommand)]
enum CanvasCommand {
    /// Print the conditions Omost would render, global first, then regions far → near.
    Inspect {
        /// LLM reply (markdown with a ```python block), canvas code or canvas JSON; `-` for stdin.
        file: String,
        /// Print the conditions as JSON (ComfyUI_omost's condition list).
        #[arg(long)]
        json: bool,
    },
    /// Write Omost's 90×90 colour sketch as a PNG.
    Sketch {
        /// LLM reply, canvas code or canvas JSON; `-` for stdin.
        file: String,
        /// Output PNG.
        #[arg(short, long)]
        output: PathBuf,
        /// Enlarge each grid cell to N×N pixels.
        #[arg(long, default_value_t = 1)]
        scale: u32,
    },
    /// Print the canvas as canonical Omost code (parses back to the same canvas).
    Fmt {
        /// LLM reply, canvas code or canvas JSON; `-` for stdin.
        file: String,
        /// Print our canvas JSON instead of code.
        #[arg(long)]
        json: bool,
    },
    /// Draw the canvas as a coloured 3×3 grid, regions painted far → near.
    Grid {
        /// LLM reply, canvas code or canvas JSON; `-` for stdin.
        file: String,
        /// Width of the drawing in terminal columns.
        #[arg(long, default_value_t = 60)]
        columns: usize,
        /// Height in rows (default: from --columns and --aspect).
        #[arg(long)]
        rows: Option<usize>,
        /// Image size whose aspect ratio the drawing keeps, as WIDTHxHEIGHT.
        #[arg(long, default_value = "896x1152", value_parser = parse_size)]
        aspect: (u32, u32),
        /// Colours: auto (truecolor or 256 on a terminal, none otherwise or with NO_COLOR).
        #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
        color: ColorArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorArg {
    Auto,
    Truecolor,
    #[value(name = "256")]
    Palette256,
    Never,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got {s:?}"))?;
    let num = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("expected WIDTHxHEIGHT, got {s:?}"))
    };
    Ok((num(w)?, num(h)?))
}

fn tui(a: AppArgs) -> CliResult {
    let config_path = a
        .config
        .clone()
        .unwrap_or_else(|| omost_tui::config::config_dir().join("config.toml"));
    let cfg = omost_tui::config::Config::load(&config_path, a.config.is_some())
        .map_err(CliError::input)?;
    // Flags win over an opened PNG's settings, which win over the config file's.
    let flag_settings = (a.width, a.height, a.steps, a.seed);
    // An engine named by a flag replaces the config file's, whichever kind it is.
    let (flag_llm, flag_url) = (a.llm.is_some(), a.remote.llm_url.is_some());
    let mut remote = a.remote.clone().or_config(&cfg);
    if flag_llm && !flag_url {
        remote.llm_url = None;
    }
    let a = AppArgs {
        llm: if flag_url {
            a.llm
        } else {
            a.llm.or(cfg.llm.clone())
        },
        remote,
        sdxl: a.sdxl.or(cfg.sdxl),
        theme: a.theme.or(cfg.theme),
        device: a.device.or(cfg.device),
        dtype: a.dtype.or(cfg.dtype),
        gpu_layers: a.gpu_layers.or(cfg.gpu_layers),
        ctx: a.ctx.or(cfg.ctx),
        width: a.width.or(cfg.width),
        height: a.height.or(cfg.height),
        steps: a.steps.or(cfg.steps),
        seed: a.seed.or(cfg.seed),
        mouse: a.mouse || cfg.mouse.unwrap_or(false),
        image_protocol: match (a.image_protocol, cfg.image_protocol) {
            (Some(p), _) => Some(p),
            (None, Some(name)) => Some(ImageProtocolArg::from_str(&name, true).map_err(|_| {
                CliError::input(format!(
                    "{}: image_protocol must be auto, kitty, sixel, iterm2 or halfblocks",
                    config_path.display()
                ))
            })?),
            (None, None) => None,
        },
        ..a
    };
    let keymap = omost_tui::tui::keymap::Keymap::with_overrides(
        &cfg.keys.clone().unwrap_or_default(),
        &config_path,
    )
    .map_err(CliError::input)?;
    let (canvas, opened) = match a.canvas.as_deref() {
        Some(path) => {
            let (canvas, png) = canvas_cmd::load_source(path)?;
            let stored = png
                .map(|bytes| omost_tui::render::metadata::read_render(&bytes))
                .transpose()
                .map_err(|e| CliError::input(format!("{path}: {e}")))?;
            (Some(canvas), stored)
        }
        None => (None, None),
    };
    let device = render_cmd::parse_device(a.device.as_deref().unwrap_or("auto"))?;
    let dtype = render_cmd::parse_dtype(a.dtype.as_deref(), &device)?;
    let themes = omost_tui::config::config_dir().join("themes");
    let theme = omost_tui::tui::theme::Theme::load(
        a.theme.as_deref().unwrap_or("dark"),
        Some(&themes),
        omost_tui::tui::truecolor(),
    )
    .map_err(CliError::input)?;
    let settings = match &opened {
        Some(stored) => {
            let (width, height, steps, seed) = flag_settings;
            let s = &stored.settings;
            RenderSettings {
                width: width.unwrap_or(s.width),
                height: height.unwrap_or(s.height),
                steps: steps.unwrap_or(s.steps),
                seed: seed.unwrap_or(s.seed),
                ..s.clone()
            }
        }
        None => {
            let defaults = RenderSettings::default();
            RenderSettings {
                width: a.width.unwrap_or(defaults.width),
                height: a.height.unwrap_or(defaults.height),
                steps: a.steps.unwrap_or(defaults.steps),
                seed: a.seed.unwrap_or(defaults.seed),
                ..defaults
            }
        }
    };
    render_cmd::check_settings(&settings)?;
    let llm = engine_choice(
        a.llm,
        LoadOptions {
            gpu_layers: a.gpu_layers,
            ctx: a.ctx.unwrap_or(LoadOptions::default().ctx),
            ..LoadOptions::default()
        },
        a.remote.options()?,
    )
    .map_err(|e| match flag_llm && flag_url {
        true => e,
        false => CliError::input(format!(
            "{}: llm and llm_url are both set",
            config_path.display()
        )),
    })?;
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return Err(CliError::input("the terminal app needs a terminal; for scripts use `omost chat`, `omost render` or `omost canvas`"));
    }
    let session = match (&a.resume, &a.session) {
        (Some(name), _) if name.is_empty() => omost_tui::session::latest_session()
            .ok_or_else(|| CliError::input("no saved session to resume"))?,
        (Some(name), _) => {
            let path = omost_tui::session::session_path(name)
                .map_err(|e| CliError::input(e.to_string()))?;
            if !path.is_file() {
                return Err(CliError::input(format!(
                    "no session {name} ({})",
                    path.display()
                )));
            }
            path
        }
        (None, Some(name)) => {
            omost_tui::session::session_path(name).map_err(|e| CliError::input(e.to_string()))?
        }
        (None, None) => omost_tui::session::session_path(&omost_tui::session::new_session_name())
            .map_err(|e| CliError::input(e.to_string()))?,
    };
    omost_tui::tui::run(omost_tui::tui::TuiOptions {
        settings,
        llm,
        sdxl: a.sdxl,
        device,
        dtype,
        canvas,
        theme,
        images: a.images,
        session,
        mouse: a.mouse,
        keymap,
        negative: opened.map(|s| s.negative),
        image_protocol: match a.image_protocol {
            None | Some(ImageProtocolArg::Auto) => None,
            Some(ImageProtocolArg::Kitty) => Some(ratatui_image::picker::ProtocolType::Kitty),
            Some(ImageProtocolArg::Sixel) => Some(ratatui_image::picker::ProtocolType::Sixel),
            Some(ImageProtocolArg::Iterm2) => Some(ratatui_image::picker::ProtocolType::Iterm2),
            Some(ImageProtocolArg::Halfblocks) => {
                Some(ratatui_image::picker::ProtocolType::Halfblocks)
            }
        },
    })
}

fn run(cli: Cli) -> CliResult {
    let Some(command) = cli.command else {
        return tui(cli.app);
    };
    match command {
        Command::Chat(a) => chat_cmd::chat(ChatOptions {
            engine: engine_choice(
                a.llm,
                LoadOptions {
                    gpu_layers: a.gpu_layers,
                    ctx: a.ctx,
                    threads: a.threads,
                    chat_template: a.chat_template,
                },
                a.remote.options()?,
            )?
            .ok_or_else(|| CliError::input("give --llm or --llm-url"))?,
            prompt: a.prompt,
            out: a.out,
            session: a.session,
            sampling: Sampling {
                temperature: a.temperature,
                top_p: a.top_p,
                top_k: a.top_k,
                max_tokens: a.max_tokens,
                seed: a.seed,
                grammar: !a.no_grammar,
            },
        }),
        Command::Render(a) => render_cmd::render(render_options(*a)),
        Command::Doctor(a) => {
            // The config file's server, unless flags name one; a broken config is reported below.
            let file = omost_tui::config::config_dir().join("config.toml");
            let cfg = omost_tui::config::Config::load(&file, false).unwrap_or_default();
            let remote = a.remote.or_config(&cfg).options()?;
            omost_tui::cli::doctor::doctor(remote.as_ref())
        }
        Command::Dev(cmd) => match cmd {
            DevCommand::TinySdxl { dir, seed } => dev_cmd::tiny_sdxl(&dir, seed),
            DevCommand::RandomSdxl { dir, tiny, seed } => dev_cmd::random_sdxl(&dir, tiny, seed),
            DevCommand::LlamaBench { args } => dev_cmd::llama_bench(&args),
            DevCommand::RandomGguf {
                out,
                vocab,
                shape,
                seed,
            } => dev_cmd::random_gguf(&out, &shape, &vocab, seed),
        },
        Command::Canvas(cmd) => match cmd {
            CanvasCommand::Inspect { file, json } => canvas_cmd::inspect(&file, json),
            CanvasCommand::Sketch {
                file,
                output,
                scale,
            } => canvas_cmd::sketch(&file, &output, scale),
            CanvasCommand::Fmt { file, json } => canvas_cmd::fmt(&file, json),
            CanvasCommand::Grid {
                file,
                columns,
                rows,
                aspect,
                color,
            } => {
                let color = match color {
                    ColorArg::Auto => None,
                    ColorArg::Truecolor => Some(ColorMode::TrueColor),
                    ColorArg::Palette256 => Some(ColorMode::Palette256),
                    ColorArg::Never => Some(ColorMode::Plain),
                };
                canvas_cmd::grid(
                    &file,
                    &GridOptions {
                        columns,
                        rows,
                        aspect,
                        color,
                    },
                )
            }
        },
    }
}

fn render_options(a: RenderArgs) -> render_cmd::RenderOptions {
    render_cmd::RenderOptions {
        canvas: a.canvas,
        sdxl: a.sdxl,
        output: a.output,
        overrides: render_cmd::Overrides {
            width: a.width,
            height: a.height,
            steps: a.steps,
            cfg: a.cfg,
            seed: a.seed,
            negative: a.negative,
            sampler: a.sampler.map(|s| match s {
                SamplerArg::DpmPp2m => Sampler::DpmPp2m,
                SamplerArg::Euler => Sampler::Euler,
                SamplerArg::DpmPp2mSde => Sampler::DpmPp2mSde,
            }),
            hires_scale: a.hires_scale,
            hires_steps: a.hires_steps,
            hires_denoise: a.hires_denoise,
            from_sketch: a.from_sketch,
            pooled: a.pooled.map(|p| match p {
                PooledArg::Projected => Pooled::Projected,
                PooledArg::Omost => Pooled::Omost,
            }),
        },
        device: a.device,
        dtype: a.dtype,
        noise: a.noise,
        save_noise: a.save_noise,
    }
}

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace over the user's terminal.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        omost_tui::note!("error: internal error (please report): {msg}");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError { code, message }) => {
            omost_tui::note!("error: {message}");
            ExitCode::from(code)
        }
    }
}
