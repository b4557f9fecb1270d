// Broken implementations ("mutants") for the tests of the testers, made at build time from the
// reference solutions. This file is `include!`d by the build scripts of the tests crates
// (`raft-tests/build.rs`, ...); it is not part of the testkit library.
//
// A mutant is a text file `<tests crate>/mutants/<name>.mutant`:
//
// ```text
// # Comment lines start with '#'.
// rule: Figure 2: votedFor (one vote per term)
// file: src/raft.rs
// @@@ find
// <exact lines of the reference>
// @@@ replace
// <the broken lines>
// @@@ end
// ```
//
// `file:` names the file of the mutated crate that the find/replace blocks after it patch; each
// `find` must occur exactly once. `common.mutant` (if present) is applied to every mutant
// first. The build copies the crate's `src/` tree into `$OUT_DIR/mutants/<name>/`, patched, with
// `crate::` paths made relative to the copy and its unit tests removed, and writes
// `$OUT_DIR/mutants.rs`: one `pub mod <name>` per mutant, plus `adapter` (with `{m}` replaced
// by the mutant's name) after each, and a table `MUTANTS: &[(&str, &str)]` of names and rules.
// A test binary includes it inside `mod mutants { ... }`.
//
// Outside the reference repository (a handout, a student's tree graded with its own copy of
// the tests), the reference solutions are not there and the patches do not apply: the build
// then writes an empty table and emits no `cfg(mutants)`, and the tests of the tester are not
// compiled. Inside it (`SOLUTION BEGIN` markers present), a patch that no longer applies
// fails the build, naming the mutant and the text it could not find.

