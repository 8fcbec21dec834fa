//! Omost's `closest_name`: resolve a name the LLM wrote to the nearest entry of a table, the way
//! `difflib.get_close_matches(s.lower(), options, n=1, cutoff=0.5)` does.

use super::difflib::get_close_match;

/// Omost's cutoff for `get_close_matches`.
const CUTOFF: f64 = 0.5;

/// A name resolved against a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved<'a> {
    /// The table entry chosen.
    pub name: &'a str,
    /// The lower-cased input, when it differed from the chosen name (Omost prints
    /// `Automatically corrected [input] -> [name].`).
    pub corrected_from: Option<String>,
}

/// Resolves `input` against `options` exactly as Omost does; on failure returns Omost's message
/// `The value [input] is not valid!` (with the lower-cased input).
pub fn closest_name<'a>(
    input: &str,
    options: impl IntoIterator<Item = &'a str>,
) -> Result<Resolved<'a>, String> {
    let lowered = input.to_lowercase();
    match get_close_match(&lowered, options, CUTOFF) {
        Some((name, _)) => Ok(Resolved {
            name,
            corrected_from: (name != lowered).then_some(lowered),
        }),
        None => Err(format!("The value [{lowered}] is not valid!")),
    }
}
