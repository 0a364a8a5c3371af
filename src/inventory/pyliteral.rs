//! Python's `ast.literal_eval`, as ansible-core's INI inventory plugin
//! applies it to every variable value (`plugins/inventory/ini.py`,
//! `_parse_value`), followed by the plugin's type coercion
//! (`_parse_recursive_coerce_types_and_tag`).
//!
//! ```text
//! 2222 → Int    True → Bool    None → Null    1.5, 1e3 → Float
//! 0x1F, 0o17, 0b101, 1_000, -1 → Int          0755 → Str "0755" (SyntaxError in Python 3)
//! 'a', "a", u'a', r'a\n', b'a', 'a' 'b' → Str  [1, 'a'], (1, 2), 1, 2, {1, 2}, set() → List
//! {'a': 1} → Map        1j, 1+2j → Str "(1+2j)"   ... → Str "..."    yes, x, 1+2 → None
//! ```
//!
//! `None` means Python raises `ValueError` or `SyntaxError`, which Ansible
//! catches and keeps the text as a string. A few inputs make Python raise
//! something else (an unhashable dict key: `{[1]: 2}`), which fails the
//! whole inventory in Ansible; [`try_literal_eval`] reports those as `Err`.
//!
//! Python semantics reproduced here, each checked against Python 3.11 (the
//! interpreter ansible-core 2.19 ran on when these rules were verified):
//! - the input is `lstrip(" \t")`-ed, then parsed as one expression
//!   (`ast.parse(mode="eval")`): comments (`5 # c` is 5), implicit string
//!   concatenation, parentheses, and a bare `1, 2` tuple all count;
//! - `_convert` accepts constants, tuples, lists, sets, `set()`, dicts,
//!   `+`/`-` applied to one number, and `real ± imaginary`;
//! - tuples and sets become lists, bytes are decoded as UTF-8, complex
//!   numbers and `...` become their `str()`;
//! - dict keys are compared as Python compares them (`{1: 'a', True: 'b'}`
//!   is `{1: 'b'}`); a set keeps CPython's iteration order for numbers.
//!
//! What zkrun cannot hold is an `Err`, not a silent change: dict keys that
//! are not strings, numbers, booleans or None (a tuple key), text with a lone
//! surrogate (`'\ud800'`, `b'\xff'`), and `\N{NAME}` escapes (no Unicode
//! name table here). Integers beyond 64 bits become their decimal text.

use indexmap::IndexMap;

use super::value::Value;

/// `ast.literal_eval(s)` as Ansible's INI plugin uses it: `None` where
/// Python raises `ValueError`/`SyntaxError` (Ansible then keeps `s` as a
/// string), and also where [`try_literal_eval`] would return `Err`.
pub fn literal_eval(s: &str) -> Option<Value> {
    try_literal_eval(s).ok().flatten()
}

/// Like [`literal_eval`], but tells apart the inputs on which Ansible fails
/// the whole inventory (`Err`, with the reason), such as `{[1]: 2}`
/// (`TypeError: unhashable type: 'list'`), and values zkrun cannot hold.
pub fn try_literal_eval(s: &str) -> Result<Option<Value>, String> {
    let source = s.trim_start_matches([' ', '\t']);
    let Ok(tokens) = tokenize(source) else {
        return Ok(None);
    };
    let mut p = Parser {
        toks: &tokens,
        i: 0,
    };
    let Ok(node) = p.top() else {
        return Ok(None);
    };
    match convert(&node) {
        Ok(py) => to_value(py).map(Some),
        Err(EvalError::Malformed) => Ok(None),
        Err(EvalError::Raise(why)) => Err(why),
    }
}

// ---------------------------------------------------------------------------
// Python objects, as far as literals go.

#[derive(Debug, Clone)]
enum Int {
    Small(i128),
    /// Beyond i128: sign and decimal digits of the magnitude.
    Big {
        negative: bool,
        digits: String,
    },
}

#[derive(Debug, Clone)]
enum Py {
    None,
    Bool(bool),
    Int(Int),
    Float(f64),
    Complex(f64, f64),
    /// `problem`: why zkrun cannot hold this text (a lone surrogate, a
    /// `\N{…}` escape); reported only if the literal is otherwise valid.
    Str {
        text: String,
        problem: Option<&'static str>,
    },
    Bytes(Vec<u8>),
    Ellipsis,
    Tuple(Vec<Py>),
    List(Vec<Py>),
    /// Already in CPython's iteration order.
    Set(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

impl Py {
    fn type_name(&self) -> &'static str {
        match self {
            Py::None => "NoneType",
            Py::Bool(_) => "bool",
            Py::Int(_) => "int",
            Py::Float(_) => "float",
            Py::Complex(..) => "complex",
            Py::Str { .. } => "str",
            Py::Bytes(_) => "bytes",
            Py::Ellipsis => "ellipsis",
            Py::Tuple(_) => "tuple",
            Py::List(_) => "list",
            Py::Set(_) => "set",
            Py::Dict(_) => "dict",
        }
    }
}

// ---------------------------------------------------------------------------
// Tokens (CPython's tokenizer, for the tokens a literal can contain).

#[derive(Debug, Clone)]
enum StrKind {
    Text(String, Option<&'static str>),
    Bytes(Vec<u8>),
    /// An f-string: a `JoinedStr` node, never a literal.
    Format,
}

#[derive(Debug, Clone)]
enum Tok {
    Num(Py),
    Str(StrKind),
    Name(String),
    /// A delimiter or operator: `(`, `,`, `...`, `**`, `!=`, …
    Punct(&'static str),
}

struct SyntaxError;

/// Python's reserved words other than `True`, `False`, `None`: none can
/// appear in a literal, and most make a syntax error where a value goes.
const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif",
    "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda",
    "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic() || (!c.is_ascii() && c.is_alphabetic())
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric())
}

fn tokenize(source: &str) -> Result<Vec<Tok>, SyntaxError> {
    // The tokenizer reads `\r\n` and `\r` as `\n`.
    let text = source.replace("\r\n", "\n").replace('\r', "\n");
    let s: Vec<char> = text.chars().collect();
    if s.contains(&'\0') {
        // "source code string cannot contain null bytes"
        return Err(SyntaxError);
    }
    let mut toks = Vec::new();
    let mut depth = 0usize;
    // Blank and comment lines before the expression are skipped; its first
    // line may not be indented. A form feed resets the column (`"\f 1"` is
    // an IndentationError, `"\f1"` is fine), and a leading `\`-newline
    // starts the count again on the next line.
    let mut i = 0;
    loop {
        let mut col = 0;
        while i < s.len() && matches!(s[i], ' ' | '\t' | '\x0c') {
            col = if s[i] == '\x0c' { 0 } else { col + 1 };
            i += 1;
        }
        match s.get(i) {
            None => break,
            Some('#') => {
                while i < s.len() && s[i] != '\n' {
                    i += 1;
                }
            }
            Some('\n') => i += 1,
            Some('\\') if s.get(i + 1) == Some(&'\n') => i += 2,
            Some(_) if col > 0 => return Err(SyntaxError),
            Some(_) => break,
        }
    }
    while i < s.len() {
        let c = s[i];
        match c {
            ' ' | '\t' | '\x0c' => i += 1,
            '#' => {
                while i < s.len() && s[i] != '\n' {
                    i += 1;
                }
            }
            '\\' => {
                // A line continuation (not at the very end: "unexpected
                // EOF"); anything else after `\` is an error.
                if s.get(i + 1) == Some(&'\n') && i + 2 < s.len() {
                    i += 2;
                } else {
                    return Err(SyntaxError);
                }
            }
            '\n' => {
                i += 1;
                if depth == 0 {
                    // The expression ends here: only blank lines and
                    // comments may follow.
                    if !rest_is_blank(&s[i..]) {
                        return Err(SyntaxError);
                    }
                    break;
                }
            }
            '0'..='9' => {
                let (num, next) = scan_number(&s, i)?;
                toks.push(Tok::Num(num));
                i = next;
            }
            '.' if s.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                let (num, next) = scan_number(&s, i)?;
                toks.push(Tok::Num(num));
                i = next;
            }
            '.' if s.get(i + 1) == Some(&'.') && s.get(i + 2) == Some(&'.') => {
                toks.push(Tok::Punct("..."));
                i += 3;
            }
            '\'' | '"' => {
                let (piece, next) = scan_string(&s, i, "")?;
                toks.push(Tok::Str(piece));
                i = next;
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < s.len() && is_ident_char(s[i]) {
                    i += 1;
                }
                let word: String = s[start..i].iter().collect();
                if matches!(s.get(i), Some('\'' | '"')) && is_string_prefix(&word) {
                    let (piece, next) = scan_string(&s, i, &word)?;
                    toks.push(Tok::Str(piece));
                    i = next;
                } else {
                    toks.push(Tok::Name(word));
                }
            }
            _ => {
                // Delimiters and operators, longest first as Python reads them.
                let Some(op) = OPERATORS.iter().find(|op| {
                    op.chars()
                        .enumerate()
                        .all(|(k, o)| s.get(i + k) == Some(&o))
                }) else {
                    // `$`, `?`, a backtick, a stray non-printable character.
                    return Err(SyntaxError);
                };
                match *op {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => depth = depth.saturating_sub(1),
                    _ => {}
                }
                toks.push(Tok::Punct(op));
                i += op.chars().count();
            }
        }
    }
    Ok(toks)
}

