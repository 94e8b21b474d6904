//! The buffers of fast-path passes, kept from one pass to the next (issue 13).
//!
//! Why: a Monte Carlo run is one pass of [`super::simulate_in`] plus one per component made
//! perfect, and a pass built everything afresh: a dozen `Vec`s sized by components, servers,
//! LBs and DB nodes, the repair crews, random streams per component, a calendar, the copy
//! [`super::blame`] weighs components on, the list of outages, and a key for every state it
//! asked the penalty of. A one-day run meets no failure in most passes, so that setup was the
//! pass: in a callgrind profile of a one-day SPOF study, about 35% of the instructions were
//! `malloc` and `free`, and two threads contended for the allocator. A [`PassScratch`] holds
//! those buffers; a study keeps one per worker thread and hands it to every pass, which then
//! allocates nothing once the buffers have grown to the scenario's sizes. Measured (callgrind,
//! `spof_study.toml --set montecarlo.horizon=1d --threads 1`, 4,000 runs minus 2,000): 278
//! allocations and 185,700 instructions per run before, 54 and 124,200 after with
//! `montecarlo.overload=none`; 367 and 232,500 before, 54 and 141,000 after with the states
//! run. The 54 left were the run's own: its row (`McRun`), written out and read back. (Since
//! then a run's streams are also derived once for all its passes: [`Seeds`].)
//!
//! What it must never do: carry anything from one pass into the next. Each pass resets every
//! buffer to what a fresh one held (`vec![false; n]`, a calendar at time zero, an empty memo),
//! so a pass gives the same figures, to the bit, in a fresh scratch or in one that ran other
//! replications or other scenarios before (`tests/pass_scratch.rs`). Its constructors and its
//! hand-back list every field of the state, so a field added to one cannot be forgotten in the
//! other.

use super::{E, Part, PassResult, State};
use crate::engine::{Calendar, Rng, SimTime, StreamId, StreamName};
use crate::model::Config;
use crate::model::degraded::{Penalty, Serving};
use crate::model::repair::Repairs;
use std::cell::RefCell;
use std::rc::Rc;

/// The buffers one fast-path pass works in, handed from pass to pass (see the module doc).
/// Any scratch serves any pass: it holds no result of an earlier one that a pass reads.
pub struct PassScratch {
    /// The pass's state, between passes.
    pub(super) state: Buffers,
    /// The copy of the state [`super::blame`] restores components in.
    pub(super) copy: Buffers,
    /// Per component: its stream of failure and repair draws, `faults.<component>`.
    pub(super) rngs: Vec<Rng>,
    /// The streams passes of the last replication started from.
    pub(super) seeds: Seeds,
    pub(super) cal: Calendar<E>,
    /// The components blamed for the failing fraction now, with their shares.
    pub(super) blame_now: Vec<(usize, f64)>,
    pub(super) memo: Rc<RefCell<Memo>>,
    /// The last pass's result.
    pub(super) result: PassResult,
}

impl Default for PassScratch {
    fn default() -> Self {
        PassScratch {
            state: Buffers::default(),
            copy: Buffers::default(),
            rngs: vec![],
            seeds: Seeds::default(),
            // As the fast path always had: a pass rarely holds more than a few events per
            // component.
            cal: Calendar::with_capacity(64),
            blame_now: vec![],
            memo: Rc::default(),
            result: PassResult::default(),
        }
    }
}

impl PassScratch {
    /// The last pass's result, taken out of the scratch.
    pub fn into_result(self) -> PassResult {
        self.result
    }
}

/// The streams every pass of one replication starts from, derived once for all of them: each
/// pass of a run starts each stream from the same seed (that is what pairs the comparison of a
/// component made perfect), and deriving them, a hash and a xoshiro seeding per stream, two
/// streams per component and one more, was 12% of a one-day SPOF study's instructions (issue
/// 13). A pass copies them (32 bytes a stream).
pub(super) struct Seeds {
    /// What they were derived for: the seed and the replication, with each component's stream
    /// names in `names`.
    key: Option<(u64, u64)>,
    names: Vec<(StreamName, StreamName)>,
    /// Per component, `faults.<component>` and `monitoring.<component>`.
    pub(super) faults: Vec<Rng>,
    pub(super) people: Vec<Rng>,
    /// `mc.mechanics`.
    pub(super) mechanics: Rng,
    /// The key of `vrrp.phase`, the initial master's advertisement phase
    /// (`stack::advert_phase`), as the request-level model derives it.
    pub(super) vrrp_key: u64,
}

impl Default for Seeds {
    fn default() -> Self {
        Seeds {
            key: None,
            names: vec![],
            faults: vec![],
            people: vec![],
            // Replaced before any pass reads it (`key` is None).
            mechanics: Rng::new(StreamId::new(0, "mc.mechanics", 0)),
            vrrp_key: 0,
        }
    }
}

