//! The command line's shared pieces: errors with exit codes, reading inputs, writing outputs.

/// `eprintln!` that a closed stderr cannot stop: `omost render … 2>&1 | head -2` still writes the image.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod canvas_cmd;
pub mod chat_cmd;
pub mod dev_cmd;
pub mod doctor;
pub mod grid;
pub mod llm_args;
pub mod output;
pub mod render_cmd;

use std::fmt;

/// A failure to report as one line on stderr, with the exit code the command-line contract gives it:
/// 2 for bad input, 1 for a runtime failure.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    /// Bad input (exit 2).
    pub fn input(message: impl Into<String>) -> Self {
        CliError {
            code: 2,
            message: message.into(),
        }
    }

    /// A runtime failure (exit 1).
    pub fn runtime(message: impl Into<String>) -> Self {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Result of a command.
pub type CliResult = Result<(), CliError>;
