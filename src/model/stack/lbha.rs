//! More than one HAProxy: keepalived's floating IP (VRRP) and DNS round robin, and what a
//! client reaches at its address (domain.md §3).
//!
//! Each LB instance has a host and an HAProxy process. A `crash` fault kills the process: the
//! host resets connections to it, and keepalived on that host goes on advertising unless a
//! `vrrp_script` (or `track_process`) watches HAProxy; then the instance enters FAULT, sends a
//! priority-0 advertisement and the backup takes over after its skew alone
//! (keepalived/vrrp/vrrp.c). A `down` fault takes the host: the advertisements stop and the
//! backup takes over when its master-down timer, 3 x advert_int + skew, runs out: counted from
//! the last advertisement it received, which the master sends every advert_int from when it
//! became master ([`master_down_after`]). A returning node starts
//! as BACKUP; with a higher priority and preemption it ignores the master's advertisements and
//! takes the address when its own timer expires: advert_int + 1/256 s when configured `state
//! MASTER`, the full master-down timer otherwise (keepalived/vrrp/vrrp_scheduler.c
//! `vrrp_init_state`).
//!
//! With DNS round robin, a health-checked DNS service withdraws a dead LB's record
//! `withdraw_after` its failure and publishes it again `withdraw_after` its repair. Each client
//! re-resolves every TTL at its own phase (derived from the seed and its address), so after a
//! change its clients move over uniformly within one TTL, and back only when they re-resolve.
//! The last record is never withdrawn (a DNS service with every target unhealthy answers with
//! all of them).

use super::*;
use crate::engine::rng::splitmix64;

impl Stack {
    /// The address a new client connects to: 0 for the single LB or the floating IP; with DNS
    /// round robin, the LB its cached answer names (half the clients resolve to each when
    /// both are published). None when its answer holds no address.
    pub(super) fn resolve(&self, now: SimTime, client_ip: u32) -> Option<u8> {
        let LbHa::ActiveActive { dns_ttl, .. } = self.cfg.failures.lb_ha else {
            return Some(0);
        };
        match self.dns_answer(now, client_ip, dns_ttl) {
            0b11 => Some((client_ip % 2) as u8),
            0b01 => Some(0),
            0b10 => Some(1),
            _ => None,
        }
    }

    /// The record set the client's cache holds at `now`: the one published when it last
    /// re-resolved, at its phase + k x TTL. Before its first refresh it holds the set of time 0.
    fn dns_answer(&self, now: SimTime, client_ip: u32, ttl: SimTime) -> u8 {
        let t = now.as_nanos();
        let resolved_at = match ttl.as_nanos() {
            0 => t,
            ttl => {
                let phase = splitmix64(self.dns_key ^ u64::from(client_ip)) % ttl;
                if t < phase {
                    0
                } else {
                    phase + (t - phase) / ttl * ttl
                }
            }
        };
        let k = self
            .dns
            .partition_point(|&(since, _)| since.as_nanos() <= resolved_at);
        self.dns[k.saturating_sub(1)].1
    }

    /// What answers at client address `addr`, and the LB instance when HAProxy does.
    pub(super) fn lb_at(&self, addr: u8) -> (Answer, Option<usize>) {
        let k = match self.cfg.failures.lb_ha {
            LbHa::Single => 0,
            LbHa::ActivePassive { .. } => match self.vip {
                Some(k) => k,
                // Nobody holds the floating IP: its ARP goes unanswered.
                None => return (Answer::Silent, None),
            },
            LbHa::ActiveActive { .. } => addr as usize,
        };
        match self.lbs[k].faults.answer() {
            Answer::Up => (Answer::Up, Some(k)),
            other => (other, None),
        }
    }

    // ---- faults of an LB instance ----------------------------------------------------------

    /// A fault starts (`delta` = 1) or ends (-1) on LB `k`: `silent` takes its host (and
    /// keepalived with it), otherwise only the HAProxy process.
    pub(super) fn lb_fault(&mut self, cal: &mut Calendar<Ev>, k: usize, silent: bool, delta: i32) {
        let (serving, host) = (self.lbs[k].up(), self.lbs[k].faults.silent == 0);
        self.lbs[k].faults.add(silent, delta);
        let (serving_now, host_now) = (self.lbs[k].up(), self.lbs[k].faults.silent == 0);
        if serving && !serving_now {
            self.lb_stops(cal, k);
        }
        if host && !host_now {
            self.keepalived_stops(cal, k);
        }
        if !host && host_now {
            self.keepalived_starts(cal, k);
            if !serving_now {
                // keepalived is back while HAProxy is still down (a crash that outlasts the
                // host's outage): its `vrrp_script` runs again from keepalived's start, fails,
                // and puts the instance in FAULT before it can take the address
                // (keepalived.conf(5) `vrrp_script`: a failing script with weight 0 sets the
                // instance to FAULT). Without this the returning master preempted the address
                // with a dead HAProxy and kept it until the crash was repaired.
                self.script_watch(cal, k);
            }
        }
        if !serving && serving_now {
            self.lb_restarts(cal, k);
        }
        if serving != serving_now {
            self.dns_follow(cal, k);
            if host_now {
                // keepalived's script (if any) will notice the change at its next run.
                self.script_watch(cal, k);
            }
        }
    }

