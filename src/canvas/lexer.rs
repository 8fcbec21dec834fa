//! Tokenizer for the small subset of Python that Omost models write: names, string literals in every
//! form Python accepts (prefixes, single/double/triple quotes, escapes), int and float literals,
//! brackets and a few operators. Comments, blank lines and line continuations are skipped; newlines
//! inside brackets are not statement ends, as in Python.

use super::error::{Pos, SyntaxError};

/// A literal string value: `str`, or `bytes` for `b'…'` literals.
#[derive(Clone, Debug, PartialEq)]
pub enum StrLit {
    Str(String),
    Bytes(Vec<u8>),
}

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Name(String),
    Str(StrLit),
    Int(i64),
    Float(f64),
    /// Punctuation or operator: `( ) [ ] { } , = . ; + - : *`.
    Op(char),
    /// End of a logical line (only outside brackets).
    Newline,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Name(n) => format!("name `{n}`"),
            Tok::Str(_) => "a string".into(),
            Tok::Int(_) | Tok::Float(_) => "a number".into(),
            Tok::Op(c) => format!("`{c}`"),
            Tok::Newline => "end of line".into(),
            Tok::Eof => "end of code".into(),
        }
    }
}

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

/// Splits `code` into tokens; `first_line` is the line number of the code's first line in its file.
pub fn tokenize(code: &str, first_line: u32) -> Result<Vec<Token>, SyntaxError> {
    Lexer {
        chars: code.chars().collect(),
        i: 0,
        line: first_line,
        col: 1,
        open: Vec::new(),
        tokens: Vec::new(),
    }
    .run()
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
    /// Open brackets and where they were opened.
    open: Vec<(char, Pos)>,
    tokens: Vec<Token>,
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn push(&mut self, tok: Tok, pos: Pos) {
        self.tokens.push(Token { tok, pos });
    }

    fn newline(&mut self, pos: Pos) {
        if matches!(self.tokens.last(), Some(t) if t.tok != Tok::Newline) {
            self.push(Tok::Newline, pos);
        }
    }

    fn run(mut self) -> Result<Vec<Token>, SyntaxError> {
        let mut at_line_start = true;
        loop {
            if at_line_start && self.open.is_empty() {
                let start = self.pos();
                while matches!(self.peek(), Some(' ' | '\t' | '\x0c')) {
                    self.bump();
                }
                match self.peek() {
                    None | Some('\n' | '\r' | '#') => {}
                    Some(_) if self.col > 1 => {
                        return Err(SyntaxError::new(start, "unexpected indent"));
                    }
                    Some(_) => {}
                }
                at_line_start = false;
            }
            let pos = self.pos();
            let Some(c) = self.peek() else { break };
            match c {
                ' ' | '\t' | '\x0c' | '\r' => {
                    self.bump();
                }
                '#' => {
                    while !matches!(self.peek(), None | Some('\n')) {
                        self.bump();
                    }
                }
                '\n' => {
                    self.bump();
                    if self.open.is_empty() {
                        self.newline(pos);
                        at_line_start = true;
                    }
                }
                '\\' => {
                    self.bump();
                    if self.peek() == Some('\r') {
                        self.bump();
                    }
                    if self.bump() != Some('\n') {
                        return Err(SyntaxError::new(
                            pos,
                            "unexpected character after line continuation character",
                        ));
                    }
                }
                '\'' | '"' => {
                    let lit = self.string("", pos)?;
                    self.push(Tok::Str(lit), pos);
                }
                c if c.is_ascii_digit()
                    || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) =>
                {
                    let tok = self.number()?;
                    self.push(tok, pos);
                }
                c if is_name_start(c) => {
                    let mut name = String::new();
                    while let Some(c) = self.peek().filter(|&c| is_name_char(c)) {
                        name.push(c);
                        self.bump();
                    }
                    if matches!(self.peek(), Some('\'' | '"')) && is_string_prefix(&name) {
                        let lit = self.string(&name.to_ascii_lowercase(), pos)?;
                        self.push(Tok::Str(lit), pos);
                    } else {
                        self.push(Tok::Name(name), pos);
                    }
                }
                '(' | '[' | '{' => {
                    self.bump();
                    self.open.push((c, pos));
                    self.push(Tok::Op(c), pos);
                }
                ')' | ']' | '}' => {
                    self.bump();
                    let want = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    match self.open.pop() {
                        Some((open, _)) if open == want => {}
                        Some((open, open_pos)) => {
                            return Err(SyntaxError::new(
                                pos,
                                format!(
                                    "closing parenthesis '{c}' does not match opening parenthesis '{open}' on line {}",
                                    open_pos.line
                                ),
                            ))
                        }
                        None => return Err(SyntaxError::new(pos, format!("unmatched '{c}'"))),
                    }
                    self.push(Tok::Op(c), pos);
                }
                ',' | '=' | '.' | ';' | '+' | '-' | ':' | '*' => {
                    self.bump();
                    self.push(Tok::Op(c), pos);
                }
                other => {
                    return Err(SyntaxError::new(
                        pos,
                        format!("invalid character {other:?} in canvas code"),
                    ));
                }
            }
        }
        if let Some((open, open_pos)) = self.open.last() {
            return Err(SyntaxError::new(
                *open_pos,
                format!("'{open}' was never closed"),
            ));
        }
        let end = self.pos();
        self.newline(end);
        self.push(Tok::Eof, end);
        Ok(self.tokens)
    }

    /// A string literal starting at the opening quote; `prefix` is lower-case (`r`, `u`, `b`, `rb`, …).
    /// `start` is where the literal (with its prefix) begins.
    fn string(&mut self, prefix: &str, start: Pos) -> Result<StrLit, SyntaxError> {
        if prefix.contains('f') {
            return Err(SyntaxError::new(
                start,
                "f-strings are not supported in canvas code",
            ));
        }
        let raw = prefix.contains('r');
        let bytes = prefix.contains('b');
        let quote = self.bump().unwrap_or('\'');
        let triple = self.peek() == Some(quote) && self.peek_at(1) == Some(quote);
        if triple {
            self.bump();
            self.bump();
        }
        let mut out = String::new();
        loop {
            // Fast path: copy the run of ordinary characters up to the next quote, backslash or newline.
            let run = self.chars[self.i..]
                .iter()
                .take_while(|&&c| c != quote && c != '\\' && c != '\n' && (!bytes || c.is_ascii()))
                .count();
            out.extend(&self.chars[self.i..self.i + run]);
            self.i += run;
            self.col += run as u32;
            let here = self.pos();
            let Some(c) = self.bump() else {
                let what = if triple {
                    "unterminated triple-quoted string literal"
                } else {
                    "unterminated string literal"
                };
                return Err(SyntaxError::new(start, what));
            };
            match c {
                c if c == quote => {
                    if !triple {
                        break;
                    }
                    if self.peek() == Some(quote) && self.peek_at(1) == Some(quote) {
                        self.bump();
                        self.bump();
                        break;
                    }
                    out.push(c);
                }
                '\n' if !triple => {
                    return Err(SyntaxError::new(start, "unterminated string literal"));
                }
                '\\' => {
                    let Some(next) = self.bump() else {
                        return Err(SyntaxError::new(start, "unterminated string literal"));
                    };
                    if raw {
                        out.push('\\');
                        out.push(next);
                    } else {
                        self.escape(next, bytes, here, &mut out)?;
                    }
                }
                c if bytes && !c.is_ascii() => {
                    return Err(SyntaxError::new(
                        start,
                        "bytes can only contain ASCII literal characters",
                    ));
                }
                c => out.push(c),
            }
        }
        if bytes {
            // Byte escapes were stored as chars U+0000..U+00FF; non-escaped text is ASCII.
            return Ok(StrLit::Bytes(out.chars().map(|c| c as u32 as u8).collect()));
        }
        Ok(StrLit::Str(out))
    }

    /// Decodes the escape `\` + `c` (already consumed) into `out`.
    fn escape(
        &mut self,
        c: char,
        bytes: bool,
        pos: Pos,
        out: &mut String,
    ) -> Result<(), SyntaxError> {
        let simple = match c {
            '\n' => Some(None),
            '\\' => Some(Some('\\')),
            '\'' => Some(Some('\'')),
            '"' => Some(Some('"')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(ch) = simple {
            out.extend(ch);
            return Ok(());
        }
        let code = match c {
            '0'..='7' => {
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.bump();
                        }
                        None => break,
                    }
                }
                if bytes {
                    v &= 0xff;
                }
                v
            }
            'x' => self.hex_digits(2, pos, "\\xXX")?,
            'u' if !bytes => self.hex_digits(4, pos, "\\uXXXX")?,
            'U' if !bytes => self.hex_digits(8, pos, "\\UXXXXXXXX")?,
            'N' if !bytes => {
                return Err(SyntaxError::new(
                    pos,
                    "\\N{...} escapes are not supported in canvas code",
                ));
            }
            other => {
                // Python keeps unknown escapes as written (with a warning).
                out.push('\\');
                out.push(other);
                return Ok(());
            }
        };
        if (0xD800..0xE000).contains(&code) {
            return Err(SyntaxError::new(
                pos,
                format!("lone surrogate \\u{code:04x} is not a character"),
            ));
        }
        match char::from_u32(code) {
            Some(ch) => {
                out.push(ch);
                Ok(())
            }
            None => Err(SyntaxError::new(pos, "illegal Unicode character")),
        }
    }

    fn hex_digits(&mut self, n: usize, pos: Pos, form: &str) -> Result<u32, SyntaxError> {
        let mut v: u32 = 0;
        for _ in 0..n {
            match self.peek().and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    v = v.saturating_mul(16).saturating_add(d);
                    self.bump();
                }
                None => return Err(SyntaxError::new(pos, format!("truncated {form} escape"))),
            }
        }
        Ok(v)
    }

    /// An int or float literal (Python's forms: `0x…`, `0o…`, `0b…`, underscores, `1.`, `.5`, `1e-3`).
    fn number(&mut self) -> Result<Tok, SyntaxError> {
        let pos = self.pos();
        let mut text = String::new();
        let radix = match (self.peek(), self.peek_at(1).map(|c| c.to_ascii_lowercase())) {
            (Some('0'), Some('x')) => 16,
            (Some('0'), Some('o')) => 8,
            (Some('0'), Some('b')) => 2,
            _ => 10,
        };
        let invalid = |what: &str| SyntaxError::new(pos, format!("invalid {what} literal"));
        if radix != 10 {
            self.bump();
            self.bump();
            while let Some(c) = self
                .peek()
                .filter(|&c| c.is_ascii_alphanumeric() || c == '_')
            {
                text.push(c);
                self.bump();
            }
            let digits = check_underscores(&text).ok_or_else(|| invalid("number"))?;
            return i64::from_str_radix(&digits, radix)
                .map(Tok::Int)
                .map_err(|_| invalid("number"));
        }
        let mut is_float = false;
        self.take_digits(&mut text);
        if self.peek() == Some('.') {
            is_float = true;
            text.push('.');
            self.bump();
            self.take_digits(&mut text);
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = self.peek_at(1).filter(|c| *c == '+' || *c == '-');
            let digit_at = if sign.is_some() { 2 } else { 1 };
            if self.peek_at(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                text.push('e');
                self.bump();
                if let Some(s) = sign {
                    text.push(s);
                    self.bump();
                }
                self.take_digits(&mut text);
            }
        }
        if matches!(self.peek(), Some('j' | 'J')) {
            return Err(SyntaxError::new(
                pos,
                "complex numbers are not supported in canvas code",
            ));
        }
        if self.peek().is_some_and(is_name_char) {
            return Err(invalid("decimal"));
        }
        let digits = check_underscores(&text).ok_or_else(|| invalid("decimal"))?;
        if is_float {
            return digits
                .parse::<f64>()
                .map(Tok::Float)
                .map_err(|_| invalid("decimal"));
        }
        if digits.len() > 1 && digits.starts_with('0') && digits.chars().any(|c| c != '0') {
            return Err(SyntaxError::new(
                pos,
                "leading zeros in decimal integer literals are not permitted",
            ));
        }
        digits
            .parse::<i64>()
            .map(Tok::Int)
            .map_err(|_| SyntaxError::new(pos, "integer literal too large"))
    }

    fn take_digits(&mut self, text: &mut String) {
        while let Some(c) = self.peek().filter(|&c| c.is_ascii_digit() || c == '_') {
            text.push(c);
            self.bump();
        }
    }
}

