//! The Raft monitor: checks rules of Figure 2 over every RPC the peers exchange, in every test.
//!
//! The RPC types are given (see `raft::raft`), so the tester can decode each call that labrpc's
//! tap reports: a handler's decision when it returns ([`Tap::Handled`]) and what a caller
//! learned when its call returns ([`Tap::Returned`]), with the instance (node) on each side and
//! stamps in one order. The monitor keeps, per server and term, what the servers have said to
//! each other, and fails the test at the first message that breaks a rule, naming the rule,
//! the servers, the term and the index.
//!
//! Facts count only when they can have had an effect: a handler's reply only if its instance
//! was still on the network when it returned (so it persisted before its crash); a caller's
//! request only if it reached a handler (so its end was still connected); what a caller
//! learned only from a reply it received.

use labrpc::tap::{Arrived, Handled, Returned, Stamp, Tap};
use labs::events::RpcFate;
use labs::sync::Mutex;
use labs::time::Duration;
use labs::world::{Backend, World};
use raft::raft::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply, RequestVoteArgs,
    RequestVoteReply,
};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use testkit::{Frame, servers_in_words};

/// After a server learns of a higher term from a reply, it may still send requests of its old
/// term for this long (threads that built them before it processed the reply), under sim.
pub const STEP_DOWN_SLACK: Duration = Duration::from_millis(100);

/// The same, under the real backend (threads may wait long for a CPU).
pub const STEP_DOWN_SLACK_REAL: Duration = Duration::from_secs(1);

/// A leader may send this many heartbeats to one follower within one second before the
/// monitor calls it a flood (the lab's rule is at most 10 per second; this leaves slack for
/// timers that fire a little early).
pub const HEARTBEAT_LIMIT: usize = 15;

/// Server `i`'s instance `k` (1 for the first start), from its node's name: `server-2` is
/// `(2, 1)`, `server-2#3` is `(2, 4)`. `None` for other nodes (the tester, clients).
pub fn parse_node(node: &str) -> Option<(usize, u64)> {
    let rest = node.strip_prefix("server-")?;
    match rest.split_once('#') {
        None => Some((rest.parse().ok()?, 1)),
        Some((i, k)) => Some((i.parse().ok()?, k.parse::<u64>().ok()? + 1)),
    }
}

/// Server `i` of a network name (`server-2`).
fn parse_server(name: &str) -> Option<usize> {
    name.strip_prefix("server-")?.parse().ok()
}

fn secs(t: u64) -> String {
    format!("{:.3} s", t as f64 / 1e9)
}

fn hash(bytes: &[u8]) -> u64 {
    // FNV-1a: cheap, and enough to tell commands apart.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
}

/// "server 2" or "server 2 (instance #3)".
fn who(i: usize, k: u64) -> String {
    if k <= 1 { format!("server {i}") } else { format!("server {i} (restart {})", k - 1) }
}

/// A vote a server gave (to itself when it campaigned).
#[derive(Clone, Copy)]
struct Vote {
    candidate: usize,
    instance: u64,
    t: u64,
}

/// A follower's acknowledgement that its log matches the leader's of one term through an
/// index.
#[derive(Clone, Copy)]
struct Ack {
    through: u64,
    instance: u64,
    end: Stamp,
}

/// A term and when it was used.
type TermAt = (u64, u64);

/// The last (prev index, leader commit) a leader sent a follower, and the times of the
/// heartbeats that repeated it.
type Beats = ((u64, u64), VecDeque<u64>);