    /// HAProxy on `k` stops serving: its connections are lost and its state wiped.
    fn lb_stops(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let now = cal.now();
        self.lbs[k].down_since = now;
        self.lb_sever(cal, k);
        self.checks_abandoned(now, k);
        if let Some(st) = &mut self.lbs[k].station {
            st.drain_queue(now);
            st.clear_busy(now);
        }
    }

    /// HAProxy on `k` restarts: fresh health states (servers start UP), a new check cycle.
    fn lb_restarts(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let now = cal.now();
        let h = self.cfg.failures.health.clone();
        let lb = &mut self.lbs[k];
        lb.check_epoch = lb.check_epoch.wrapping_add(1);
        for hs in &mut lb.health {
            *hs = Health::new(h.rise, h.fall);
        }
        self.refresh_usable(k);
        if h.enabled {
            let epoch = self.lbs[k].check_epoch;
            let n = self.servers.len() as u64;
            for i in 0..self.servers.len() {
                let offset = SimTime(h.inter.as_nanos() / n * i as u64);
                cal.schedule_at(now + offset, Ev::Check(k as u8, i as u16, epoch));
            }
        }
        if matches!(self.cfg.failures.lb_ha, LbHa::Single) {
            self.mark_mitigated(now, |t| t == Target::Lb(k));
        }
    }

    /// Every connection through LB `k` is lost: requests still in the LB fail now, those
    /// already on a server are doomed. The LB's counters and queues start afresh.
    pub(super) fn lb_sever(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let now = cal.now();
        let epoch = self.lbs[k].epoch;
        let victims =
            self.requests_where(|r| r.has(holds::LB) && r.lb as usize == k && r.lb_epoch == epoch);
        for id in victims {
            let r = &mut self.reqs[id];
            match r.stage {
                Stage::LbWait
                | Stage::LbProc
                | Stage::Queued
                | Stage::Retry
                | Stage::LbSyn
                | Stage::Tarpit => {
                    r.holds &= !(holds::LB | holds::SRV);
                    self.fail(now, id, Cause::LbConnectionLost)
                }
                _ => r.doomed = Some(Cause::LbConnectionLost),
            }
        }
        let lb = &mut self.lbs[k];
        lb.epoch = lb.epoch.wrapping_add(1);
        lb.held = 0;
        lb.serving = 0;
        if let Some(l) = &mut lb.limiter {
            l.drop_connections();
        }
        for i in 0..lb.views.len() {
            lb.update_view(i, |v| {
                v.served = 0;
                v.queued = 0;
            });
        }
        lb.backend_q.clear();
        for q in &mut lb.server_q {
            q.clear();
        }
        lb.queue_len.set(now, 0);
    }

    // ---- keepalived --------------------------------------------------------------------------

    /// The keepalived pair, or None for the other modes.
    fn vrrp(&self) -> Option<(SimTime, u32, bool, bool, Option<VrrpScript>)> {
        match self.cfg.failures.lb_ha {
            LbHa::ActivePassive {
                advert_int,
                backup_priority,
                preempt,
                master_state,
                track,
            } => Some((advert_int, backup_priority, preempt, master_state, track)),
            _ => None,
        }
    }

    /// keepalived on `k` can hold the address: its host is up and it is not in FAULT.
    fn can_master(&self, k: usize) -> bool {
        self.lbs[k].faults.silent == 0 && !self.lbs[k].vrrp_fault
    }

