//! Readers for the two golden history formats of `shared/porcupine-data` (see its README):
//! Jepsen etcd logs (register operations) and Porcupine's KV logs (an EDN map per line).
//!
//! In both, the position of a line is its timestamp: an operation's call time is the line
//! number of its invocation and its return time the line number of its completion. Malformed
//! input gives a [`ParseError`] with the line number and what was expected; nothing here panics
//! on bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{KvInput, KvOp, KvOutput, Operation, RegisterInput, RegisterOutput};

/// A history of register operations (Jepsen etcd logs).
pub type RegisterHistory = Vec<Operation<RegisterInput, RegisterOutput>>;

/// A history of KV operations.
pub type KvHistory = Vec<Operation<KvInput, KvOutput>>;

/// Why a history file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// A line does not have the expected shape.
    #[error("line {line}: expected {expected}, found {found}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What the parser expected there.
        expected: String,
        /// What it found instead.
        found: String,
    },
    /// A well-formed line that does not fit the lines before it (e.g. a completion without an
    /// invocation).
    #[error("line {line}: {message}")]
    Invalid {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A parse error in a named file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// The error in it.
        source: Box<ParseError>,
    },
}

impl ParseError {
    /// The 1-based line number the error is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::Syntax { line, .. } | ParseError::Invalid { line, .. } => Some(*line),
            ParseError::Io { .. } => None,
            ParseError::InFile { source, .. } => source.line(),
        }
    }
}

fn syntax(line: usize, expected: impl Into<String>, found: &str) -> ParseError {
    let found = if found.is_empty() {
        "the end of the line".to_string()
    } else {
        let short: String = found.chars().take(40).collect();
        if short.len() < found.len() { format!("{short:?}...") } else { format!("{short:?}") }
    };
    ParseError::Syntax { line, expected: expected.into(), found }
}

fn invalid(line: usize, message: impl Into<String>) -> ParseError {
    ParseError::Invalid { line, message: message.into() }
}

#[allow(clippy::disallowed_methods, reason = "not lab code: golden histories are files on the real disk")]
fn read_file<T>(path: &Path, parse: fn(&str) -> Result<T, ParseError>) -> Result<T, ParseError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ParseError::Io { path: path.to_path_buf(), source })?;
    parse(&text).map_err(|e| ParseError::InFile { path: path.to_path_buf(), source: Box::new(e) })
}

/// Reads a Jepsen etcd log file (see [`parse_jepsen`]).
pub fn read_jepsen_file(path: impl AsRef<Path>) -> Result<RegisterHistory, ParseError> {
    read_file(path.as_ref(), parse_jepsen)
}

/// Reads a KV log file (see [`parse_kv`]).
pub fn read_kv_file(path: impl AsRef<Path>) -> Result<KvHistory, ParseError> {
    read_file(path.as_ref(), parse_kv)
}

/// An operation being assembled while its lines are read.
struct Partial<I, O> {
    client: usize,
    input: I,
    call: u64,
    /// `Some((output, ret))` once completed; `output` `None` if unknown.
    done: Option<(Option<O>, u64)>,
    /// The operation definitely did not happen: leave it out.
    dropped: bool,
}

fn finish<I, O>(partials: Vec<Partial<I, O>>) -> Vec<Operation<I, O>> {
    partials
        .into_iter()
        .filter(|p| !p.dropped)
        .map(|p| match p.done {
            // Completion lines come after invocation lines, so ret >= call.
            Some((output, ret)) => Operation { client: p.client, input: p.input, call: p.call, output, ret },
            None => Operation::pending(p.client, p.input, p.call),
        })
        .collect()
}

/// Per-process bookkeeping shared by both formats.
struct Processes {
    /// Process -> (index of its open operation, line of its invocation).
    open: BTreeMap<usize, (usize, usize)>,
    /// Process -> line of the `:info` that ended it.
    ended: BTreeMap<usize, usize>,
}

impl Processes {
    fn new() -> Self {
        Processes { open: BTreeMap::new(), ended: BTreeMap::new() }
    }

    fn invoke(&mut self, process: usize, index: usize, line: usize) -> Result<(), ParseError> {
        if let Some(&(_, at)) = self.open.get(&process) {
            return Err(invalid(
                line,
                format!(
                    "process {process} invokes an operation while its operation from line {at} is still open"
                ),
            ));
        }
        if let Some(&at) = self.ended.get(&process) {
            return Err(invalid(
                line,
                format!(
                    "process {process} invokes an operation after its operation ended with :info on line {at} \
                     (a process that got :info issues no further operation)"
                ),
            ));
        }
        self.open.insert(process, (index, line));
        Ok(())
    }

