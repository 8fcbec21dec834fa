//! `omost`: the command line. Parses arguments and hands each subcommand to `omost_tui::cli`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use omost_tui::cli::canvas_cmd::{self, GridOptions};
use omost_tui::cli::grid::ColorMode;
use omost_tui::cli::{CliError, CliResult};

/// Compose images by chatting, in the terminal: an LLM writes an Omost canvas, you revise it, SDXL
/// renders it.
#[derive(Parser)]
#[command(name = "omost", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read, check and convert canvases (LLM replies, bare canvas code or canvas JSON).
    #[command(subcommand)]
    Canvas(CanvasCommand),
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

fn run(cli: Cli) -> CliResult {
    match cli.command {
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

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace over the user's terminal.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("error: internal error (please report): {msg}");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError { code, message }) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}
