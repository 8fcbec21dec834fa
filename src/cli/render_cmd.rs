//! `omost render CANVAS --sdxl PATH -o OUT.png`: a canvas to an image with SDXL, progress on stderr,
//! Ctrl-C stopping cleanly (nothing written), the PNG carrying its parameters and canvas. CANVAS may be
//! a PNG we wrote: its canvas and settings are the starting point, and flags override them. `--noise`
//! starts from a given noise, `--save-noise` keeps the one used.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Instant;

use candle_core::{DType, Device};

use super::canvas_cmd;
use super::output::write_atomic;
use super::{CliError, CliResult};
use crate::canvas;
use crate::render::metadata::{
    self, device_label, dtype_label, prompt_text, save_png, NoiseRecord, RenderRecord, StoredRender,
};
use crate::render::noise_file::{self, Noise};
use crate::render::pipeline::{
    Conditioning, Hires, Pooled, RenderError, RenderSettings, Renderer, Stage, TextEncoders,
    DEFAULT_NEGATIVE,
};
use crate::render::sampler::Sampler;
use crate::render::weights::{SdxlSource, SdxlWeights};

/// What `omost render` was asked to do.
pub struct RenderOptions {
    /// A canvas source, or a PNG we wrote.
    pub canvas: String,
    /// The SDXL; by default the one a PNG names.
    pub sdxl: Option<String>,
    pub output: PathBuf,
    pub overrides: Overrides,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// `f32`, `f16` or `bf16`; by default a PNG's, else f32 on the CPU and f16 on a GPU.
    pub dtype: Option<String>,
    /// Start from this noise file instead of the seed's noise.
    pub noise: Option<PathBuf>,
    /// Write the noise the render started from here.
    pub save_noise: Option<PathBuf>,
}

/// Settings given on the command line; each wins over a PNG's, which win over Omost's defaults.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub width: Option<usize>,
    pub height: Option<usize>,
    pub steps: Option<usize>,
    pub cfg: Option<f64>,
    pub seed: Option<u64>,
    pub negative: Option<String>,
    pub sampler: Option<Sampler>,
    pub hires_scale: Option<f64>,
    pub hires_steps: Option<usize>,
    pub hires_denoise: Option<f64>,
    /// `Some(0)` turns a PNG's sketch start off.
    pub from_sketch: Option<f64>,
    pub pooled: Option<Pooled>,
}

impl Overrides {
    /// The settings, negative prompt and pooled mode: these overrides over `base` (a PNG's record) or
    /// over Omost's defaults.
    pub fn apply(&self, base: Option<&StoredRender>) -> (RenderSettings, String, Pooled) {
        let defaults = RenderSettings::default();
        let b = base.map(|b| &b.settings).unwrap_or(&defaults);
        let base_hires = b.hires.unwrap_or_default();
        let scale = self.hires_scale.unwrap_or(base_hires.scale);
        let hires_steps = self.hires_steps.unwrap_or(base_hires.steps);
        let denoise = self.hires_denoise.unwrap_or(base_hires.denoise);
        let settings = RenderSettings {
            width: self.width.unwrap_or(b.width),
            height: self.height.unwrap_or(b.height),
            steps: self.steps.unwrap_or(b.steps),
            cfg: self.cfg.unwrap_or(b.cfg),
            seed: self.seed.unwrap_or(b.seed),
            sampler: self.sampler.unwrap_or(b.sampler),
            hires: hires(scale, hires_steps, denoise),
            from_sketch: match self.from_sketch {
                Some(0.0) => None,
                Some(x) => Some(x),
                None => b.from_sketch,
            },
            tiling: None,
        };
        let negative = self
            .negative
            .clone()
            .or(base.map(|b| b.negative.clone()))
            .unwrap_or_else(|| DEFAULT_NEGATIVE.to_owned());
        let pooled = self
            .pooled
            .or(base.map(|b| b.pooled))
            .unwrap_or(Pooled::Projected);
        (settings, negative, pooled)
    }
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
        // A CUDA build on a machine without a usable GPU renders on the CPU, and says why.
        "auto" if cfg!(feature = "cuda") => Ok(Device::new_cuda(0).unwrap_or_else(|e| {
            crate::note!(
                "note: no usable CUDA device ({}); rendering on the CPU",
                crate::render::clip::first_line(&e)
            );
            Device::Cpu
        })),
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
            return bad(format!(
                "--from-sketch must be in (0, 1] (0 turns it off), got {x}"
            ));
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

/// A `--noise` file read and checked against the render's size.
struct GivenNoise {
    noise: Noise,
    record: NoiseRecord,
}

/// Reads `path` and checks it is `[1, 4, H/8, W/8]` float32 for `settings`.
fn read_noise(path: &Path, settings: &RenderSettings) -> Result<GivenNoise, CliError> {
    let name = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        CliError::input(format!(
            "cannot read {name}: {}",
            crate::fsutil::io_reason(&e)
        ))
    })?;
    let noise = noise_file::decode(&bytes).map_err(|e| CliError::input(format!("{name}: {e}")))?;
    let expected = [1, 4, settings.height / 8, settings.width / 8];
    if noise.shape != expected {
        return Err(CliError::input(format!(
            "{name}: shape {:?} does not fit a {}×{} render: expected {expected:?} ([1, 4, H/8, W/8])",
            noise.shape, settings.width, settings.height
        )));
    }
    if let Some(bad) = noise.values.iter().find(|v| !v.is_finite()) {
        return Err(CliError::input(format!(
            "{name}: holds a non-finite value ({bad})"
        )));
    }
    let record = NoiseRecord {
        file: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: noise_file::sha256_hex(&bytes),
    };
    Ok(GivenNoise { noise, record })
}

