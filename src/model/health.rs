//! HAProxy's active health-check state machine for one server as seen by one LB
//! (domain.md §1.4, from HAProxy src/check.c and src/server.c).
//!
//! A counter `health` in [0, rise + fall - 1]; the server is UP iff health >= rise. A pass
//! increments it (jumping to the top once it reaches `rise`), a failure decrements it
//! (dropping to 0 once it falls below `rise`). The next check comes `inter` after a check when
//! fully UP, `downinter` when fully DOWN and `fastinter` in between. Servers start UP with
//! health = rise, so one failed check marks a server DOWN at start-up, as in HAProxy.
//!
//! This file is only the state machine: how long a check takes (a refusal at once, silence
//! until the check's timeout, an HTTP check waiting for an application worker) is decided
//! where the check meets the stack, `model/stack/faults.rs` (`on_check`).

use super::config::HealthCheck;
use crate::engine::SimTime;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Health {
    health: u32,
    rise: u32,
    fall: u32,
}

/// A change of the server's UP/DOWN state caused by a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    None,
    MarkedUp,
    MarkedDown,
}

impl Health {
    pub fn new(rise: u32, fall: u32) -> Self {
        let rise = rise.max(1);
        let fall = fall.max(1);
        Health {
            health: rise,
            rise,
            fall,
        }
    }

    pub fn is_up(&self) -> bool {
        self.health >= self.rise
    }

    fn top(&self) -> u32 {
        self.rise + self.fall - 1
    }

    pub fn check(&mut self, passed: bool) -> Transition {
        let was_up = self.is_up();
        if passed {
            if self.health < self.top() {
                self.health += 1;
                if self.health >= self.rise {
                    self.health = self.top();
                }
            }
        } else if self.health > 0 {
            self.health -= 1;
            if self.health < self.rise {
                self.health = 0;
            }
        }
        match (was_up, self.is_up()) {
            (false, true) => Transition::MarkedUp,
            (true, false) => Transition::MarkedDown,
            _ => Transition::None,
        }
    }

    /// Time until the next check.
    pub fn interval(&self, cfg: &HealthCheck) -> SimTime {
        if self.health == self.top() {
            cfg.inter
        } else if self.health == 0 {
            cfg.downinter
        } else {
            cfg.fastinter
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fall_and_rise_counts() {
        let mut h = Health::new(2, 3);
        assert_eq!(h.check(true), Transition::None); // start-up: to fully up
        assert_eq!(h.check(false), Transition::None);
        assert_eq!(h.check(false), Transition::None);
        assert_eq!(h.check(false), Transition::MarkedDown); // third consecutive failure
        assert_eq!(h.check(true), Transition::None);
        assert_eq!(h.check(true), Transition::MarkedUp); // second consecutive pass
    }

    #[test]
    fn one_failure_at_startup_marks_down() {
        let mut h = Health::new(2, 3);
        assert_eq!(h.check(false), Transition::MarkedDown);
    }

    #[test]
    fn intervals_follow_state() {
        let cfg = HealthCheck {
            inter: SimTime::from_secs(2),
            fastinter: SimTime::from_millis(500),
            downinter: SimTime::from_secs(5),
            ..HealthCheck::default()
        };
        let mut h = Health::new(2, 3);
        h.check(true);
        assert_eq!(h.interval(&cfg), SimTime::from_secs(2));
        h.check(false);
        assert_eq!(h.interval(&cfg), SimTime::from_millis(500));
        h.check(false);
        h.check(false);
        assert_eq!(h.interval(&cfg), SimTime::from_secs(5));
    }
}
