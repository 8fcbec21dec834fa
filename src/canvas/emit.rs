//! The canonical emitter: a canvas as the Omost program a fine-tuned model writes (same layout, comments
//! and keyword order), which parses back to the same canvas. The LLM is shown this code when the user has
//! edited the canvas by hand, so it must look like the model's own output.

use std::fmt::Write;

use super::model::{Canvas, GlobalDescription, GlobalPrefix, Region};
use super::process::safe_str;

/// Canonical Omost code for `canvas`.
pub fn to_code(canvas: &Canvas) -> String {
    let mut out = String::from("# Initialize the canvas\ncanvas = Canvas()\n");
    let final_prefix = canvas.global.as_ref().map(|g| safe_str(&g.description));
    // The global description in force so far, as regions would capture it.
    let mut in_force: Option<String> = None;
    let mut full_global_written = false;
    for region in &canvas.regions {
        let wanted = match &region.global_prefix {
            GlobalPrefix::Current => final_prefix.clone(),
            GlobalPrefix::None => None,
            GlobalPrefix::Captured(p) => Some(p.clone()),
        };
        if wanted != in_force {
            if let (Some(p), Some(global)) = (&wanted, &canvas.global) {
                if Some(p) == final_prefix.as_ref() {
                    write_global(&mut out, global, None);
                    full_global_written = true;
                } else {
                    write_global(&mut out, global, Some(p));
                    full_global_written = false;
                }
            }
            in_force = wanted;
        }
        write_region(&mut out, region);
    }
    if let (Some(global), false) = (&canvas.global, full_global_written) {
        write_global(&mut out, global, None);
    }
    out
}

/// Writes `set_global_description`; `description` overrides the text (for an earlier, replaced global
/// description that some regions were added under).
fn write_global(out: &mut String, g: &GlobalDescription, description: Option<&str>) {
    out.push_str("\n# Set a global description for the canvas\ncanvas.set_global_description(\n");
    kw(
        out,
        "description",
        &py_str(description.unwrap_or(&g.description)),
    );
    list(out, &g.detailed_descriptions);
    kw(out, "tags", &py_str(&g.tags));
    kw(out, "HTML_web_color_name", &py_str(g.color.name()));
    out.push_str(")\n");
}

fn write_region(out: &mut String, r: &Region) {
    let _ = writeln!(out, "\n# Add {}", comment_text(&r.description));
    out.push_str("canvas.add_local_description(\n");
    kw(out, "location", &py_str(r.location.name()));
    kw(out, "offset", &py_str(r.offset.name()));
    kw(out, "area", &py_str(r.area.name()));
    kw(
        out,
        "distance_to_viewer",
        &format!("{:?}", r.distance_to_viewer),
    );
    kw(out, "description", &py_str(&r.description));
    list(out, &r.detailed_descriptions);
    kw(out, "tags", &py_str(&r.tags));
    kw(out, "atmosphere", &py_str(&r.atmosphere));
    kw(out, "style", &py_str(&r.style));
    kw(out, "quality_meta", &py_str(&r.quality_meta));
    kw(out, "HTML_web_color_name", &py_str(r.color.name()));
    out.push_str(")\n");
}

fn kw(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "    {name}={value},");
}

fn list(out: &mut String, items: &[String]) {
    if items.is_empty() {
        out.push_str("    detailed_descriptions=[],\n");
        return;
    }
    out.push_str("    detailed_descriptions=[\n");
    for item in items {
        let _ = writeln!(out, "        {},", py_str(item));
    }
    out.push_str("    ],\n");
}

/// The description as a one-line comment, first letter lower-cased as the model writes it
/// ("A mighty dragon." → "# Add a mighty dragon.").
fn comment_text(description: &str) -> String {
    // Backticks become quotes so a comment can never hold a ``` fence.
    let one_line: String = description
        .replace('`', "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut chars = one_line.chars();
    match (chars.next(), chars.clone().next()) {
        (Some(first), second)
            if first.is_uppercase() && !second.is_some_and(char::is_uppercase) =>
        {
            first.to_lowercase().chain(chars).collect()
        }
        _ => one_line,
    }
}

/// A Python string literal for `s`, as Python's `repr` writes it: single quotes unless the text has a
/// `'` and no `"`, escapes for backslash, the quote and control characters, other text as is. Backticks
/// in text that holds a ```` ``` ```` fence are written `\x60`, so emitted code never contains a fence.
pub fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let escape_backticks = s.contains("```");
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '`' if escape_backticks => out.push_str("\\x60"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || is_format_or_separator(c) => {
                let code = c as u32;
                if code <= 0xff {
                    let _ = write!(out, "\\x{code:02x}");
                } else if code <= 0xffff {
                    let _ = write!(out, "\\u{code:04x}");
                } else {
                    let _ = write!(out, "\\U{code:08x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Invisible characters Python's `repr` escapes besides controls (line/paragraph separators and the
/// zero-width and direction marks), so that emitted code shows what is really there.
fn is_format_or_separator(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{a0}' | '\u{ad}' | '\u{2028}' | '\u{2029}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr_quoting() {
        assert_eq!(py_str("plain"), "'plain'");
        assert_eq!(py_str("dragon's"), "\"dragon's\"");
        assert_eq!(py_str("both ' and \""), "'both \\' and \"'");
        assert_eq!(py_str("a\\b\nc\u{1}"), "'a\\\\b\\nc\\x01'");
        assert_eq!(py_str("dragon’s"), "'dragon’s'");
        assert_eq!(
            py_str("a ```python\nb` c"),
            "'a \\x60\\x60\\x60python\\nb\\x60 c'"
        );
        assert_eq!(py_str("one ` tick"), "'one ` tick'");
    }

    #[test]
    fn comments_lower_case_the_first_letter() {
        assert_eq!(comment_text("A mighty dragon."), "a mighty dragon.");
        assert_eq!(
            comment_text("NASA rocket\non a pad"),
            "NASA rocket on a pad"
        );
    }
}