/// One line saying where a re-render starts from, with notes on what will differ.
fn describe_reuse(
    path: &str,
    stored: &StoredRender,
    settings: &RenderSettings,
    device: &str,
    noise_given: bool,
) {
    crate::note!(
        "from {path}: {}×{} · {} steps · cfg {} · seed {} · {}{}",
        settings.width,
        settings.height,
        settings.steps,
        settings.cfg,
        settings.seed,
        settings.sampler.name(),
        if settings.hires.is_some() {
            " · hi-res"
        } else {
            ""
        }
    );
    if let Some(n) = stored.noise.as_ref().filter(|_| !noise_given) {
        crate::note!(
            "note: {path} started from an external noise ({}, sha256 {}); without --noise this render starts from the seed's",
            n.file, n.sha256
        );
    }
    if let Some(was) = stored.device.as_deref().filter(|&d| d != device) {
        crate::note!(
            "note: {path} was rendered on {was}; on {device} the pixels may differ slightly"
        );
    }
}

/// Runs `omost render`.
pub fn render(opts: RenderOptions) -> CliResult {
    let (parsed_canvas, png) = canvas_cmd::load_source(&opts.canvas)?;
    let stored = png
        .map(|bytes| metadata::read_render(&bytes))
        .transpose()
        .map_err(|e| CliError::input(format!("{}: {e}", opts.canvas)))?;
    let (settings, negative, pooled) = opts.overrides.apply(stored.as_ref());
    check_settings(&settings)?;
    let sdxl = match (opts.sdxl, stored.as_ref()) {
        (Some(s), _) => s,
        (None, Some(StoredRender { sdxl: Some(s), .. })) => s.clone(),
        (None, Some(_)) => {
            return Err(CliError::input(format!(
                "{} does not say which SDXL made it; pass --sdxl",
                opts.canvas
            )))
        }
        (None, None) => {
            return Err(CliError::input(
                "--sdxl is required (a folder, a .safetensors file or a Hugging Face repo id)",
            ))
        }
    };
    let conditions = parsed_canvas
        .conditions()
        .map_err(|e| CliError::input(format!("{}: {e}", opts.canvas)))?;
    let sketch = match settings.from_sketch {
        Some(_) => Some(
            parsed_canvas
                .sketch()
                .map_err(|e| CliError::input(format!("{}: {e}", opts.canvas)))?,
        ),
        None => None,
    };
    check_output_dir(&opts.output)?;
    if let Some(path) = &opts.save_noise {
        check_output_dir(path)?;
    }
    let given = opts
        .noise
        .as_deref()
        .map(|p| read_noise(p, &settings))
        .transpose()?;
    let device = parse_device(&opts.device)?;
    let stored_dtype = stored
        .as_ref()
        .filter(|s| s.device.as_deref() == Some(device_label(&device).as_str()))
        .and_then(|s| s.dtype.clone());
    let dtype = parse_dtype(opts.dtype.as_deref().or(stored_dtype.as_deref()), &device)?;
    if let Some(stored) = &stored {
        describe_reuse(
            &opts.canvas,
            stored,
            &settings,
            &device_label(&device),
            given.is_some(),
        );
    }
    let vae_dtype = if dtype == DType::F32 {
        DType::F32
    } else {
        DType::BF16
    };
    let interrupted = super::chat_cmd::interrupt_flag();
    let started = Instant::now();

    let source = SdxlSource::resolve(&sdxl).map_err(CliError::input)?;
    let model = source.model_name();
    let weights = SdxlWeights::open(source).map_err(CliError::input)?;
    crate::note!("encoding {} conditions", conditions.len());
    // The text encoders are dropped once the canvas is encoded, before the UNet is loaded.
    let conditioning = {
        let encoders = TextEncoders::load(&weights, dtype, &device).map_err(CliError::input)?;
        Conditioning::from_canvas(&encoders, &conditions, &negative, pooled).map_err(|e| {
            CliError::runtime(format!(
                "text encoding failed: {}",
                crate::render::clip::first_line(&e)
            ))
        })?
    };
    let renderer = Renderer::load(&weights, dtype, vae_dtype, &device).map_err(CliError::input)?;
    crate::note!(
        "models ready in {:.1} s on {}",
        started.elapsed().as_secs_f64(),
        describe(&device, dtype)
    );

    let start_noise = given
        .as_ref()
        .map(|g| {
            candle_core::Tensor::from_slice(&g.noise.values, g.noise.shape.as_slice(), &Device::Cpu)
        })
        .transpose()
        .map_err(|e| CliError::runtime(format!("cannot use the noise: {e}")))?;
    let mut progress = Progress {
        tty: std::io::stderr().is_terminal(),
        started: None,
    };
    let sampling_started = Instant::now();
    let rendered = renderer.render_from_noise(
        &conditioning,
        sketch.as_ref(),
        &settings,
        start_noise.as_ref(),
        &mut |stage| {
            progress.show(stage);
            !interrupted.load(Ordering::Relaxed)
        },
    );
    let rendered = match rendered {
        Ok(r) => r,
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
    if let Some(path) = &opts.save_noise {
        save_noise(path, &rendered.noise)?;
    }
    let record = RenderRecord {
        settings: &settings,
        prompt: prompt_text(&conditions),
        negative: &negative,
        pooled,
        model,
        sdxl,
        device: device_label(&device),
        dtype: dtype_label(dtype),
        canvas_json: canvas::to_json(&parsed_canvas),
        noise: given.map(|g| g.record),
    };
    let image = &rendered.image;
    save_png(&opts.output, image, &record).map_err(CliError::runtime)?;
    crate::note!(
        "wrote {} ({}×{}) · sampling and decoding {:.1} s · total {:.1} s",
        opts.output.display(),
        image.width,
        image.height,
        sampling_started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes the start noise in the format `path`'s name asks for.
fn save_noise(path: &Path, noise: &candle_core::Tensor) -> CliResult {
    let fail = |e: String| CliError::runtime(format!("cannot save the noise: {e}"));
    let noise = Noise {
        shape: noise.dims().to_vec(),
        values: noise
            .flatten_all()
            .and_then(|t| t.to_dtype(DType::F32))
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| fail(e.to_string()))?,
    };
    let bytes = noise_file::encode(&noise, noise_file::Format::for_path(path)).map_err(fail)?;
    write_atomic(path, &bytes)?;
    crate::note!("wrote the start noise to {}", path.display());
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
