//! Statistics collectors the model feeds and the reports read: latency histograms,
//! time-weighted averages, waiting times per stage, and confidence intervals over replications.
//!
//! Every collector here has constant memory, whatever the number of requests simulated.

pub mod buckets;
pub mod ci;
pub mod latency;
pub mod time_avg;
pub mod wait;

pub use ci::{MeanCi, common_value, mean_of, student_t_975};
pub use latency::LatencyHistogram;
pub use time_avg::TimeAverage;
pub use wait::{WaitSummary, WaitTime};
