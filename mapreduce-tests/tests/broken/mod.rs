//! Deliberately broken Lab 1 implementations, for the tester's own tests
//! (`tester_robustness.rs`). Each has one bug a student might write, breaking one rule of the
//! handout's table, and the tester must fail the rule's test with a message that names the
//! rule, under the default grade seeds.
//!
//! They are made of a toy coordinator and a toy worker ([`toy`]) that speak the reference's
//! RPCs and do what the reference does, except for the bug their [`Bugs`] switch on.

pub mod toy;

use labrpc::{ClientEnd, Service};
use labs::sync::Arc;
use labs::time::Duration;
use mapreduce::App;
use mapreduce_tests::MrImpl;
pub use toy::Bugs;

/// A broken implementation: the toy coordinator and worker with the bugs `B::BUGS`.
pub struct Broken<B>(std::marker::PhantomData<B>);

/// Which bugs a broken implementation has.
pub trait Flavor: 'static {
    /// The bugs.
    const BUGS: Bugs;
}

impl<B: Flavor> MrImpl for Broken<B> {
    type Coordinator = toy::Coordinator;
    fn make_coordinator(files: Vec<String>, n_reduce: usize) -> toy::Coordinator {
        toy::Coordinator::new(files, n_reduce, B::BUGS)
    }
    fn service(c: &Arc<toy::Coordinator>) -> Service {
        toy::Coordinator::service(c)
    }
    fn done(c: &toy::Coordinator) -> bool {
        c.done()
    }
    fn worker(coordinator: ClientEnd, app: Arc<dyn App>) {
        toy::worker(coordinator, app, B::BUGS);
    }
}

macro_rules! flavor {
    ($(#[$m:meta])* $name:ident, $bugs:expr) => {
        $(#[$m])*
        pub struct $name;
        impl Flavor for $name {
            const BUGS: Bugs = $bugs;
        }
    };
}

flavor!(
    /// A coordinator that never gives a task to another worker: a task whose worker died is
    /// lost. Breaks "re-issue a task not finished after 10 s".
    NeverReissues,
    Bugs { reissue_after: None, ..Bugs::NONE }
);
flavor!(
    /// A coordinator that re-issues a task after 2 s. Breaks "never sooner than 10 s".
    ReissuesEarly,
    Bugs { reissue_after: Some(Duration::from_secs(2)), ..Bugs::NONE }
);
flavor!(
    /// A worker that writes its files in place, without a temporary file and a rename.
    /// Breaks "atomic output".
    InPlace,
    Bugs { in_place: true, ..Bugs::NONE }
);
flavor!(
    /// A coordinator that hands out reduce tasks once every map task has been handed out,
    /// not done. Breaks "reduce after map".
    ReduceEarly,
    Bugs { reduce_when_maps_assigned: true, ..Bugs::NONE }
);
flavor!(
    /// A coordinator whose `done()` says yes once every reduce task has been handed out.
    /// Breaks "Done".
    DoneEarly,
    Bugs { done_when_reduces_assigned: true, ..Bugs::NONE }
);
flavor!(
    /// A coordinator that counts reports instead of marking tasks done, so a late report of a
    /// re-issued task counts twice. Breaks "late reports change nothing".
    CountsReports,
    Bugs { count_reports: true, ..Bugs::NONE }
);
flavor!(
    /// A coordinator that hands out a task only when none is running. Breaks "parallelism".
    OneAtATime,
    Bugs { one_at_a_time: true, ..Bugs::NONE }
);
flavor!(
    /// A worker that exits when there is no task for it right now. Breaks "termination".
    ExitsWhenIdle,
    Bugs { exit_when_idle: true, ..Bugs::NONE }
);
flavor!(
    /// A worker that asks again at once when there is nothing to do. Breaks "no busy
    /// polling".
    BusyPolls,
    Bugs { busy_poll: true, ..Bugs::NONE }
);
flavor!(
    /// A worker that exits at the first failed RPC, lost or not. Breaks "a lost RPC is not a
    /// lost coordinator".
    GivesUp,
    Bugs { give_up_on_lost_rpc: true, ..Bugs::NONE }
);
