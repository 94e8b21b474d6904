//! Linux's retransmission of a data segment nobody acknowledges: when a dropped query or reply
//! gets through once the path answers again, and when the sender gives up.
//!
//! A segment lost in a partition is not resent the moment the partition heals: the sender
//! retransmits on its own clock, each retransmission timeout (RTO) twice the last, and the first
//! retransmission after the heal is the one that gets through. A query sent as a link went
//! dark for 7 s is delivered 12.6 s after it was sent, 5.6 s after the heal; the worker that
//! sent it stays busy for those 5.6 s, and so do the workers behind it.
//!
//! The rules, from the Linux sources:
//! - the first RTO of an established connection is `srtt + rttvar`, with `rttvar` at least
//!   `TCP_RTO_MIN` = 200 ms (net/ipv4/tcp_input.c: `tcp_rtt_estimator` keeps `rttvar_us =
//!   max(mdev_max_us, tcp_rto_min_us(sk))`; `__tcp_set_rto` returns `(srtt_us >> 3) +
//!   rttvar_us`), so on a LAN it is the round trip plus 200 ms;
//! - each expiry doubles it, up to `TCP_RTO_MAX` = 120 s (include/net/tcp.h;
//!   net/ipv4/tcp_timer.c `tcp_retransmit_timer`: `icsk_rto = min(icsk_rto << 1, TCP_RTO_MAX)`);
//! - the sender gives up (ETIMEDOUT) at the first expiry at which the time since the segment
//!   was first sent reaches what `tcp_retries2` = 15 retransmissions would take from an RTO of
//!   200 ms, 924.6 s (Documentation/networking/ip-sysctl.rst, `tcp_retries2`: "The default value
//!   of 15 yields a hypothetical timeout of 924.6 seconds ... TCP will effectively time out at
//!   the first RTO which exceeds the hypothetical timeout"; tcp_timer.c
//!   `retransmits_timed_out`, `tcp_model_timeout`).

use crate::engine::SimTime;

/// `TCP_RTO_MIN`: the floor of `rttvar`, so of how much an RTO exceeds the smoothed round trip.
pub const RTO_MIN: SimTime = SimTime::from_millis(200);
/// `TCP_RTO_MAX`: the longest wait between two retransmissions.
pub const RTO_MAX: SimTime = SimTime::from_secs(120);
/// Linux's default `tcp_retries2`.
pub const RETRIES2: u32 = 15;

/// What happens to a segment nobody has acknowledged, at the first RTO expiry at or after an
/// instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// A retransmission leaves at this instant.
    Resend(SimTime),
    /// The sender gives up at this instant: its connection fails with ETIMEDOUT.
    GivesUp(SimTime),
}

/// The retransmission clock of one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rto {
    first: SimTime,
}

impl Rto {
    /// A connection whose smoothed round trip is `rtt` (its variation below the floor, as on
    /// a steady LAN).
    pub fn for_rtt(rtt: SimTime) -> Rto {
        Rto {
            first: rtt + RTO_MIN,
        }
    }

    /// The first RTO: how long after the original transmission the first retransmission leaves.
    pub fn first(self) -> SimTime {
        self.first
    }

    /// How long after the original transmission the sender gives up at the latest: the
    /// `tcp_retries2` budget computed from an RTO of [`RTO_MIN`] (924.6 s), which the expiry
    /// that reaches it ends.
    pub fn budget() -> SimTime {
        let mut total = SimTime::ZERO;
        let mut rto = RTO_MIN;
        for _ in 0..=RETRIES2 {
            total += rto;
            rto = SimTime(rto.as_nanos().saturating_mul(2)).min(RTO_MAX);
        }
        total
    }

    /// The first expiry at or after `at` of a segment first sent at `sent` and acknowledged by
    /// nobody since: a retransmission, or the end of the connection when the time since `sent`
    /// has reached [`Rto::budget`] (no segment leaves then).
    pub fn expiry_from(self, sent: SimTime, at: SimTime) -> Expiry {
        let budget = Rto::budget();
        let mut t = sent;
        let mut rto = self.first;
        loop {
            t += rto;
            if t - sent >= budget {
                return Expiry::GivesUp(t);
            }
            if t >= at {
                return Expiry::Resend(t);
            }
            rto = SimTime(rto.as_nanos().saturating_mul(2)).min(RTO_MAX);
        }
    }

    /// When the sender of a segment first sent at `sent` gives up if nothing gets through.
    pub fn gives_up(self, sent: SimTime) -> SimTime {
        match self.expiry_from(sent, SimTime(u64::MAX)) {
            Expiry::GivesUp(t) | Expiry::Resend(t) => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> SimTime {
        SimTime::from_millis(x)
    }

    #[test]
    fn the_retries2_budget_is_the_kernel_documents_figure() {
        // ip-sysctl.rst: "The default value of 15 yields a hypothetical timeout of 924.6 seconds".
        assert_eq!(Rto::budget(), ms(924_600));
    }

    #[test]
    fn retransmissions_double_from_rtt_plus_200ms_and_stop_at_120s() {
        let rto = Rto::for_rtt(ms(1));
        assert_eq!(rto.first(), ms(201));
        let sent = SimTime::from_secs(100);
        // Expiries 201, 603, 1407, 3015, 6231, 12663 ms after the send.
        let mut expected = vec![];
        let mut t = 0;
        for k in 0..6 {
            t += 201 << k;
            expected.push(t);
        }
        assert_eq!(expected, [201, 603, 1407, 3015, 6231, 12663]);
        for &e in &expected {
            // An instant just after the previous expiry, and the expiry itself, both give it.
            assert_eq!(
                rto.expiry_from(sent, sent + ms(e)),
                Expiry::Resend(sent + ms(e))
            );
            assert_eq!(
                rto.expiry_from(sent, sent + ms(e) - SimTime(1)),
                Expiry::Resend(sent + ms(e))
            );
        }
        // A partition healing 7 s after the send: the query gets through 12.663 s after it.
        assert_eq!(
            rto.expiry_from(sent, sent + SimTime::from_secs(7)),
            Expiry::Resend(sent + ms(12_663))
        );
        // Anything before the first expiry: the first retransmission.
        assert_eq!(rto.expiry_from(sent, sent), Expiry::Resend(sent + ms(201)));
        // The doubling stops at 120 s: 201 ms << 10 = 205.8 s is capped.
        let ten = (0..10).map(|k| 201u64 << k).sum::<u64>();
        assert_eq!(
            rto.expiry_from(sent, sent + ms(ten) + SimTime(1)),
            Expiry::Resend(sent + ms(ten + 120_000))
        );
    }

    #[test]
    fn the_sender_gives_up_at_the_first_expiry_past_the_budget() {
        // From 200 ms exactly, the 16th expiry lands on the budget: it ends the connection.
        let rto = Rto::for_rtt(SimTime::ZERO);
        assert_eq!(rto.gives_up(SimTime::ZERO), ms(924_600));
        let before = ms(924_600 - 120_000);
        assert_eq!(
            rto.expiry_from(SimTime::ZERO, before),
            Expiry::Resend(before)
        );
        assert_eq!(
            rto.expiry_from(SimTime::ZERO, before + SimTime(1)),
            Expiry::GivesUp(ms(924_600))
        );
        // A slower connection (1 s RTO) crosses the budget sooner in count: 1, 3, 7, ...,
        // 127 s, then 120 s apart, and 967 s is the first expiry past 924.6 s.
        let slow = Rto::for_rtt(ms(800));
        assert_eq!(slow.gives_up(SimTime::ZERO), SimTime::from_secs(967));
    }
}