/// Python's delimiters and operators, longer ones first.
const OPERATORS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "->", ":=", "+=",
    "-=", "*=", "/=", "%=", "@=", "&=", "|=", "^=", "(", ")", "[", "]", "{", "}", ",", ":", ".",
    ";", "+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "=",
];

/// Binary operators of expressions (`+` and `-` aside): valid Python, never
/// part of a literal.
const BINARY: &[&str] = &[
    "**", "//", "<<", ">>", "<=", ">=", "==", "!=", "*", "/", "%", "@", "&", "|", "^", "<", ">",
];

/// After the expression's last line: blank and comment lines only. A last
/// line of bare indentation with no newline after it is an IndentationError
/// in CPython (`"1\n "`), one ending in a newline is not (`"1\n \n"`).
fn rest_is_blank(s: &[char]) -> bool {
    let mut i = 0;
    while i < s.len() {
        let mut col = 0;
        while i < s.len() && matches!(s[i], ' ' | '\t' | '\x0c') {
            col = if s[i] == '\x0c' { 0 } else { col + 1 };
            i += 1;
        }
        match s.get(i) {
            None => return col == 0,
            Some('\n') => i += 1,
            Some('#') => {
                while i < s.len() && s[i] != '\n' {
                    i += 1;
                }
            }
            Some(_) => return false,
        }
    }
    true
}

/// `r`, `u`, `b`, `br`, `rb`, `f`, `fr`, `rf`, in any case.
fn is_string_prefix(word: &str) -> bool {
    matches!(
        word.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf"
    )
}

/// `digit (["_"] digit)*` from `i`; returns the digits without underscores
/// and the end. A trailing or doubled `_` is left for the caller to reject.
fn digit_part(s: &[char], mut i: usize, ok: impl Fn(char) -> bool) -> (String, usize) {
    let mut out = String::new();
    while i < s.len() {
        if ok(s[i]) {
            out.push(s[i]);
            i += 1;
        } else if s[i] == '_' && i + 1 < s.len() && ok(s[i + 1]) && !out.is_empty() {
            i += 1;
        } else {
            break;
        }
    }
    (out, i)
}

/// Python's number grammar (decimal, hex, octal, binary, float, imaginary).
fn scan_number(s: &[char], start: usize) -> Result<(Py, usize), SyntaxError> {
    let ends_cleanly = |i: usize| -> Result<(), SyntaxError> {
        // `1_`, `0b102`, `1abc`: an identifier character right after a
        // number is an error (or, for `1if`, not a literal anyway).
        match s.get(i) {
            Some(&c) if is_ident_char(c) => Err(SyntaxError),
            _ => Ok(()),
        }
    };
    if s[start] == '0' {
        let radix = match s.get(start + 1) {
            Some('x' | 'X') => 16,
            Some('o' | 'O') => 8,
            Some('b' | 'B') => 2,
            _ => 0,
        };
        if radix != 0 {
            let mut i = start + 2;
            // An underscore may follow the prefix: `0x_1f`.
            if s.get(i) == Some(&'_') {
                i += 1;
            }
            let (digits, end) = digit_part(s, i, |c| c.is_digit(radix));
            if digits.is_empty() {
                return Err(SyntaxError);
            }
            ends_cleanly(end)?;
            return Ok((Py::Int(int_from_digits(&digits, radix)), end));
        }
    }
    let (int_part, mut i) = digit_part(s, start, |c| c.is_ascii_digit());
    let mut is_float = false;
    let mut frac = String::new();
    if s.get(i) == Some(&'.') {
        is_float = true;
        let (f, end) = digit_part(s, i + 1, |c| c.is_ascii_digit());
        frac = f;
        i = end;
    }
    let mut exp = String::new();
    if matches!(s.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        let mut sign = "";
        if matches!(s.get(j), Some('+' | '-')) {
            sign = if s[j] == '-' { "-" } else { "" };
            j += 1;
        }
        let (e, end) = digit_part(s, j, |c| c.is_ascii_digit());
        if e.is_empty() {
            return Err(SyntaxError);
        }
        is_float = true;
        exp = format!("{sign}{e}");
        i = end;
    }
    let imaginary = matches!(s.get(i), Some('j' | 'J'));
    if imaginary {
        i += 1;
    }
    ends_cleanly(i)?;
    if !is_float && !imaginary {
        // Decimal integers may not have leading zeros, except 0 itself
        // (`00`, `0_0`): Python 3 rejects `0755`.
        if int_part.starts_with('0') && int_part.chars().any(|c| c != '0') {
            return Err(SyntaxError);
        }
        return Ok((Py::Int(int_from_digits(&int_part, 10)), i));
    }
    let text = format!(
        "{}.{}e{}",
        if int_part.is_empty() { "0" } else { &int_part },
        if frac.is_empty() { "0" } else { &frac },
        if exp.is_empty() { "0" } else { &exp },
    );
    let value: f64 = text.parse().map_err(|_| SyntaxError)?;
    Ok((
        if imaginary {
            Py::Complex(0.0, value)
        } else {
            Py::Float(value)
        },
        i,
    ))
}

