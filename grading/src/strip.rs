//! Solution regions: how the reference source marks the code that the student handout omits.
//!
//! The reference implementations and the student skeletons live in one tree, so that the
//! skeleton can never drift from the reference: `grade handout` derives the skeleton by
//! deleting the marked regions. The markers are ordinary line comments, so the reference builds
//! and runs as is, and the convention needs no build-time machinery.
//!
//! # The convention
//!
//! ```text
//!     // SOLUTION BEGIN
//!     let leader = self.elect();          <- reference code: removed from the handout
//!     // SOLUTION ELSE
//!     // todo!("Lab 3A: elect a leader")  <- kept in the handout, with its `// ` removed
//!     // SOLUTION END
//! ```
//!
//! * A marker is a line whose first non-blank characters are `// SOLUTION BEGIN`,
//!   `// SOLUTION ELSE` or `// SOLUTION END`. Markers may be indented and may carry a label
//!   after the keyword (`// SOLUTION BEGIN 3A`). Only `.rs` files are processed.
//! * Everything from `BEGIN` to `ELSE` (or to `END` when there is no `ELSE`) is removed, marker
//!   lines included.
//! * The `ELSE` part is optional. Each of its lines must be blank or a `//` comment: the handout
//!   keeps the line with its first `//` and the one space after it removed, indentation
//!   preserved. So `    // todo!()` becomes `    todo!()`, and a doc comment is written
//!   `// /// Docs.`.
//! * Regions do not nest. A `BEGIN` inside a region, an `ELSE` or `END` outside one, a second
//!   `ELSE`, a region still open at the end of the file, a code line in an `ELSE` part, or a
//!   misspelt marker (`// SOLUTION BEGN`: `SOLUTION` followed by an upper-case word that is no
//!   keyword) is an error that names the line, and `grade handout` then writes nothing.
//! * Markers are recognised line by line, without parsing Rust: a marker-like line inside a
//!   multi-line string literal counts as a marker. Tests that need marker text should build it
//!   with `\n` escapes on one source line.

use std::fmt;

/// What a successful strip produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// The handout's version of the file.
    pub text: String,
    /// How many solution regions were removed.
    pub regions: usize,
}

/// A marker mistake at one line of a file (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerError {
    /// The 1-based line of the mistake.
    pub line: usize,
    /// What is wrong there.
    pub kind: MarkerErrorKind,
}

/// The kinds of marker mistakes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkerErrorKind {
    /// `BEGIN` while a region opened at `open` is still open.
    Nested {
        /// Line of the region that is still open.
        open: usize,
    },
    /// `ELSE` with no open region.
    ElseOutside,
    /// A second `ELSE` in the region whose first `ELSE` is at `first`.
    DoubleElse {
        /// Line of the first `ELSE`.
        first: usize,
    },
    /// `END` with no open region.
    EndOutside,
    /// The file ends while the region that began at this line is open.
    Unclosed,
    /// A line in an `ELSE` part that is neither blank nor a `//` comment.
    ElseNotComment,
    /// `SOLUTION` followed by an upper-case word that is not a keyword.
    Unknown {
        /// The word found after `SOLUTION`.
        word: String,
    },
}

impl fmt::Display for MarkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message())
    }
}

impl MarkerError {
    /// What is wrong and how to fix it, without the line number.
    pub fn message(&self) -> String {
        match &self.kind {
            MarkerErrorKind::Nested { open } => format!(
                "`SOLUTION BEGIN` inside the region opened at line {open}; regions \
                 do not nest: close that one with `// SOLUTION END` first"
            ),
            MarkerErrorKind::ElseOutside => {
                "`SOLUTION ELSE` outside any region; add the `// SOLUTION BEGIN` it \
                 belongs to, or remove it"
                    .to_string()
            }
            MarkerErrorKind::DoubleElse { first } => format!(
                "a second `SOLUTION ELSE` in the region whose ELSE is at line \
                 {first}; a region has at most one"
            ),
            MarkerErrorKind::EndOutside => {
                "`SOLUTION END` outside any region; add the `// SOLUTION BEGIN` it \
                 belongs to, or remove it"
                    .to_string()
            }
            MarkerErrorKind::Unclosed => "this `SOLUTION BEGIN` is never closed; add `// SOLUTION END` \
                 where the reference code ends"
                .to_string(),
            MarkerErrorKind::ElseNotComment => {
                "code in a `SOLUTION ELSE` part; every line there must be blank or \
                 a `//` comment (the handout uncomments it)"
                    .to_string()
            }
            MarkerErrorKind::Unknown { word } => format!(
                "unknown marker `SOLUTION {word}`; the markers are `// SOLUTION \
                 BEGIN`, `// SOLUTION ELSE` and `// SOLUTION END`"
            ),
        }
    }
}

/// A recognised marker line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    Begin,
    Else,
    End,
}