impl Seeds {
    /// Derives the streams of replication `rep` of `comps` under `seed`, unless they are
    /// those already held.
    pub(super) fn derive(&mut self, seed: u64, comps: &[super::Component], rep: u64) {
        let held = self.key == Some((seed, rep))
            && self.names.len() == comps.len()
            && (self.names.iter().zip(comps))
                .all(|(&n, c)| n == (c.faults_stream, c.people_stream));
        if held {
            return;
        }
        self.key = Some((seed, rep));
        self.names.clear();
        self.names
            .extend(comps.iter().map(|c| (c.faults_stream, c.people_stream)));
        let stream = |name| Rng::new(StreamId::named(seed, name, rep));
        self.faults.clear();
        self.faults
            .extend(comps.iter().map(|c| stream(c.faults_stream)));
        self.people.clear();
        self.people
            .extend(comps.iter().map(|c| stream(c.people_stream)));
        self.mechanics = Rng::new(StreamId::new(seed, "mc.mechanics", rep));
        self.vrrp_key = StreamId::new(seed, crate::model::stack::VRRP_PHASE_STREAM, rep).key();
    }
}

/// The penalties of the states a pass has met (see `State::seen`), and the key being asked
/// about. Entries past `len` are spare keys from earlier passes, reused rather than
/// allocated: only `seen[..len]` is this pass's memo.
#[derive(Default)]
pub(super) struct Memo {
    pub(super) seen: Vec<(Serving, Penalty)>,
    pub(super) len: usize,
    pub(super) key: Serving,
}

/// Adds (`key`, `p`) to the memo `seen[..len]`, into a spare entry's buffers if there is one.
pub(super) fn remember(
    seen: &mut Vec<(Serving, Penalty)>,
    len: &mut usize,
    key: &Serving,
    p: Penalty,
) {
    match seen.get_mut(*len) {
        Some((k, q)) => {
            k.clone_from(key);
            *q = p;
        }
        None => seen.push((key.clone(), p)),
    }
    *len += 1;
}

/// The buffers of one [`State`], between passes: their contents are stale, only their
/// capacity is kept.
#[derive(Default)]
pub(super) struct Buffers {
    down: Vec<bool>,
    epoch: Vec<u32>,
    host_down: Vec<bool>,
    app_down: Vec<bool>,
    out_of_rotation: Vec<bool>,
    check_epoch: Vec<u32>,
    lb_down: Vec<bool>,
    lb_silent: Vec<bool>,
    lb_back_at: Vec<SimTime>,
    vrrp_fault: Vec<bool>,
    dns_moved: Vec<bool>,
    db_down: Vec<bool>,
    db_node_epoch: Vec<u32>,
    in_read_pool: Vec<bool>,
    repairs: Repairs,
    fix: Vec<SimTime>,
    failed_at: Vec<SimTime>,
    people: Vec<Rng>,
    before: Vec<(Part, bool)>,
}

/// `v` as `vec![x; n]` would make it, in `v`'s buffer.
fn refill<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

