//! Reading command inputs and writing outputs: stdin as `-`, text that must be UTF-8, files written
//! atomically (a full disk or a killed process never leaves a half-written file), stdout that may be a
//! closed pipe.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use super::CliError;

/// Reads `path` (`-` for stdin) as UTF-8 text with `\r\n` line ends made `\n`.
pub fn read_text(path: &str) -> Result<String, CliError> {
    let bytes = if path == "-" {
        let mut buf = Vec::new();
        io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError::input(format!("cannot read stdin: {e}")))?;
        buf
    } else {
        fs::read(path)
            .map_err(|e| CliError::input(format!("cannot read {path}: {}", io_reason(&e))))?
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        CliError::input(format!(
            "{path}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    Ok(text.replace("\r\n", "\n"))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let fail = |e: io::Error| {
        CliError::runtime(format!(
            "cannot write {}: {}",
            path.display(),
            io_reason(&e)
        ))
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| CliError::input(format!("{} is not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
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

/// An I/O error's reason without Rust's "(os error N)" suffix.
pub fn io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}
