//! The PNG we write: the image plus text chunks that make it reproducible and reopenable — an
//! AUTOMATIC1111-style `parameters` chunk (read by most image tools and sites), the canvas as our JSON
//! (`omost-canvas`) and the render settings (`omost-render`).

use serde_json::json;

use super::image::RgbImage;
use super::pipeline::{Pooled, RenderSettings};
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
    /// Canonical canvas JSON.
    pub canvas_json: String,
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
    })
    .to_string()
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
