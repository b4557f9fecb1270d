//! The rules on student code, checked before the grader builds it.
//!
//! A student's code runs inside the test process, beside the harness that decides the verdict.
//! It gets threads, locks, time and randomness from `labs`, and it needs nothing that reaches
//! outside the process or below the language. So a student file may not:
//!
//! | rule | why |
//! |---|---|
//! | `no unsafe` | unsafe code can write anywhere in the process, the harness's verdict included |
//! | `no linker attributes` | `no_mangle`, `export_name`, `link_section` (a constructor that runs before `main`), `used`, `link`, ... |
//! | `no std::process, std::env, std::fs, std::net, std::os` | they end the process, rewrite the environment the harness reads (the seed), and reach files, sockets and raw descriptors |
//! | `no renamed std` | `use std as s`, `use std::*`, `extern crate`, or a macro that builds a `std` path from a variable would hide the rule above |
//! | `no include!` | `include!`, `include_str!`, `include_bytes!`: every line graded must be in the file checked |
//! | `no env!` | `env!`, `option_env!` read the grader's build environment |
//! | `no asm` | `asm!`, `global_asm!`, `naked_asm!` |
//! | `no extern` | extern blocks and functions: foreign code is unsafe code |
//! | `no #[path]` | it compiles a file other than the student's |
//! | `no modules in other files` | `mod x;` compiles a file the grader does not copy; write `mod x { ... }` |
//! | `no panic hooks` | `std::panic::set_hook` and `take_hook` replace the runtime's, which names the thread and node of a panic |
//!
//! The check reads the file's tokens (comments and string contents are not tokens, so they
//! never trip it), including the tokens inside macro invocations and `macro_rules!` bodies. It
//! is the first of two layers: the grader's copy of each student crate's `lib.rs` also says
//! `#![forbid(unsafe_code)]`, which the compiler enforces after macro expansion.

use std::fmt;
use std::str::FromStr;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};

/// One rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rule {
    /// No `unsafe`.
    Unsafe,
    /// No linker attributes.
    LinkerAttribute,
    /// No `std::process`, `std::env`, `std::fs`, `std::net`, `std::os`.
    StdModule,
    /// No renamed, glob-imported or macro-built `std` paths.
    RenamedStd,
    /// No `include!` and friends.
    Include,
    /// No `env!`, `option_env!`.
    EnvMacro,
    /// No inline or global assembly.
    Asm,
    /// No `extern`.
    Extern,
    /// No `#[path]`.
    PathAttribute,
    /// No `mod x;`.
    ModuleFile,
    /// No panic hooks.
    PanicHook,
    /// The file must be readable as Rust tokens.
    Tokens,
}

impl Rule {
    /// The rule's name, as the handouts list it.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::Unsafe => "no unsafe",
            Rule::LinkerAttribute => "no linker attributes",
            Rule::StdModule => "no std::process, std::env, std::fs, std::net, std::os",
            Rule::RenamedStd => "no renamed std",
            Rule::Include => "no include!",
            Rule::EnvMacro => "no env!",
            Rule::Asm => "no asm",
            Rule::Extern => "no extern",
            Rule::PathAttribute => "no #[path]",
            Rule::ModuleFile => "no modules in other files",
            Rule::PanicHook => "no panic hooks",
            Rule::Tokens => "readable Rust",
        }
    }
}

/// One place where a file breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// The file, relative to the workspace root.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The rule.
    pub rule: Rule,
    /// What is there and why it is not allowed.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: breaks the rule \"{}\": {}",
            self.file,
            self.line,
            self.column,
            self.rule.name(),
            self.detail
        )
    }
}

/// `std` modules a student file may not name.
const STD_MODULES: [&str; 5] = ["process", "env", "fs", "net", "os"];

/// The crates whose paths lead into the standard library.
const STD_CRATES: [&str; 3] = ["std", "core", "alloc"];

/// Attributes that act on the linker or run code outside the program's flow.
const LINKER_ATTRIBUTES: [&str; 10] = [
    "no_mangle",
    "export_name",
    "link_section",
    "link",
    "link_name",
    "link_ordinal",
    "used",
    "naked",
    "global_allocator",
    "panic_handler",
];