impl<'a> State<'a> {
    /// The state at the start of a pass of the replication `seeds` were derived for, in
    /// buffers `b`: what `simulate` built afresh, value for value.
    pub(super) fn fresh(
        cfg: &'a Config,
        comps: &'a [super::Component],
        opts: &'a super::Options<'a>,
        healthy: Penalty,
        seeds: &Seeds,
        b: Buffers,
        memo: &Rc<RefCell<Memo>>,
    ) -> State<'a> {
        let Buffers {
            mut down,
            mut epoch,
            mut host_down,
            mut app_down,
            mut out_of_rotation,
            mut check_epoch,
            mut lb_down,
            mut lb_silent,
            mut lb_back_at,
            mut vrrp_fault,
            mut dns_moved,
            mut db_down,
            mut db_node_epoch,
            mut in_read_pool,
            mut repairs,
            mut fix,
            mut failed_at,
            mut people,
            mut before,
        } = b;
        let nodes = 1 + cfg.database.replicas.len();
        let n = cfg.servers.len();
        let lbs = cfg.failures.lb_ha.instances();
        let c = comps.len();
        refill(&mut down, c, false);
        refill(&mut epoch, c, 0);
        refill(&mut host_down, n, false);
        refill(&mut app_down, n, false);
        refill(&mut out_of_rotation, n, false);
        refill(&mut check_epoch, n, 0);
        refill(&mut lb_down, lbs, false);
        refill(&mut lb_silent, lbs, false);
        refill(&mut lb_back_at, lbs, SimTime::ZERO);
        refill(&mut vrrp_fault, lbs, false);
        refill(&mut dns_moved, lbs, false);
        refill(&mut db_down, nodes, false);
        refill(&mut db_node_epoch, nodes, 0);
        refill(&mut in_read_pool, nodes, true);
        repairs.reset(cfg.failures.random.iter().map(|r| &r.repair));
        refill(&mut fix, c, SimTime::ZERO);
        refill(&mut failed_at, c, SimTime::ZERO);
        people.clone_from(&seeds.people);
        before.clear();
        memo.borrow_mut().len = 0;
        State {
            cfg,
            comps,
            down,
            epoch,
            host_down,
            app_down,
            out_of_rotation,
            check_epoch,
            lb_down,
            lb_silent,
            lb_back_at,
            vrrp_fault,
            dns_moved,
            vip: Some(0),
            master_since: match cfg.failures.lb_ha {
                crate::model::config::LbHa::ActivePassive { advert_int, .. } => {
                    crate::model::stack::advert_phase(seeds.vrrp_key, advert_int)
                }
                _ => SimTime::ZERO,
            },
            vip_epoch: 0,
            takeover_at: None,
            db_down,
            db_node_epoch,
            in_read_pool,
            primary: 0,
            writes_open: true,
            db_epoch: 0,
            link_down: false,
            // On when configured, unless too few replicas are configured for it (then the
            // first commit's timeout switched it off before the study's first instant).
            semi_on: cfg.failures.db_failover.semi_sync
                && cfg.database.replicas.len()
                    >= cfg.failures.db_failover.semi_sync_replicas.max(1) as usize,
            stall_until: SimTime::ZERO,
            stall: Penalty::default(),
            mix: super::mix_of(cfg),
            rng: seeds.mechanics.clone(),
            opts,
            healthy,
            seen: memo.clone(),
            repairs,
            fix,
            failed_at,
            people,
            before,
        }
    }

    /// A copy of this state in buffers `b` (what `clone` made, without allocating once `b`
    /// has grown).
    pub(super) fn copy_into(&self, b: Buffers) -> State<'a> {
        let mut w = State {
            cfg: self.cfg,
            comps: self.comps,
            down: b.down,
            epoch: b.epoch,
            host_down: b.host_down,
            app_down: b.app_down,
            out_of_rotation: b.out_of_rotation,
            check_epoch: b.check_epoch,
            lb_down: b.lb_down,
            lb_silent: b.lb_silent,
            lb_back_at: b.lb_back_at,
            vrrp_fault: b.vrrp_fault,
            dns_moved: b.dns_moved,
            vip: self.vip,
            master_since: self.master_since,
            vip_epoch: self.vip_epoch,
            takeover_at: self.takeover_at,
            db_down: b.db_down,
            db_node_epoch: b.db_node_epoch,
            in_read_pool: b.in_read_pool,
            primary: self.primary,
            writes_open: self.writes_open,
            db_epoch: self.db_epoch,
            link_down: self.link_down,
            semi_on: self.semi_on,
            stall_until: self.stall_until,
            stall: self.stall,
            mix: self.mix,
            rng: self.rng.clone(),
            opts: self.opts,
            healthy: self.healthy,
            seen: self.seen.clone(),
            repairs: b.repairs,
            fix: b.fix,
            failed_at: b.failed_at,
            people: b.people,
            before: b.before,
        };
        w.copy_from(self);
        w
    }

    /// The state's buffers, to keep for the next pass.
    pub(super) fn into_buffers(self) -> Buffers {
        let State {
            cfg: _,
            comps: _,
            down,
            epoch,
            host_down,
            app_down,
            out_of_rotation,
            check_epoch,
            lb_down,
            lb_silent,
            lb_back_at,
            vrrp_fault,
            dns_moved,
            vip: _,
            master_since: _,
            vip_epoch: _,
            takeover_at: _,
            db_down,
            db_node_epoch,
            in_read_pool,
            primary: _,
            writes_open: _,
            db_epoch: _,
            link_down: _,
            semi_on: _,
            stall_until: _,
            stall: _,
            mix: _,
            rng: _,
            opts: _,
            healthy: _,
            seen: _,
            repairs,
            fix,
            failed_at,
            people,
            before,
        } = self;
        Buffers {
            down,
            epoch,
            host_down,
            app_down,
            out_of_rotation,
            check_epoch,
            lb_down,
            lb_silent,
            lb_back_at,
            vrrp_fault,
            dns_moved,
            db_down,
            db_node_epoch,
            in_read_pool,
            repairs,
            fix,
            failed_at,
            people,
            before,
        }
    }
}

impl PassResult {
    /// Back to what a pass over `components` components starts from (`Default`, with a blame
    /// of zero per component), in this result's buffers.
    pub(super) fn reset(&mut self, components: usize) {
        let PassResult {
            availability,
            slo_availability,
            time_availability,
            downtime_s,
            overload_s,
            outages,
            failed_requests,
            arrived_requests,
            blame_s,
            failures,
            repairs,
            repair_s,
        } = self;
        *availability = 0.0;
        *slo_availability = 0.0;
        *time_availability = 0.0;
        *downtime_s = 0.0;
        *overload_s = 0.0;
        outages.clear();
        *failed_requests = 0.0;
        *arrived_requests = 0.0;
        refill(blame_s, components, 0.0);
        *failures = 0;
        *repairs = 0;
        *repair_s = 0.0;
    }
}