fn int_from_digits(digits: &str, radix: u32) -> Int {
    if let Ok(n) = i128::from_str_radix(digits, radix) {
        return Int::Small(n);
    }
    // Beyond i128: convert to decimal by hand (base 10^9 limbs).
    let mut limbs: Vec<u64> = vec![0];
    for c in digits.chars() {
        let mut carry = u64::from(c.to_digit(radix).unwrap_or(0));
        for limb in limbs.iter_mut() {
            let v = *limb * u64::from(radix) + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        while carry > 0 {
            limbs.push(carry % 1_000_000_000);
            carry /= 1_000_000_000;
        }
    }
    let mut out = limbs.last().map(|l| l.to_string()).unwrap_or_default();
    for limb in limbs.iter().rev().skip(1) {
        out.push_str(&format!("{limb:09}"));
    }
    Int::Big {
        negative: false,
        digits: out,
    }
}

/// A string literal at `s[i]` (the opening quote) with `prefix` before it.
fn scan_string(s: &[char], i: usize, prefix: &str) -> Result<(StrKind, usize), SyntaxError> {
    let p = prefix.to_ascii_lowercase();
    let raw = p.contains('r');
    let bytes = p.contains('b');
    let format = p.contains('f');
    let q = s[i];
    let triple = s.get(i + 1) == Some(&q) && s.get(i + 2) == Some(&q);
    let mut j = if triple { i + 3 } else { i + 1 };
    let body_start = j;
    loop {
        let Some(&c) = s.get(j) else {
            return Err(SyntaxError); // unterminated
        };
        if c == '\\' {
            if j + 1 >= s.len() {
                return Err(SyntaxError);
            }
            j += 2;
            continue;
        }
        if c == '\n' && !triple {
            return Err(SyntaxError);
        }
        if c == q && (!triple || (s.get(j + 1) == Some(&q) && s.get(j + 2) == Some(&q))) {
            break;
        }
        j += 1;
    }
    let body = &s[body_start..j];
    let end = if triple { j + 3 } else { j + 1 };
    if format {
        return Ok((StrKind::Format, end));
    }
    if bytes {
        if body.iter().any(|c| !c.is_ascii()) {
            // "bytes can only contain ASCII literal characters"
            return Err(SyntaxError);
        }
        let out = if raw {
            body.iter().map(|&c| c as u8).collect()
        } else {
            unescape_bytes(body)?
        };
        return Ok((StrKind::Bytes(out), end));
    }
    if raw {
        return Ok((StrKind::Text(body.iter().collect(), None), end));
    }
    let (text, problem) = unescape_text(body)?;
    Ok((StrKind::Text(text, problem), end))
}

fn hex_value(s: &[char], from: usize, n: usize) -> Result<u32, SyntaxError> {
    if from + n > s.len() {
        return Err(SyntaxError);
    }
    let mut v = 0u32;
    for &c in &s[from..from + n] {
        v = v * 16 + c.to_digit(16).ok_or(SyntaxError)?;
    }
    Ok(v)
}

/// Up to three octal digits from `i`: (value, digits read).
fn octal_value(s: &[char], i: usize) -> (u32, usize) {
    let mut v = 0;
    let mut n = 0;
    while n < 3 && i + n < s.len() {
        match s[i + n].to_digit(8) {
            Some(d) => v = v * 8 + d,
            None => break,
        }
        n += 1;
    }
    (v, n)
}

/// A single-character escape common to str and bytes (`\n`, `\t`, …).
fn simple_escape(c: char) -> Option<char> {
    Some(match c {
        '\\' => '\\',
        '\'' => '\'',
        '"' => '"',
        'a' => '\x07',
        'b' => '\x08',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        _ => return None,
    })
}

fn unescape_text(s: &[char]) -> Result<(String, Option<&'static str>), SyntaxError> {
    const SURROGATE: &str = "a lone surrogate escape (`\\ud800`…`\\udfff`)";
    let mut out = String::new();
    let mut problem = None;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = s[i + 1]; // the scanner guarantees a character after `\`
        i += 2;
        if e == '\n' {
            continue; // backslash-newline: nothing
        }
        if let Some(ch) = simple_escape(e) {
            out.push(ch);
            continue;
        }
        let code = match e {
            '0'..='7' => {
                // `\400` and above are allowed in str (a DeprecationWarning).
                let (v, n) = octal_value(s, i - 1);
                i += n - 1;
                v
            }
            'x' => {
                let v = hex_value(s, i, 2)?;
                i += 2;
                v
            }
            'u' => {
                let v = hex_value(s, i, 4)?;
                i += 4;
                v
            }
            'U' => {
                let v = hex_value(s, i, 8)?;
                i += 8;
                if v > 0x10FFFF {
                    return Err(SyntaxError);
                }
                v
            }
            'N' => {
                // `\N{NAME}` needs the Unicode name table; without `{…}` it
                // is a syntax error.
                if s.get(i) != Some(&'{') {
                    return Err(SyntaxError);
                }
                let close = s[i..].iter().position(|&c| c == '}').ok_or(SyntaxError)?;
                if close < 2 {
                    return Err(SyntaxError);
                }
                i += close + 1;
                problem = Some(
                    "a `\\N{…}` escape, which zkrun cannot resolve: write the character itself",
                );
                out.push('\u{FFFD}');
                continue;
            }
            _ => {
                // An unknown escape keeps its backslash.
                out.push('\\');
                out.push(e);
                continue;
            }
        };
        match char::from_u32(code) {
            Some(ch) => out.push(ch),
            None => {
                problem.get_or_insert(SURROGATE);
                out.push('\u{FFFD}');
            }
        }
    }
    Ok((out, problem))
}