/// Checks the text of one student file (`file` is its name, for the messages).
pub fn check(file: &str, text: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    match TokenStream::from_str(text) {
        Ok(tokens) => {
            let tokens: Vec<TokenTree> = tokens.into_iter().collect();
            scan(file, &tokens, false, &mut out);
        }
        Err(e) => {
            let start = e.span().start();
            out.push(Violation {
                file: file.to_string(),
                line: start.line.max(1),
                column: start.column + 1,
                rule: Rule::Tokens,
                detail: format!(
                    "the file cannot be read as Rust tokens ({e}); the rules cannot be checked, so it is \
                     not built. `cargo build` shows the problem"
                ),
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

/// An identifier's name without a raw prefix (`r#std` is `std`).
fn name(tree: &TokenTree) -> Option<String> {
    match tree {
        TokenTree::Ident(ident) => {
            let text = ident.to_string();
            Some(text.strip_prefix("r#").map(str::to_string).unwrap_or(text))
        }
        _ => None,
    }
}

fn is_punct(tree: Option<&TokenTree>, ch: char) -> bool {
    matches!(tree, Some(TokenTree::Punct(p)) if p.as_char() == ch)
}

/// Whether a `::` starts at `tokens[i]`.
fn path_sep_at(tokens: &[TokenTree], i: usize) -> bool {
    matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint)
        && is_punct(tokens.get(i + 1), ':')
}

/// Whether `tokens[i]` is a macro variable (`$x`, as the `$` of the pair).
fn macro_var_at(tokens: &[TokenTree], i: usize) -> bool {
    is_punct(tokens.get(i), '$') && matches!(tokens.get(i + 1), Some(TokenTree::Ident(_)))
}

fn violation(file: &str, at: &TokenTree, rule: Rule, detail: String) -> Violation {
    let start = at.span().start();
    Violation { file: file.to_string(), line: start.line, column: start.column + 1, rule, detail }
}

/// Scans a token sequence; `in_attribute` when it is the inside of `#[...]`.
fn scan(file: &str, tokens: &[TokenTree], in_attribute: bool, out: &mut Vec<Violation>) {
    for (i, tree) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1);
        match tree {
            TokenTree::Ident(_) => {
                let word = name(tree).unwrap_or_default();
                let macro_call = is_punct(next, '!') && !is_punct(tokens.get(i.wrapping_sub(1)), '.');
                match word.as_str() {
                    "unsafe" => out.push(violation(
                        file,
                        tree,
                        Rule::Unsafe,
                        "`unsafe` (a block, function, impl, extern block or attribute): unsafe code can \
                         change any memory of the test process, the harness's included"
                            .into(),
                    )),
                    "extern" => out.push(violation(
                        file,
                        tree,
                        Rule::Extern,
                        "`extern` (an extern block, extern function or extern crate): foreign code and \
                         renamed crates are not allowed in student files"
                            .into(),
                    )),
                    "set_hook" | "take_hook" | "update_hook" => out.push(violation(
                        file,
                        tree,
                        Rule::PanicHook,
                        format!(
                            "`{word}`: a panic hook replaces the runtime's, which names the thread, node \
                             and seed of a panic"
                        ),
                    )),
                    "mod" if matches!(next, Some(TokenTree::Ident(_))) && is_punct(tokens.get(i + 2), ';') => {
                        out.push(violation(
                            file,
                            tree,
                            Rule::ModuleFile,
                            format!(
                                "`mod {};` compiles another file, which the grader does not copy from a \
                                 submission; write the module inline: `mod {} {{ ... }}`",
                                name(&tokens[i + 1]).unwrap_or_default(),
                                name(&tokens[i + 1]).unwrap_or_default()
                            ),
                        ));
                    }
                    "include" | "include_str" | "include_bytes" if macro_call => out.push(violation(
                        file,
                        tree,
                        Rule::Include,
                        format!("`{word}!` compiles or embeds another file; every graded line must be in this file"),
                    )),
                    "env" | "option_env" if macro_call => out.push(violation(
                        file,
                        tree,
                        Rule::EnvMacro,
                        format!("`{word}!` reads the environment of the grader's build"),
                    )),
                    "asm" | "global_asm" | "naked_asm" if macro_call => out.push(violation(
                        file,
                        tree,
                        Rule::Asm,
                        format!("`{word}!`: assembly is not allowed (global assembly can run code before main)"),
                    )),
                    w if in_attribute && LINKER_ATTRIBUTES.contains(&w) => out.push(violation(
                        file,
                        tree,
                        Rule::LinkerAttribute,
                        format!(
                            "the attribute `{w}` acts on the linker (a `link_section` static, for one, can \
                             run code before the test starts)"
                        ),
                    )),
                    "path" if in_attribute && is_punct(next, '=') => out.push(violation(
                        file,
                        tree,
                        Rule::PathAttribute,
                        "`#[path = ...]` compiles a file other than this one".into(),
                    )),
                    w if STD_CRATES.contains(&w) => std_path(file, tokens, i, out),
                    _ => {}
                }
            }
            TokenTree::Punct(p)
                if p.as_char() == '$' && macro_var_at(tokens, i) && path_sep_at(tokens, i + 2) =>
            {
                // `$x::...`: a macro that builds a path from a variable: `$x::process` or
                // `$x::$y` could resolve to `std::process` without naming it.
                let after = i + 4;
                let hidden = match tokens.get(after) {
                    Some(t @ TokenTree::Ident(_)) => name(t).is_some_and(|n| {
                        STD_MODULES.contains(&n.as_str()) || STD_CRATES.contains(&n.as_str())
                    }),
                    Some(TokenTree::Punct(q)) => q.as_char() == '$',
                    Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                        use_group_hides_std(&g.stream().into_iter().collect::<Vec<_>>())
                    }
                    _ => false,
                };
                if hidden {
                    out.push(violation(
                        file,
                        tree,
                        Rule::RenamedStd,
                        format!(
                            "`${}::...` in a macro builds a path from a variable in a way that can name a \
                             forbidden std module without writing it",
                            name(&tokens[i + 1]).unwrap_or_default()
                        ),
                    ));
                }
            }
            TokenTree::Group(group) => {
                let inner: Vec<TokenTree> = group.stream().into_iter().collect();
                let attribute = group.delimiter() == Delimiter::Bracket
                    && (is_punct(tokens.get(i.wrapping_sub(1)), '#')
                        || (is_punct(tokens.get(i.wrapping_sub(1)), '!')
                            && is_punct(tokens.get(i.wrapping_sub(2)), '#')));
                scan(file, &inner, in_attribute || attribute, out);
            }
            _ => {}
        }
    }
}

/// Checks the path that starts with the std crate name at `tokens[i]`.
fn std_path(file: &str, tokens: &[TokenTree], i: usize, out: &mut Vec<Violation>) {
    let krate = name(&tokens[i]).unwrap_or_default();
    let next = tokens.get(i + 1);
    if matches!(next, Some(TokenTree::Ident(_))) && name(next.expect("checked")).as_deref() == Some("as") {
        out.push(violation(
            file,
            &tokens[i],
            Rule::RenamedStd,
            format!(
                "`{krate} as ...` renames the standard library, which would hide the paths the rules name"
            ),
        ));
        return;
    }
    if !path_sep_at(tokens, i + 1) {
        return;
    }
    let Some(segment) = tokens.get(i + 3) else { return };
    match segment {
        TokenTree::Ident(_) => {
            let module = name(segment).unwrap_or_default();
            if STD_MODULES.contains(&module.as_str()) {
                out.push(violation(file, &tokens[i], Rule::StdModule, forbidden_module(&krate, &module)));
            }
        }
        TokenTree::Punct(p) if p.as_char() == '*' => out.push(violation(
            file,
            &tokens[i],
            Rule::RenamedStd,
            format!("`{krate}::*` imports every module of the standard library by its short name"),
        )),
        TokenTree::Punct(p) if p.as_char() == '$' => out.push(violation(
            file,
            &tokens[i],
            Rule::RenamedStd,
            format!("`{krate}::$...` in a macro builds a standard library path from a variable"),
        )),
        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => {
            let items: Vec<TokenTree> = g.stream().into_iter().collect();
            for item in items.split(|t| is_punct(Some(t), ',')) {
                let first = item.first();
                if let Some(module) = first.and_then(name).filter(|m| STD_MODULES.contains(&m.as_str())) {
                    out.push(violation(file, &tokens[i], Rule::StdModule, forbidden_module(&krate, &module)));
                } else if first.and_then(name).as_deref() == Some("self")
                    && item.get(1).and_then(name).as_deref() == Some("as")
                {
                    out.push(violation(
                        file,
                        &tokens[i],
                        Rule::RenamedStd,
                        format!("`{krate}::{{self as ...}}` renames the standard library"),
                    ));
                } else if is_punct(first, '*') || item.iter().any(|t| is_punct(Some(t), '$')) {
                    out.push(violation(
                        file,
                        &tokens[i],
                        Rule::RenamedStd,
                        format!("`{krate}::{{...}}` imports by a glob or a macro variable"),
                    ));
                }
            }
        }
        _ => {}
    }
}

/// Whether the items of a `{...}` use group after a macro variable can name std or a forbidden
/// module.
fn use_group_hides_std(items: &[TokenTree]) -> bool {
    items.split(|t| is_punct(Some(t), ',')).any(|item| {
        item.first().and_then(name).is_some_and(|n| STD_MODULES.contains(&n.as_str()))
            || item.iter().any(|t| is_punct(Some(t), '$') || is_punct(Some(t), '*'))
    })
}

fn forbidden_module(krate: &str, module: &str) -> String {
    let why = match module {
        "process" => "it ends or starts processes (an exit in the middle of a test, or a forged result)",
        "env" => "it reads and rewrites the environment the harness reads (the seed, the backend)",
        "fs" => "it reads and writes files (the grader's files, the verdict)",
        "net" => "it opens network connections",
        _ => "it reaches raw file descriptors and the operating system",
    };
    format!("`{krate}::{module}`: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(usize, Rule)> {
        check("raft/src/raft.rs", text).into_iter().map(|v| (v.line, v.rule)).collect()
    }

    #[test]
    fn honest_code_passes() {
        let text = r#"
//! Docs may say std::process::exit, unsafe and include! freely.
use std::collections::BTreeMap;
use std::{fmt, io::Write, sync::Arc};
use labs::thread;
/// `unsafe` in a doc comment is fine.
#[derive(Debug, Clone, serde::Serialize)]
#[allow(unused)]
pub struct Raft { map: BTreeMap<u64, String>, env: u64, process: u64 }
macro_rules! p { ($x:expr) => { println!("{} std::process", $x) }; ($t:ty) => { <$t>::default() } }
mod inner { pub fn f() -> &'static str { "std::env::var" } }
fn f(r: &Raft) -> u64 { let fs = r.env; let os = fs + r.process; os }
fn g() { let v = std::mem::take(&mut Vec::<u8>::new()); core::mem::drop(v); }
"#;
        assert_eq!(rules(text), vec![]);
    }

    #[test]
    fn every_trick_is_named_with_its_line() {
        let cases: &[(&str, Rule)] = &[
            ("fn f() { unsafe { } }", Rule::Unsafe),
            ("#[unsafe(link_section = \".init_array\")]\nstatic S: u8 = 0;", Rule::Unsafe),
            ("#[unsafe(link_section = \".init_array\")]\nstatic S: u8 = 0;", Rule::LinkerAttribute),
            ("#[no_mangle] fn f() {}", Rule::LinkerAttribute),
            ("#[cfg_attr(all(), export_name = \"main\")] fn f() {}", Rule::LinkerAttribute),
            ("fn f() { std::process::exit(0) }", Rule::StdModule),
            ("fn f() { ::std::env::var(\"LAB_SEED\").ok(); }", Rule::StdModule),
            ("use std::{io, fs::File};", Rule::StdModule),
            ("use std::os::unix::io::FromRawFd;", Rule::StdModule),
            ("use std::net::TcpStream;", Rule::StdModule),
            ("use core as c;", Rule::RenamedStd),
            ("use std as s;", Rule::RenamedStd),
            ("use std::{self as s};", Rule::RenamedStd),
            ("use std::*;", Rule::RenamedStd),
            ("macro_rules! m { ($a:ident) => { std::$a::exit(0) } }", Rule::RenamedStd),
            ("macro_rules! m { ($s:ident, $a:ident) => { $s::$a::exit(0) } }", Rule::RenamedStd),
            ("macro_rules! m { ($s:ident) => { $s::process::exit(0) } }", Rule::RenamedStd),
            ("macro_rules! m { ($s:ident) => { use $s::{process}; } }", Rule::RenamedStd),
            ("extern crate std as s;", Rule::Extern),
            ("unsafe extern \"C\" { safe fn getpid() -> i32; }", Rule::Extern),
            ("const S: &str = include_str!(\"/etc/passwd\");", Rule::Include),
            ("include!(\"../../grading/x.rs\");", Rule::Include),
            ("const S: Option<&str> = option_env!(\"HOME\");", Rule::EnvMacro),
            ("core::arch::global_asm!(\".section .init_array\");", Rule::Asm),
            ("#[path = \"/tmp/x.rs\"] mod x;", Rule::PathAttribute),
            ("mod helpers;", Rule::ModuleFile),
            ("fn f() { std::panic::set_hook(Box::new(|_| {})); }", Rule::PanicHook),
            ("fn f() { let _ = r#std::r#process::id(); }", Rule::StdModule),
            ("fn f() { let s = \"unterminated; }", Rule::Tokens),
        ];
        for (text, rule) in cases {
            let found = rules(&format!("\n{text}\n"));
            let at_line = |line: usize| line == 2 || *rule == Rule::Tokens;
            assert!(
                found.iter().any(|(line, r)| r == rule && at_line(*line)),
                "{text}: {found:?} lacks {rule:?}"
            );
        }
    }

    #[test]
    fn messages_name_file_line_and_rule() {
        let v = check("raft/src/raft.rs", "fn a() {}\nfn f() {\n    std::process::exit(0)\n}\n");
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].to_string(),
            "raft/src/raft.rs:3:5: breaks the rule \"no std::process, std::env, std::fs, std::net, std::os\": \
             `std::process`: it ends or starts processes (an exit in the middle of a test, or a forged result)"
        );
    }
}
