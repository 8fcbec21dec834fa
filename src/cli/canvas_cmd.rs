//! `omost canvas inspect | sketch | fmt | grid`: the canvas engine from the command line.

use std::fmt::Write;
use std::io::IsTerminal;
use std::path::Path;

use super::grid::{self, ColorMode};
use super::output::{print_stdout, read_bytes, text_of, write_atomic};
use super::{CliError, CliResult};
use crate::canvas::{self, Canvas, Sketch, GRID};
use crate::render::metadata;

/// Reads a canvas from FILE (`-` for stdin): an LLM reply, canvas code, canvas JSON, or a PNG written by
/// `omost render` or the terminal app (its `omost-canvas` metadata). Corrections are warnings on stderr.
pub fn load(path: &str) -> Result<Canvas, CliError> {
    load_source(path).map(|(canvas, _)| canvas)
}

/// Like [`load`], also returning a PNG's bytes (for the settings it carries).
pub fn load_source(path: &str) -> Result<(Canvas, Option<Vec<u8>>), CliError> {
    let bytes = read_bytes(path)?;
    if metadata::is_png(&bytes) {
        let json = metadata::read_canvas_json(&bytes)
            .map_err(|e| CliError::input(format!("{}: {e}", display_name(path))))?;
        return Ok((parse(path, &json)?, Some(bytes)));
    }
    Ok((parse(path, &text_of(path, bytes)?)?, None))
}

fn parse(path: &str, text: &str) -> Result<Canvas, CliError> {
    let parsed =
        canvas::parse(text).map_err(|e| CliError::input(format!("{}: {e}", display_name(path))))?;
    for w in &parsed.warnings {
        crate::note!("warning: {}: {w}", display_name(path));
    }
    Ok(parsed.canvas)
}

fn display_name(path: &str) -> &str {
    if path == "-" {
        "<stdin>"
    } else {
        path
    }
}

fn conditions(canvas: &Canvas, path: &str) -> Result<Vec<canvas::Condition>, CliError> {
    canvas
        .conditions()
        .map_err(|e| CliError::input(format!("{}: {e}", display_name(path))))
}

/// `inspect`: the conditions in Omost order, as text or as ComfyUI_omost-compatible JSON.
pub fn inspect(path: &str, json: bool) -> CliResult {
    let canvas = load(path)?;
    let conds = conditions(&canvas, path)?;
    if json {
        let text = serde_json::to_string_pretty(&conds)
            .map_err(|e| CliError::runtime(format!("cannot write JSON: {e}")))?;
        return print_stdout(&(text + "\n"));
    }
    let mut out = String::new();
    let order = canvas.depth_order();
    for (k, c) in conds.iter().enumerate() {
        let [t, b, l, r] = c.rect.to_array();
        let [cr, cg, cb] = c.color;
        let head = match k {
            0 => "global".to_owned(),
            _ => {
                let region = &canvas.regions[order[k - 1]];
                format!(
                    "region {} ({}, {}, {}; distance {})",
                    grid::region_mark(order[k - 1]),
                    region.location,
                    region.offset,
                    region.area,
                    region.distance_to_viewer
                )
            }
        };
        let color_name = match k {
            0 => canvas.global.as_ref().map(|g| g.color.name()),
            _ => Some(canvas.regions[order[k - 1]].color.name()),
        };
        let _ = writeln!(
            out,
            "{head}\n  rect [{t}, {b}, {l}, {r}]  color {} ({cr}, {cg}, {cb})",
            color_name.unwrap_or("")
        );
        for p in &c.prefixes {
            let _ = writeln!(out, "  prefix  {}", p.replace('\n', "\\n"));
        }
        for s in &c.suffixes {
            let _ = writeln!(out, "  suffix  {}", s.replace('\n', "\\n"));
        }
    }
    print_stdout(&out)
}

/// `sketch`: Omost's 90×90 colour sketch as a PNG, enlarged `scale` times.
pub fn sketch(path: &str, out: &Path, scale: u32) -> CliResult {
    if !(1..=64).contains(&scale) {
        return Err(CliError::input(format!(
            "--scale must be between 1 and 64, got {scale}"
        )));
    }
    let canvas = load(path)?;
    let sketch = canvas
        .sketch()
        .map_err(|e| CliError::input(format!("{}: {e}", display_name(path))))?;
    let png = encode_png(&sketch, scale)?;
    write_atomic(out, &png)
}

/// The sketch as PNG bytes, each grid cell drawn as a `scale × scale` block.
pub fn encode_png(sketch: &Sketch, scale: u32) -> Result<Vec<u8>, CliError> {
    let side = GRID as u32 * scale;
    let mut rgb = Vec::with_capacity((side * side * 3) as usize);
    for y in 0..side as usize {
        for x in 0..side as usize {
            rgb.extend_from_slice(&sketch.pixel(x / scale as usize, y / scale as usize));
        }
    }
    let mut bytes = Vec::new();
    let fail = |e: png::EncodingError| CliError::runtime(format!("cannot encode PNG: {e}"));
    {
        let mut encoder = png::Encoder::new(&mut bytes, side, side);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(&rgb).map_err(fail)?;
    }
    Ok(bytes)
}

/// `fmt`: canonical Omost code (or our canvas JSON).
pub fn fmt(path: &str, json: bool) -> CliResult {
    let canvas = load(path)?;
    if json {
        print_stdout(&(canvas::to_json(&canvas) + "\n"))
    } else {
        print_stdout(&canvas::to_code(&canvas))
    }
}

/// How `grid` sizes and colours its output.
pub struct GridOptions {
    pub columns: usize,
    pub rows: Option<usize>,
    pub aspect: (u32, u32),
    pub color: Option<ColorMode>,
}

/// `grid`: the coloured grid.
pub fn grid(path: &str, opts: &GridOptions) -> CliResult {
    if !(3..=1000).contains(&opts.columns) {
        return Err(CliError::input(format!(
            "--columns must be between 3 and 1000, got {}",
            opts.columns
        )));
    }
    let (w, h) = opts.aspect;
    if w == 0 || h == 0 {
        return Err(CliError::input(
            "--aspect needs a width and height above zero, e.g. 896x1152",
        ));
    }
    // Terminal cells are about twice as tall as wide.
    let rows = opts.rows.unwrap_or_else(|| {
        ((opts.columns as f64 * h as f64 / w as f64 / 2.0).round() as usize).clamp(3, 500)
    });
    if !(3..=500).contains(&rows) {
        return Err(CliError::input(format!(
            "--rows must be between 3 and 500, got {rows}"
        )));
    }
    let canvas = load(path)?;
    let mode = opts
        .color
        .unwrap_or_else(|| ColorMode::detect(std::io::stdout().is_terminal()));
    print_stdout(&grid::render(&canvas, opts.columns, rows, mode))
}
