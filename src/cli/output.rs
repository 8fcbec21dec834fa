//! Reading command inputs and writing outputs: stdin as `-`, text that must be UTF-8, files written
//! atomically (a full disk or a killed process never leaves a half-written file), stdout that may be a
//! closed pipe.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::fsutil::{self, io_reason};

use super::CliError;

/// Reads `path` (`-` for stdin) as bytes.
pub fn read_bytes(path: &str) -> Result<Vec<u8>, CliError> {
    if path == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::input(format!("cannot read stdin: {e}")))?;
        Ok(buf)
    } else {
        fs::read(path)
            .map_err(|e| CliError::input(format!("cannot read {path}: {}", io_reason(&e))))
    }
}

/// `bytes` read from `path` as UTF-8 text with `\r\n` line ends made `\n`.
pub fn text_of(path: &str, bytes: Vec<u8>) -> Result<String, CliError> {
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError::input(format!(
            "{path}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(text.replace("\r\n", "\n"))
}

/// Writes `bytes` to `path` atomically (see [`crate::fsutil::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    fsutil::write_atomic(path, bytes).map_err(|e| {
        CliError::runtime(format!(
            "cannot write {}: {}",
            path.display(),
            io_reason(&e)
        ))
    })
}

/// Prints to stdout; a closed pipe (`| head`) ends output quietly instead of failing.
pub fn print_stdout(text: &str) -> Result<(), CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::runtime(format!(
            "cannot write to stdout: {}",
            io_reason(&e)
        ))),
        _ => Ok(()),
    }
}
