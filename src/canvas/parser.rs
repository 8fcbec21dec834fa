//! Parser for canvas programs: a restricted Python grammar with exactly the statements Omost models
//! write, and literal values only. Nothing is ever executed; the result is a list of statements that
//! [`super::build`] applies to a canvas the way Omost's `Canvas` methods would.
//!
//! ```text
//! program   := { statement (NEWLINE | ';') }
//! statement := 'canvas' '=' 'Canvas' '(' ')'
//!            | 'canvas' '.' NAME '(' [ arg { ',' arg } [','] ] ')'
//! arg       := NAME '=' value | value
//! value     := ('+' | '-')* atom
//! atom      := STRING+ | NUMBER | 'True' | 'False' | 'None'
//!            | '[' [ value { ',' value } [','] ] ']' | '(' value ')' | '(' [ value ',' … ] ')'
//! ```

use super::error::{Pos, SyntaxError};
use super::lexer::{StrLit, Tok, Token};

/// A Python literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    List(Vec<Value>),
    Tuple(Vec<Value>),
}

impl Value {
    /// Python's name for the value's type, as in `TypeError` messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::None => "NoneType",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
        }
    }
}

/// One argument of a call.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The keyword, for `name=value`.
    pub keyword: Option<String>,
    pub value: Value,
    /// Where the value starts.
    pub pos: Pos,
}

/// One statement of a canvas program.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `canvas = Canvas()`.
    NewCanvas { pos: Pos },
    /// `canvas.method(args…)`.
    Call {
        pos: Pos,
        method: String,
        args: Vec<Arg>,
    },
}

/// Parses the tokens of a canvas program.
pub fn parse(tokens: &[Token]) -> Result<Vec<Stmt>, SyntaxError> {
    let mut p = Parser { tokens, i: 0 };
    let mut stmts = Vec::new();
    loop {
        match &p.peek().tok {
            Tok::Eof => break,
            Tok::Newline | Tok::Op(';') => {
                p.next();
                continue;
            }
            _ => {}
        }
        stmts.push(p.statement()?);
        let t = p.peek();
        match t.tok {
            Tok::Newline | Tok::Op(';') | Tok::Eof => {}
            _ => return Err(p.unexpected("end of statement")),
        }
    }
    Ok(stmts)
}

struct Parser<'t> {
    tokens: &'t [Token],
    i: usize,
}

impl<'t> Parser<'t> {
    fn peek(&self) -> &'t Token {
        // The token list always ends with Eof, and parsing never moves past it.
        &self.tokens[self.i.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> &'t Token {
        let t = self.peek();
        if t.tok != Tok::Eof {
            self.i += 1;
        }
        t
    }

    fn unexpected(&self, expected: &str) -> SyntaxError {
        let t = self.peek();
        SyntaxError::new(
            t.pos,
            format!("expected {expected}, found {}", t.tok.describe()),
        )
    }

    fn expect_op(&mut self, op: char) -> Result<(), SyntaxError> {
        if self.peek().tok == Tok::Op(op) {
            self.next();
            Ok(())
        } else {
            Err(self.unexpected(&format!("`{op}`")))
        }
    }