    /// `k`'s host died: its advertisements stop, the backup's master-down timer runs out.
    fn keepalived_stops(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let Some((advert, prio, ..)) = self.vrrp() else {
            return;
        };
        let lb = &mut self.lbs[k];
        lb.script_epoch = lb.script_epoch.wrapping_add(1);
        lb.vrrp_fault = false;
        lb.script_fails = 0;
        lb.script_passes = 0;
        self.cancel_takeover(k);
        if self.vip == Some(k) {
            self.vip = None;
            let other = 1 - k;
            if self.can_master(other) {
                // Its timer runs from the last advertisement it received, not from now; a
                // returning node about to preempt (it ignored the lower-priority master's
                // advertisements) keeps its own timer if that expires sooner.
                let after = master_down_after(
                    cal.now(),
                    self.master_since,
                    advert,
                    priority_of(other, prio),
                );
                let sooner = self.takeover[other].is_some_and(|(_, at)| at <= cal.now() + after);
                if !sooner {
                    self.schedule_takeover(cal, other, after);
                }
            }
        }
    }

    /// `k`'s host is back: keepalived starts as BACKUP and takes the address when its timer
    /// expires, if nobody holds it or (preemption) it has the higher priority.
    fn keepalived_starts(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let Some((advert, prio, preempt, master_state, _)) = self.vrrp() else {
            return;
        };
        let wants = match self.vip {
            None => true,
            Some(other) => other != k && preempt && k == 0,
        };
        if wants && self.can_master(k) {
            let after = if k == 0 && master_state {
                // `state MASTER`: one advert_int to make sure no other master is there.
                advert + SimTime::from_secs_f64(1.0 / 256.0)
            } else {
                master_down_interval(advert, priority_of(k, prio))
            };
            self.schedule_takeover(cal, k, after);
        }
    }

    fn schedule_takeover(&mut self, cal: &mut Calendar<Ev>, k: usize, after: SimTime) {
        self.vip_epoch = self.vip_epoch.wrapping_add(1);
        let at = cal.now() + after;
        self.takeover[k] = Some((self.vip_epoch, at));
        cal.schedule_at(at, Ev::VrrpTakeover(k as u8, self.vip_epoch));
    }

    fn cancel_takeover(&mut self, k: usize) {
        self.takeover[k] = None;
    }

    pub(super) fn on_vrrp_takeover(&mut self, cal: &mut Calendar<Ev>, k: usize, epoch: u32) {
        if self.takeover[k].is_none_or(|(e, _)| e != epoch) || !self.can_master(k) {
            return;
        }
        self.takeover[k] = None;
        let now = cal.now();
        let other = 1 - k;
        // The new master advertises: the other's pending timer is reset.
        self.cancel_takeover(other);
        let name = self.lbs[k].name.clone();
        match self.vip {
            Some(o) if o == k => return,
            Some(o) => {
                // Preemption: connections through the old master are lost.
                self.lb_sever(cal, o);
                self.obs
                    .log(now, &name, "VRRP preempt", "takes the floating IP back");
            }
            None => self.obs.log(
                now,
                &name,
                "VRRP takeover",
                "becomes master, holds the floating IP",
            ),
        }
        self.vip = Some(k);
        // Its first advertisement goes out now, the next every advert_int.
        self.master_since = now;
        if self.lbs[k].up() {
            self.mark_detected(now, |t| t == Target::Lb(other));
            self.mark_mitigated(now, |t| t == Target::Lb(other) || t == Target::Lb(k));
            // Users now see this instance's view of the servers.
            self.update_server_mitigation(now);
        }
    }

    /// keepalived's `vrrp_script` on `k` starts (or keeps) running while HAProxy is down or
    /// the instance is in FAULT; it runs every `interval` at the instance's phase.
    fn script_watch(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let Some((_, _, _, _, Some(script))) = self.vrrp() else {
            return;
        };
        if self.lbs[k].faults.silent > 0 {
            return;
        }
        let lb = &mut self.lbs[k];
        lb.script_epoch = lb.script_epoch.wrapping_add(1);
        let at = self.next_script_run(cal.now(), k, script.interval);
        cal.schedule_at(at, Ev::VrrpScript(k as u8, self.lbs[k].script_epoch));
    }

    /// The first run of `k`'s script strictly after `now`: runs are at phase + n x interval,
    /// the phase derived from the seed and the instance.
    fn next_script_run(&self, now: SimTime, k: usize, interval: SimTime) -> SimTime {
        let every = interval.as_nanos().max(1);
        let phase = splitmix64(self.dns_key ^ 0x5c21_u64.wrapping_add(k as u64)) % every;
        let t = now.as_nanos();
        let n = if t < phase {
            0
        } else {
            (t - phase) / every + 1
        };
        SimTime(phase + n * every)
    }