fn unescape_bytes(s: &[char]) -> Result<Vec<u8>, SyntaxError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != '\\' {
            out.push(c as u8);
            i += 1;
            continue;
        }
        let e = s[i + 1];
        i += 2;
        if e == '\n' {
            continue;
        }
        if let Some(ch) = simple_escape(e) {
            out.push(ch as u8);
            continue;
        }
        match e {
            '0'..='7' => {
                let (v, n) = octal_value(s, i - 1);
                i += n - 1;
                // `b'\400'` keeps the low byte.
                out.push((v & 0xFF) as u8);
            }
            'x' => {
                out.push(hex_value(s, i, 2)? as u8);
                i += 2;
            }
            _ => {
                // `\u`, `\N` and unknown escapes are kept as written in bytes.
                out.push(b'\\');
                out.push(e as u8);
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// The expression tree: what `ast.parse` makes of the input. Valid Python
// that is not a literal (a name, `1+2`, `x[0]`, `f(1)`) becomes `Other`,
// which `_convert` rejects as malformed: it is parsed all the same, because
// Python reports a malformed node only when evaluation reaches it, and an
// unhashable key met earlier fails the inventory instead. Lambdas,
// comprehensions, `yield`, `await` and `:=` are treated as syntax errors
// (they only change which of those two comes first).

#[derive(Debug)]
enum Node {
    Const(Py),
    Tuple(Vec<Node>),
    List(Vec<Node>),
    Set(Vec<Node>),
    Dict(Vec<(Node, Node)>),
    /// `set()`.
    EmptySetCall,
    /// `+x` / `-x`: (negative, operand).
    Unary(bool, Box<Node>),
    /// `a + b` / `a - b`: (left, subtract, right).
    BinOp(Box<Node>, bool, Box<Node>),
    /// A bare name (only `set` matters: `set()`).
    Name(String),
    /// Any other expression `_convert` does not accept.
    Other,
}

struct Parser<'a> {
    toks: &'a [Tok],
    i: usize,
}

type Parsed = Result<Node, SyntaxError>;

impl Parser<'_> {
    fn peek_punct(&self) -> Option<&'static str> {
        match self.toks.get(self.i) {
            Some(Tok::Punct(p)) => Some(p),
            _ => None,
        }
    }

    fn peek_name(&self) -> Option<&str> {
        match self.toks.get(self.i) {
            Some(Tok::Name(n)) => Some(n),
            _ => None,
        }
    }

    fn eat(&mut self, p: &str) -> bool {
        if self.peek_punct() == Some(p) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn eat_name(&mut self, n: &str) -> bool {
        if self.peek_name() == Some(n) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), SyntaxError> {
        if self.eat(p) {
            Ok(())
        } else {
            Err(SyntaxError)
        }
    }

    /// The whole input: one expression, or a bare tuple `1, 2`.
    fn top(&mut self) -> Parsed {
        if self.toks.is_empty() {
            return Err(SyntaxError);
        }
        let first = self.test()?;
        let node = if self.peek_punct() == Some(",") {
            let mut items = vec![first];
            while self.eat(",") {
                if self.i >= self.toks.len() {
                    break;
                }
                items.push(self.item()?);
            }
            Node::Tuple(items)
        } else {
            first
        };
        if self.i != self.toks.len() {
            return Err(SyntaxError);
        }
        Ok(node)
    }

    /// An element of a tuple, list or set: an expression or `*expr`.
    fn item(&mut self) -> Parsed {
        if self.eat("*") {
            self.binary()?;
            return Ok(Node::Other); // a Starred node
        }
        self.test()
    }

    /// `a if b else c`, or a plain expression.
    fn test(&mut self) -> Parsed {
        let node = self.binary()?;
        if self.eat_name("if") {
            self.binary()?;
            if !self.eat_name("else") {
                return Err(SyntaxError);
            }
            self.test()?;
            return Ok(Node::Other);
        }
        Ok(node)
    }

    /// Operands joined by binary operators. Only a chain of `+` and `-`
    /// keeps its shape (`1+2j`); any other operator makes it `Other`.
    fn binary(&mut self) -> Parsed {
        let mut left = self.unary()?;
        let mut other = false;
        loop {
            let subtract = match (self.peek_punct(), self.peek_name()) {
                (Some("+"), _) => Some(false),
                (Some("-"), _) => Some(true),
                (Some(op), _) if BINARY.contains(&op) => None,
                (_, Some("and" | "or" | "in")) => None,
                (_, Some("is")) => {
                    self.i += 1;
                    self.eat_name("not");
                    self.unary()?;
                    other = true;
                    continue;
                }
                (_, Some("not")) if matches!(self.toks.get(self.i + 1), Some(Tok::Name(n)) if n == "in") =>
                {
                    self.i += 1;
                    None
                }
                _ => break,
            };
            self.i += 1;
            let right = self.unary()?;
            match subtract {
                Some(sub) if !other => left = Node::BinOp(Box::new(left), sub, Box::new(right)),
                _ => other = true,
            }
        }
        Ok(if other { Node::Other } else { left })
    }

    fn unary(&mut self) -> Parsed {
        match self.peek_punct() {
            Some(sign @ ("+" | "-")) => {
                self.i += 1;
                let operand = self.unary()?;
                return Ok(Node::Unary(sign == "-", Box::new(operand)));
            }
            Some("~") => {
                self.i += 1;
                self.unary()?;
                return Ok(Node::Other);
            }
            _ => {}
        }
        if self.eat_name("not") {
            self.unary()?;
            return Ok(Node::Other);
        }
        self.primary()
    }

    /// An atom with any calls, subscripts and attributes after it.
    fn primary(&mut self) -> Parsed {
        let mut node = self.atom()?;
        loop {
            if self.eat("(") {
                let mut args = 0;
                while !self.eat(")") {
                    if !(self.eat("**") || self.eat("*"))
                        && self.peek_name().is_some()
                        && matches!(self.toks.get(self.i + 1), Some(Tok::Punct("=")))
                    {
                        self.i += 2; // a keyword argument `name=`
                    }
                    self.test()?;
                    args += 1;
                    if !self.eat(",") {
                        self.expect(")")?;
                        break;
                    }
                }
                // `set()` is the one call literal_eval accepts.
                node = match node {
                    Node::Name(n) if n == "set" && args == 0 => Node::EmptySetCall,
                    _ => Node::Other,
                };
            } else if self.eat("[") {
                // A subscript or slice: `x[0]`, `x[1:2, ::3]`.
                while !self.eat("]") {
                    if !(self.eat(":") || self.eat(",")) {
                        self.test()?;
                    }
                    if self.i >= self.toks.len() {
                        return Err(SyntaxError);
                    }
                }
                node = Node::Other;
            } else if self.eat(".") {
                if self.peek_name().is_none() {
                    return Err(SyntaxError);
                }
                self.i += 1;
                node = Node::Other;
            } else {
                return Ok(node);
            }
        }
    }

    fn atom(&mut self) -> Parsed {
        let Some(tok) = self.toks.get(self.i) else {
            return Err(SyntaxError);
        };
        self.i += 1;
        match tok {
            Tok::Num(n) => Ok(Node::Const(n.clone())),
            Tok::Str(first) => self.strings(first.clone()),
            Tok::Name(name) => match name.as_str() {
                "True" => Ok(Node::Const(Py::Bool(true))),
                "False" => Ok(Node::Const(Py::Bool(false))),
                "None" => Ok(Node::Const(Py::None)),
                n if KEYWORDS.contains(&n) => Err(SyntaxError),
                n => Ok(Node::Name(n.to_string())),
            },
            Tok::Punct("...") => Ok(Node::Const(Py::Ellipsis)),
            Tok::Punct("(") => {
                if self.eat(")") {
                    return Ok(Node::Tuple(Vec::new()));
                }
                let first = self.item()?;
                if self.eat(")") {
                    return Ok(first); // parentheses only group
                }
                Ok(Node::Tuple(self.rest_of_items(first, ")")?))
            }
            Tok::Punct("[") => {
                if self.eat("]") {
                    return Ok(Node::List(Vec::new()));
                }
                let first = self.item()?;
                Ok(Node::List(self.rest_of_items(first, "]")?))
            }
            Tok::Punct("{") => {
                if self.eat("}") {
                    return Ok(Node::Dict(Vec::new()));
                }
                let mut pairs = Vec::new();
                if self.eat("**") {
                    // `{**x}`: a key of None, malformed when reached.
                    self.binary()?;
                    pairs.push((Node::Other, Node::Other));
                } else {
                    let first = self.item()?;
                    if !self.eat(":") {
                        return Ok(Node::Set(self.rest_of_items(first, "}")?));
                    }
                    pairs.push((first, self.test()?));
                }
                loop {
                    if self.eat("}") {
                        break;
                    }
                    self.expect(",")?;
                    if self.eat("}") {
                        break;
                    }
                    if self.eat("**") {
                        self.binary()?;
                        pairs.push((Node::Other, Node::Other));
                        continue;
                    }
                    let k = self.test()?;
                    self.expect(":")?;
                    pairs.push((k, self.test()?));
                }
                Ok(Node::Dict(pairs))
            }
            _ => Err(SyntaxError),
        }
    }

    /// After the first item of a bracketed sequence: `, b, c,` up to `close`.
    fn rest_of_items(&mut self, first: Node, close: &str) -> Result<Vec<Node>, SyntaxError> {
        let mut items = vec![first];
        loop {
            if self.eat(close) {
                return Ok(items);
            }
            self.expect(",")?;
            if self.eat(close) {
                return Ok(items);
            }
            items.push(self.item()?);
        }
    }

    /// Adjacent string literals are one constant (`'a' 'b'` is `'ab'`).
    fn strings(&mut self, first: StrKind) -> Parsed {
        let mut pieces = vec![first];
        while let Some(Tok::Str(p)) = self.toks.get(self.i) {
            pieces.push(p.clone());
            self.i += 1;
        }
        let has_bytes = pieces.iter().any(|p| matches!(p, StrKind::Bytes(_)));
        let has_text = pieces
            .iter()
            .any(|p| matches!(p, StrKind::Text(..) | StrKind::Format));
        if has_bytes && has_text {
            // "cannot mix bytes and nonbytes literals"
            return Err(SyntaxError);
        }
        if pieces.iter().any(|p| matches!(p, StrKind::Format)) {
            return Ok(Node::Other); // a JoinedStr
        }
        if has_bytes {
            let mut out = Vec::new();
            for p in pieces {
                if let StrKind::Bytes(b) = p {
                    out.extend(b);
                }
            }
            return Ok(Node::Const(Py::Bytes(out)));
        }
        let mut text = String::new();
        let mut problem = None;
        for p in pieces {
            if let StrKind::Text(t, pr) = p {
                text.push_str(&t);
                problem = problem.or(pr);
            }
        }
        Ok(Node::Const(Py::Str { text, problem }))
    }
}

