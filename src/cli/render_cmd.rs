//! `omost render CANVAS --sdxl PATH -o OUT.png`: a canvas to an image with SDXL, progress on stderr,
//! Ctrl-C stopping cleanly (nothing written), the PNG carrying its parameters and canvas.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use candle_core::{DType, Device};

use super::canvas_cmd;
use super::output::write_atomic;
use super::{CliError, CliResult};
use crate::canvas;
use crate::render::metadata::{encode_png, prompt_text, RenderRecord};
use crate::render::pipeline::{
    Conditioning, Hires, Pooled, RenderError, RenderSettings, Renderer, Stage, TextEncoders,
};
use crate::render::weights::{SdxlSource, SdxlWeights};

/// What `omost render` was asked to do.
pub struct RenderOptions {
    pub canvas: String,
    pub sdxl: String,
    pub output: PathBuf,
    pub settings: RenderSettings,
    pub negative: String,
    pub pooled: Pooled,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// `f32`, `f16` or `bf16`; by default f32 on the CPU and f16 on a GPU.
    pub dtype: Option<String>,
}

/// Picks the device named on the command line.
pub fn parse_device(spec: &str) -> Result<Device, CliError> {
    let cuda = |n: usize| {
        Device::new_cuda(n).map_err(|e| {
            if cfg!(feature = "cuda") {
                CliError::runtime(format!("cannot use GPU {n}: {}", crate::render::clip::first_line(&e)))
            } else {
                CliError::input("this omost was built without CUDA; rebuild with `--features cuda` or use --device cpu")
            }
        })
    };
    match spec {
        "cpu" => Ok(Device::Cpu),
        "auto" if candle_core::utils::cuda_is_available() => cuda(0),
        "auto" => Ok(Device::Cpu),
        "cuda" => cuda(0),
        other => match other.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
            Some(n) => cuda(n),
            None => Err(CliError::input(format!(
                "--device must be auto, cpu, cuda or cuda:N, not `{other}`"
            ))),
        },
    }
}

/// The UNet dtype: `--dtype`, else f32 on the CPU and f16 on a GPU.
pub fn parse_dtype(spec: Option<&str>, device: &Device) -> Result<DType, CliError> {
    match spec {
        None if device.is_cpu() => Ok(DType::F32),
        None => Ok(DType::F16),
        Some("f32") => Ok(DType::F32),
        Some("f16") => Ok(DType::F16),
        Some("bf16") => Ok(DType::BF16),
        Some(other) => Err(CliError::input(format!(
            "--dtype must be f32, f16 or bf16, not `{other}`"
        ))),
    }
}

/// Checks render settings before any model loads (exit 2 with the flag's name).
pub fn check_settings(s: &RenderSettings) -> CliResult {
    let bad = |m: String| Err(CliError::input(m));
    for (name, v) in [("--width", s.width), ("--height", s.height)] {
        if v == 0 || v % 64 != 0 || v > 4096 {
            return bad(format!(
                "{name} must be a multiple of 64 from 64 to 4096, got {v}"
            ));
        }
    }
    if !(1..=1000).contains(&s.steps) {
        return bad(format!("--steps must be from 1 to 1000, got {}", s.steps));
    }
    if !(s.cfg.is_finite() && s.cfg > 0.0) {
        return bad(format!("--cfg must be positive, got {}", s.cfg));
    }
    if let Some(h) = s.hires {
        if !(1.0..=4.0).contains(&h.scale) {
            return bad(format!(
                "--hires-scale must be from 1 to 4, got {}",
                h.scale
            ));
        }
        if !(h.denoise > 0.0 && h.denoise <= 1.0) || h.steps == 0 {
            return bad("--hires-denoise must be in (0, 1] and --hires-steps at least 1".into());
        }
    }
    if let Some(x) = s.from_sketch {
        if !(x > 0.0 && x <= 1.0) {
            return bad(format!("--from-sketch must be in (0, 1], got {x}"));
        }
    }
    Ok(())
}

/// Draws the progress line: a bar on a terminal, one line per step otherwise.
struct Progress {
    tty: bool,
    started: Option<Instant>,
}

