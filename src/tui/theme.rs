//! Themes: TOML files of named styles (`themes/*.toml` ship inside the binary; more can be put in the
//! config folder's `themes/`). Colours are `#rrggbb`; on terminals without truecolor they are mapped to
//! the nearest of the 256-colour palette.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::cli::grid::xterm256;

/// The themes that ship with the app, by name.
pub const BUILT_IN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// The style names a theme file sets.
const STYLES: [&str; 11] = [
    "text",
    "dim",
    "border",
    "focus",
    "title",
    "user",
    "assistant",
    "ok",
    "warning",
    "selected",
    "status",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

#[derive(Deserialize)]
struct ThemeSpec {
    name: String,
    #[serde(flatten)]
    styles: BTreeMap<String, StyleSpec>,
}

/// The styles the UI draws with.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    pub truecolor: bool,
    pub text: Style,
    pub dim: Style,
    pub border: Style,
    pub focus: Style,
    pub title: Style,
    pub user: Style,
    pub assistant: Style,
    pub ok: Style,
    pub warning: Style,
    pub selected: Style,
    pub status: Style,
}

fn parse_color(s: &str, truecolor: bool) -> Result<Color, String> {
    if s == "reset" {
        return Ok(Color::Reset);
    }
    let hex = s
        .strip_prefix('#')
        .filter(|h| h.len() == 6)
        .ok_or_else(|| format!("colour `{s}` is not #rrggbb"))?;
    let v = u32::from_str_radix(hex, 16).map_err(|_| format!("colour `{s}` is not #rrggbb"))?;
    let rgb = [(v >> 16) as u8, (v >> 8) as u8, v as u8];
    Ok(if truecolor {
        Color::Rgb(rgb[0], rgb[1], rgb[2])
    } else {
        Color::Indexed(xterm256(rgb))
    })
}

impl Theme {
    /// Parses a theme file's text.
    pub fn parse(text: &str, truecolor: bool) -> Result<Theme, String> {
        let spec: ThemeSpec = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        if let Some(unknown) = spec.styles.keys().find(|k| !STYLES.contains(&k.as_str())) {
            return Err(format!(
                "unknown style `{unknown}` (known: {})",
                STYLES.join(", ")
            ));
        }
        let style = |key: &str| -> Result<Style, String> {
            let s = spec
                .styles
                .get(key)
                .ok_or_else(|| format!("style `{key}` missing"))?;
            let mut style = Style::default();
            if let Some(fg) = &s.fg {
                style = style.fg(parse_color(fg, truecolor)?);
            }
            if let Some(bg) = &s.bg {
                style = style.bg(parse_color(bg, truecolor)?);
            }
            for m in &s.modifiers {
                style = style.add_modifier(match m.as_str() {
                    "bold" => Modifier::BOLD,
                    "italic" => Modifier::ITALIC,
                    "underlined" => Modifier::UNDERLINED,
                    "reversed" => Modifier::REVERSED,
                    "dim" => Modifier::DIM,
                    other => return Err(format!("unknown modifier `{other}` in `{key}`")),
                });
            }
            Ok(style)
        };
        Ok(Theme {
            name: spec.name.clone(),
            truecolor,
            text: style("text")?,
            dim: style("dim")?,
            border: style("border")?,
            focus: style("focus")?,
            title: style("title")?,
            user: style("user")?,
            assistant: style("assistant")?,
            ok: style("ok")?,
            warning: style("warning")?,
            selected: style("selected")?,
            status: style("status")?,
        })
    }

    /// A theme by name: a built-in one, or `NAME.toml` in `user_dir`.
    pub fn load(name: &str, user_dir: Option<&Path>, truecolor: bool) -> Result<Theme, String> {
        if let Some((_, text)) = BUILT_IN.iter().find(|(n, _)| *n == name) {
            return Theme::parse(text, truecolor).map_err(|e| format!("theme {name}: {e}"));
        }
        let path = user_dir.map(|d| d.join(format!("{name}.toml")));
        match path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
            Some(text) => Theme::parse(&text, truecolor)
                .map_err(|e| format!("{}: {e}", path.unwrap_or_default().display())),
            None => Err(format!(
                "no theme `{name}` (built in: {}; or put {name}.toml in {})",
                BUILT_IN.map(|(n, _)| n).join(", "),
                user_dir
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|| "the config folder's themes/".into())
            )),
        }
    }

    /// A canvas colour in this terminal's colour depth.
    pub fn color(&self, rgb: [u8; 3]) -> Color {
        if self.truecolor {
            Color::Rgb(rgb[0], rgb[1], rgb[2])
        } else {
            Color::Indexed(xterm256(rgb))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_parse_in_both_depths() {
        for (name, text) in BUILT_IN {
            let t = Theme::parse(text, true).unwrap();
            assert_eq!(t.name, name);
            let t256 = Theme::parse(text, false).unwrap();
            assert!(matches!(t256.focus.fg, Some(Color::Indexed(_))));
        }
        assert!(Theme::load("nope", None, true)
            .unwrap_err()
            .contains("built in: dark, light, high-contrast"));
        assert!(Theme::parse("name = \"x\"\n[text]\nfg = \"red\"", true).is_err());
    }
}