// ---------------------------------------------------------------------------
// `_convert`: the tree to a value, in Python's evaluation order.

enum EvalError {
    /// `ValueError: malformed node or string` (Ansible keeps the text).
    Malformed,
    /// Any other exception: Ansible fails the inventory.
    Raise(String),
}

fn convert(node: &Node) -> Result<Py, EvalError> {
    match node {
        Node::Const(p) => Ok(p.clone()),
        Node::Tuple(items) => Ok(Py::Tuple(convert_all(items)?)),
        Node::List(items) => Ok(Py::List(convert_all(items)?)),
        Node::Set(items) => {
            // `set(map(_convert, elts))`: each element is hashed as soon as
            // it is converted.
            let mut set = SetBuilder::default();
            for item in items {
                set.add(convert(item)?)?;
            }
            Ok(Py::Set(set.finish()))
        }
        Node::EmptySetCall => Ok(Py::Set(Vec::new())),
        Node::Dict(pairs) => {
            // `dict(zip(map(_convert, keys), map(_convert, values)))`: key,
            // value, insert, then the next pair.
            let mut out: Vec<(Py, Py)> = Vec::new();
            for (k, v) in pairs {
                let key = convert(k)?;
                let value = convert(v)?;
                py_hash(&key)?;
                match out.iter_mut().find(|(old, _)| py_eq(old, &key)) {
                    // An equal key keeps its first spelling and place.
                    Some(slot) => slot.1 = value,
                    None => out.push((key, value)),
                }
            }
            Ok(Py::Dict(out))
        }
        Node::BinOp(left, subtract, right) => {
            let l = signed_number(left)?;
            let r = number(right)?;
            match (&l, &r) {
                (Py::Int(_) | Py::Float(_), Py::Complex(rr, ri)) => {
                    // CPython 3.11 turns the real operand into a complex
                    // (x + 0j) first, which decides the sign of zeros.
                    let x = as_f64(&l)?;
                    Ok(if *subtract {
                        Py::Complex(x - rr, 0.0 - ri)
                    } else {
                        Py::Complex(x + rr, 0.0 + ri)
                    })
                }
                _ => Err(EvalError::Malformed),
            }
        }
        Node::Unary(..) | Node::Name(_) | Node::Other => signed_number(node),
    }
}

fn convert_all(items: &[Node]) -> Result<Vec<Py>, EvalError> {
    items.iter().map(convert).collect()
}

/// `_convert_num`: an int, float or complex constant (not a bool).
fn number(node: &Node) -> Result<Py, EvalError> {
    match node {
        Node::Const(p @ (Py::Int(_) | Py::Float(_) | Py::Complex(..))) => Ok(p.clone()),
        _ => Err(EvalError::Malformed),
    }
}

/// `_convert_signed_num`: a number with at most one `+` or `-`.
fn signed_number(node: &Node) -> Result<Py, EvalError> {
    let Node::Unary(negative, operand) = node else {
        return number(node);
    };
    let n = number(operand)?;
    if !negative {
        return Ok(n);
    }
    Ok(match n {
        Py::Int(Int::Small(v)) => match v.checked_neg() {
            Some(v) => Py::Int(Int::Small(v)),
            None => Py::Int(Int::Big {
                negative: false,
                digits: v.unsigned_abs().to_string(),
            }),
        },
        Py::Int(Int::Big { negative, digits }) => Py::Int(Int::Big {
            negative: !negative,
            digits,
        }),
        Py::Float(f) => Py::Float(-f),
        Py::Complex(re, im) => Py::Complex(-re, -im),
        other => other,
    })
}

fn as_f64(p: &Py) -> Result<f64, EvalError> {
    match p {
        Py::Int(Int::Small(v)) => Ok(*v as f64),
        Py::Int(Int::Big { negative, digits }) => {
            let f: f64 = digits.parse().unwrap_or(f64::INFINITY);
            if f.is_infinite() {
                return Err(EvalError::Raise(
                    "OverflowError: int too large to convert to float".into(),
                ));
            }
            Ok(if *negative { -f } else { f })
        }
        Py::Float(f) => Ok(*f),
        _ => Err(EvalError::Malformed),
    }
}

// ---------------------------------------------------------------------------
// Equality and hashing as CPython does them (dict keys, set elements).

/// A number as an exact value: an integer (sign, decimal magnitude) when it
/// is one, else a float.
enum Exact {
    Integer(bool, String),
    Float(f64),
}

fn exact(x: f64) -> Exact {
    if x.is_finite() && x.fract() == 0.0 {
        Exact::Integer(x < 0.0, format!("{:.0}", x.abs()))
    } else {
        Exact::Float(x)
    }
}

fn exact_int(i: &Int) -> Exact {
    match i {
        Int::Small(v) => Exact::Integer(*v < 0, v.unsigned_abs().to_string()),
        Int::Big { negative, digits } => Exact::Integer(*negative, digits.clone()),
    }
}

fn exact_eq(a: &Exact, b: &Exact) -> bool {
    match (a, b) {
        (Exact::Integer(sa, da), Exact::Integer(sb, db)) => {
            da == db && (sa == sb || da.bytes().all(|c| c == b'0'))
        }
        (Exact::Float(x), Exact::Float(y)) => x == y,
        _ => false,
    }
}

/// (real, imaginary) of a number, exactly; `None` for a non-number.
fn numeric(p: &Py) -> Option<(Exact, Exact)> {
    Some(match p {
        Py::Bool(b) => (Exact::Integer(false, (*b as u8).to_string()), exact(0.0)),
        Py::Int(i) => (exact_int(i), exact(0.0)),
        Py::Float(f) => (exact(*f), exact(0.0)),
        Py::Complex(re, im) => (exact(*re), exact(*im)),
        _ => return None,
    })
}