impl Progress {
    fn show(&mut self, stage: Stage) {
        let mut err = std::io::stderr().lock();
        match stage {
            Stage::Step { hires, step, steps } => {
                let started = *self.started.get_or_insert_with(Instant::now);
                if step == 1 {
                    self.started = Some(Instant::now());
                }
                let elapsed = started.elapsed().as_secs_f64();
                let rate = if step > 1 {
                    (step - 1) as f64 / elapsed
                } else {
                    0.0
                };
                let eta = if rate > 0.0 {
                    (steps - step) as f64 / rate
                } else {
                    0.0
                };
                let pass = if hires { "hi-res " } else { "" };
                if self.tty {
                    let width = 24;
                    let filled = width * step / steps.max(1);
                    let _ = write!(
                        err,
                        "\r{pass}[{}{}] step {step}/{steps} · {rate:.2} it/s · ETA {}:{:02}\x1b[K",
                        "#".repeat(filled),
                        ".".repeat(width - filled),
                        eta as u64 / 60,
                        eta as u64 % 60
                    );
                    if step == steps {
                        let _ = writeln!(err);
                    }
                } else {
                    let _ = writeln!(err, "{pass}step {step}/{steps} · {rate:.2} it/s");
                }
            }
            Stage::Decoding => {
                self.started = None;
                let _ = writeln!(err, "decoding");
            }
            Stage::Encoding => {
                self.started = None;
                let _ = writeln!(err, "encoding image");
            }
        }
    }
}

/// Runs `omost render`.
pub fn render(opts: RenderOptions) -> CliResult {
    check_settings(&opts.settings)?;
    let parsed_canvas = canvas_cmd::load(&opts.canvas)?;
    let conditions = parsed_canvas
        .conditions()
        .map_err(|e| CliError::input(format!("{}: {e}", opts.canvas)))?;
    let sketch = match opts.settings.from_sketch {
        Some(_) => Some(
            parsed_canvas
                .sketch()
                .map_err(|e| CliError::input(format!("{}: {e}", opts.canvas)))?,
        ),
        None => None,
    };
    check_output_dir(&opts.output)?;
    let device = parse_device(&opts.device)?;
    let dtype = parse_dtype(opts.dtype.as_deref(), &device)?;
    let vae_dtype = if dtype == DType::F32 {
        DType::F32
    } else {
        DType::BF16
    };
    let interrupted = super::chat_cmd::interrupt_flag();
    let started = Instant::now();

    let source = SdxlSource::resolve(&opts.sdxl).map_err(CliError::input)?;
    let model = source.model_name();
    let weights = SdxlWeights::open(source).map_err(CliError::input)?;
    eprintln!("encoding {} conditions", conditions.len());
    // The text encoders are dropped once the canvas is encoded, before the UNet is loaded.
    let conditioning = {
        let encoders = TextEncoders::load(&weights, dtype, &device).map_err(CliError::input)?;
        Conditioning::from_canvas(&encoders, &conditions, &opts.negative, opts.pooled).map_err(
            |e| {
                CliError::runtime(format!(
                    "text encoding failed: {}",
                    crate::render::clip::first_line(&e)
                ))
            },
        )?
    };
    let renderer = Renderer::load(&weights, dtype, vae_dtype, &device).map_err(CliError::input)?;
    eprintln!(
        "models ready in {:.1} s on {}",
        started.elapsed().as_secs_f64(),
        describe(&device, dtype)
    );

    let mut progress = Progress {
        tty: std::io::stderr().is_terminal(),
        started: None,
    };
    let sampling_started = Instant::now();
    let image = renderer.render(
        &conditioning,
        sketch.as_ref(),
        &opts.settings,
        &mut |stage| {
            progress.show(stage);
            !interrupted.load(Ordering::Relaxed)
        },
    );
    let image = match image {
        Ok(i) => i,
        Err(RenderError::Cancelled) => {
            return Err(CliError::runtime(format!(
                "interrupted; {} not written",
                opts.output.display()
            )));
        }
        Err(RenderError::Failed(m)) => {
            return Err(CliError::runtime(format!("render failed: {m}")))
        }
    };
    let record = RenderRecord {
        settings: &opts.settings,
        prompt: prompt_text(&conditions),
        negative: &opts.negative,
        pooled: opts.pooled,
        model,
        canvas_json: canvas::to_json(&parsed_canvas),
    };
    let png = encode_png(&image, &record).map_err(CliError::runtime)?;
    write_atomic(&opts.output, &png)?;
    eprintln!(
        "wrote {} ({}×{}) · sampling and decoding {:.1} s · total {:.1} s",
        opts.output.display(),
        image.width,
        image.height,
        sampling_started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Fails early (before minutes of rendering) when the output folder does not exist.
fn check_output_dir(out: &Path) -> CliResult {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if dir.is_dir() {
        Ok(())
    } else {
        Err(CliError::input(format!(
            "{}: folder does not exist",
            dir.display()
        )))
    }
}

fn describe(device: &Device, dtype: DType) -> String {
    let name = match device {
        Device::Cpu => "CPU".to_owned(),
        Device::Cuda(_) => "CUDA GPU".to_owned(),
        _ => "GPU".to_owned(),
    };
    format!("{name}, {dtype:?}")
}

/// Convenience for callers holding settings pieces: Omost's hi-res fix when `scale > 1.05`.
pub fn hires(scale: f64, steps: usize, denoise: f64) -> Option<Hires> {
    (scale > 1.0).then_some(Hires {
        scale,
        steps,
        denoise,
    })
}
