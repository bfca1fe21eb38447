//! Latency samples and their percentiles.

use std::time::Duration;

use serde::Serialize;

/// A latency distribution, in microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Stats {
    /// How many samples.
    pub(crate) count: usize,
    pub(crate) p50_us: f64,
    pub(crate) p90_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) max_us: f64,
    pub(crate) mean_us: f64,
}

impl Stats {
    /// The percentiles of `samples` (nearest rank).
    pub(crate) fn of(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let rank = |p: f64| {
            let i = ((p / 100.0) * samples.len() as f64).ceil() as usize;
            us(samples[i.clamp(1, samples.len()) - 1])
        };
        Self {
            count: samples.len(),
            p50_us: rank(50.0),
            p90_us: rank(90.0),
            p99_us: rank(99.0),
            max_us: us(samples[samples.len() - 1]),
            mean_us: samples.iter().map(|d| us(*d)).sum::<f64>() / samples.len() as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let s = Stats::of((1..=100).rev().map(Duration::from_micros).collect());
        assert_eq!(s.count, 100);
        assert_eq!(s.p50_us, 50.0);
        assert_eq!(s.p90_us, 90.0);
        assert_eq!(s.p99_us, 99.0);
        assert_eq!(s.max_us, 100.0);
        assert_eq!(s.mean_us, 50.5);
        let one = Stats::of(vec![Duration::from_micros(7)]);
        assert_eq!((one.p50_us, one.p99_us, one.max_us), (7.0, 7.0, 7.0));
        assert_eq!(Stats::of(Vec::new()).count, 0);
    }
}