fn py_eq(a: &Py, b: &Py) -> bool {
    if let (Some((ar, ai)), Some((br, bi))) = (numeric(a), numeric(b)) {
        return exact_eq(&ar, &br) && exact_eq(&ai, &bi);
    }
    match (a, b) {
        (Py::None, Py::None) | (Py::Ellipsis, Py::Ellipsis) => true,
        (Py::Str { text: x, .. }, Py::Str { text: y, .. }) => x == y,
        (Py::Bytes(x), Py::Bytes(y)) => x == y,
        (Py::Tuple(x), Py::Tuple(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        _ => false,
    }
}

const MODULUS: u64 = (1 << 61) - 1;

/// `hash(x)`: `Err` (TypeError) for an unhashable value; `Ok(None)` where
/// CPython's hash is not reproducible (str and bytes are salted per
/// process, None's is its address in 3.11).
fn py_hash(p: &Py) -> Result<Option<u64>, EvalError> {
    let h: u64 = match p {
        Py::List(_) | Py::Dict(_) | Py::Set(_) => {
            return Err(EvalError::Raise(format!(
                "TypeError: unhashable type: '{}'",
                p.type_name()
            )));
        }
        Py::Tuple(items) => {
            // CPython's xxHash-based tuple hash; every item is hashed even
            // when one is not reproducible, to find an unhashable one.
            const P1: u64 = 11400714785074694791;
            const P2: u64 = 14029467366897019727;
            const P5: u64 = 2870177450012600261;
            let mut acc = P5;
            let mut reproducible = true;
            for item in items {
                match py_hash(item)? {
                    Some(lane) => {
                        acc = acc.wrapping_add(lane.wrapping_mul(P2));
                        acc = acc.rotate_left(31);
                        acc = acc.wrapping_mul(P1);
                    }
                    None => reproducible = false,
                }
            }
            if !reproducible {
                return Ok(None);
            }
            acc = acc.wrapping_add((items.len() as u64) ^ (P5 ^ 3527539));
            if acc == u64::MAX {
                return Ok(Some(1546275796));
            }
            return Ok(Some(acc));
        }
        Py::Bool(b) => u64::from(*b),
        Py::Int(Int::Small(v)) => {
            let m = (v.unsigned_abs() % u128::from(MODULUS)) as u64;
            signed_hash(*v < 0, m)
        }
        Py::Int(Int::Big { negative, digits }) => {
            let m = digits.bytes().fold(0u64, |acc, d| {
                ((u128::from(acc) * 10 + u128::from(d - b'0')) % u128::from(MODULUS)) as u64
            });
            signed_hash(*negative, m)
        }
        Py::Float(f) => hash_float(*f),
        Py::Complex(re, im) => {
            let h = hash_float(*re).wrapping_add(1000003u64.wrapping_mul(hash_float(*im)));
            if h == u64::MAX { u64::MAX - 1 } else { h }
        }
        Py::Str { .. } | Py::Bytes(_) | Py::None | Py::Ellipsis => return Ok(None),
    };
    Ok(Some(h))
}

/// `sign * magnitude` as a Py_hash_t, with -1 (the error value) made -2.
fn signed_hash(negative: bool, magnitude: u64) -> u64 {
    let h = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    if h == u64::MAX { u64::MAX - 1 } else { h }
}

/// CPython's `_Py_HashDouble` (for finite values and infinities; a NaN
/// cannot be written as a literal).
fn hash_float(v: f64) -> u64 {
    if v.is_infinite() {
        return if v > 0.0 {
            314159
        } else {
            314159u64.wrapping_neg()
        };
    }
    let (mut m, mut e) = frexp(v);
    let negative = m < 0.0;
    if negative {
        m = -m;
    }
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & MODULUS) | (x >> (61 - 28));
        m *= 268435456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= MODULUS {
            x -= MODULUS;
        }
    }
    let e = if e >= 0 {
        e % 61
    } else {
        61 - 1 - ((-1 - e) % 61)
    } as u32;
    x = ((x << e) & MODULUS) | (x >> (61 - e));
    signed_hash(negative, x)
}

/// C's `frexp`: `v = m * 2^e` with `0.5 <= |m| < 1` (and `(0, 0)` for 0).
fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 || !v.is_finite() {
        return (v, 0);
    }
    let (v, shift) = if v.abs() < f64::MIN_POSITIVE {
        (v * 2f64.powi(54), -54) // subnormal: scale into the normal range
    } else {
        (v, 0)
    };
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, exp - 1022 + shift)
}

/// A set being built: Python's dedup, then CPython's iteration order.
#[derive(Default)]
struct SetBuilder {
    items: Vec<Py>,
    hashes: Vec<Option<u64>>,
}

impl SetBuilder {
    fn add(&mut self, item: Py) -> Result<(), EvalError> {
        let h = py_hash(&item)?;
        if !self.items.iter().any(|old| py_eq(old, &item)) {
            self.items.push(item);
            self.hashes.push(h);
        }
        Ok(())
    }

    /// The order CPython iterates the set in: its hash table's slot order.
    /// With a str, bytes or None element that order changes from run to run
    /// in Python itself, so insertion order is as good as any.
    fn finish(self) -> Vec<Py> {
        let Some(hashes) = self.hashes.iter().copied().collect::<Option<Vec<u64>>>() else {
            return self.items;
        };
        let order = cpython_set_order(&hashes);
        let mut items: Vec<Option<Py>> = self.items.into_iter().map(Some).collect();
        order.into_iter().filter_map(|i| items[i].take()).collect()
    }
}

/// Inserts distinct hashes into a simulated CPython 3.11 set table
/// (`Objects/setobject.c`: 8 slots, linear probing of 9 then perturbation,
/// growth to 4× the used count at 60% fill) and returns the insertion
/// indexes in slot order.
fn cpython_set_order(hashes: &[u64]) -> Vec<usize> {
    const LINEAR_PROBES: usize = 9;
    fn place(table: &mut [Option<usize>], hash: u64, index: usize) {
        let mask = table.len() - 1;
        let mut perturb = hash as usize;
        let mut i = (hash as usize) & mask;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            if let Some(slot) = table[i..=i + probes].iter_mut().find(|s| s.is_none()) {
                *slot = Some(index);
                return;
            }
            perturb >>= 5;
            i = (i.wrapping_mul(5).wrapping_add(1).wrapping_add(perturb)) & mask;
        }
    }
    let mut table: Vec<Option<usize>> = vec![None; 8];
    for (index, &hash) in hashes.iter().enumerate() {
        place(&mut table, hash, index);
        let used = index + 1;
        let mask = table.len() - 1;
        if used * 5 >= mask * 3 {
            let wanted = if used > 50000 { used * 2 } else { used * 4 };
            let mut size = 8;
            while size <= wanted {
                size <<= 1;
            }
            let old = std::mem::replace(&mut table, vec![None; size]);
            for i in old.into_iter().flatten() {
                place(&mut table, hashes[i], i);
            }
        }
    }
    table.into_iter().flatten().collect()
}

// ---------------------------------------------------------------------------
// The INI plugin's coercion: Python value → what Ansible stores.

fn to_value(p: Py) -> Result<Value, String> {
    Ok(match p {
        Py::None => Value::Null,
        Py::Bool(b) => Value::Bool(b),
        Py::Int(i) => match i {
            Int::Small(v) => match i64::try_from(v) {
                Ok(v) => Value::Int(v),
                Err(_) => Value::Str(v.to_string()),
            },
            Int::Big { negative, digits } => {
                Value::Str(format!("{}{digits}", if negative { "-" } else { "" }))
            }
        },
        Py::Float(f) => Value::Float(f),
        Py::Complex(re, im) => Value::Str(complex_str(re, im)),
        Py::Str { text, problem } => match problem {
            None => Value::Str(text),
            Some(why) => return Err(format!("the text has {why}")),
        },
        Py::Bytes(b) => Value::Str(String::from_utf8(b).map_err(|_| {
            "the bytes literal is not UTF-8 text, which zkrun cannot hold".to_string()
        })?),
        Py::Ellipsis => Value::Str("...".into()),
        Py::Tuple(items) | Py::List(items) | Py::Set(items) => {
            Value::List(items.into_iter().map(to_value).collect::<Result<_, _>>()?)
        }
        Py::Dict(pairs) => {
            let mut map = IndexMap::new();
            for (k, v) in pairs {
                map.insert(key_text(k)?, to_value(v)?);
            }
            Value::Map(map)
        }
    })
}

