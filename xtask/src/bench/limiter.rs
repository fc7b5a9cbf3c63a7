//! The state of the crate's API limiter at the end of a run, as the bench examples print it
//! (`bench_download`, `bench_waiters`): one line `limiter: {JSON}` on stderr, from
//! `Client::api_limiter()`.

use std::fmt;
use std::path::Path;

use serde_json::Value;

/// What the line says.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LimiterEnd {
    /// API requests allowed in flight at the end.
    pub(crate) concurrency: u64,
    /// `false` when fixed by `ClientBuilder::api_concurrency`.
    pub(crate) adaptive: bool,
    /// The requests per second the client paced itself to, if a throttle set one.
    pub(crate) rate: Option<f64>,
    /// `429`/`503` answers the client saw.
    pub(crate) throttled: u64,
    /// Notable changes recorded (the client keeps a bounded list).
    pub(crate) changes: u64,
    /// The last change: seconds after the client was built, and its cause.
    pub(crate) last_change: Option<(f64, String)>,
}

impl LimiterEnd {
    /// The last `limiter: ` line of a tool's stderr log, if there is one that parses.
    pub(crate) fn read(log: &Path) -> Option<LimiterEnd> {
        let text = std::fs::read_to_string(log).ok()?;
        text.lines().rev().find_map(LimiterEnd::parse)
    }

    /// One line of the form the examples print.
    pub(crate) fn parse(line: &str) -> Option<LimiterEnd> {
        let v: Value = serde_json::from_str(line.strip_prefix("limiter: ")?).ok()?;
        let last = &v["last_change"];
        Some(LimiterEnd {
            concurrency: v["concurrency"].as_u64()?,
            adaptive: v["adaptive"].as_bool()?,
            rate: v["rate"].as_f64(),
            throttled: v["throttled"].as_u64()?,
            changes: v["changes"].as_u64()?,
            last_change: match last {
                Value::Null => None,
                _ => Some((
                    last["at_secs"].as_f64()?,
                    last["cause"].as_str().unwrap_or("?").to_owned(),
                )),
            },
        })
    }
}

/// `N in flight, R req/s, T throttles, last change at S s (cause)`.
impl fmt::Display for LimiterEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in flight", self.concurrency)?;
        if !self.adaptive {
            f.write_str(" (fixed)")?;
        }
        match self.rate {
            Some(r) => write!(f, ", {r:.1} req/s")?,
            None => f.write_str(", no rate")?,
        }
        write!(f, ", {} throttles, ", self.throttled)?;
        match &self.last_change {
            Some((at, cause)) => write!(
                f,
                "last change at {at:.2} s ({cause}; {} changes)",
                self.changes
            ),
            None => f.write_str("no change"),
        }
    }
}

/// The index of the median sample of `secs` (the lower middle one of an even count).
pub(crate) fn median_index(secs: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..secs.len()).collect();
    order.sort_by(|a, b| secs[*a].total_cmp(&secs[*b]));
    order.get(secs.len().checked_sub(1)? / 2).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_reads_and_says_what_the_limiter_ended_at() {
        let l = LimiterEnd::parse(
            r#"limiter: {"concurrency":12,"adaptive":true,"rate":98.5,"throttled":3,"changes":7,"last_change":{"at_secs":4.25,"concurrency":12,"rate":98.5,"cause":"throttled"}}"#,
        )
        .unwrap();
        assert_eq!(
            l.to_string(),
            "12 in flight, 98.5 req/s, 3 throttles, last change at 4.25 s (throttled; 7 changes)"
        );
        let l = LimiterEnd::parse(
            r#"limiter: {"concurrency":32,"adaptive":false,"rate":null,"throttled":0,"changes":0,"last_change":null}"#,
        )
        .unwrap();
        assert_eq!(
            l.to_string(),
            "32 in flight (fixed), no rate, 0 throttles, no change"
        );
        assert_eq!(LimiterEnd::parse("2000 313200000"), None);
        assert_eq!(LimiterEnd::parse("limiter: concurrency=3"), None);
    }

    #[test]
    fn the_median_index_is_the_lower_middle() {
        assert_eq!(median_index(&[3.0, 1.0, 2.0]), Some(2));
        assert_eq!(median_index(&[4.0, 1.0, 3.0, 2.0]), Some(3));
        assert_eq!(median_index(&[5.0]), Some(0));
        assert_eq!(median_index(&[]), None);
    }
}
