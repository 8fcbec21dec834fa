//! Errors and warnings of the canvas engine. Every error reads as one line that names the problem and,
//! where it applies, the `line:column` in the input.

use std::fmt;

/// A 1-based line and column (in characters) in the input text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}:{}", self.line, self.col)
    }
}

/// Canvas code that is not in the accepted Python subset.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
}

impl SyntaxError {
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        SyntaxError {
            pos,
            message: message.into(),
        }
    }
}

/// Why a reply, code or JSON could not become a canvas.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CanvasError {
    /// No ```` ```python ```` block, bare code or JSON (Omost's message).
    #[error("Response does not contain codes!")]
    NoCode,
    /// A ```` ```python ```` block was opened but never closed: the reply was cut off.
    #[error("line {line}: the ```python block is never closed (the reply was cut off)")]
    Unterminated { line: u32 },
    /// The code lacks the literal text `canvas = Canvas()` (Omost's message).
    #[error("Code block must include valid canvas var!")]
    NoCanvasVar,
    /// The code ran but never assigned `canvas = Canvas()` (Omost's message).
    #[error("Code block must produce valid canvas var!")]
    NoCanvasProduced,
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// A call that Omost's `Canvas` would reject, with Omost's message where it has one.
    #[error("{pos}: {message}")]
    Invalid { pos: Pos, message: String },
    /// Canvas JSON that does not have our format.
    #[error("canvas JSON: {0}")]
    Json(String),
    /// `process()` needs the global description (Omost fails here with a TypeError).
    #[error("the canvas has no global description (set_global_description was never called)")]
    NoGlobal,
}

/// Something accepted but changed on the way, such as a name corrected by fuzzy matching.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    pub pos: Option<Pos>,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{pos}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