/// A dict key as text, the way Ansible's JSON output writes it (`1`,
/// `1.5`, `true`, `null`); other key types cannot be held by zkrun.
fn key_text(k: Py) -> Result<String, String> {
    Ok(match k {
        Py::Str {
            text,
            problem: None,
        } => text,
        Py::Str {
            problem: Some(why), ..
        } => return Err(format!("a dict key has {why}")),
        Py::Int(_) => match to_value(k)? {
            Value::Int(v) => v.to_string(),
            Value::Str(s) => s,
            _ => unreachable!("an int converts to Int or Str"),
        },
        Py::Bool(b) => if b { "true" } else { "false" }.into(),
        Py::None => "null".into(),
        Py::Float(f) if f.is_infinite() => if f > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        Py::Float(f) => float_repr(f, true),
        // Ansible itself fails on these keys ("<class 'complex'> is not
        // taggable").
        Py::Complex(..) | Py::Ellipsis => {
            return Err(format!(
                "NotTaggableError: a dict key of type `{}` (Ansible fails on it too)",
                k.type_name()
            ));
        }
        // Ansible keeps a tuple or bytes key in memory (and cannot print it).
        other => {
            return Err(format!(
                "a dict key is a {}; zkrun holds only text, number, boolean and None keys",
                other.type_name()
            ));
        }
    })
}

/// `str(complex)`: `1j`, `(1+2j)`, `(-0-0j)`.
fn complex_str(re: f64, im: f64) -> String {
    if re == 0.0 && re.is_sign_positive() {
        return format!("{}j", float_repr(im, false));
    }
    let imag = float_repr(im, false);
    let sign = if imag.starts_with('-') { "" } else { "+" };
    format!("({}{sign}{imag}j)", float_repr(re, false))
}