/// Python allows single underscores between digits only; returns the text without them.
fn check_underscores(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    for (k, &c) in chars.iter().enumerate() {
        if c == '_' {
            let before = k.checked_sub(1).and_then(|p| chars.get(p));
            let after = chars.get(k + 1);
            if !before.is_some_and(|b| b.is_ascii_alphanumeric())
                || !after.is_some_and(|a| a.is_ascii_alphanumeric())
            {
                return None;
            }
        }
    }
    let digits: String = chars.into_iter().filter(|&c| c != '_').collect();
    (!digits.is_empty()).then_some(digits)
}

fn is_string_prefix(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "f" | "br" | "rb" | "fr" | "rf"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(code: &str) -> Vec<Tok> {
        tokenize(code, 1)
            .expect("tokenizes")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    fn one_str(code: &str) -> StrLit {
        match toks(code).into_iter().next() {
            Some(Tok::Str(s)) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    fn err(code: &str) -> String {
        tokenize(code, 1).expect_err("should fail").to_string()
    }

    #[test]
    fn string_forms_and_escapes() {
        assert_eq!(one_str(r#"'a\'b'"#), StrLit::Str("a'b".into()));
        assert_eq!(one_str(r#""it's""#), StrLit::Str("it's".into()));
        assert_eq!(one_str("'''a\n'b'\n'''"), StrLit::Str("a\n'b'\n".into()));
        assert_eq!(
            one_str(r"'\u2019 \x41\101\n\t\\'"),
            StrLit::Str("\u{2019} AA\n\t\\".into())
        );
        assert_eq!(one_str(r"'\U0001F600'"), StrLit::Str("😀".into()));
        assert_eq!(one_str(r"r'\n\''"), StrLit::Str(r"\n\'".into()));
        assert_eq!(one_str(r"u'x'"), StrLit::Str("x".into()));
        assert_eq!(one_str(r"'\d'"), StrLit::Str(r"\d".into()));
        assert_eq!(one_str("'a\\\nb'"), StrLit::Str("ab".into()));
        assert_eq!(
            one_str(r"b'\xff\u'"),
            StrLit::Bytes(vec![0xff, b'\\', b'u'])
        );
        assert_eq!(one_str("'dragon’s'"), StrLit::Str("dragon’s".into()));
    }

    #[test]
    fn numbers() {
        assert_eq!(
            toks("5 5.0 1e3 .5 1. 1_000 0x1F 0 00"),
            vec![
                Tok::Int(5),
                Tok::Float(5.0),
                Tok::Float(1000.0),
                Tok::Float(0.5),
                Tok::Float(1.0),
                Tok::Int(1000),
                Tok::Int(31),
                Tok::Int(0),
                Tok::Int(0),
                Tok::Newline,
                Tok::Eof
            ]
        );
        assert!(err("05").contains("leading zeros"));
        assert!(err("1__0").contains("invalid decimal literal"));
        assert!(err("1j").contains("complex"));
        assert!(err("99999999999999999999").contains("too large"));
    }

    #[test]
    fn newlines_inside_brackets_are_not_statement_ends() {
        assert_eq!(
            toks("f(\n1,\n)\n# c\n\ng()"),
            vec![
                Tok::Name("f".into()),
                Tok::Op('('),
                Tok::Int(1),
                Tok::Op(','),
                Tok::Op(')'),
                Tok::Newline,
                Tok::Name("g".into()),
                Tok::Op('('),
                Tok::Op(')'),
                Tok::Newline,
                Tok::Eof
            ]
        );
    }

    #[test]
    fn errors_carry_positions() {
        assert_eq!(err("x = 'abc"), "line 1:5: unterminated string literal");
        assert_eq!(err("f(\n  1"), "line 1:2: '(' was never closed");
        assert_eq!(err("a\n  b"), "line 2:1: unexpected indent");
        assert_eq!(err("a)"), "line 1:2: unmatched ')'");
        assert_eq!(
            err("f'x'"),
            "line 1:1: f-strings are not supported in canvas code"
        );
        assert_eq!(
            err("a ? b"),
            "line 1:3: invalid character '?' in canvas code"
        );
        assert_eq!(
            err(r"'\ud800'"),
            "line 1:2: lone surrogate \\ud800 is not a character"
        );
        assert_eq!(err(r"'\x4'"), "line 1:2: truncated \\xXX escape");
    }
}