/// Classifies a line: `Ok(Some(marker))`, `Ok(None)` for an ordinary line, or `Err(word)`
/// for a misspelt marker.
fn marker(line: &str) -> Result<Option<Marker>, String> {
    let Some(rest) = line.trim_start().strip_prefix("//") else {
        return Ok(None);
    };
    let Some(rest) = rest.trim_start().strip_prefix("SOLUTION") else {
        return Ok(None);
    };
    // `SOLUTION` must be a whole word, followed by a space and the keyword.
    if !rest.starts_with([' ', '\t']) {
        return Ok(None);
    }
    let word: String = rest.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    match word.as_str() {
        "BEGIN" => Ok(Some(Marker::Begin)),
        "ELSE" => Ok(Some(Marker::Else)),
        "END" => Ok(Some(Marker::End)),
        w if !w.is_empty() && w.chars().all(|c| c.is_ascii_uppercase()) => Err(word),
        _ => Ok(None),
    }
}

/// Uncomments one line of an `ELSE` part: removes the first `//` and one space after it,
/// keeping the indentation and the line ending. `None` if the line is code.
fn uncomment(line: &str) -> Option<String> {
    let (body, ending) = split_ending(line);
    let trimmed = body.trim_start();
    if trimmed.is_empty() {
        return Some(ending.to_string());
    }
    let indent = &body[..body.len() - trimmed.len()];
    let rest = trimmed.strip_prefix("//")?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    if rest.trim().is_empty() {
        return Some(ending.to_string());
    }
    Some(format!("{indent}{rest}{ending}"))
}

/// Splits a line (as yielded by `split_inclusive('\n')`) into its text and its ending.
fn split_ending(line: &str) -> (&str, &str) {
    if let Some(body) = line.strip_suffix("\r\n") {
        (body, "\r\n")
    } else if let Some(body) = line.strip_suffix('\n') {
        (body, "\n")
    } else {
        (line, "")
    }
}

/// Where the scan is.
enum State {
    /// Outside any region.
    Outside,
    /// In the reference part of the region that began at this line.
    Solution { begin: usize },
    /// In the `ELSE` part; `begin` and the `ELSE` line.
    Else { begin: usize, else_line: usize },
}