/// Python's `repr(float)` (`add_dot_0`), or the `'r'` format without the
/// `.0` that `complex` uses for its parts.
fn float_repr(f: f64, add_dot_0: bool) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Shortest round-trip digits, as Python's repr also uses.
    let e = format!("{:e}", f.abs());
    let (mantissa, exp) = e.split_once('e').expect("{:e} has an exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().expect("{:e} exponent is a number");
    let decpt = exp + 1; // digits are 0.d1d2… × 10^decpt
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let n = digits.len() as i32;
    let body = if decpt <= -4 || decpt > 16 {
        let rest = &digits[1..];
        let e = decpt - 1;
        format!(
            "{}{}{}e{}{:02}",
            &digits[..1],
            if rest.is_empty() { "" } else { "." },
            rest,
            if e < 0 { "-" } else { "+" },
            e.abs()
        )
    } else if decpt <= 0 {
        format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
    } else if decpt >= n {
        format!(
            "{}{}{}",
            digits,
            "0".repeat((decpt - n) as usize),
            if add_dot_0 { ".0" } else { "" }
        )
    } else {
        format!(
            "{}.{}",
            &digits[..decpt as usize],
            &digits[decpt as usize..]
        )
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    fn eval(text: &str) -> Option<Value> {
        literal_eval(text)
    }

    // Every expected value below was observed from Python 3.11's
    // ast.literal_eval through ansible-core 2.19.14's INI plugin
    // (`_parse_value`), not derived from reading the code.

    #[test]
    fn scalars() {
        assert_eq!(eval("2222"), Some(Value::Int(2222)));
        assert_eq!(eval("True"), Some(Value::Bool(true)));
        assert_eq!(eval("False"), Some(Value::Bool(false)));
        assert_eq!(eval("None"), Some(Value::Null));
        assert_eq!(eval("-1"), Some(Value::Int(-1)));
        assert_eq!(eval("+1"), Some(Value::Int(1)));
        assert_eq!(eval("-(1)"), Some(Value::Int(-1)));
        assert_eq!(eval("1.5"), Some(Value::Float(1.5)));
        assert_eq!(eval("1e3"), Some(Value::Float(1000.0)));
        assert_eq!(eval("1e999"), Some(Value::Float(f64::INFINITY)));
        let z = eval("-0.0");
        assert!(matches!(z, Some(Value::Float(f)) if f == 0.0 && f.is_sign_negative()));
    }

    #[test]
    fn integer_forms() {
        assert_eq!(eval("0x1F"), Some(Value::Int(31)));
        assert_eq!(eval("0x_1f"), Some(Value::Int(31)));
        assert_eq!(eval("0o17"), Some(Value::Int(15)));
        assert_eq!(eval("0b101"), Some(Value::Int(5)));
        assert_eq!(eval("1_000"), Some(Value::Int(1000)));
        assert_eq!(eval("000"), Some(Value::Int(0)));
        assert_eq!(eval("0_0"), Some(Value::Int(0)));
        // Python 3 has no 0755 octal: a SyntaxError, so the text stays.
        assert_eq!(eval("0755"), None);
        assert_eq!(eval("1_"), None);
        assert_eq!(eval("1__0"), None);
        assert_eq!(eval("0b102"), None);
        // Beyond 64 bits: the decimal text.
        assert_eq!(
            eval("99999999999999999999"),
            Some(s("99999999999999999999"))
        );
        assert_eq!(
            eval("0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
            Some(s("87112285931760246646623899502532662132735"))
        );
        assert_eq!(eval("-9223372036854775808"), Some(Value::Int(i64::MIN)));
    }

    #[test]
    fn float_forms() {
        assert_eq!(eval("1."), Some(Value::Float(1.0)));
        assert_eq!(eval(".5"), Some(Value::Float(0.5)));
        assert_eq!(eval("1_0.5"), Some(Value::Float(10.5)));
        assert_eq!(eval("1e-5"), Some(Value::Float(1e-5)));
        assert_eq!(eval("1E+3"), Some(Value::Float(1000.0)));
        assert_eq!(eval("01.5"), Some(Value::Float(1.5)));
        assert_eq!(eval("0e0"), Some(Value::Float(0.0)));
        assert_eq!(eval("1.e5"), Some(Value::Float(100000.0)));
        assert_eq!(eval("1e"), None);
    }

    #[test]
    fn complex_numbers_become_their_str() {
        assert_eq!(eval("1j"), Some(s("1j")));
        assert_eq!(eval("1.5j"), Some(s("1.5j")));
        assert_eq!(eval("0755j"), Some(s("755j")));
        assert_eq!(eval("1+2j"), Some(s("(1+2j)")));
        assert_eq!(eval("-1-2j"), Some(s("(-1-2j)")));
        assert_eq!(eval("-0j"), Some(s("(-0-0j)")));
        assert_eq!(eval("1e16+1j"), Some(s("(1e+16+1j)")));
        assert_eq!(eval("1 -1j"), Some(s("(1-1j)")));
        assert_eq!(eval("(-1)+2j"), Some(s("(-1+2j)")));
        assert_eq!(eval("1e5j"), Some(s("100000j")));
        // Not literals: ValueError in Python.
        for t in [
            "1+2", "2j+1", "True+1j", "1+2j+3j", "-(1+2j)", "1 + -1j", "--1", "-True", "+True",
        ] {
            assert_eq!(eval(t), None, "{t}");
        }
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(eval("'x\\ty'"), Some(s("x\ty")));
        assert_eq!(eval("u'z'"), Some(s("z")));
        assert_eq!(eval("r'a\\nb'"), Some(s("a\\nb")));
        assert_eq!(eval("'a' 'b'"), Some(s("ab")));
        assert_eq!(eval("\"1\""), Some(s("1")));
        assert_eq!(eval("'\\400'"), Some(s("\u{100}")));
        assert_eq!(eval("'\\d'"), Some(s("\\d")));
        assert_eq!(eval("'\\x41\\u00e9\\U0001F600'"), Some(s("Aé😀")));
        assert_eq!(eval("'''a'b'''"), Some(s("a'b")));
        assert_eq!(eval("'\\x4'"), None);
        assert_eq!(eval("'a' b'b'"), None);
        assert_eq!(eval("Ub'x'"), None);
        assert_eq!(eval("'open"), None);
        // f-strings are JoinedStr nodes, never literals.
        assert_eq!(eval("f'a'"), None);
    }

    #[test]
    fn bytes_become_text() {
        assert_eq!(eval("b'x'"), Some(s("x")));
        assert_eq!(eval("b'caf\\xc3\\xa9'"), Some(s("café")));
        assert_eq!(eval("b'\\400'"), Some(s("\0")));
        assert_eq!(eval("b'\\u0041'"), Some(s("\\u0041")));
        // Ansible holds these as strings with surrogates; zkrun refuses.
        assert!(try_literal_eval("b'\\xff'").is_err());
        assert!(try_literal_eval("'\\ud800'").is_err());
    }

    #[test]
    fn containers() {
        assert_eq!(
            eval("[1, 'a']"),
            Some(Value::List(vec![Value::Int(1), s("a")]))
        );
        assert_eq!(
            eval("(1,2)"),
            Some(Value::List(vec![Value::Int(1), Value::Int(2)]))
        );
        assert_eq!(
            eval("1,2"),
            Some(Value::List(vec![Value::Int(1), Value::Int(2)]))
        );
        assert_eq!(eval("1,"), Some(Value::List(vec![Value::Int(1)])));
        assert_eq!(eval("()"), Some(Value::List(vec![])));
        assert_eq!(eval("(1)"), Some(Value::Int(1)));
        assert_eq!(eval("set()"), Some(Value::List(vec![])));
        assert_eq!(eval("[]"), Some(Value::List(vec![])));
        let mut m = IndexMap::new();
        m.insert("a".to_string(), Value::Int(1));
        assert_eq!(eval("{'a': 1}"), Some(Value::Map(m)));
        assert_eq!(eval("{}"), Some(Value::Map(IndexMap::new())));
        assert_eq!(
            eval("[1,\n2]"),
            Some(Value::List(vec![Value::Int(1), Value::Int(2)]))
        );
        for t in [
            "[,]",
            "(,)",
            "{1:2, 3}",
            "[*a]",
            "{**a}",
            "[1][0]",
            "'a'.upper()",
            "(1)(2)",
        ] {
            assert_eq!(eval(t), None, "{t}");
        }
    }

    #[test]
    fn dict_keys_compare_as_in_python() {
        // {1: 'a', None: 'b', True: 'c', 1.5: 'd', 2: 'f'} → Ansible's JSON
        // shows {"1": "c", "null": "b", "1.5": "d", "2": "f"}.
        let v = eval("{1: 'a', None: 'b', True: 'c', 1.5: 'd', 2: 'f'}").unwrap();
        let Value::Map(m) = v else { panic!() };
        let got: Vec<(&str, &Value)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            got,
            vec![
                ("1", &s("c")),
                ("null", &s("b")),
                ("1.5", &s("d")),
                ("2", &s("f"))
            ]
        );
        let v = eval("{1:2,1.0:3,True:4}").unwrap();
        let Value::Map(m) = v else { panic!() };
        assert_eq!(
            m.into_iter().collect::<Vec<_>>(),
            vec![("1".to_string(), Value::Int(4))]
        );
        // A tuple key: Ansible keeps it in memory (and cannot print it).
        assert!(try_literal_eval("{(1,2): 'e'}").is_err());
    }

    #[test]
    fn sets_keep_cpython_order() {
        let ints = |v: &[i64]| Some(Value::List(v.iter().map(|i| Value::Int(*i)).collect()));
        assert_eq!(eval("{3,2,1}"), ints(&[1, 2, 3]));
        assert_eq!(eval("{10,9,8,100,7}"), ints(&[100, 7, 8, 9, 10]));
        assert_eq!(eval("{-1,-2,0}"), ints(&[0, -1, -2]));
        assert_eq!(
            eval("{100,200,300,400,500,600,700}"),
            ints(&[100, 200, 300, 400, 500, 600, 700])
        );
        assert_eq!(eval("{1,True,1.0}"), ints(&[1]));
        assert_eq!(
            eval("{1.5,2.5,1}"),
            Some(Value::List(vec![
                Value::Float(1.5),
                Value::Float(2.5),
                Value::Int(1)
            ]))
        );
        assert_eq!(
            eval("{(1,2),(3,4)}"),
            Some(Value::List(vec![
                Value::List(vec![Value::Int(1), Value::Int(2)]),
                Value::List(vec![Value::Int(3), Value::Int(4)]),
            ]))
        );
    }

    #[test]
    fn whitespace_comments_and_lines() {
        assert_eq!(eval("1 # c"), Some(Value::Int(1)));
        assert_eq!(eval("  1"), Some(Value::Int(1)));
        assert_eq!(eval("\t\t1"), Some(Value::Int(1)));
        assert_eq!(eval("\x0c1"), Some(Value::Int(1)));
        assert_eq!(eval(" \x0c1"), Some(Value::Int(1)));
        assert_eq!(eval("1\x0c"), Some(Value::Int(1)));
        assert_eq!(eval("1\n"), Some(Value::Int(1)));
        assert_eq!(eval("\\\n1"), Some(Value::Int(1)));
        assert_eq!(eval("\x0c 1"), None);
        assert_eq!(eval("1 \\"), None);
        assert_eq!(eval("1\u{a0}"), None);
        assert_eq!(eval("\x0b1"), None);
        assert_eq!(eval("1;"), None);
        assert_eq!(eval(""), None);
        assert_eq!(eval("# only a comment"), None);
        assert_eq!(eval("'a\0'"), None);
    }

    #[test]
    fn not_literals() {
        for t in [
            "yes",
            "false",
            "x",
            "v # c",
            "1if 1 else 2",
            "a=b",
            "--1",
            "not x",
            "$x",
            "0755",
            "1 2",
        ] {
            assert_eq!(eval(t), None, "{t}");
        }
        assert_eq!(eval("..."), Some(s("...")));
    }

    #[test]
    fn python_errors_other_than_value_and_syntax_fail() {
        // TypeError: unhashable type: 'list' (Ansible: "Failed to parse inventory").
        let e = try_literal_eval("{[1]: 2}").unwrap_err();
        assert!(e.contains("unhashable type: 'list'"), "{e}");
        assert!(try_literal_eval("{[1]}").is_err());
        assert!(try_literal_eval("{(1, [2]): 3}").is_err());
        // A malformed node reached first is a ValueError: the text stays.
        assert_eq!(try_literal_eval("{3: x, [1]: 2}"), Ok(None));
        assert_eq!(literal_eval("{[1]: 2}"), None);
    }

    #[test]
    fn float_repr_matches_python() {
        for (f, r) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1.5e-7, "1.5e-07"),
            (1e100, "1e+100"),
            (-0.0, "-0.0"),
            (123.456, "123.456"),
            (0.1, "0.1"),
        ] {
            assert_eq!(float_repr(f, true), r);
        }
    }
}
