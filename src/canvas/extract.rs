//! Finds the canvas program in an LLM reply exactly where Omost finds it — the first match of
//! `re.search(r'```python\n(.*?)\n```', response, re.DOTALL)` — and also accepts bare canvas code and
//! our canvas JSON.

use super::error::CanvasError;

const OPEN: &str = "```python\n";
const CLOSE: &str = "\n```";

/// Where the canvas is in a piece of text.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Source<'a> {
    /// Python canvas code; `first_line` is its first line's number in the text (1-based).
    Code { code: &'a str, first_line: u32 },
    /// Canvas JSON.
    Json(&'a str),
}

/// Locates the canvas in `text`.
pub fn extract(text: &str) -> Result<Source<'_>, CanvasError> {
    if let Some(open) = text.find(OPEN) {
        let start = open + OPEN.len();
        // The body may be empty, so the closing "\n```" may begin right at `start`.
        return match text[start..].find(CLOSE) {
            Some(len) => Ok(Source::Code {
                code: &text[start..start + len],
                first_line: line_of(text, start),
            }),
            None => Err(CanvasError::Unterminated {
                line: line_of(text, open),
            }),
        };
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with(['{', '[']) {
        return Ok(Source::Json(trimmed));
    }
    if text.contains("```") || text.trim().is_empty() {
        return Err(CanvasError::NoCode);
    }
    Ok(Source::Code {
        code: text,
        first_line: 1,
    })
}

fn line_of(text: &str, byte: usize) -> u32 {
    text[..byte].matches('\n').count() as u32 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_python_block_non_greedy() {
        let reply = "Sure!\n```python\ncanvas = Canvas()\n```\nand\n```python\nother\n```";
        assert_eq!(
            extract(reply),
            Ok(Source::Code {
                code: "canvas = Canvas()",
                first_line: 3
            })
        );
    }

    #[test]
    fn empty_block_and_fence_variants() {
        assert_eq!(
            extract("```python\n\n```"),
            Ok(Source::Code {
                code: "",
                first_line: 2
            })
        );
        // "```python\n```" has no "\n```" after the opening newline: Omost finds no code.
        assert_eq!(
            extract("```python\n```"),
            Err(CanvasError::Unterminated { line: 1 })
        );
        assert_eq!(
            extract("```py\ncanvas = Canvas()\n```"),
            Err(CanvasError::NoCode)
        );
    }

    #[test]
    fn cut_off_reply() {
        assert_eq!(
            extract("ok\n```python\ncanvas = Canvas()\ncanvas.set_"),
            Err(CanvasError::Unterminated { line: 2 })
        );
    }

    #[test]
    fn bare_code_and_json() {
        assert!(matches!(
            extract("canvas = Canvas()\n"),
            Ok(Source::Code { first_line: 1, .. })
        ));
        assert!(matches!(
            extract("  {\"global\": null}"),
            Ok(Source::Json(_))
        ));
        assert_eq!(extract("   \n"), Err(CanvasError::NoCode));
    }
}
