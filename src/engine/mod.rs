//! The discrete-event engine: simulated time, the event calendar and random streams.
//!
//! It knows nothing of the web stack: a model is any type that implements [`Model`] and the
//! engine only pops events in (time, sequence) order and hands them back. This keeps the engine
//! small enough to benchmark on its own and reusable for the M/M/1 oracle in the benches.

pub mod calendar;
pub mod rng;
pub mod time;

pub use calendar::Calendar;
pub use rng::{Rng, StreamId, StreamName};
pub use time::SimTime;

/// A simulation model: owns its state, reacts to its own events.
pub trait Model {
    /// The event type, small and `Copy`: it is moved through the heap on every event (and
    /// the calendar leaves a handed-out event in place until the next push or pop).
    type Event: Copy;

    /// React to one event at `cal.now()`, scheduling any follow-ups on the calendar.
    fn handle(&mut self, event: Self::Event, cal: &mut Calendar<Self::Event>);
}

/// Runs `model` until the next event would happen after `until` (events at exactly `until` run).
/// Returns the number of events handled. The clock is left at `until`.
pub fn run<M: Model>(model: &mut M, cal: &mut Calendar<M::Event>, until: SimTime) -> u64 {
    let mut handled = 0u64;
    while let Some(event) = cal.pop_until(until) {
        model.handle(event, cal);
        handled += 1;
    }
    cal.advance_to(until);
    handled
}
