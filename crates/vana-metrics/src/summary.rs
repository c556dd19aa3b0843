//! Statistics over a series' samples.

/// The specification's summary, with percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Samples counted.
    pub count: usize,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub avg: f64,
    /// The newest value.
    pub latest: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl Summary {
    /// The summary of `values` in recording order (empty: all zero, count 0). Percentiles interpolate
    /// linearly between the closest ranks (the "type 7" definition of R and NumPy's default):
    /// `p(q) = v[⌊h⌋] + (h − ⌊h⌋)(v[⌊h⌋+1] − v[⌊h⌋])` with `h = (n − 1) q` over the sorted values.
    pub fn of(values: &mut [f64]) -> Summary {
        let Some(&latest) = values.last() else {
            return Summary::default();
        };
        let count = values.len();
        let avg = values.iter().sum::<f64>() / count as f64;
        values.sort_unstable_by(f64::total_cmp);
        let percentile = |q: f64| {
            let h = (count - 1) as f64 * q;
            let low = h.floor() as usize;
            let high = (low + 1).min(count - 1);
            values[low] + (h - low as f64) * (values[high] - values[low])
        };
        Summary {
            count,
            min: values[0],
            max: values[count - 1],
            avg,
            latest,
            p50: percentile(0.50),
            p90: percentile(0.90),
            p95: percentile(0.95),
            p99: percentile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        let summary = Summary::of(&mut [5.0, 1.0, 4.0, 2.0, 3.0]);
        assert_eq!(
            (summary.count, summary.min, summary.max, summary.avg, summary.latest),
            (5, 1.0, 5.0, 3.0, 3.0)
        );
        assert_eq!(summary.p50, 3.0);
        // h = 4 × 0.9 = 3.6: 4 + 0.6 × (5 − 4)
        assert!((summary.p90 - 4.6).abs() < 1e-12);
        assert!((summary.p95 - 4.8).abs() < 1e-12);
        assert!((summary.p99 - 4.96).abs() < 1e-12);
        let one = Summary::of(&mut [7.5]);
        assert_eq!((one.p50, one.p99, one.min, one.max), (7.5, 7.5, 7.5, 7.5));
        assert_eq!(Summary::of(&mut []).count, 0);
    }

    #[test]
    fn one_to_a_hundred() {
        let mut values: Vec<f64> = (1..=100).map(f64::from).collect();
        let summary = Summary::of(&mut values);
        assert_eq!(summary.p50, 50.5);
        assert!((summary.p90 - 90.1).abs() < 1e-9);
        assert!((summary.p99 - 99.01).abs() < 1e-9);
        assert_eq!(summary.avg, 50.5);
    }
}