#[derive(Default)]
struct State {
    /// The first violation (later ones are not reported).
    failed: bool,
    /// (voter, term) -> votes granted.
    votes: BTreeMap<(usize, u64), Vec<Vote>>,
    /// server -> instance -> (lowest, highest) term it externalized, with times.
    terms: BTreeMap<usize, BTreeMap<u64, (TermAt, TermAt)>>,
    /// (follower, term) -> acknowledgements it gave the leader of that term.
    acks: BTreeMap<(usize, u64), Vec<Ack>>,
    /// follower -> when it last handled an InstallSnapshot.
    installed: BTreeMap<usize, Stamp>,
    /// (server, instance) -> the highest term it learned from a reply, from whom, when, and how
    /// many requests of an older term it sent since.
    higher: BTreeMap<(usize, u64), (u64, usize, Stamp, usize)>,
    /// (candidate, term) -> voter -> when the candidate received the vote.
    received: BTreeMap<(usize, u64), BTreeMap<usize, Stamp>>,
    /// term -> the server that acted as its leader, and when first.
    leaders: BTreeMap<u64, (usize, u64)>,
    /// (leader, term) -> follower -> the highest index the follower acknowledged to the
    /// leader in that term, as far as the leader learned.
    learned: BTreeMap<(usize, u64), BTreeMap<usize, u64>>,
    /// (leader, term) -> index -> (entry term, command hash) as the leader sent them.
    sent_entries: BTreeMap<(usize, u64), BTreeMap<u64, (u64, u64)>>,
    /// server -> the highest commit index it can know of: from leaders' AppendEntries and
    /// snapshots it received, and from what it could count itself as a leader (an entry of its
    /// term that a majority acknowledged to it, in that term).
    known_commit: BTreeMap<usize, u64>,
    /// (leader node, term, follower) -> the last (prev index, leader commit) sent, and the
    /// times of the heartbeats that repeated it.
    beats: BTreeMap<(String, u64, usize), Beats>,
}

/// Checks Figure 2's rules over the RPC stream of one cluster of `n` servers.
pub struct Monitor {
    n: usize,
    frame: Frame,
    slack: u64,
    st: Mutex<State>,
}

impl Monitor {
    /// A monitor of a cluster of `n` servers named `server-<i>`; violations fail `frame`.
    pub fn new(n: usize, frame: &Frame) -> Monitor {
        let slack =
            if World::current().backend() == Backend::Real { STEP_DOWN_SLACK_REAL } else { STEP_DOWN_SLACK };
        Monitor { n, frame: frame.clone(), slack: slack.as_nanos() as u64, st: Mutex::new(State::default()) }
    }

    /// Looks at one report of the network's tap.
    pub fn observe(&self, tap: &Tap) {
        let mut st = self.st.lock();
        if st.failed {
            return;
        }
        let r = match tap {
            Tap::Arrived(a) => self.arrived(&mut st, a),
            Tap::Handled(h) => self.handled(&mut st, h),
            Tap::Returned(r) => self.returned(&mut st, r),
        };
        if let Err(msg) = r {
            st.failed = true;
            drop(st);
            labs::events::note(format!("monitor: {msg}"));
            self.frame.fail(msg);
        }
    }

    /// A request reached a server: before it can have any effect, check what it says of its
    /// sender's log.
    fn arrived(&self, st: &mut State, a: &Arrived) -> Result<(), String> {
        if &*a.method == "Raft.AppendEntries"
            && let Ok(args) = postcard::from_bytes::<AppendEntriesArgs>(&a.args)
        {
            self.leader_sent_entries(st, args.leader, &args, a.at.t)?;
        }
        Ok(())
    }

