//! `tracing` for lab code: every line is tagged with its node and the world's clock.
//!
//! Lab code logs with the `tracing` macros (`tracing::debug!(term, "became leader")`). The
//! first world a process starts installs this subscriber, which records each enabled line as an
//! [`EventKind::Log`](crate::events::EventKind::Log) on the calling thread's node (so failure
//! reports show it) and prints it to stderr as `[  1234.567ms server-2] INFO raft: became leader`
//! when `RUST_LOG` asks for it. `RUST_LOG` takes the usual forms: `debug`, `raft=trace`,
//! `raft=debug,labrpc=warn`. Without it nothing is printed and INFO and above are recorded.

use crate::events::{EventKind, record};
use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// A `RUST_LOG`-style filter: directives of an optional target prefix and a level.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    directives: Vec<(Option<String>, Level)>,
}

impl Filter {
    /// Parses `spec` (e.g. `info` or `raft=debug,labrpc=warn`); unknown words are ignored.
    pub fn parse(spec: &str) -> Filter {
        let level = |s: &str| s.trim().parse::<Level>().ok();
        let directives = spec
            .split(',')
            .filter(|d| !d.trim().is_empty())
            .filter_map(|d| match d.split_once('=') {
                Some((t, l)) => level(l).map(|l| (Some(t.trim().to_string()), l)),
                None => level(d).map(|l| (None, l)),
            })
            .collect();
        Filter { directives }
    }

    /// Whether a line at `level` from `target` passes; the most specific directive decides.
    pub fn enabled(&self, target: &str, level: &Level) -> bool {
        let mut best: Option<(usize, Level)> = None;
        for (t, l) in &self.directives {
            let len = match t {
                None => 0,
                Some(t) if target == t || target.starts_with(&format!("{t}::")) => t.len(),
                Some(_) => continue,
            };
            if best.is_none_or(|(b, _)| len >= b) {
                best = Some((len, *l));
            }
        }
        best.is_some_and(|(_, l)| level <= &l)
    }
}

struct LabSubscriber {
    print: Filter,
    record: Filter,
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}{}={value:?}", if self.0.is_empty() { "" } else { " " }, field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

impl Subscriber for LabSubscriber {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        self.print.enabled(m.target(), m.level()) || self.record.enabled(m.target(), m.level())
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
    fn event(&self, e: &Event<'_>) {
        let m = e.metadata();
        let mut msg = Message(String::new());
        e.record(&mut msg);
        if self.record.enabled(m.target(), m.level()) {
            record(EventKind::Log {
                level: m.level().to_string(),
                target: m.target().to_string(),
                message: msg.0.clone(),
            });
        }
        if self.print.enabled(m.target(), m.level()) {
            let node =
                crate::thread::current_node().map(|n| n.name().to_string()).unwrap_or_else(|| "-".into());
            let t = crate::events::now() as f64 / 1e6;
            eprintln!("[{t:>10.3}ms {node}] {} {}: {}", m.level(), m.target(), msg.0);
        }
    }
}

/// Installs the lab subscriber as the process's global default, once. Does nothing if another
/// global subscriber is already set.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let spec = std::env::var("RUST_LOG").unwrap_or_default();
        let print = Filter::parse(&spec);
        let record = if spec.is_empty() { Filter::parse("info") } else { print.clone() };
        let _ = tracing::subscriber::set_global_default(LabSubscriber { print, record });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_directive_decides() {
        let f = Filter::parse("warn,raft=debug,raft::log=trace");
        assert!(f.enabled("kvraft", &Level::WARN));
        assert!(!f.enabled("kvraft", &Level::INFO));
        assert!(f.enabled("raft", &Level::DEBUG));
        assert!(!f.enabled("raft", &Level::TRACE));
        assert!(f.enabled("raft::log", &Level::TRACE));
        assert!(!f.enabled("raftish", &Level::DEBUG));
        assert!(!Filter::parse("").enabled("x", &Level::ERROR));
    }
}
