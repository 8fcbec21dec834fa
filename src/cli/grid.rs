//! `omost canvas grid`: the canvas as coloured text — each region painted in its own colour at its rect
//! (far regions first, near ones on top) with the 3×3 grid lines, labelled, and a legend. Truecolor
//! where the terminal says it has it, the 256-colour palette otherwise, plain characters without colour.

use std::fmt::Write;

use crate::canvas::{Canvas, CellMap};

/// How to colour the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// 24-bit colour escapes.
    TrueColor,
    /// The xterm 256-colour palette.
    Palette256,
    /// No escapes: regions drawn with their label characters.
    Plain,
}

impl ColorMode {
    /// Truecolor when `COLORTERM` says so, else 256 colours; plain when not a terminal or `NO_COLOR`.
    pub fn detect(is_terminal: bool) -> ColorMode {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if !is_terminal || no_color {
            return ColorMode::Plain;
        }
        match std::env::var("COLORTERM").as_deref() {
            Ok("truecolor" | "24bit") => ColorMode::TrueColor,
            _ => ColorMode::Palette256,
        }
    }
}

/// The character that stands for region `index` in plain output and labels: 1–9, then a–z, then `#`.
pub fn region_mark(index: usize) -> char {
    match index {
        0..=8 => char::from(b'1' + index as u8),
        9..=34 => char::from(b'a' + (index - 9) as u8),
        _ => '#',
    }
}

