//! The bodies of the 3A suite (6.5840 Lab 3A, `raft/test_test.go`), generic over the Raft
//! implementation so that the tester's own tests can run them against broken peers.
//! `raft-tests/tests/lab3a.rs` runs them on the lab's `Raft`.

use labs::time::{Duration, Instant, sleep};
use raft_tests::script::{Answer, Bench};
use raft_tests::{Config, ELECTION_TIMEOUT, RaftPeer};

/// 6.5840: TestInitialElection3A.
pub fn initial_election<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3A): initial election");

    // Is a leader elected?
    cfg.check_one_leader();

    // Sleep a bit to avoid racing with followers learning of the election, then check that
    // all peers agree on the term.
    sleep(Duration::from_millis(50));
    let term1 = cfg.check_terms();
    assert!(term1 >= 1, "term is {term1}, but should be at least 1");

    // Does the leader+term stay the same if there is no network failure?
    sleep(2 * ELECTION_TIMEOUT);
    let term2 = cfg.check_terms();
    if term1 != term2 {
        println!("warning: term changed even though there were no failures");
    }

    // There should still be a leader.
    cfg.check_one_leader();
    cfg.end();
}

/// 6.5840: TestReElection3A.
pub fn re_election<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3A): election after network failure");

    let leader1 = cfg.check_one_leader();

    // If the leader disconnects, a new one should be elected.
    cfg.disconnect(leader1);
    cfg.check_one_leader();

    // If the old leader rejoins, that shouldn't disturb the new leader. And the old leader
    // should switch to follower.
    cfg.connect(leader1);
    let leader2 = cfg.check_one_leader();

    // If there's no quorum, no new leader should be elected.
    cfg.disconnect(leader2);
    cfg.disconnect((leader2 + 1) % servers);
    sleep(2 * ELECTION_TIMEOUT);

    // Check that the one connected server does not think it is the leader.
    cfg.check_no_leader();

    // If a quorum arises, it should elect a leader.
    cfg.connect((leader2 + 1) % servers);
    cfg.check_one_leader();

    // Re-join of the last node shouldn't prevent leader from existing.
    cfg.connect(leader2);
    cfg.check_one_leader();

    cfg.end();
}

/// 6.5840: TestManyElections3A.
pub fn many_elections<R: RaftPeer>() {
    let servers = 7;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3A): multiple elections");

    cfg.check_one_leader();

    let iters = 10;
    for _ in 1..iters {
        // Disconnect three nodes (possibly the same one more than once).
        let i1 = labs::rand::gen_range(0..servers);
        let i2 = labs::rand::gen_range(0..servers);
        let i3 = labs::rand::gen_range(0..servers);
        cfg.disconnect(i1);
        cfg.disconnect(i2);
        cfg.disconnect(i3);

        // Either the current leader should still be alive, or the remaining four should elect
        // a new one.
        cfg.check_one_leader();

        cfg.connect(i1);
        cfg.connect(i2);
        cfg.connect(i3);
    }

    cfg.check_one_leader();
    cfg.end();
}

// ---- Beyond 6.5840: checks aimed at single rules of Figure 2 and of the lab ----------------
//
// The scripted ones drive one peer with crafted messages (see `raft_tests::script`), so they
// fail on every seed for a peer that breaks their rule.

/// Figure 2, RequestVote receiver: at most one vote per term (votedFor), none for a stale
/// term, and a vote for an up-to-date candidate that asks first.
pub fn vote_once_per_term<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3A): one vote per term (scripted)");
    b.doing("RequestVote(term 5, candidate 1) to a fresh peer");
    let r = b.vote(5, 1, 0, 0);
    if !r.vote_granted || r.term != 5 {
        b.fail(format!(
            "server 0 answered {r:?} to the first candidate of term 5, whose log is as up to date as its own: it \
             should grant its vote, in term 5 (Figure 2, RequestVote receiver rule 2)"
        ));
    }
    b.doing("RequestVote(term 5, candidate 2) after voting for server 1 in term 5");
    let r = b.vote(5, 2, 0, 0);
    if r.vote_granted {
        b.fail(
            "server 0 granted votes to both server 1 and server 2 in term 5 (Figure 2: votedFor; a server votes \
             at most once per term)",
        );
    }
    b.doing("RequestVote(term 4, candidate 2) in term 5");
    let r = b.vote(4, 2, 0, 0);
    if r.vote_granted || r.term < 5 {
        b.fail(format!(
            "server 0, in term 5, answered {r:?} to a candidate of term 4: it must refuse and answer with its term \
             (Figure 2, RequestVote receiver rule 1: reply false if term < currentTerm)"
        ));
    }
    b.doing("RequestVote(term 6, candidate 2): a new term");
    let r = b.vote(6, 2, 0, 0);
    if !r.vote_granted || r.term != 6 {
        b.fail(format!(
            "server 0 answered {r:?} to the first candidate of term 6: a new term clears votedFor, so it should \
             grant its vote (Figure 2, rules for all servers, and RequestVote receiver rule 2)"
        ));
    }
    b.end();
}

