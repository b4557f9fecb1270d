//! The labs' declaration (`grading/labs.toml`): which files each lab's students own.
//!
//! It is the one place that says which files are the student's: the grader copies exactly
//! these from a submission into its own tree ([`crate::tree`]) and checks them against the
//! rules ([`crate::rules`]); the handout generator ([`crate::handout`]) checks that the files
//! with solution regions are exactly these. It is compiled into the grader, so that a
//! submission's copy of it changes nothing.

use std::collections::BTreeSet;

use serde::Deserialize;

/// The declaration compiled into the grader.
pub const BUILTIN: &str = include_str!("../labs.toml");

/// One lab.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lab {
    /// Its number, as in `--lab 3`.
    pub id: String,
    /// Its name on the scoreboard.
    pub name: String,
    /// Its page for students, relative to the workspace root.
    pub handout: String,
    /// The catalogue parts that grade it.
    pub parts: Vec<String>,
    /// The student's crate.
    #[serde(rename = "crate")]
    pub krate: String,
    /// The package of its tester and suites.
    pub tests: String,
    /// The student's files, relative to the workspace root, `/`-separated.
    pub files: Vec<String>,
    /// The labs whose student files this one builds on.
    #[serde(default)]
    pub uses: Vec<String>,
}

impl Lab {
    /// `Lab 3 (Raft)`.
    pub fn title(&self) -> String {
        format!("Lab {} ({})", self.id, self.name)
    }

    /// Whether the catalogue part `part` grades this lab (case-insensitive).
    pub fn has_part(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p.eq_ignore_ascii_case(part))
    }
}

/// All labs, in the declaration's order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labs {
    /// The labs.
    #[serde(rename = "lab")]
    pub labs: Vec<Lab>,
}

/// A declaration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LabsError {
    /// Not valid TOML, or not the expected shape.
    #[error("grading/labs.toml is not a valid declaration: {0}")]
    Parse(String),
    /// Valid TOML that contradicts itself.
    #[error("grading/labs.toml: {0}")]
    Invalid(String),
}

impl Labs {
    /// The declaration compiled into the grader. It is checked by this crate's tests, so a
    /// failure here is a bug in the build of the grader.
    pub fn builtin() -> Labs {
        Labs::parse(BUILTIN).expect("the built-in grading/labs.toml is valid (its unit test checks it)")
    }

    /// Parses and checks a declaration.
    pub fn parse(text: &str) -> Result<Labs, LabsError> {
        let labs: Labs = toml::from_str(text).map_err(|e| LabsError::Parse(e.to_string()))?;
        labs.check()?;
        Ok(labs)
    }

    /// Every id, file and part appears once; `uses` names earlier labs; paths are relative.
    fn check(&self) -> Result<(), LabsError> {
        let bad = |m: String| Err(LabsError::Invalid(m));
        let mut ids = BTreeSet::new();
        let mut files = BTreeSet::new();
        let mut parts = BTreeSet::new();
        for lab in &self.labs {
            for used in &lab.uses {
                if !ids.contains(used.as_str()) {
                    return bad(format!("lab {} uses lab {used}, which is not declared before it", lab.id));
                }
            }
            if !ids.insert(lab.id.as_str()) {
                return bad(format!("lab {} is declared twice", lab.id));
            }
            if lab.files.is_empty() {
                return bad(format!("lab {} declares no student files", lab.id));
            }
            for file in &lab.files {
                let path = std::path::Path::new(file);
                if path.is_absolute()
                    || file.contains('\\')
                    || path.components().any(|c| !matches!(c, std::path::Component::Normal(_)))
                {
                    return bad(format!(
                        "lab {}: `{file}` must be a relative path with `/` and no `.` or `..`",
                        lab.id
                    ));
                }
                if !files.insert(file.as_str()) {
                    return bad(format!("`{file}` is declared twice"));
                }
            }
            for part in &lab.parts {
                if !parts.insert(part.to_ascii_lowercase()) {
                    return bad(format!("part {part} is declared twice"));
                }
            }
        }
        Ok(())
    }

    /// The lab with id `id`.
    pub fn get(&self, id: &str) -> Option<&Lab> {
        self.labs.iter().find(|l| l.id == id)
    }