    pub(super) fn on_vrrp_script(&mut self, cal: &mut Calendar<Ev>, k: usize, epoch: u32) {
        let Some((advert, prio, preempt, _, Some(script))) = self.vrrp() else {
            return;
        };
        if epoch != self.lbs[k].script_epoch || self.lbs[k].faults.silent > 0 {
            return;
        }
        let now = cal.now();
        let ok = self.lbs[k].up();
        let lb = &mut self.lbs[k];
        if ok {
            lb.script_passes += 1;
            lb.script_fails = 0;
        } else {
            lb.script_fails += 1;
            lb.script_passes = 0;
        }
        let name = lb.name.clone();
        if !ok && !lb.vrrp_fault && lb.script_fails >= script.fall {
            lb.vrrp_fault = true;
            self.cancel_takeover(k);
            self.obs.log(
                now,
                &name,
                "VRRP fault",
                "vrrp_script sees HAProxy down: priority 0, the backup takes over",
            );
            self.mark_detected(now, |t| t == Target::Lb(k));
            if self.vip == Some(k) {
                // A priority-0 advertisement: the backup waits only its skew.
                let other = 1 - k;
                if self.can_master(other) {
                    let skew = master_down_interval(SimTime::ZERO, priority_of(other, prio));
                    self.schedule_takeover(cal, other, skew);
                }
                self.vip = None;
            }
        } else if ok && lb.vrrp_fault && lb.script_passes >= script.rise {
            lb.vrrp_fault = false;
            self.obs.log(
                now,
                &name,
                "VRRP leaves fault",
                "vrrp_script sees HAProxy up",
            );
            let wants = match self.vip {
                None => true,
                Some(other) => other != k && preempt && k == 0,
            };
            if wants {
                let after = master_down_interval(advert, priority_of(k, prio));
                self.schedule_takeover(cal, k, after);
            }
        }
        if !ok || self.lbs[k].vrrp_fault {
            let at = self.next_script_run(now, k, script.interval);
            cal.schedule_at(at, Ev::VrrpScript(k as u8, epoch));
        }
    }

    // ---- DNS round robin ---------------------------------------------------------------------

    /// LB `k` stopped or resumed serving: the DNS service follows `withdraw_after` later.
    fn dns_follow(&mut self, cal: &mut Calendar<Ev>, k: usize) {
        let LbHa::ActiveActive { withdraw_after, .. } = self.cfg.failures.lb_ha else {
            return;
        };
        self.dns_epoch[k] = self.dns_epoch[k].wrapping_add(1);
        cal.schedule_in(withdraw_after, Ev::DnsUpdate(k as u8, self.dns_epoch[k]));
    }

    pub(super) fn on_dns_update(&mut self, cal: &mut Calendar<Ev>, k: usize, epoch: u32) {
        let LbHa::ActiveActive { dns_ttl, .. } = self.cfg.failures.lb_ha else {
            return;
        };
        if epoch != self.dns_epoch[k] {
            return;
        }
        let now = cal.now();
        let current = self.dns.last().map_or(0b11, |&(_, m)| m);
        let bit = 1u8 << k;
        let next = if self.lbs[k].up() {
            current | bit
        } else {
            current & !bit
        };
        if next == current || next == 0 {
            return;
        }
        self.dns.push((now, next));
        let name = self.lbs[k].name.clone();
        if self.lbs[k].up() {
            self.obs.log(
                now,
                &name,
                "DNS record published",
                "clients return as they re-resolve",
            );
        } else {
            self.obs.log(
                now,
                &name,
                "DNS record withdrawn",
                &format!("clients move to the other LB within the TTL ({dns_ttl})"),
            );
            self.mark_detected(now, |t| t == Target::Lb(k));
            let at = now + dns_ttl;
            self.aftermath.changed();
            for f in &mut self.faults {
                if f.started && f.end.is_none() && f.target == Target::Lb(k) {
                    f.mitigated.get_or_insert(at);
                }
            }
        }
    }
}

/// keepalived priority of instance `k`: the master is configured one above the backup (the
/// usual 101 / 100 pair).
fn priority_of(k: usize, backup_priority: u32) -> u32 {
    if k == 0 {
        (backup_priority + 1).min(255)
    } else {
        backup_priority
    }
}

/// VRRPv2 master-down interval: 3 x advert_int + skew, skew = (256 - priority) / 256 s
/// (keepalived/include/vrrp.h `VRRP_MS_DOWN_TIMER`, `VRRP_TIMER_SKEW`). With `advert_int` 0
/// it is the skew alone, which is how long a backup waits after a priority-0 advertisement.
pub fn master_down_interval(advert_int: SimTime, priority: u32) -> SimTime {
    let skew = SimTime::from_secs_f64((256 - priority.min(255)) as f64 / 256.0);
    SimTime(advert_int.as_nanos() * 3) + skew
}

