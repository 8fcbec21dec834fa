//! The PNG we write: the image plus text chunks that make it reproducible and reopenable — an
//! AUTOMATIC1111-style `parameters` chunk (read by most image tools and sites), the canvas as our JSON
//! (`omost-canvas`) and the render settings (`omost-render`).

use candle_core::{DType, Device, DeviceLocation};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::image::RgbImage;
use super::pipeline::{Hires, Pooled, RenderSettings};
use super::sampler::Sampler;

/// What went into an image besides the canvas.
pub struct RenderRecord<'a> {
    pub settings: &'a RenderSettings,
    /// The global condition's text, as the prompt line of `parameters`.
    pub prompt: String,
    pub negative: &'a str,
    pub pooled: Pooled,
    /// The model's name (folder, file or repo id).
    pub model: String,
    /// The SDXL as it was named (`--sdxl`: folder, file or repo id), to open it again.
    pub sdxl: String,
    /// Where it ran and in what precision: `cpu`, `cuda:0`; `f32`, `f16`, `bf16`.
    pub device: String,
    pub dtype: String,
    /// Canonical canvas JSON.
    pub canvas_json: String,
    /// The external start noise, when one was given.
    pub noise: Option<NoiseRecord>,
}

/// An external start noise (`--noise`), as the PNG records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoiseRecord {
    /// The file's name (without its folder).
    pub file: String,
    /// The file's sha256, as `sha256sum` prints it.
    pub sha256: String,
}