    /// The open operation of `process` that a completion on `line` closes.
    fn complete(&mut self, process: usize, line: usize, kind: &str) -> Result<(usize, usize), ParseError> {
        self.open.remove(&process).ok_or_else(|| {
            invalid(line, format!("process {process} reports {kind} but has no operation in progress"))
        })
    }
}

/// A value in a Jepsen log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JValue {
    Nil,
    Int(i64),
    Pair(i64, i64),
    TimedOut,
}

impl std::fmt::Display for JValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JValue::Nil => write!(f, "nil"),
            JValue::Int(v) => write!(f, "{v}"),
            JValue::Pair(a, b) => write!(f, "[{a} {b}]"),
            JValue::TimedOut => write!(f, ":timed-out"),
        }
    }
}

fn parse_jvalue(s: &str, line: usize) -> Result<JValue, ParseError> {
    const EXPECTED: &str = "a value (nil, an integer, [from to] or :timed-out)";
    match s {
        "nil" => return Ok(JValue::Nil),
        ":timed-out" => return Ok(JValue::TimedOut),
        _ => {}
    }
    if let Some(rest) = s.strip_prefix('[') {
        let mut it = rest.strip_suffix(']').unwrap_or("").split_whitespace();
        if let (Some(a), Some(b), None) = (it.next(), it.next(), it.next())
            && let (Ok(a), Ok(b)) = (a.parse(), b.parse())
        {
            return Ok(JValue::Pair(a, b));
        }
        return Err(syntax(line, "a pair of integers [from to]", s));
    }
    s.parse().map(JValue::Int).map_err(|_| syntax(line, EXPECTED, s))
}

/// Parses a Jepsen etcd log: one event per line,
/// `INFO  jepsen.util - <process> <:invoke|:ok|:fail|:info> <:read|:write|:cas> <value>`, fields
/// separated by any whitespace.
///
/// * `:ok` completes the process's operation; `:fail` of a cas means it did not apply
///   (`Cas(false)`), `:fail` of a read gives an unknown result, `:fail` of a write means it never
///   happened (it is left out); a `:fail ... :timed-out` of a write or cas is treated as `:info`.
/// * `:info` leaves the operation pending for ever (it may take effect at any later point, or
///   never); the process issues nothing more.
/// * Operations still open at the end are pending, like `:info`.
pub fn parse_jepsen(text: &str) -> Result<RegisterHistory, ParseError> {
    let mut partials: Vec<Partial<RegisterInput, RegisterOutput>> = Vec::new();
    let mut procs = Processes::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = line as u64;
        let mut tok = raw.split_whitespace();
        let Some(first) = tok.next() else { continue };
        if first != "INFO" {
            return Err(syntax(line, "a line starting with `INFO  jepsen.util - `", raw.trim()));
        }
        for want in ["jepsen.util", "-"] {
            match tok.next() {
                Some(w) if w == want => {}
                other => return Err(syntax(line, format!("`{want}`"), other.unwrap_or(""))),
            }
        }
        let p = tok.next().unwrap_or("");
        let process: usize = p.parse().map_err(|_| syntax(line, "a process number", p))?;
        let kind = tok.next().unwrap_or("");
        if !matches!(kind, ":invoke" | ":ok" | ":fail" | ":info") {
            return Err(syntax(line, "an event type (:invoke, :ok, :fail or :info)", kind));
        }
        let f = tok.next().unwrap_or("");
        if !matches!(f, ":read" | ":write" | ":cas") {
            return Err(syntax(line, "a function (:read, :write or :cas)", f));
        }
        let rest: Vec<&str> = tok.collect();
        let value_text = rest.join(" ");
        let value = parse_jvalue(&value_text, line)?;

        if kind == ":invoke" {
            let input = match (f, value) {
                (":read", JValue::Nil) => RegisterInput::Read,
                (":write", JValue::Int(v)) => RegisterInput::Write(v),
                (":cas", JValue::Pair(from, to)) => RegisterInput::Cas { from, to },
                (":read", _) => return Err(syntax(line, "nil after :invoke :read", &value_text)),
                (":write", _) => return Err(syntax(line, "an integer after :invoke :write", &value_text)),
                _ => return Err(syntax(line, "[from to] after :invoke :cas", &value_text)),
            };
            procs.invoke(process, partials.len(), line)?;
            partials.push(Partial { client: process, input, call: t, done: None, dropped: false });
            continue;
        }

        let (idx, at) = procs.complete(process, line, kind)?;
        let op = &mut partials[idx];
        let invoked = match op.input {
            RegisterInput::Read => ":read",
            RegisterInput::Write(_) => ":write",
            RegisterInput::Cas { .. } => ":cas",
        };
        if invoked != f {
            return Err(invalid(
                line,
                format!("process {process} completes {f} but invoked {invoked} on line {at}"),
            ));
        }
        let mismatch = |expected: String| {
            invalid(
                line,
                format!("process {process} completes with {value} but invoked {f} {expected} on line {at}"),
            )
        };
        match (kind, op.input, value) {
            (":info", _, _) => {
                procs.ended.insert(process, line);
            }
            (":ok", RegisterInput::Read, JValue::Nil) => {
                op.done = Some((Some(RegisterOutput::Read(None)), t));
            }
            (":ok", RegisterInput::Read, JValue::Int(v)) => {
                op.done = Some((Some(RegisterOutput::Read(Some(v))), t));
            }
            (":fail", RegisterInput::Read, _) => op.done = Some((None, t)),
            (_, RegisterInput::Read, _) => {
                return Err(syntax(line, "nil or an integer after :ok :read", &value_text));
            }
            (_, _, JValue::TimedOut) => {} // a write or cas with unknown fate: pending
            (":ok", RegisterInput::Write(w), v) => {
                if v != JValue::Int(w) {
                    return Err(mismatch(w.to_string()));
                }
                op.done = Some((Some(RegisterOutput::Write), t));
            }
            (_, RegisterInput::Write(w), v) => {
                if v != JValue::Int(w) {
                    return Err(mismatch(w.to_string()));
                }
                op.dropped = true;
            }
            (_, RegisterInput::Cas { from, to }, v) => {
                if v != JValue::Pair(from, to) {
                    return Err(mismatch(format!("[{from} {to}]")));
                }
                op.done = Some((Some(RegisterOutput::Cas(kind == ":ok")), t));
            }
        }
    }
    Ok(finish(partials))
}