/// The stream whose key sets the initial master's advertisement phase ([`advert_phase`]).
pub const VRRP_PHASE_STREAM: &str = "vrrp.phase";

/// When, within its first advert_int, the initial master (instance 0, master from before
/// time 0) sends its advertisements: `key mod advert_int` nanoseconds, `key` being the key of
/// the stream `vrrp.phase` of the run (`StreamId::new(seed, "vrrp.phase", replication)
/// .key()`), so uniform in [0, advert_int) and not 0 in every run. The request-level model
/// and the Monte Carlo fast path derive it from the same (seed, replication), so a run sees
/// the same phase in both. Nothing else draws from that stream.
pub fn advert_phase(key: u64, advert_int: SimTime) -> SimTime {
    match advert_int.as_nanos() {
        0 => SimTime::ZERO,
        a => SimTime(key % a),
    }
}

/// How long after the master's host dies silently at `fail` the backup's master-down timer
/// expires: the master advertises every advert_int from `master_since`, when it became master
/// (keepalived sends one advertisement at once on becoming MASTER, then re-arms its timer to
/// advert_int at each send: keepalived/vrrp/vrrp_scheduler.c, vrrp/vrrp.c `vrrp_state_become_master`),
/// and the backup restarts its timer at each advertisement it receives (RFC 3768 §6.4.2: "Reset
/// the Master_Down_Timer to Master_Down_Interval"; keepalived/vrrp/vrrp.c
/// `vrrp_state_backup`). So the timer runs from the last advertisement, at or before `fail`,
/// and expires between [`master_down_interval`] - advert_int (exclusive) and the full interval
/// (a failure at the very instant of an advertisement: that one was sent). `master_since` may
/// be after `fail` for the initial master's phase; its advertisements repeat before it too.
pub fn master_down_after(
    fail: SimTime,
    master_since: SimTime,
    advert_int: SimTime,
    priority: u32,
) -> SimTime {
    master_down_interval(advert_int, priority) - since_last_advert(fail, master_since, advert_int)
}

/// Time from the last advertisement at or before `t` to `t`, the advertisements being at
/// `master_since` + n x `advert_int` for every integer n.
fn since_last_advert(t: SimTime, master_since: SimTime, advert_int: SimTime) -> SimTime {
    let a = advert_int.as_nanos();
    if a == 0 {
        return SimTime::ZERO;
    }
    let (t, m) = (t.as_nanos(), master_since.as_nanos());
    SimTime(if t >= m {
        (t - m) % a
    } else {
        (a - (m - t) % a) % a
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: SimTime = SimTime(1_000_000_000);

    #[test]
    fn the_timer_runs_from_the_last_advertisement() {
        let mdi = master_down_interval(A, 100);
        let m = SimTime(250_000_000);
        // A failure at an advertisement: that one was sent, the full interval runs.
        assert_eq!(master_down_after(m, m, A, 100), mdi);
        assert_eq!(master_down_after(m + SimTime(7 * A.0), m, A, 100), mdi);
        // 1 ns before the next one: the last was almost advert_int ago.
        let f = m + SimTime(3 * A.0 - 1);
        assert_eq!(master_down_after(f, m, A, 100), mdi - A + SimTime(1));
        // Halfway between two.
        let f = m + SimTime(A.0 / 2);
        assert_eq!(master_down_after(f, m, A, 100), mdi - SimTime(A.0 / 2));
        // Before the anchor (the initial master's phase): the advertisements repeat backwards.
        assert_eq!(
            master_down_after(SimTime(50_000_000), m, A, 100),
            mdi - SimTime(800_000_000)
        );
        assert_eq!(
            master_down_after(SimTime::ZERO, m, A, 100),
            mdi - SimTime(750_000_000)
        );
        let m = SimTime(1_250_000_000);
        assert_eq!(master_down_after(m - A, m, A, 100), mdi);
        assert_eq!(
            master_down_after(m - A - SimTime(1), m, A, 100),
            mdi - A + SimTime(1)
        );
    }

    #[test]
    fn the_phase_is_below_advert_int() {
        assert_eq!(advert_phase(2_500_000_123, A), SimTime(500_000_123));
        assert_eq!(advert_phase(7, SimTime::ZERO), SimTime::ZERO);
    }
}