    fn handled(&self, st: &mut State, h: &Handled) -> Result<(), String> {
        let Some((me, inst)) = parse_node(&h.node) else { return Ok(()) };
        let Some(reply) = &h.reply else { return Ok(()) };
        let t = h.end.t;
        match &*h.method {
            "Raft.RequestVote" => {
                let (Ok(a), Ok(r)) = (
                    postcard::from_bytes::<RequestVoteArgs>(&h.args),
                    postcard::from_bytes::<RequestVoteReply>(reply),
                ) else {
                    return Ok(());
                };
                if !h.live {
                    return Ok(());
                }
                term_rule(me, "a RequestVote", a.term, &format!("server {}", a.candidate), r.term, t)?;
                if r.vote_granted && r.term > a.term {
                    return Err(format!(
                        "server {me} granted its vote to server {} for term {} while it was in term {} \
                         (at {}) (Figure 2, RequestVote receiver rule 1: reply false if term < currentTerm)",
                        a.candidate,
                        a.term,
                        r.term,
                        secs(t)
                    ));
                }
                self.externalized(st, me, inst, r.term, t)?;
                if r.vote_granted {
                    self.vote(st, me, a.term, Vote { candidate: a.candidate, instance: inst, t })?;
                }
            }
            "Raft.AppendEntries" => {
                let (Ok(a), Ok(r)) = (
                    postcard::from_bytes::<AppendEntriesArgs>(&h.args),
                    postcard::from_bytes::<AppendEntriesReply>(reply),
                ) else {
                    return Ok(());
                };
                if r.success && r.term == a.term {
                    let k = st.known_commit.entry(me).or_default();
                    *k = (*k).max(a.leader_commit);
                }
                if !h.live {
                    return Ok(());
                }
                term_rule(me, "an AppendEntries", a.term, &format!("leader {}", a.leader), r.term, t)?;
                if r.success && r.term > a.term {
                    return Err(format!(
                        "server {me} accepted an AppendEntries of term {} from server {} while it was in \
                         term {} (at {}) (Figure 2, AppendEntries receiver rule 1: reply false if term < \
                         currentTerm)",
                        a.term,
                        a.leader,
                        r.term,
                        secs(t)
                    ));
                }
                self.externalized(st, me, inst, r.term, t)?;
                if r.term != a.term {
                    return Ok(());
                }
                if r.success {
                    let through = a.prev_log_index + a.entries.len() as u64;
                    st.acks.entry((me, a.term)).or_default().push(Ack {
                        through,
                        instance: inst,
                        end: h.end,
                    });
                } else {
                    let p = a.prev_log_index;
                    let lost = st.acks.get(&(me, a.term)).and_then(|acks| {
                        acks.iter()
                            .filter(|k| k.through >= p && k.end < h.start)
                            .max_by_key(|k| k.through)
                            .copied()
                    });
                    if let Some(k) = lost {
                        let snapshot_between =
                            st.installed.get(&me).is_some_and(|&s| k.end < s && s < h.start);
                        let how = if k.instance == inst && snapshot_between {
                            "it deleted entries it had acknowledged when it installed a snapshot (Figure 13, \
                             InstallSnapshot receiver rule 6: if an existing entry has the snapshot's last \
                             included index and term, keep the entries that follow it)"
                                .to_string()
                        } else if k.instance == inst {
                            "it deleted entries it had acknowledged (Figure 2, AppendEntries receiver rule 3: \
                             delete an existing entry only if it conflicts with a new one; a stale, repeated \
                             or empty AppendEntries must not shorten the log)"
                                .to_string()
                        } else {
                            format!(
                                "it lost them across its restart{}: persist the log before replying (Figure 2: \
                                 persistent state on all servers)",
                                if k.instance + 1 == inst { "" } else { "s" }
                            )
                        };
                        return Err(format!(
                            "{} acknowledged entries up to index {} to the leader of term {} (server {}) at {}, \
                             then {} rejected that leader's AppendEntries at prev index {p} in the same term \
                             at {}: {how}",
                            who(me, k.instance),
                            k.through,
                            a.term,
                            a.leader,
                            secs(k.end.t),
                            if k.instance == inst { "it".to_string() } else { who(me, inst) },
                            secs(h.start.t)
                        ));
                    }
                }
            }
            "Raft.InstallSnapshot" => {
                let (Ok(a), Ok(r)) = (
                    postcard::from_bytes::<InstallSnapshotArgs>(&h.args),
                    postcard::from_bytes::<InstallSnapshotReply>(reply),
                ) else {
                    return Ok(());
                };
                if r.term == a.term {
                    let k = st.known_commit.entry(me).or_default();
                    *k = (*k).max(a.last_included_index);
                }
                if !h.live {
                    return Ok(());
                }
                st.installed.insert(me, h.end);
                term_rule(me, "an InstallSnapshot", a.term, &format!("leader {}", a.leader), r.term, t)?;
                self.externalized(st, me, inst, r.term, t)?;
                if r.term == a.term {
                    st.acks.entry((me, a.term)).or_default().push(Ack {
                        through: a.last_included_index,
                        instance: inst,
                        end: h.end,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn returned(&self, st: &mut State, r: &Returned) -> Result<(), String> {
        let Some((me, inst)) = parse_node(&r.caller) else { return Ok(()) };
        // What reached a handler was sent while the caller was still connected.
        let reached = matches!(r.fate, RpcFate::Delivered | RpcFate::ReplyDropped);
        let delivered = r.fate == RpcFate::Delivered;
        let peer = parse_server(&r.server);
        let reply = r.reply.as_deref();
        match &*r.method {
            "Raft.RequestVote" => {
                let Ok(a) = postcard::from_bytes::<RequestVoteArgs>(&r.args) else { return Ok(()) };
                if !reached {
                    return Ok(());
                }
                self.externalized(st, me, inst, a.term, r.sent.t)?;
                self.vote(st, me, a.term, Vote { candidate: me, instance: inst, t: r.sent.t })?;
                if let (true, Some(p), Some(Ok(rep))) =
                    (delivered, peer, reply.map(postcard::from_bytes::<RequestVoteReply>))
                    && rep.vote_granted
                    && rep.term == a.term
                {
                    st.received.entry((me, a.term)).or_default().entry(p).or_insert(r.done);
                }
            }
            "Raft.AppendEntries" => {
                let Ok(a) = postcard::from_bytes::<AppendEntriesArgs>(&r.args) else { return Ok(()) };
                self.leader_sent_entries(st, me, &a, r.sent.t)?;
                if !reached {
                    return Ok(());
                }
                self.externalized(st, me, inst, a.term, r.sent.t)?;
                self.stale_after_higher_reply(st, me, inst, "AppendEntries", a.term, r.sent)?;
                self.acted_as_leader(st, me, a.term, r.sent)?;
                if let Some(p) = peer {
                    self.heartbeat(st, &r.caller, me, p, &a, r.sent.t)?;
                }
                self.commit_rule(st, me, &a, r.sent)?;
                if let (true, Some(p), Some(Ok(rep))) =
                    (delivered, peer, reply.map(postcard::from_bytes::<AppendEntriesReply>))
                    && rep.success
                    && rep.term == a.term
                {
                    let through = a.prev_log_index + a.entries.len() as u64;
                    self.learn(st, me, a.term, p, through);
                }
                if let (true, Some(p), Some(Ok(rep))) =
                    (delivered, peer, reply.map(postcard::from_bytes::<AppendEntriesReply>))
                {
                    self.saw_reply_term(st, me, inst, p, rep.term, r.done);
                }
            }
            "Raft.InstallSnapshot" => {
                let Ok(a) = postcard::from_bytes::<InstallSnapshotArgs>(&r.args) else { return Ok(()) };
                if !reached {
                    return Ok(());
                }
                self.externalized(st, me, inst, a.term, r.sent.t)?;
                self.stale_after_higher_reply(st, me, inst, "InstallSnapshot", a.term, r.sent)?;
                self.acted_as_leader(st, me, a.term, r.sent)?;
                if let (true, Some(p), Some(Ok(rep))) =
                    (delivered, peer, reply.map(postcard::from_bytes::<InstallSnapshotReply>))
                {
                    if rep.term == a.term {
                        self.learn(st, me, a.term, p, a.last_included_index);
                    }
                    self.saw_reply_term(st, me, inst, p, rep.term, r.done);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Server `me`'s instance `inst` received a reply with term `term` from server `from`.
    fn saw_reply_term(&self, st: &mut State, me: usize, inst: u64, from: usize, term: u64, done: Stamp) {
        let e = st.higher.entry((me, inst)).or_insert((term, from, done, 0));
        if term > e.0 {
            *e = (term, from, done, 0);
        }
    }

    /// Figure 2, rules for all servers: once a reply told a server of a higher term, it adopts
    /// it, so it sends no more requests of an older term (beyond the slack for requests built
    /// before it processed the reply: for a slack of time, or a few per peer).
    fn stale_after_higher_reply(
        &self,
        st: &mut State,
        me: usize,
        inst: u64,
        what: &str,
        term: u64,
        sent: Stamp,
    ) -> Result<(), String> {
        let Some(e) = st.higher.get_mut(&(me, inst)) else { return Ok(()) };
        if e.0 > term && sent > e.2 {
            e.3 += 1;
        }
        match *e {
            (t, from, done, k) if t > term && (sent.t > done.t + self.slack || k > 3 * self.n) => {
                Err(format!(
                    "server {me} received a reply with term {t} from server {from} at {}, yet at {} it sent an {what} \
                 of term {term}: if a response contains term T > currentTerm, set currentTerm = T and convert to \
                 follower (Figure 2, rules for all servers)",
                    secs(done.t),
                    secs(sent.t)
                ))
            }
            _ => Ok(()),
        }
    }

    /// At most one vote per server per term, across restarts (a candidate's own included).
    fn vote(&self, st: &mut State, voter: usize, term: u64, v: Vote) -> Result<(), String> {
        let votes = st.votes.entry((voter, term)).or_default();
        if let Some(old) = votes.iter().find(|o| o.candidate != v.candidate) {
            let (first, second) = if old.t <= v.t { (*old, v) } else { (v, *old) };
            let restart = if first.instance != second.instance {
                format!(
                    "; the first vote was given before a restart ({} at {}, {} at {}): votedFor must be \
                     persisted before the vote is granted",
                    who(voter, first.instance),
                    secs(first.t),
                    who(voter, second.instance),
                    secs(second.t)
                )
            } else {
                format!(" (at {} and {})", secs(first.t), secs(second.t))
            };
            let what = |c: usize| {
                if c == voter { "itself (campaigning)".to_string() } else { format!("server {c}") }
            };
            return Err(format!(
                "server {voter} granted votes to both {} and {} in term {term}{restart} (Figure 2: votedFor; a \
                 server votes at most once per term)",
                what(first.candidate),
                what(second.candidate)
            ));
        }
        if votes.iter().all(|o| o.instance != v.instance) {
            votes.push(v);
        }
        Ok(())
    }

    /// A term a server's instance used in a request it sent or a reply it gave: an instance
    /// never uses a term below one an earlier instance used (currentTerm is persisted).
    fn externalized(&self, st: &mut State, me: usize, inst: u64, term: u64, t: u64) -> Result<(), String> {
        let per = st.terms.entry(me).or_default();
        let e = per.entry(inst).or_insert(((term, t), (term, t)));
        if term < e.0.0 {
            e.0 = (term, t);
        }
        if term > e.1.0 {
            e.1 = (term, t);
        }
        let earlier_max = per.range(..inst).map(|(k, v)| (*k, v.1)).max_by_key(|(_, (term, _))| *term);
        let later_min = per.range(inst + 1..).map(|(k, v)| (*k, v.0)).min_by_key(|(_, (term, _))| *term);
        let (lo, hi) = (per[&inst].0, per[&inst].1);
        let bad = match (earlier_max, later_min) {
            (Some((k, m)), _) if lo.0 < m.0 => Some(((k, m), (inst, lo))),
            (_, Some((k, m))) if m.0 < hi.0 => Some(((inst, hi), (k, m))),
            _ => None,
        };
        if let Some(((k1, (t1, at1)), (k2, (t2, at2)))) = bad {
            return Err(format!(
                "{} used term {t1} at {}, and after its restart {} used term {t2} at {}: a server's term \
                 never goes back; currentTerm must be persisted before replying or sending (Figure 2: \
                 persistent state on all servers)",
                who(me, k1),
                secs(at1),
                who(me, k2),
                secs(at2)
            ));
        }
        Ok(())
    }

    /// A server that sends AppendEntries or InstallSnapshot in a term leads it: it must have
    /// won votes from a majority in that term, and be the only one.
    fn acted_as_leader(&self, st: &mut State, me: usize, term: u64, sent: Stamp) -> Result<(), String> {
        match st.leaders.get(&term) {
            Some(&(l, t)) if l != me => {
                return Err(format!(
                    "servers {l} and {me} both acted as leader in term {term} (sending AppendEntries, at {} and \
                     {}) (Figure 3: Election Safety; Figure 2: a candidate needs votes from a majority)",
                    secs(t),
                    secs(sent.t)
                ));
            }
            Some(_) => return Ok(()),
            None => {}
        }
        let voters: Vec<usize> = std::iter::once(me)
            .chain(
                st.received
                    .get(&(me, term))
                    .into_iter()
                    .flat_map(|m| m.iter().filter(|(_, at)| **at < sent).map(|(v, _)| *v)),
            )
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if 2 * voters.len() <= self.n {
            return Err(format!(
                "server {me} acted as leader of term {term} (it sent AppendEntries at {}) with votes in term \
                 {term} from only {} ({} of {}): a candidate becomes leader only with votes from a majority, \
                 granted in its own term (Figure 2: rules for candidates)",
                secs(sent.t),
                servers_in_words(&voters),
                voters.len(),
                self.n
            ));
        }
        st.leaders.insert(term, (me, sent.t));
        Ok(())
    }

    /// Leader Append-Only: a leader never sends two different entries for one index in its
    /// term.
    fn leader_sent_entries(
        &self,
        st: &mut State,
        me: usize,
        a: &AppendEntriesArgs,
        t: u64,
    ) -> Result<(), String> {
        let sent = st.sent_entries.entry((me, a.term)).or_default();
        if a.prev_log_index > 0 {
            let e = sent.entry(a.prev_log_index).or_insert((a.prev_log_term, u64::MAX));
            if e.0 != a.prev_log_term {
                return Err(format!(
                    "server {me}, leader of term {}, said at {} that its entry at index {} has term {}, but it \
                     had sent that entry (or said so) with term {}: a leader never overwrites or deletes \
                     entries in its log (Figure 3: Leader Append-Only)",
                    a.term,
                    secs(t),
                    a.prev_log_index,
                    a.prev_log_term,
                    e.0
                ));
            }
        }
        for (k, e) in a.entries.iter().enumerate() {
            let index = a.prev_log_index + 1 + k as u64;
            let h = hash(&e.command);
            let old = sent.entry(index).or_insert((e.term, h));
            if old.1 == u64::MAX && old.0 == e.term {
                old.1 = h;
            }
            if old.0 != e.term || old.1 != h {
                return Err(format!(
                    "server {me}, leader of term {}, sent at {} an entry for index {index} (term {}) that \
                     differs from the one it had sent for that index (term {}{}): a leader never overwrites \
                     or deletes entries in its log (Figure 3: Leader Append-Only)",
                    a.term,
                    secs(t),
                    e.term,
                    old.0,
                    if old.0 == e.term { ", another command" } else { "" }
                ));
            }
        }
        Ok(())
    }

    /// The lab's rule: at most 10 heartbeats per second to each follower.
    fn heartbeat(
        &self,
        st: &mut State,
        node: &str,
        me: usize,
        to: usize,
        a: &AppendEntriesArgs,
        t: u64,
    ) -> Result<(), String> {
        let key = (node.to_string(), a.term, to);
        let now = (a.prev_log_index, a.leader_commit);
        let entry = st.beats.entry(key).or_insert_with(|| (now, VecDeque::new()));
        let repeat = a.entries.is_empty() && entry.0 == now;
        entry.0 = now;
        if !repeat {
            return Ok(());
        }
        entry.1.push_back(t);
        while entry.1.front().is_some_and(|&f| f + 1_000_000_000 <= t) {
            entry.1.pop_front();
        }
        if entry.1.len() > HEARTBEAT_LIMIT {
            return Err(format!(
                "server {me}, leader of term {}, sent {} heartbeats (AppendEntries with nothing new) to server \
                 {to} within one second (up to {}): the lab's rule is at most 10 heartbeats per second per \
                 follower",
                a.term,
                entry.1.len(),
                secs(t)
            ));
        }
        Ok(())
    }

    /// Leader `me` of `term` learned that follower `f` holds its log through `through`:
    /// what it may now count as committed (a majority holds it, and it is of `term`, or an
    /// earlier entry is committed with it) becomes a commit index it can know of.
    fn learn(&self, st: &mut State, me: usize, term: u64, f: usize, through: u64) {
        let followers = st.learned.entry((me, term)).or_default();
        let t = followers.entry(f).or_default();
        *t = (*t).max(through);
        let mut held: Vec<u64> = followers.values().copied().collect();
        held.sort_unstable_by(|a, b| b.cmp(a));
        // Itself and the `need - 1` followers that hold the most.
        let need = self.n / 2 + 1;
        let Some(&majority) = held.get(need - 2) else { return };
        let own = st
            .sent_entries
            .get(&(me, term))
            .and_then(|m| m.range(..=majority).rev().find(|(_, e)| e.0 == term).map(|(i, _)| *i));
        if let Some(i) = own {
            let k = st.known_commit.entry(me).or_default();
            *k = (*k).max(i);
        }
    }

    /// Figure 2, rules for leaders: the commit index a leader advertises is one it can know
    /// of: from a leader before it, or counted itself (an entry of its own term that a
    /// majority holds).
    fn commit_rule(
        &self,
        st: &mut State,
        me: usize,
        a: &AppendEntriesArgs,
        sent: Stamp,
    ) -> Result<(), String> {
        let n = a.leader_commit;
        let known = st.known_commit.get(&me).copied().unwrap_or(0);
        if n <= known {
            return Ok(());
        }
        let mut holders = vec![me];
        if let Some(followers) = st.learned.get(&(me, a.term)) {
            holders.extend(followers.iter().filter(|(_, t)| **t >= n).map(|(f, _)| *f));
        }
        holders.sort_unstable();
        if 2 * holders.len() <= self.n {
            return Err(format!(
                "server {me}, leader of term {}, advertised commit index {n} at {}, but only {} ({} of {}) had \
                 acknowledged index {n} to it in term {}, and it could know of no commit beyond {known}: an \
                 entry is committed once a majority of servers stores it (Figure 2, rules for leaders)",
                a.term,
                secs(sent.t),
                servers_in_words(&holders),
                holders.len(),
                self.n,
                a.term
            ));
        }
        let from = match st.sent_entries.get(&(me, a.term)).and_then(|m| m.get(&n)).map(|e| e.0) {
            Some(t) => format!("is from term {t}"),
            None => format!("was never sent by it in term {}", a.term),
        };
        Err(format!(
            "server {me}, leader of term {}, advertised commit index {n} at {}, but the entry at index {n} {from}, \
             and no entry of term {} was committed yet: a leader commits by counting replicas only entries of \
             its own term; older ones are committed with them (Figure 2, rules for leaders, and Figure 8)",
            a.term,
            secs(sent.t),
            a.term
        ))
    }
}

/// Figure 2, rules for all servers: a reply's term is the receiver's term after it saw the
/// request's, so it is never below the request's.
fn term_rule(me: usize, what: &str, term: u64, from: &str, reply_term: u64, t: u64) -> Result<(), String> {
    if reply_term < term {
        return Err(format!(
            "server {me} answered {what} of term {term} from {from} with term {reply_term} (at {}): a server \
             that sees a higher term in a request or reply must adopt it (Figure 2, rules for all servers: if \
             term T > currentTerm, set currentTerm = T and convert to follower)",
            secs(t)
        ));
    }
    Ok(())
}
