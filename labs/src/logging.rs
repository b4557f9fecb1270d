//! `tracing` for lab code: every line is tagged with its node and the world's clock.
//!
//! Lab code logs with the `tracing` macros (`tracing::debug!(term, "became leader")`). The
//! first world a process starts installs a `tracing-subscriber` registry with two layers: one
//! records each enabled line as an [`EventKind::Log`](crate::events::EventKind::Log) on the
//! calling thread's node (so failure reports show it), the other prints it to stderr as
//! `[  1234.567ms server-2] INFO raft: became leader`. `RUST_LOG` (a
//! [`Targets`] filter: `debug`, `raft=trace`, `raft=debug,labrpc=warn`) says what is printed;
//! without it nothing is printed and INFO and above are recorded.

use crate::events::{EventKind, record};
use std::fmt::Write as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// A line's message and fields, as one string.
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

fn message(e: &Event<'_>) -> String {
    let mut m = Message(String::new());
    e.record(&mut m);
    m.0
}

/// Records each line as an event of the run.
struct RecordLayer;

impl<S: Subscriber> Layer<S> for RecordLayer {
    fn on_event(&self, e: &Event<'_>, _: Context<'_, S>) {
        let m = e.metadata();
        record(EventKind::Log {
            level: m.level().to_string(),
            target: m.target().to_string(),
            message: message(e),
        });
    }
}

/// Prints each line to stderr, tagged with the node and the world's clock.
struct PrintLayer;

impl<S: Subscriber> Layer<S> for PrintLayer {
    fn on_event(&self, e: &Event<'_>, _: Context<'_, S>) {
        let m = e.metadata();
        let node = crate::thread::current_node().map(|n| n.name().to_string()).unwrap_or_else(|| "-".into());
        let t = crate::events::now() as f64 / 1e6;
        eprintln!("[{t:>10.3}ms {node}] {} {}: {}", m.level(), m.target(), message(e));
    }
}

/// The filters for `RUST_LOG=spec`: (what to print, what to record). A spec that does not
/// parse prints nothing (and says so once) but still records INFO and above.
pub fn filters(spec: &str) -> (Targets, Targets) {
    let info = Targets::new().with_default(Level::INFO);
    if spec.trim().is_empty() {
        return (Targets::new(), info);
    }
    match spec.parse::<Targets>() {
        Ok(t) => (t.clone(), t),
        Err(e) => {
            eprintln!("RUST_LOG={spec} is not a filter ({e}); use e.g. RUST_LOG=raft=debug,labrpc=warn");
            (Targets::new(), info)
        }
    }
}

/// Installs the lab subscriber as the process's global default, once. Does nothing if another
/// global subscriber is already set.
pub fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let (print, keep) = filters(&std::env::var("RUST_LOG").unwrap_or_default());
        let subscriber = tracing_subscriber::registry()
            .with(RecordLayer.with_filter(keep))
            .with(PrintLayer.with_filter(print));
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled(t: &Targets, target: &str, level: Level) -> bool {
        t.would_enable(target, &level)
    }

    #[test]
    fn the_most_specific_directive_decides() {
        let (f, _) = filters("warn,raft=debug,raft::log=trace");
        assert!(enabled(&f, "kvraft", Level::WARN));
        assert!(!enabled(&f, "kvraft", Level::INFO));
        assert!(enabled(&f, "raft", Level::DEBUG));
        assert!(!enabled(&f, "raft", Level::TRACE));
        assert!(enabled(&f, "raft::log", Level::TRACE));
        let (none, keep) = filters("");
        assert!(!enabled(&none, "x", Level::ERROR));
        assert!(enabled(&keep, "x", Level::INFO) && !enabled(&keep, "x", Level::DEBUG));
    }
}