#[allow(dead_code)]
#[allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a build script, not lab code: it reads the reference sources and writes the mutants on the real disk"
)]
mod mutate {
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};

    struct Patch {
        file: String,
        find: String,
        replace: String,
    }

    struct Mutant {
        name: String,
        rule: String,
        patches: Vec<Patch>,
    }

    fn parse(name: &str, text: &str) -> Mutant {
        let mut m = Mutant { name: name.to_string(), rule: String::new(), patches: Vec::new() };
        let mut file = String::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if let Some(r) = line.strip_prefix("rule:") {
                m.rule = r.trim().to_string();
            } else if let Some(f) = line.strip_prefix("file:") {
                file = f.trim().to_string();
            } else if line.trim() == "@@@ find" {
                let mut find = Vec::new();
                let mut replace = Vec::new();
                let mut in_replace = false;
                for l in lines.by_ref() {
                    match l.trim() {
                        "@@@ replace" => in_replace = true,
                        "@@@ end" => break,
                        _ if in_replace => replace.push(l),
                        _ => find.push(l),
                    }
                }
                assert!(!file.is_empty(), "mutant {name}: a find block before any `file:` line");
                m.patches.push(Patch { file: file.clone(), find: find.join("\n"), replace: replace.join("\n") });
            } else if !(line.trim().is_empty() || line.starts_with('#')) {
                panic!("mutant {name}: cannot read the line {line:?}");
            }
        }
        m
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).expect("the crate's src dir").flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::path);
        for e in entries {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// Removes `#[cfg(test)] mod tests { ... }` (the unit tests).
    fn drop_unit_tests(src: &str) -> String {
        let Some(at) = src.find("#[cfg(test)]\nmod tests {") else { return src.to_string() };
        let open = at + src[at..].find('{').expect("a brace");
        let mut depth = 0;
        for (i, c) in src[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return format!("{}{}", &src[..at], &src[open + i + 1..]);
                    }
                }
                _ => {}
            }
        }
        src.to_string()
    }

    /// `mod x;` declarations get an absolute `#[path]` into the copy.
    /// (`orig` is the original file's directory, where the existence of `x.rs` is checked.)
    fn fix_mods(src: &str, dir: &Path, orig: &Path, is_mod_rs: bool, stem: &str) -> String {
        let mut out = String::new();
        for line in src.lines() {
            let t = line.trim_start();
            let decl = t.strip_prefix("pub mod ").or_else(|| t.strip_prefix("mod "));
            match decl.and_then(|d| d.strip_suffix(';')) {
                Some(m) if !m.contains(' ') => {
                    let (base, orig_base) =
                        if is_mod_rs { (dir.to_path_buf(), orig.to_path_buf()) } else { (dir.join(stem), orig.join(stem)) };
                    let file = if orig_base.join(format!("{m}.rs")).exists() {
                        base.join(format!("{m}.rs"))
                    } else {
                        base.join(m).join("mod.rs")
                    };
                    let _ = writeln!(out, "#[path = {:?}]", file.display().to_string());
                    let _ = writeln!(out, "{line}");
                }
                _ => {
                    let _ = writeln!(out, "{line}");
                }
            }
        }
        out
    }

    /// Generates the mutants of the crate at `crate_dir` (whose library is called
    /// `crate_name`) from the `*.mutant` files in `mutants_dir`. `adapter` is Rust code
    /// written after each mutant's module, with `{m}` replaced by the mutant's name.
    pub fn generate(crate_name: &str, crate_dir: &str, mutants_dir: &str, adapter: &str) {
        println!("cargo::rustc-check-cfg=cfg(mutants)");
        println!("cargo::rerun-if-changed={mutants_dir}");
        println!("cargo::rerun-if-changed={crate_dir}/src");
        let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
        let table = out_dir.join("mutants.rs");
        let src_dir = Path::new(crate_dir).join("src");
        let mut files = Vec::new();
        rust_files(&src_dir, &mut files);
        let originals: Vec<(PathBuf, String)> =
            files.iter().map(|f| (f.clone(), std::fs::read_to_string(f).expect("a source file"))).collect();
        let reference = originals.iter().any(|(_, s)| s.contains("SOLUTION BEGIN"));
        if !reference {
            std::fs::write(&table, "/// No mutants: this tree has no reference solutions.\npub const MUTANTS: &[(&str, &str)] = &[];\n")
                .expect("write mutants.rs");
            return;
        }
        let mut specs: Vec<PathBuf> = std::fs::read_dir(mutants_dir)
            .expect("the mutants directory")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "mutant"))
            .collect();
        specs.sort();
        let common = specs
            .iter()
            .find(|p| p.file_stem().is_some_and(|s| s == "common"))
            .map(|p| parse("common", &std::fs::read_to_string(p).expect("common.mutant")));
        let mut out = String::new();
        let mut names = Vec::new();
        for spec in specs.iter().filter(|p| p.file_stem().is_some_and(|s| s != "common")) {
            let name = spec.file_stem().unwrap().to_string_lossy().to_string();
            let m = parse(&name, &std::fs::read_to_string(spec).expect("a mutant file"));
            assert!(!m.rule.is_empty(), "mutant {name}: no `rule:` line");
            let dir = out_dir.join("mutants").join(&name);
            let patches: Vec<&Patch> = common.iter().flat_map(|c| c.patches.iter()).chain(m.patches.iter()).collect();
            for p in &patches {
                assert!(
                    originals.iter().any(|(f, _)| f.strip_prefix(crate_dir).is_ok_and(|r| r == Path::new(&p.file))),
                    "mutant {name}: no file {} in {crate_dir}",
                    p.file
                );
            }
            for (f, text) in &originals {
                let rel = f.strip_prefix(crate_dir).expect("under the crate");
                let mut text = text.clone();
                for p in patches.iter().filter(|p| Path::new(&p.file) == rel) {
                    let n = text.matches(&p.find).count();
                    assert!(
                        n == 1,
                        "mutant {name}: the text to replace occurs {n} times in {} (it must occur once):\n{}",
                        p.file,
                        p.find
                    );
                    text = text.replacen(&p.find, &p.replace, 1);
                }
                let text = drop_unit_tests(&text).replace("crate::", &format!("crate::mutants::{name}::"));
                let target = dir.join(rel.strip_prefix("src").expect("under src"));
                std::fs::create_dir_all(target.parent().unwrap()).expect("create dir");
                let stem = target.file_stem().unwrap().to_string_lossy().to_string();
                let is_mod_rs = stem == "lib" || stem == "mod";
                let text = fix_mods(&text, target.parent().unwrap(), f.parent().unwrap(), is_mod_rs, &stem);
                std::fs::write(&target, text).expect("write a mutant file");
            }
            let _ = writeln!(out, "/// Mutant `{name}` of `{crate_name}`: {}", m.rule);
            let _ = writeln!(out, "#[allow(warnings, clippy::all, clippy::pedantic, missing_docs)]");
            let _ = writeln!(out, "#[path = {:?}]", dir.join("lib.rs").display().to_string());
            let _ = writeln!(out, "pub mod {name};\n");
            let _ = writeln!(out, "{}\n", adapter.replace("{m}", &name));
            names.push((name, m.rule));
        }
        let _ = writeln!(out, "/// Every mutant: (name, the rule it breaks).");
        let _ = writeln!(out, "pub const MUTANTS: &[(&str, &str)] = &[");
        for (n, r) in &names {
            let _ = writeln!(out, "    ({n:?}, {r:?}),");
        }
        let _ = writeln!(out, "];");
        std::fs::write(&table, out).expect("write mutants.rs");
        println!("cargo::rustc-cfg=mutants");
    }
}