/// Draws the canvas on `columns × rows` cells, then a legend (far → near).
pub fn render(canvas: &Canvas, columns: usize, rows: usize, mode: ColorMode) -> String {
    let map = CellMap::paint(canvas, columns, rows);
    let background = canvas
        .global
        .as_ref()
        .map(|g| g.color.rgb())
        .unwrap_or([0, 0, 0]);
    let labels = place_labels(canvas, &map);
    let mut out = String::new();
    for row in 0..rows {
        let mut current: Option<([u8; 3], [u8; 3])> = None;
        for column in 0..columns {
            let region = map.at(column, row);
            let label = labels[row * columns + column];
            if mode == ColorMode::Plain {
                out.push(label.unwrap_or(region.map_or('.', region_mark)));
                continue;
            }
            let bg = region.map_or(background, |i| canvas.regions[i].color.rgb());
            // Labels in full contrast; the grid lines faint, a third of the way from the background.
            let fg = if label.is_some() {
                contrast(bg)
            } else {
                mix(bg, contrast(bg), 0.35)
            };
            if current != Some((bg, fg)) {
                out.push_str(&bg_escape(bg, mode));
                out.push_str(&fg_escape(fg, mode));
                current = Some((bg, fg));
            }
            out.push(label.unwrap_or_else(|| guide(column, row, columns, rows)));
        }
        if mode != ColorMode::Plain {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    legend(canvas, &mut out, mode);
    out
}

/// The 3×3 grid's lines: a faint `│`/`─`/`┼` on the cell boundaries at one and two thirds.
fn guide(column: usize, row: usize, columns: usize, rows: usize) -> char {
    let on_v = (1..3).any(|k| column == k * columns / 3);
    let on_h = (1..3).any(|k| row == k * rows / 3);
    match (on_v, on_h) {
        (true, true) => '┼',
        (true, false) => '│',
        (false, true) => '─',
        (false, false) => ' ',
    }
}

/// Each region's label (" 3 A mighty dragon. ") written from the first cell where it is on top, as far
/// as the region stays on top along that row.
fn place_labels(canvas: &Canvas, map: &CellMap) -> Vec<Option<char>> {
    let mut labels = vec![None; map.columns * map.rows];
    for (i, region) in canvas.regions.iter().enumerate() {
        let Some((column, row)) = map.label_anchor(i) else {
            continue;
        };
        let text = format!(
            " {} {} ",
            region_mark(i),
            region
                .description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
        for (k, ch) in text.chars().enumerate() {
            let c = column + k;
            if c >= map.columns || map.at(c, row) != Some(i) {
                break;
            }
            labels[row * map.columns + c] = Some(ch);
        }
    }
    labels
}

fn legend(canvas: &Canvas, out: &mut String, mode: ColorMode) {
    let swatch = |rgb: [u8; 3]| match mode {
        ColorMode::Plain => String::new(),
        _ => format!("{}  \x1b[0m ", bg_escape(rgb, mode)),
    };
    if let Some(g) = &canvas.global {
        let _ = writeln!(
            out,
            "{}. global  {}  {}",
            swatch(g.color.rgb()),
            g.color,
            g.description
        );
    } else {
        let _ = writeln!(out, "(no global description)");
    }
    for i in canvas.depth_order() {
        let r = &canvas.regions[i];
        let _ = writeln!(
            out,
            "{}{} {}, {}, {}, distance {}  {}  {}",
            swatch(r.color.rgb()),
            region_mark(i),
            r.location,
            r.offset,
            r.area,
            r.distance_to_viewer,
            r.color,
            r.description
        );
    }
}

fn bg_escape(rgb: [u8; 3], mode: ColorMode) -> String {
    match mode {
        ColorMode::TrueColor => format!("\x1b[48;2;{};{};{}m", rgb[0], rgb[1], rgb[2]),
        _ => format!("\x1b[48;5;{}m", xterm256(rgb)),
    }
}

fn fg_escape(rgb: [u8; 3], mode: ColorMode) -> String {
    match mode {
        ColorMode::TrueColor => format!("\x1b[38;2;{};{};{}m", rgb[0], rgb[1], rgb[2]),
        _ => format!("\x1b[38;5;{}m", xterm256(rgb)),
    }
}

/// `a` moved the fraction `t` of the way to `b`.
fn mix(a: [u8; 3], b: [u8; 3], t: f32) -> [u8; 3] {
    [0, 1, 2].map(|i| (a[i] as f32 + (b[i] as f32 - a[i] as f32) * t).round() as u8)
}

/// Black or white, whichever reads better on `bg` (by perceived luminance).
pub fn contrast(bg: [u8; 3]) -> [u8; 3] {
    let [r, g, b] = bg.map(f32::from);
    if 0.299 * r + 0.587 * g + 0.114 * b > 140.0 {
        [0, 0, 0]
    } else {
        [255, 255, 255]
    }
}

/// The nearest colour of the xterm 256-colour palette (6×6×6 cube or grey ramp).
pub fn xterm256(rgb: [u8; 3]) -> u8 {
    const LEVELS: [i32; 6] = [0, 95, 135, 175, 215, 255];
    let nearest_level = |v: u8| {
        (0..6)
            .min_by_key(|&k| (LEVELS[k] - v as i32).abs())
            .unwrap_or(0)
    };
    let [r, g, b] = rgb.map(nearest_level);
    let cube = [LEVELS[r], LEVELS[g], LEVELS[b]];
    let dist = |c: [i32; 3]| {
        c.iter()
            .zip(rgb)
            .map(|(a, b)| (a - b as i32).pow(2))
            .sum::<i32>()
    };
    let mean = (rgb.iter().map(|&v| v as i32).sum::<i32>() / 3).clamp(8, 238);
    let grey_step = ((mean - 8 + 5) / 10).min(23);
    let grey = 8 + 10 * grey_step;
    if dist([grey; 3]) < dist(cube) {
        (232 + grey_step) as u8
    } else {
        (16 + 36 * r + 6 * g + b) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_mapping() {
        assert_eq!(xterm256([0, 0, 0]), 16);
        assert_eq!(xterm256([255, 255, 255]), 231);
        assert_eq!(xterm256([255, 0, 0]), 196);
        assert_eq!(xterm256([128, 128, 128]), 244);
    }

    #[test]
    fn marks() {
        assert_eq!(region_mark(0), '1');
        assert_eq!(region_mark(9), 'a');
        assert_eq!(region_mark(40), '#');
    }
}