/// Strips the solution regions from one file's text.
///
/// Returns every marker mistake in the file (not only the first), so that one run of
/// `grade handout` shows all that needs fixing.
pub fn strip(text: &str) -> Result<Stripped, Vec<MarkerError>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut regions = 0;
    let mut state = State::Outside;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let number = index + 1;
        let err = |kind| MarkerError { line: number, kind };
        let found = match marker(line) {
            Ok(found) => found,
            Err(word) => {
                errors.push(err(MarkerErrorKind::Unknown { word }));
                continue;
            }
        };
        state = match (state, found) {
            (State::Outside, None) => {
                out.push_str(line);
                State::Outside
            }
            (State::Outside, Some(Marker::Begin)) => State::Solution { begin: number },
            (State::Outside, Some(Marker::Else)) => {
                errors.push(err(MarkerErrorKind::ElseOutside));
                State::Outside
            }
            (State::Outside, Some(Marker::End)) => {
                errors.push(err(MarkerErrorKind::EndOutside));
                State::Outside
            }
            (State::Solution { begin }, None) => State::Solution { begin },
            (State::Solution { begin } | State::Else { begin, .. }, Some(Marker::Begin)) => {
                errors.push(err(MarkerErrorKind::Nested { open: begin }));
                // Treat it as part of the open region and carry on looking for more mistakes.
                State::Solution { begin }
            }
            (State::Solution { begin }, Some(Marker::Else)) => State::Else { begin, else_line: number },
            (State::Solution { .. } | State::Else { .. }, Some(Marker::End)) => {
                regions += 1;
                State::Outside
            }
            (State::Else { begin, else_line }, None) => {
                match uncomment(line) {
                    Some(kept) => out.push_str(&kept),
                    None => errors.push(err(MarkerErrorKind::ElseNotComment)),
                }
                State::Else { begin, else_line }
            }
            (State::Else { begin, else_line }, Some(Marker::Else)) => {
                errors.push(err(MarkerErrorKind::DoubleElse { first: else_line }));
                State::Else { begin, else_line }
            }
        };
    }
    match state {
        State::Outside => {}
        State::Solution { begin } | State::Else { begin, .. } => {
            errors.push(MarkerError { line: begin, kind: MarkerErrorKind::Unclosed });
        }
    }
    if errors.is_empty() {
        Ok(Stripped { text: out, regions })
    } else {
        errors.sort_by_key(|e| e.line);
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Marker lines are built with `\n` escapes on one source line, so that stripping this
    // very file for the handout does not see them as markers.

    fn ok(text: &str) -> Stripped {
        strip(text).unwrap_or_else(|e| panic!("unexpected errors: {e:?}"))
    }

    fn kinds(text: &str) -> Vec<(usize, MarkerErrorKind)> {
        strip(text).expect_err("expected marker errors").into_iter().map(|e| (e.line, e.kind)).collect()
    }

    #[test]
    fn no_markers_is_identity() {
        let text = "fn main() {\n    println!(\"hi\");\n}\n// trailing, no newline";
        assert_eq!(ok(text).text, text);
        assert_eq!(ok(text).regions, 0);
        assert_eq!(ok("").text, "");
    }

    #[test]
    fn balanced_region_is_removed() {
        let text = "a\n// SOLUTION BEGIN\nsecret();\n// SOLUTION END\nb\n";
        let s = ok(text);
        assert_eq!(s.text, "a\nb\n");
        assert_eq!(s.regions, 1);
    }

    #[test]
    fn else_part_is_uncommented_with_indentation() {
        let text = "fn f() {\n    // SOLUTION BEGIN\n    secret();\n    // SOLUTION ELSE\n    // todo!(\"Lab 3A: elect a leader\")\n    //\n\n    //     deeper();\n    // SOLUTION END\n}\n";
        let s = ok(text);
        assert_eq!(s.text, "fn f() {\n    todo!(\"Lab 3A: elect a leader\")\n\n\n        deeper();\n}\n");
    }

    #[test]
    fn else_doc_comment_and_no_space() {
        let text = "// SOLUTION BEGIN\nx\n// SOLUTION ELSE\n// /// Docs.\n//tight\n// SOLUTION END\n";
        assert_eq!(ok(text).text, "/// Docs.\ntight\n");
    }

    #[test]
    fn labels_after_markers_and_crlf() {
        let text = "a\r\n  // SOLUTION BEGIN 3A: election\r\n  x\r\n  // SOLUTION ELSE (skeleton)\r\n  // y\r\n  // SOLUTION END 3A\r\nb\r\n";
        assert_eq!(ok(text).text, "a\r\n  y\r\nb\r\n");
    }

    #[test]
    fn several_regions_and_no_trailing_newline() {
        let text = "1\n// SOLUTION BEGIN\n2\n// SOLUTION END\n3\n// SOLUTION BEGIN\n4\n// SOLUTION ELSE\n// 5\n// SOLUTION END";
        let s = ok(text);
        assert_eq!(s.text, "1\n3\n5\n");
        assert_eq!(s.regions, 2);
    }

    #[test]
    fn ordinary_comments_mentioning_solution_are_kept() {
        let text = "// SOLUTION: not a marker\n// SOLUTION regions are documented elsewhere\n/// // SOLUTION BEGIN in a doc comment\nlet s = \"// SOLUTION BEGIN\";\n";
        assert_eq!(ok(text).text, text);
    }

    #[test]
    fn nested_begin_is_an_error() {
        let text = "// SOLUTION BEGIN\n// SOLUTION BEGIN\n// SOLUTION END\n";
        assert_eq!(kinds(text), vec![(2, MarkerErrorKind::Nested { open: 1 })]);
    }

    #[test]
    fn unclosed_region_names_its_begin() {
        let text = "a\n    // SOLUTION BEGIN\nb\n";
        assert_eq!(kinds(text), vec![(2, MarkerErrorKind::Unclosed)]);
        let text = "// SOLUTION BEGIN\n// SOLUTION ELSE\n// x\n";
        assert_eq!(kinds(text), vec![(1, MarkerErrorKind::Unclosed)]);
    }

    #[test]
    fn stray_else_and_end_are_errors() {
        let text = "// SOLUTION ELSE\nx\n// SOLUTION END\n";
        assert_eq!(kinds(text), vec![(1, MarkerErrorKind::ElseOutside), (3, MarkerErrorKind::EndOutside)]);
    }

    #[test]
    fn double_else_is_an_error() {
        let text = "// SOLUTION BEGIN\n// SOLUTION ELSE\n// SOLUTION ELSE\n// SOLUTION END\n";
        assert_eq!(kinds(text), vec![(3, MarkerErrorKind::DoubleElse { first: 2 })]);
    }

    #[test]
    fn code_in_else_is_an_error() {
        let text = "// SOLUTION BEGIN\n// SOLUTION ELSE\n    todo!();\n// SOLUTION END\n";
        assert_eq!(kinds(text), vec![(3, MarkerErrorKind::ElseNotComment)]);
    }

    #[test]
    fn misspelt_marker_is_an_error() {
        let text = "// SOLUTION BEGN\nsecret();\n// SOLUTION END\n";
        assert_eq!(
            kinds(text),
            vec![(1, MarkerErrorKind::Unknown { word: "BEGN".into() }), (3, MarkerErrorKind::EndOutside)]
        );
    }

    #[test]
    fn error_messages_name_the_line_and_the_fix() {
        let errors = strip("x\n// SOLUTION BEGIN\n").unwrap_err();
        let message = errors[0].to_string();
        assert!(message.starts_with("line 2:"), "{message}");
        assert!(message.contains("SOLUTION END"), "{message}");
    }
}