    /// The lab that catalogue part `part` grades.
    pub fn of_part(&self, part: &str) -> Option<&Lab> {
        self.labs.iter().find(|l| l.has_part(part))
    }

    /// The lab whose tester package is `package`.
    pub fn of_tests_package(&self, package: &str) -> Option<&Lab> {
        self.labs.iter().find(|l| l.tests == package)
    }

    /// The lab that owns the student file `path` (relative, `/`-separated).
    pub fn owner_of(&self, path: &str) -> Option<&Lab> {
        self.labs.iter().find(|l| l.files.iter().any(|f| f == path))
    }

    /// `ids` and every lab they use, directly or not, in declaration order.
    pub fn with_dependencies(&self, ids: &BTreeSet<String>) -> Vec<&Lab> {
        let mut wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        // `uses` names only earlier labs, so one pass from the end reaches every dependency.
        for lab in self.labs.iter().rev() {
            if wanted.contains(lab.id.as_str()) {
                wanted.extend(lab.uses.iter().map(String::as_str));
            }
        }
        self.labs.iter().filter(|l| wanted.contains(l.id.as_str())).collect()
    }

    /// The labs blocked when the labs `broken` cannot be built: those and every lab that uses
    /// one of them, directly or not.
    pub fn blocked_by(&self, broken: &BTreeSet<String>) -> BTreeSet<String> {
        let mut blocked = broken.clone();
        // `uses` names only earlier labs, so one pass in declaration order is enough.
        for lab in &self.labs {
            if lab.uses.iter().any(|u| blocked.contains(u)) {
                blocked.insert(lab.id.clone());
            }
        }
        blocked
    }

    /// Every student file of every lab.
    pub fn all_files(&self) -> impl Iterator<Item = &str> {
        self.labs.iter().flat_map(|l| l.files.iter().map(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_declaration_is_valid_and_covers_the_catalogue() {
        let labs = Labs::parse(BUILTIN).unwrap();
        assert_eq!(labs.get("3").unwrap().files, vec!["raft/src/raft.rs"]);
        let catalogue = crate::catalogue::Catalogue::load(None).unwrap();
        for entry in &catalogue.entries {
            let lab = labs.of_part(&entry.part).unwrap_or_else(|| panic!("part {} has no lab", entry.part));
            assert_eq!(lab.tests, entry.package, "catalogue line {}", entry.line);
        }
    }

    #[test]
    fn dependencies_and_blocking_follow_uses() {
        let labs = Labs::builtin();
        let ids = |v: Vec<&Lab>| v.iter().map(|l| l.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(labs.with_dependencies(&["5".to_string()].into())), ["3", "4", "5"]);
        assert_eq!(ids(labs.with_dependencies(&["3".to_string()].into())), ["3"]);
        let blocked = labs.blocked_by(&["4".to_string()].into());
        assert_eq!(blocked.into_iter().collect::<Vec<_>>(), ["4", "5"]);
        assert_eq!(labs.owner_of("kvraft/src/rsm.rs").unwrap().id, "4");
        assert!(labs.owner_of("raft/src/lib.rs").is_none());
    }

    #[test]
    fn bad_declarations_are_named() {
        let lab = |id: &str, files: &str, uses: &str| {
            format!(
                "[[lab]]\nid = \"{id}\"\nname = \"x\"\nhandout = \"d.md\"\nparts = [\"{id}A\"]\ncrate = \"c{id}\"\n\
                 tests = \"t{id}\"\nfiles = [{files}]\nuses = [{uses}]\n"
            )
        };
        let err = |text: String| Labs::parse(&text).unwrap_err().to_string();
        assert!(err(lab("1", "\"a.rs\"", "\"2\"")).contains("uses lab 2, which is not declared before it"));
        assert!(err(lab("1", "\"../a.rs\"", "")).contains("must be a relative path"));
        assert!(err(lab("1", "", "")).contains("declares no student files"));
        assert!(
            err(lab("1", "\"a.rs\"", "") + &lab("2", "\"a.rs\"", "")).contains("`a.rs` is declared twice")
        );
        assert!(err("[[lab]]\nid = 3\n".into()).contains("not a valid declaration"));
    }
}
