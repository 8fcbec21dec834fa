//! The canvas engine: reads what an Omost LLM writes and computes exactly what Omost computes from it,
//! without ever executing it. Pure: no I/O, no models.
//!
//! `reply text ─► extract ─► lexer ─► parser ─► build (Omost's checks, fuzzy names) ─► Canvas`
//! `Canvas ─► process (rects, far→near order, colour sketch, conditions) / emit (Omost code) / json`

mod build;
pub mod difflib;
mod emit;
mod error;
mod extract;
mod json;
mod layout;
mod lexer;
mod model;
mod names;
mod parser;
mod partition;
mod process;
mod tables;

pub use build::Parsed;
pub use emit::{py_str, to_code};
pub use error::{CanvasError, Pos, SyntaxError, Warning};
pub use extract::{extract, Source};
pub use json::{from_json, to_json};
pub use layout::CellMap;
pub use model::{Canvas, GlobalDescription, GlobalPrefix, Region};
pub use names::{closest_name, Resolved};
pub use partition::greedy_partition;
pub use process::{safe_str, Condition, Rect, Sketch, GRID};
pub use tables::{Area, ColorName, Location, Offset};

/// Reads a canvas from an LLM reply (first ```` ```python ```` block), bare canvas code or canvas JSON.
pub fn parse(text: &str) -> Result<Parsed, CanvasError> {
    match extract(text)? {
        Source::Json(json) => from_json(json),
        Source::Code { code, first_line } => parse_code(code, first_line),
    }
}

/// A reply cut off by a token limit, made whole: everything after its last complete call is dropped
/// and the code block closed. `None` when no prefix holds a valid canvas (the global description was
/// itself cut). Returns the text and how many characters were dropped.
pub fn close_cut_reply(reply: &str) -> Option<(String, usize)> {
    // A call ends at a `)` that ends its line (a trailing comment allowed).
    let ends: Vec<usize> = reply
        .match_indices(')')
        .map(|(i, _)| i + 1)
        .filter(|&end| {
            let line = reply[end..].split('\n').next().unwrap_or("").trim_start();
            line.is_empty() || line.starts_with('#')
        })
        .collect();
    ends.into_iter().rev().find_map(|end| {
        let text = format!("{}\n```", &reply[..end]);
        parse(&text)
            .is_ok_and(|p| p.canvas.global.is_some())
            .then(|| (text, reply.len() - end))
    })
}

/// Runs canvas code (already extracted); `first_line` numbers its first line in error messages.
pub fn parse_code(code: &str, first_line: u32) -> Result<Parsed, CanvasError> {
    // Omost's literal substring test comes before anything runs.
    if !code.contains("canvas = Canvas()") {
        return Err(CanvasError::NoCanvasVar);
    }
    let tokens = lexer::tokenize(code, first_line)?;
    let stmts = parser::parse(&tokens)?;
    build::run(stmts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_reply_keeps_its_complete_calls() {
        let reply = include_str!("../../examples/dragon.md");
        let whole = parse(reply).unwrap().canvas;
        let n = whole.regions.len();
        let last_call = reply.rfind("canvas.add_local_description(").unwrap();
        // Cut inside the last region: it is dropped, the rest stays.
        let (text, dropped) = close_cut_reply(&reply[..last_call + 60]).unwrap();
        let canvas = parse(&text).unwrap().canvas;
        assert_eq!(canvas.regions.len(), n - 1);
        assert_eq!(canvas.regions[..], whole.regions[..n - 1]);
        assert!(dropped > 60, "{dropped}");
        // Cut in the closing fence: nothing is lost.
        let fence = reply.rfind("```").unwrap();
        let (text, _) = close_cut_reply(&reply[..fence + 1]).unwrap();
        assert_eq!(parse(&text).unwrap().canvas, whole);
        // Cut inside the global description: nothing to keep.
        let global = reply.find("set_global_description(").unwrap();
        assert_eq!(close_cut_reply(&reply[..global + 40]), None);
    }
}