/// Figure 2: a request from a stale term is refused and answered with the current term, and
/// a server's term never goes back.
pub fn stale_term_refused<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3A): requests of a stale term are refused (scripted)");
    b.doing("heartbeat of term 5 from server 1");
    let r = b.append(5, 1, (0, 0), vec![], 0);
    if !r.success || r.term != 5 {
        b.fail(format!(
            "server 0 answered {r:?} to the first heartbeat of term 5 (an empty AppendEntries whose prev index 0 \
             always matches): it should adopt term 5 and accept (Figure 2: rules for all servers; AppendEntries \
             receiver)"
        ));
    }
    b.doing("heartbeat of term 4 from server 2 in term 5");
    let r = b.append(4, 2, (0, 0), vec![], 0);
    if r.success || r.term < 5 {
        b.fail(format!(
            "server 0, in term 5, answered {r:?} to a heartbeat of term 4 from server 2: a stale leader must be \
             refused and told the current term (Figure 2, AppendEntries receiver rule 1: reply false if term < \
             currentTerm)"
        ));
    }
    b.doing("RequestVote(term 3, candidate 2) in term 5");
    let r = b.vote(3, 2, 0, 0);
    if r.vote_granted || r.term < 5 {
        b.fail(format!(
            "server 0, in term 5, answered {r:?} to a candidate of term 3 (Figure 2, RequestVote receiver rule 1: \
             reply false if term < currentTerm)"
        ));
    }
    let (term, _) = b.state();
    if term < 5 {
        b.fail(format!("server 0's term went back from 5 to {term} after stale requests (Figure 2: currentTerm only grows)"));
    }
    b.end();
}

/// Figure 2, rules for all servers: a leader that sees a higher term, in a reply or in a
/// request, adopts it and steps down.
pub fn higher_term_steps_down<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3A): a higher term makes a leader step down (scripted)");
    b.doing("letting server 0 win an election (every other server grants its vote)");
    b.answer_all(Answer::Yes);
    let t1 = b.wait_leader(Duration::from_secs(5));
    b.doing(format!("server 0 leads term {t1}; its followers answer with term {}", t1 + 10));
    b.answer_all(Answer::Term(t1 + 10));
    sleep(Duration::from_secs(1));
    let (term, leader) = b.state();
    if leader || term < t1 + 10 {
        b.fail(format!(
            "server 0 led term {t1}; for 1 s every follower answered its AppendEntries with term {}, yet it is in \
             term {term}{} (Figure 2, rules for all servers: if a response contains term T > currentTerm, set \
             currentTerm = T and convert to follower)",
            t1 + 10,
            if leader { " and still claims to lead" } else { "" }
        ));
    }
    b.doing("letting server 0 win another election");
    b.answer_all(Answer::Yes);
    let t2 = b.wait_leader(Duration::from_secs(5));
    b.doing(format!("server 0 leads term {t2}; server 1 sends it a heartbeat of term {}", t2 + 3));
    let r = b.append(t2 + 3, 1, (0, 0), vec![], 0);
    let (term, leader) = b.state();
    if !r.success || leader || term != t2 + 3 {
        b.fail(format!(
            "server 0 led term {t2}; after it answered {r:?} to a heartbeat of term {} from server 1 it is in term \
             {term}{} (Figure 2, rules for all servers: if a request contains term T > currentTerm, set \
             currentTerm = T and convert to follower; then accept the new leader's heartbeat)",
            t2 + 3,
            if leader { " and still claims to lead" } else { "" }
        ));
    }
    b.end();
}

/// Figure 2, followers and candidates: heartbeats from the leader of the current term keep a
/// follower, and a candidate of that term, from starting elections.
pub fn heartbeats_suppress_elections<R: RaftPeer>() {
    let b = Bench::<R>::new(3);
    b.frame().begin("Test (3A): heartbeats of the current leader suppress elections (scripted)");
    b.doing("waiting for server 0 to campaign (nobody grants it a vote)");
    let t0 = Instant::now();
    let term = loop {
        if b.highest_vote_request().is_some() {
            break b.state().0;
        }
        if t0.elapsed() > Duration::from_secs(5) {
            b.fail(
                "server 0 heard from no leader for 5 s and never asked for votes: a follower must start an \
                 election when its election timeout elapses (Figure 2: rules for followers)",
            );
        }
        sleep(Duration::from_millis(10));
    };
    b.doing(format!(
        "server 1, leader of term {term} (the candidate's own term), sends heartbeats every 50 ms"
    ));
    b.clear_seen();
    let r = b.append(term, 1, (0, 0), vec![], 0);
    if !r.success {
        b.fail(format!(
            "server 0, a candidate in term {term}, refused ({r:?}) a heartbeat from the leader of term {term}: a \
             candidate that hears from the leader of its term becomes its follower (Figure 2: rules for \
             candidates)"
        ));
    }
    let t1 = Instant::now();
    while t1.elapsed() < Duration::from_secs(2) {
        sleep(Duration::from_millis(50));
        b.append(term, 1, (0, 0), vec![], 0);
        if let Some(t) = b.highest_vote_request().filter(|&t| t > term) {
            b.fail(format!(
                "server 0 started an election for term {t} while the leader of term {term} (server 1) sent it a \
                 heartbeat every 50 ms: a candidate that hears from the leader of its term becomes a follower, \
                 and a follower resets its election timer on each heartbeat (Figure 2: rules for followers and \
                 candidates)"
            ));
        }
    }
    b.end();
}