/// A device as the PNG records it: `cpu`, `cuda:N`, `metal:N`.
pub fn device_label(device: &Device) -> String {
    match device.location() {
        DeviceLocation::Cpu => "cpu".into(),
        DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

/// A dtype as the PNG and the command line write it: `f32`, `f16`, `bf16`.
pub fn dtype_label(dtype: DType) -> String {
    format!("{dtype:?}").to_lowercase()
}

/// The prompt line of `parameters`: the global condition's prefixes and suffixes, as SDXL reads them.
pub fn prompt_text(conditions: &[crate::canvas::Condition]) -> String {
    conditions
        .first()
        .map(|c| {
            c.prefixes
                .iter()
                .chain(&c.suffixes)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn sampler_label(s: Sampler) -> &'static str {
    match s {
        Sampler::DpmPp2m => "DPM++ 2M Karras",
        Sampler::Euler => "Euler Karras",
        Sampler::DpmPp2mSde => "DPM++ 2M SDE Karras",
    }
}

/// A1111's `parameters` text: prompt, `Negative prompt: …`, then `Key: value` pairs.
pub fn parameters_text(r: &RenderRecord) -> String {
    let s = r.settings;
    let mut fields = vec![
        format!("Steps: {}", s.steps),
        format!("Sampler: {}", sampler_label(s.sampler)),
        format!("CFG scale: {}", s.cfg),
        format!("Seed: {}", s.seed),
        format!("Size: {}x{}", s.width, s.height),
        format!("Model: {}", r.model),
    ];
    if let Some(strength) = s.from_sketch {
        fields.push(format!("Sketch denoising strength: {strength}"));
    }
    if let Some(h) = s.hires.filter(|h| h.scale > 1.05) {
        fields.push(format!("Hires upscale: {}", h.scale));
        fields.push(format!("Hires steps: {}", h.steps));
        fields.push("Hires upscaler: Lanczos".to_owned());
        fields.push(format!("Denoising strength: {}", h.denoise));
    }
    if let Some(n) = &r.noise {
        fields.push(format!("Initial noise: sha256 {}", n.sha256));
    }
    fields.push(format!("Version: omost-tui {}", env!("CARGO_PKG_VERSION")));
    format!(
        "{}\nNegative prompt: {}\n{}",
        r.prompt,
        r.negative,
        fields.join(", ")
    )
}

/// The settings as JSON, enough to render the same image again.
pub fn settings_json(r: &RenderRecord) -> String {
    let s = r.settings;
    json!({
        "format": 1,
        "width": s.width,
        "height": s.height,
        "steps": s.steps,
        "cfg": s.cfg,
        "seed": s.seed,
        "sampler": s.sampler.name(),
        "negative": r.negative,
        "pooled": r.pooled.name(),
        "from_sketch": s.from_sketch,
        "hires": s.hires.map(|h| json!({"scale": h.scale, "steps": h.steps, "denoise": h.denoise})),
        "model": r.model,
        "sdxl": r.sdxl,
        "device": r.device,
        "dtype": r.dtype,
        "noise": r.noise,
    })
    .to_string()
}

/// How a PNG we wrote was made, read back from its `omost-render` chunk.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRender {
    pub settings: RenderSettings,
    pub negative: String,
    pub pooled: Pooled,
    pub model: Option<String>,
    pub sdxl: Option<String>,
    pub device: Option<String>,
    pub dtype: Option<String>,
    pub noise: Option<NoiseRecord>,
}

/// The `omost-render` JSON; fields added after format 1's first images are optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsJson {
    format: u32,
    width: usize,
    height: usize,
    steps: usize,
    cfg: f64,
    seed: u64,
    sampler: String,
    negative: String,
    pooled: String,
    from_sketch: Option<f64>,
    hires: Option<HiresJson>,
    model: Option<String>,
    #[serde(default)]
    sdxl: Option<String>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    dtype: Option<String>,
    #[serde(default)]
    noise: Option<NoiseRecord>,
}

#[derive(Deserialize)]
struct HiresJson {
    scale: f64,
    steps: usize,
    denoise: f64,
}

/// Parses the `omost-render` settings JSON.
pub fn parse_settings_json(text: &str) -> Result<StoredRender, String> {
    let j: SettingsJson =
        serde_json::from_str(text).map_err(|e| format!("damaged omost-render metadata: {e}"))?;
    if j.format != 1 {
        return Err(format!(
            "omost-render metadata format {} is newer than this omost understands (1)",
            j.format
        ));
    }
    let sampler = Sampler::from_name(&j.sampler)
        .ok_or_else(|| format!("unknown sampler `{}` in the metadata", j.sampler))?;
    let pooled = Pooled::from_name(&j.pooled)
        .ok_or_else(|| format!("unknown pooled mode `{}` in the metadata", j.pooled))?;
    Ok(StoredRender {
        settings: RenderSettings {
            width: j.width,
            height: j.height,
            steps: j.steps,
            cfg: j.cfg,
            seed: j.seed,
            sampler,
            hires: j.hires.map(|h| Hires {
                scale: h.scale,
                steps: h.steps,
                denoise: h.denoise,
            }),
            from_sketch: j.from_sketch,
            tiling: None,
        },
        negative: j.negative,
        pooled,
        model: j.model,
        sdxl: j.sdxl,
        device: j.device,
        dtype: j.dtype,
        noise: j.noise,
    })
}

/// Whether `bytes` start like a PNG file.
pub fn is_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

fn chunk(png_bytes: &[u8], key: &str) -> Result<String, String> {
    read_text_chunks(png_bytes)?
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| {
            format!("this PNG carries no {key} metadata (only images written by `omost render` or the terminal app do)")
        })
}

/// The canvas JSON a PNG we wrote carries.
pub fn read_canvas_json(png_bytes: &[u8]) -> Result<String, String> {
    chunk(png_bytes, "omost-canvas")
}

/// A PNG we wrote: its canvas and how it was rendered.
pub fn open_png(bytes: &[u8]) -> Result<(crate::canvas::Canvas, StoredRender), String> {
    if !is_png(bytes) {
        return Err("not a PNG".into());
    }
    let canvas = crate::canvas::parse(&read_canvas_json(bytes)?)
        .map_err(|e| format!("its canvas does not parse: {e}"))?
        .canvas;
    Ok((canvas, read_render(bytes)?))
}

/// The settings a PNG we wrote carries.
pub fn read_render(png_bytes: &[u8]) -> Result<StoredRender, String> {
    parse_settings_json(&chunk(png_bytes, "omost-render")?)
}

/// Encodes `image` as PNG with the three metadata chunks.
pub fn encode_png(image: &RgbImage, record: &RenderRecord) -> Result<Vec<u8>, String> {
    let fail = |e: png::EncodingError| format!("cannot encode PNG: {e}");
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, image.width as u32, image.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        // tEXt is Latin-1; anything else goes in iTXt (UTF-8), which A1111's reader also accepts.
        let mut text = |key: &str, value: String| {
            if value.is_ascii() {
                encoder.add_text_chunk(key.to_owned(), value)
            } else {
                encoder.add_itxt_chunk(key.to_owned(), value)
            }
        };
        text("parameters", parameters_text(record)).map_err(fail)?;
        text("omost-canvas", record.canvas_json.clone()).map_err(fail)?;
        text("omost-render", settings_json(record)).map_err(fail)?;
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(&image.pixels).map_err(fail)?;
    }
    Ok(bytes)
}

/// Encodes `image` with its record and writes it to `path` atomically; errors name the file.
pub fn save_png(
    path: &std::path::Path,
    image: &RgbImage,
    record: &RenderRecord,
) -> Result<(), String> {
    let png = encode_png(image, record)?;
    crate::fsutil::write_atomic(path, &png).map_err(|e| {
        format!(
            "cannot write {}: {}",
            path.display(),
            crate::fsutil::io_reason(&e)
        )
    })
}

/// Reads the text chunks of a PNG (tEXt, zTXt and iTXt), in file order.
pub fn read_text_chunks(png_bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let decoder = png::Decoder::new(png_bytes);
    let reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let info = reader.info();
    let mut out: Vec<(String, String)> = info
        .uncompressed_latin1_text
        .iter()
        .map(|t| (t.keyword.clone(), t.text.clone()))
        .collect();
    for t in &info.compressed_latin1_text {
        out.push((t.keyword.clone(), t.get_text().map_err(|e| e.to_string())?));
    }
    for t in &info.utf8_text {
        out.push((t.keyword.clone(), t.get_text().map_err(|e| e.to_string())?));
    }
    Ok(out)
}