/// A value in a KV log line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Edn {
    Keyword(String),
    Str(String),
    Int(i64),
    Nil,
}

impl Edn {
    fn show(&self) -> String {
        match self {
            Edn::Keyword(k) => format!(":{k}"),
            Edn::Str(s) => format!("{s:?}"),
            Edn::Int(i) => i.to_string(),
            Edn::Nil => "nil".to_string(),
        }
    }
}

/// A cursor over one line of EDN.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_blank(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        self.pos += rest.len() - trimmed.len();
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn word(&mut self) -> &'a str {
        let rest = self.rest();
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | '{' | '}' | '"'))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn error(&self, expected: &str) -> ParseError {
        syntax(self.line, expected, self.rest())
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, c @ ('"' | '\\'))) => out.push(c),
                    _ => {
                        self.pos += i;
                        return Err(self.error("a string escape (\\\", \\\\, \\n, \\t or \\r)"));
                    }
                },
                c => out.push(c),
            }
        }
        self.pos = self.s.len();
        Err(self.error("a closing `\"`"))
    }

    fn value(&mut self) -> Result<Edn, ParseError> {
        if self.eat('"') {
            return self.string().map(Edn::Str);
        }
        if self.eat(':') {
            let w = self.word();
            if w.is_empty() {
                return Err(self.error("a keyword name after `:`"));
            }
            return Ok(Edn::Keyword(w.to_string()));
        }
        let start = self.pos;
        let w = self.word();
        if w == "nil" {
            return Ok(Edn::Nil);
        }
        match w.parse() {
            Ok(i) => Ok(Edn::Int(i)),
            Err(_) => {
                self.pos = start;
                Err(self.error("a value (a string, a keyword, an integer or nil)"))
            }
        }
    }

    /// Parses `{:k v, :k v ...}` and nothing else.
    fn map(&mut self) -> Result<Vec<(String, Edn)>, ParseError> {
        self.skip_blank();
        if !self.eat('{') {
            return Err(self.error("`{` (one map per line)"));
        }
        let mut fields = Vec::new();
        loop {
            self.skip_blank();
            if self.eat('}') {
                break;
            }
            if !self.eat(':') {
                return Err(self.error("a keyword (:name) or `}`"));
            }
            let k = self.word();
            if k.is_empty() {
                return Err(self.error("a keyword name after `:`"));
            }
            self.skip_blank();
            let v = self.value()?;
            fields.push((k.to_string(), v));
        }
        self.skip_blank();
        if !self.rest().is_empty() {
            return Err(self.error("the end of the line after `}`"));
        }
        Ok(fields)
    }
}