/// A one-way partition: the leader can no longer reach anyone, but the others still reach it.
/// The others elect a new leader, whose heartbeats reach the old one: it must step down,
/// although no reply of its own ever tells it of the new term.
pub fn one_way_partition<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3A): a leader that can only receive steps down");
    let old = cfg.check_one_leader();
    let (t_old, _) = cfg.state(old);
    for j in (0..servers).filter(|&j| j != old) {
        cfg.set_one_way(old, j, false);
    }
    // The others stop hearing heartbeats and elect a new leader.
    let _step =
        cfg.frame().step(format!("waiting for a new leader after cutting server {old}'s outgoing links"));
    let t0 = Instant::now();
    let (new, t_new) = loop {
        let found = (0..servers)
            .filter(|&j| j != old)
            .map(|j| (j, cfg.state(j)))
            .find(|(_, (t, l))| *l && *t > t_old);
        if let Some((j, (t, _))) = found {
            break (j, t);
        }
        if t0.elapsed() > Duration::from_secs(5) {
            panic!(
                "no new leader within 5 s after server {old} (leader of term {t_old}) could no longer reach the \
                 others (the lab's rule: a new leader within 5 s whenever a majority can talk)"
            );
        }
        sleep(Duration::from_millis(50));
    };
    sleep(ELECTION_TIMEOUT);
    let (term, leader) = cfg.state(old);
    if leader && term <= t_old {
        panic!(
            "server {old} still claims to lead term {term} 1 s after server {new} was elected in term {t_new}, \
             whose heartbeats reach it: a leader that sees a higher term in a request must step down (Figure 2, \
             rules for all servers)"
        );
    }
    for j in (0..servers).filter(|&j| j != old) {
        cfg.set_one_way(old, j, true);
    }
    cfg.check_one_leader();
    cfg.end();
}

/// The lab's contract that Labs 4 and 5 rely on: a cluster of one peer elects itself.
pub fn single_peer_leads<R: RaftPeer>() {
    let cfg = Config::<R>::new(1, false, false);
    cfg.begin("Test (3A): a single peer elects itself");
    cfg.check_one_leader();
    sleep(2 * ELECTION_TIMEOUT);
    let (_, leader) = cfg.state(0);
    assert!(leader, "a cluster of one peer must keep itself as leader (a majority of one is itself)");
    cfg.end();
}

/// The lab's rule for `kill()`: within a second every thread of a killed peer has returned
/// (under the real backend nothing else stops them).
pub fn kill_stops_threads<R: RaftPeer>() {
    let servers = 3;
    let cfg = Config::<R>::new(servers, false, false);
    cfg.begin("Test (3A): kill() stops the peer's threads");
    cfg.check_one_leader();
    for i in 0..servers {
        cfg.kill_raft(i);
    }
    sleep(ELECTION_TIMEOUT);
    for i in 0..servers {
        let left = cfg.peer_threads(i);
        if !left.is_empty() {
            panic!(
                "server {i}'s threads {} were still running 1 s after kill(): every loop of a peer must check \
                 killed() and return, and no thread may wait without a timeout (the lab's rule: kill)",
                left.join(", ")
            );
        }
    }
    cfg.end();
}

/// Figure 2, rules for candidates: a candidate counts only votes granted in its current term.
/// Two of the four other servers grant every vote, but their replies arrive 1.5 s late (in a
/// later election); the other two refuse. A peer that counts the late votes leads without a
/// majority of its term, which the monitor reports (scripted).
pub fn stale_votes_not_counted<R: RaftPeer>() {
    let b = Bench::<R>::new(5);
    b.frame().begin("Test (3A): votes of an earlier term are not counted (scripted)");
    b.doing("servers 1 and 2 grant votes 1.5 s late; servers 3 and 4 refuse");
    b.answer(1, Answer::Late(1500));
    b.answer(2, Answer::Late(1500));
    sleep(Duration::from_secs(4));
    b.end();
}
