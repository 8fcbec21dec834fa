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