fn field<'f>(fields: &'f [(String, Edn)], name: &str, line: usize) -> Result<&'f Edn, ParseError> {
    fields.iter().find(|(k, _)| k == name).map(|(_, v)| v).ok_or_else(|| {
        let have: Vec<String> = fields.iter().map(|(k, _)| format!(":{k}")).collect();
        syntax(line, format!("a :{name} field"), &format!("{{{}}}", have.join(" ")))
    })
}

/// Parses a KV log: one EDN map per line,
/// `{:process P, :type :invoke|:ok|:fail|:info, :f :get|:put|:append, :key "K", :value "V"|nil}`.
///
/// A get's invocation carries `:value nil` and its `:ok` the value read (nil reads as "");
/// `:fail` means the operation did not happen (it is left out), `:info` leaves it pending for
/// ever, as do operations still open at the end.
pub fn parse_kv(text: &str) -> Result<KvHistory, ParseError> {
    let mut partials: Vec<Partial<KvInput, KvOutput>> = Vec::new();
    let mut procs = Processes::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let fields = Cursor { s: raw, pos: 0, line }.map()?;
        let process = match field(&fields, "process", line)? {
            Edn::Int(p) if *p >= 0 => *p as usize,
            v => return Err(syntax(line, "a process number after :process", &v.show())),
        };
        let kind = match field(&fields, "type", line)? {
            Edn::Keyword(k) if matches!(k.as_str(), "invoke" | "ok" | "fail" | "info") => k.as_str(),
            v => return Err(syntax(line, ":invoke, :ok, :fail or :info after :type", &v.show())),
        };
        let op = match field(&fields, "f", line)? {
            Edn::Keyword(k) if k == "get" => KvOp::Get,
            Edn::Keyword(k) if k == "put" => KvOp::Put,
            Edn::Keyword(k) if k == "append" => KvOp::Append,
            v => return Err(syntax(line, ":get, :put or :append after :f", &v.show())),
        };
        let key = match field(&fields, "key", line)? {
            Edn::Str(k) => k.clone(),
            v => return Err(syntax(line, "a string after :key", &v.show())),
        };
        let value = match field(&fields, "value", line)? {
            Edn::Str(v) => Some(v.clone()),
            Edn::Nil => None,
            v => return Err(syntax(line, "a string or nil after :value", &v.show())),
        };
        let t = line as u64;

        if kind == "invoke" {
            let input = match (op, value) {
                (KvOp::Get, None) => KvInput::get(key),
                (KvOp::Get, Some(v)) => {
                    return Err(syntax(line, "nil as the :value of a get's invocation", &format!("{v:?}")));
                }
                (_, None) => return Err(syntax(line, "a string :value for a put or append", "nil")),
                (op, Some(value)) => KvInput { op, key, value },
            };
            procs.invoke(process, partials.len(), line)?;
            partials.push(Partial { client: process, input, call: t, done: None, dropped: false });
            continue;
        }

        let (idx, at) = procs.complete(process, line, &format!(":{kind}"))?;
        let p = &mut partials[idx];
        if p.input.op != op || p.input.key != key {
            return Err(invalid(
                line,
                format!(
                    "process {process} completes {op:?}({key:?}) but invoked {:?}({:?}) on line {at}",
                    p.input.op, p.input.key
                ),
            ));
        }
        match kind {
            "info" => {
                procs.ended.insert(process, line);
            }
            "fail" => p.dropped = true,
            _ => {
                let output = match op {
                    KvOp::Get => KvOutput::value(value.unwrap_or_default()),
                    _ => {
                        if value.as_deref() != Some(p.input.value.as_str()) {
                            return Err(invalid(
                                line,
                                format!(
                                    "process {process} completes {op:?} with value {value:?} but invoked it \
                                     with {:?} on line {at}",
                                    p.input.value
                                ),
                            ));
                        }
                        KvOutput::none()
                    }
                };
                p.done = Some((Some(output), t));
            }
        }
    }
    Ok(finish(partials))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NEVER;

    #[test]
    fn jepsen_lines() {
        let text = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 1   :invoke   :cas   [1 2]\n\
                    INFO  jepsen.util - 0\t:ok\t:read\t3\n\
                    INFO  jepsen.util - 1\t:info\t:cas\t:timed-out\n\
                    INFO  jepsen.util - 2\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 2\t:fail\t:read\t:timed-out\n\
                    INFO  jepsen.util - 3\t:invoke\t:write\t4\n";
        let ops = parse_jepsen(text).unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!(ops[0].output(), Some(&RegisterOutput::Read(Some(3))));
        assert_eq!((ops[0].call(), ops[0].ret()), (1, Some(3)));
        assert_eq!(*ops[1].input(), RegisterInput::Cas { from: 1, to: 2 });
        assert_eq!((ops[1].output(), ops[1].ret_or_never()), (None, NEVER));
        assert_eq!((ops[2].output(), ops[2].ret()), (None, Some(6)));
        assert_eq!(ops[3].ret(), None);
    }

    #[test]
    fn jepsen_errors_name_the_line() {
        let cases = [
            ("INFO  jepsen.util - x\t:invoke\t:read\tnil", 1, "a process number"),
            ("\nINFO  jepsen.util - 1\t:invoke\t:read\t[1", 2, "pair"),
            ("INFO  jepsen.util - 1\t:ok\t:read\t1", 1, "no operation in progress"),
            (
                "INFO  jepsen.util - 1\t:invoke\t:read\tnil\nINFO  jepsen.util - 1\t:ok\t:write\t1",
                2,
                "invoked :read",
            ),
            ("WARN something else", 1, "INFO"),
            ("INFO  jepsen.util - 1\t:invoke\t:frob\tnil", 1, "a function"),
            (
                "INFO  jepsen.util - 1\t:invoke\t:write\t1\nINFO  jepsen.util - 1\t:ok\t:write\t2",
                2,
                "invoked :write 1",
            ),
        ];
        for (text, line, needle) in cases {
            let err = parse_jepsen(text).unwrap_err();
            assert_eq!(err.line(), Some(line), "{err}");
            assert!(err.to_string().contains(needle), "{err} should mention {needle}");
        }
    }

    #[test]
    fn kv_lines() {
        let text = r#"{:process 0, :type :invoke, :f :put, :key "a", :value "x \"q\""}
{:process 1, :type :invoke, :f :get, :key "a", :value nil}
{:process 0, :type :ok, :f :put, :key "a", :value "x \"q\""}
{:process 1, :type :ok, :f :get, :key "a", :value "x \"q\""}
{:process 2, :type :invoke, :f :append, :key "b", :value "y"}
{:process 2, :type :fail, :f :append, :key "b", :value "y"}
{:process 3, :type :invoke, :f :append, :key "b", :value "z"}
"#;
        let ops = parse_kv(text).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].input().value, "x \"q\"");
        assert_eq!(ops[1].output(), Some(&KvOutput::value("x \"q\"")));
        assert_eq!((ops[1].call(), ops[1].ret()), (2, Some(4)));
        assert_eq!(ops[2].ret(), None);
    }

    #[test]
    fn kv_errors_name_the_line() {
        let ok = r#"{:process 0, :type :invoke, :f :get, :key "a", :value nil}"#;
        let cases = [
            (r#"{:process 0, :type :invoke, :f :get, :key "a", :value nil"#, "`}`"),
            (r#"{:process 0, :type :invoke, :f :get, :key "a}"#, "closing"),
            (r#"{:process 0, :type :invoke, :f :get, :value nil}"#, ":key field"),
            (r#"{:process 0, :type :invoke, :f :frob, :key "a", :value nil}"#, ":get, :put or :append"),
            (r#"{:process 0, :type :invoke, :f :get, :key "a", :value nil} x"#, "end of the line"),
            (r#"(:process 0)"#, "`{`"),
            (r#"{:process 5, :type :ok, :f :get, :key "a", :value "1"}"#, "no operation in progress"),
        ];
        for (bad, needle) in cases {
            let text = format!("{ok}\n\n{bad}\n");
            let err = parse_kv(&text).unwrap_err();
            assert_eq!(err.line(), Some(3), "{err}");
            assert!(err.to_string().contains(needle), "{err} should mention {needle}");
        }
    }
}