    fn expect_name(&mut self, what: &str) -> Result<(String, Pos), SyntaxError> {
        match &self.peek().tok {
            Tok::Name(n) => {
                let pos = self.next().pos;
                Ok((n.clone(), pos))
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn statement(&mut self) -> Result<Stmt, SyntaxError> {
        let (name, pos) = self.expect_name("`canvas = Canvas()` or a `canvas.` call")?;
        if name != "canvas" {
            return Err(SyntaxError::new(
                pos,
                format!("expected `canvas = Canvas()` or a `canvas.` call, found name `{name}`"),
            ));
        }
        match self.peek().tok {
            Tok::Op('=') => {
                self.next();
                let (class, class_pos) = self.expect_name("`Canvas()`")?;
                if class != "Canvas" {
                    return Err(SyntaxError::new(
                        class_pos,
                        format!("expected `Canvas()`, found name `{class}`"),
                    ));
                }
                self.expect_op('(')?;
                if self.peek().tok != Tok::Op(')') {
                    return Err(SyntaxError::new(
                        self.peek().pos,
                        "Canvas() takes no arguments",
                    ));
                }
                self.next();
                Ok(Stmt::NewCanvas { pos })
            }
            Tok::Op('.') => {
                self.next();
                let (method, _) = self.expect_name("a method name")?;
                self.expect_op('(')?;
                let args = self.arguments()?;
                Ok(Stmt::Call { pos, method, args })
            }
            _ => Err(self.unexpected("`=` or `.`")),
        }
    }

    /// Arguments after `(`, through the closing `)`.
    fn arguments(&mut self) -> Result<Vec<Arg>, SyntaxError> {
        let mut args: Vec<Arg> = Vec::new();
        loop {
            if self.peek().tok == Tok::Op(')') {
                self.next();
                return Ok(args);
            }
            let is_keyword = matches!(self.peek().tok, Tok::Name(_))
                && self
                    .tokens
                    .get(self.i + 1)
                    .is_some_and(|t| t.tok == Tok::Op('='));
            let arg = if is_keyword {
                let (keyword, kpos) = self.expect_name("a keyword")?;
                self.next(); // '='
                if args
                    .iter()
                    .any(|a| a.keyword.as_deref() == Some(keyword.as_str()))
                {
                    return Err(SyntaxError::new(
                        kpos,
                        format!("keyword argument repeated: {keyword}"),
                    ));
                }
                let pos = self.peek().pos;
                Arg {
                    keyword: Some(keyword),
                    value: self.value()?,
                    pos,
                }
            } else {
                let pos = self.peek().pos;
                if args.iter().any(|a| a.keyword.is_some()) {
                    return Err(SyntaxError::new(
                        pos,
                        "positional argument follows keyword argument",
                    ));
                }
                Arg {
                    keyword: None,
                    value: self.value()?,
                    pos,
                }
            };
            args.push(arg);
            match self.peek().tok {
                Tok::Op(',') => {
                    self.next();
                }
                Tok::Op(')') => {}
                _ => return Err(self.unexpected("`,` or `)`")),
            }
        }
    }

    fn value(&mut self) -> Result<Value, SyntaxError> {
        let mut signs = Vec::new();
        while let Tok::Op(c @ ('+' | '-')) = self.peek().tok {
            signs.push((c, self.next().pos));
        }
        let mut v = self.atom()?;
        for (sign, pos) in signs.into_iter().rev() {
            v = match (sign, v) {
                ('-', Value::Int(i)) => Value::Int(
                    i.checked_neg()
                        .ok_or_else(|| SyntaxError::new(pos, "integer literal too large"))?,
                ),
                ('-', Value::Float(f)) => Value::Float(-f),
                ('-', Value::Bool(b)) => Value::Int(-(b as i64)),
                ('+', Value::Bool(b)) => Value::Int(b as i64),
                ('+', v @ (Value::Int(_) | Value::Float(_))) => v,
                (sign, v) => {
                    return Err(SyntaxError::new(
                        pos,
                        format!("bad operand type for unary {sign}: '{}'", v.type_name()),
                    ))
                }
            };
        }
        Ok(v)
    }

    fn atom(&mut self) -> Result<Value, SyntaxError> {
        let t = self.peek();
        match &t.tok {
            Tok::Str(_) => self.strings(),
            Tok::Int(i) => {
                self.next();
                Ok(Value::Int(*i))
            }
            Tok::Float(f) => {
                self.next();
                Ok(Value::Float(*f))
            }
            Tok::Name(n) => {
                let v = match n.as_str() {
                    "True" => Value::Bool(true),
                    "False" => Value::Bool(false),
                    "None" => Value::None,
                    _ => {
                        return Err(SyntaxError::new(
                            t.pos,
                            format!("expected a literal value, found name `{n}` (canvas code may only use literals)"),
                        ))
                    }
                };
                self.next();
                Ok(v)
            }
            Tok::Op('[') => {
                self.next();
                Ok(Value::List(self.sequence(']')?.0))
            }
            Tok::Op('(') => {
                self.next();
                let (items, trailing_comma) = self.sequence(')')?;
                if items.len() == 1 && !trailing_comma {
                    Ok(items.into_iter().next().unwrap_or(Value::None))
                } else {
                    Ok(Value::Tuple(items))
                }
            }
            _ => Err(self.unexpected("a value")),
        }
    }

    /// Comma-separated values through `close`; also says whether a comma came last.
    fn sequence(&mut self, close: char) -> Result<(Vec<Value>, bool), SyntaxError> {
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            if self.peek().tok == Tok::Op(close) {
                self.next();
                return Ok((items, trailing_comma));
            }
            items.push(self.value()?);
            trailing_comma = false;
            match self.peek().tok {
                Tok::Op(',') => {
                    self.next();
                    trailing_comma = true;
                }
                Tok::Op(c) if c == close => {}
                _ => return Err(self.unexpected(&format!("`,` or `{close}`"))),
            }
        }
    }

    /// Adjacent string literals, concatenated as Python does.
    fn strings(&mut self) -> Result<Value, SyntaxError> {
        let first = self.peek().pos;
        let mut text: Option<String> = None;
        let mut bytes: Option<Vec<u8>> = None;
        while let Tok::Str(lit) = &self.peek().tok {
            match lit {
                StrLit::Str(s) => text.get_or_insert_with(String::new).push_str(s),
                StrLit::Bytes(b) => bytes.get_or_insert_with(Vec::new).extend_from_slice(b),
            }
            self.next();
        }
        match (text, bytes) {
            (Some(_), Some(_)) => Err(SyntaxError::new(
                first,
                "cannot mix bytes and nonbytes literals",
            )),
            (_, Some(b)) => Ok(Value::Bytes(b)),
            (t, None) => Ok(Value::Str(t.unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canvas::lexer::tokenize;

    fn parse_code(code: &str) -> Result<Vec<Stmt>, SyntaxError> {
        parse(&tokenize(code, 1)?)
    }

    fn first_arg(code: &str) -> Value {
        match parse_code(code).expect("parses").into_iter().next() {
            Some(Stmt::Call { mut args, .. }) => args.remove(0).value,
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn values() {
        assert_eq!(first_arg("canvas.f('a' \"b\"\n)"), Value::Str("ab".into()));
        assert_eq!(first_arg("canvas.f(-5)"), Value::Int(-5));
        assert_eq!(first_arg("canvas.f(--5.5)"), Value::Float(5.5));
        assert_eq!(first_arg("canvas.f(-True)"), Value::Int(-1));
        assert_eq!(
            first_arg("canvas.f(['a', 'b',])"),
            Value::List(vec![Value::Str("a".into()), Value::Str("b".into())])
        );
        assert_eq!(
            first_arg("canvas.f(('a',))"),
            Value::Tuple(vec![Value::Str("a".into())])
        );
        assert_eq!(first_arg("canvas.f(('a'))"), Value::Str("a".into()));
        assert_eq!(first_arg("canvas.f(None)"), Value::None);
        assert_eq!(first_arg("canvas.f([])"), Value::List(vec![]));
    }

    #[test]
    fn statements() {
        let stmts = parse_code("canvas = Canvas()\ncanvas.f(1, x=2); canvas.g()").expect("parses");
        assert_eq!(stmts.len(), 3);
        assert!(matches!(stmts[0], Stmt::NewCanvas { .. }));
        match &stmts[1] {
            Stmt::Call { method, args, pos } => {
                assert_eq!(method, "f");
                assert_eq!(*pos, Pos { line: 2, col: 1 });
                assert_eq!(args[1].keyword.as_deref(), Some("x"));
                assert_eq!(args[1].pos, Pos { line: 2, col: 15 });
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rejections() {
        let err = |c: &str| parse_code(c).expect_err("should fail").to_string();
        assert_eq!(
            err("import os"),
            "line 1:1: expected `canvas = Canvas()` or a `canvas.` call, found name `import`"
        );
        assert_eq!(err("canvas.f(x)"), "line 1:10: expected a literal value, found name `x` (canvas code may only use literals)");
        assert_eq!(
            err("canvas.f(a=1, 2)"),
            "line 1:15: positional argument follows keyword argument"
        );
        assert_eq!(
            err("canvas.f(a=1, a=2)"),
            "line 1:15: keyword argument repeated: a"
        );
        assert_eq!(
            err("canvas.f(-'x')"),
            "line 1:10: bad operand type for unary -: 'str'"
        );
        assert_eq!(
            err("canvas.f('a' b'b')"),
            "line 1:10: cannot mix bytes and nonbytes literals"
        );
        assert_eq!(
            err("canvas = Canvas(1)"),
            "line 1:17: Canvas() takes no arguments"
        );
        assert_eq!(
            err("canvas.f(1) canvas.g()"),
            "line 1:13: expected end of statement, found name `canvas`"
        );
        assert_eq!(
            err("canvas.f(1 2)"),
            "line 1:12: expected `,` or `)`, found a number"
        );
        assert_eq!(
            err("canvas.f(1 + 2)"),
            "line 1:12: expected `,` or `)`, found `+`"
        );
    }
}
