use serde::Serialize;

use crate::observation::{validate, Observation, SurvivalError};

/// The 0.975 quantile of the standard normal, so the band is a two-sided 95% interval
/// (lifelines' `inv_normal_cdf(0.975)` to the last digit).
pub const Z_95: f64 = 1.959963984540054;

/// How far above 0.5 a survival value may sit and still count as having reached the median.
///
/// Why: KM values are products of fractions like 3/4 · 2/3 that are exactly 1/2 on paper but
/// land an ulp either side in floating point, and which side depends on the order of the
/// arithmetic. Without the slack the median of such a curve would jump to a later time (or to
/// "never") on a rounding accident; no real curve has a value within 1e-12 above 0.5 that is
/// not meant to be 0.5.
const MEDIAN_SLACK: f64 = 1e-12;

/// The Kaplan–Meier product-limit estimate of the survival function.
///
/// `points` has one row per distinct observed time (an event, a censoring, or both), in
/// increasing time, like lifelines' `event_table` without its synthetic row at 0. `survival`,
/// `lower` and `upper` are the values just *after* that time, so the curve is a right-continuous
/// step function that is 1 before the first point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KaplanMeier {
    pub points: Vec<KmPoint>,
    subjects: u64,
}

/// One row of the Kaplan–Meier table. Counts are sums of weights: whole numbers for unweighted
/// subjects, fractions when subjects are split over groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmPoint {
    pub time: f64,
    /// Subjects with `time >= self.time`: the ones who could churn at this time.
    pub at_risk: f64,
    pub events: f64,
    pub censored: f64,
    pub survival: f64,
    /// Lower end of the 95% band.
    pub lower: f64,
    /// Upper end of the 95% band.
    pub upper: f64,
}

impl KaplanMeier {
    /// Fits the curve.
    ///
    /// At a time with both churns and censorings the churns come first (the censored subjects
    /// are still counted at risk), which is the convention of lifelines, R's `survival` and the
    /// textbooks: a censored subject was known to be alive at that time.
    ///
    /// # Panics
    ///
    /// If an observation's time is negative, NaN or infinite; use [`KaplanMeier::try_fit`] for
    /// data that has not been checked.
    pub fn fit(observations: &[Observation]) -> KaplanMeier {
        match KaplanMeier::try_fit(observations) {
            Ok(km) => km,
            Err(error) => panic!("{error}"),
        }
    }

    /// Fits the curve, reporting the first observation whose time is not a finite `>= 0` number.
    pub fn try_fit(observations: &[Observation]) -> Result<KaplanMeier, SurvivalError> {
        validate(observations).map_err(|(index, invalid)| SurvivalError::of(index, invalid))?;

        let mut sorted: Vec<Observation> = observations.to_vec();
        sorted.sort_by(|a, b| a.time.total_cmp(&b.time));

        let mut points = Vec::new();
        // Weight still observed from each position on, summed from the end, so that "left after
        // this time" is exact (0 when everyone churns) whatever the weights.
        let mut from_here = vec![0.0_f64; sorted.len() + 1];
        for i in (0..sorted.len()).rev() {
            from_here[i] = from_here[i + 1] + sorted[i].weight;
        }
        let mut position = 0;
        let mut survival = 1.0_f64;
        // Σ d / (n (n − d)), Greenwood's sum, the variance of log S.
        let mut greenwood = 0.0_f64;
        let mut rest = sorted.as_slice();
        while let Some(first) = rest.first() {
            let time = first.time;
            let same_time = rest.iter().take_while(|o| o.time == time).count();
            let at_risk = from_here[position];
            let (mut events, mut censored) = (0.0, 0.0);
            for o in &rest[..same_time] {
                *if o.event { &mut events } else { &mut censored } += o.weight;
            }

            if events > 0.0 {
                // A product rather than lifelines' exp(Σ log): it is at least as accurate, and
                // a curve with no events so far stays exactly 1.0, which the band relies on.
                let left = from_here[position + same_time] + censored;
                survival *= left / at_risk;
                // When everyone left dies, n − d = 0 and the term is infinite; lifelines drops it
                // (S is 0 from then on and its band is (0, 0) whatever the variance), so do we.
                if left > 0.0 {
                    greenwood += events / (at_risk * left);
                }
            }
            let (lower, upper) = log_log_band(survival, greenwood);
            points.push(KmPoint {
                time,
                at_risk,
                events,
                censored,
                survival,
                lower,
                upper,
            });

            position += same_time;
            rest = &rest[same_time..];
        }

        Ok(KaplanMeier {
            points,
            subjects: observations.len() as u64,
        })
    }

    /// Number of observations the curve was fitted on (whatever their weights).
    pub fn subjects(&self) -> u64 {
        self.subjects
    }

    /// S(t): the share still active just after `t` days; 1 before the first observed time.
    pub fn survival_at(&self, t: f64) -> f64 {
        if t.is_nan() {
            return f64::NAN;
        }
        let after = self.points.partition_point(|p| p.time <= t);
        match after.checked_sub(1) {
            Some(i) => self.points[i].survival,
            None => 1.0,
        }
    }

    /// Median lifetime: the first time at which S(t) <= 0.5, as lifelines'
    /// `median_survival_time_`; `None` when the curve never gets there (lifelines' `inf`).
    ///
    /// Unlike R, a curve that is flat at exactly 0.5 reports the start of the flat stretch, not
    /// its midpoint.
    pub fn median(&self) -> Option<f64> {
        self.points
            .iter()
            .find(|p| p.survival <= 0.5 + MEDIAN_SLACK)
            .map(|p| p.time)
    }

    /// Restricted mean survival time: ∫₀^horizon S(t) dt, the expected number of days of the
    /// first `horizon` that a subject stays (lifelines' `restricted_mean_survival_time`).
    ///
    /// The integral is exact for the step curve. A horizon `<= 0` gives 0.
    pub fn rmst(&self, horizon: f64) -> f64 {
        if horizon.is_nan() {
            return f64::NAN;
        }
        if horizon <= 0.0 {
            return 0.0;
        }
        let mut area = 0.0;
        let mut from = 0.0;
        let mut level = 1.0;
        for p in self.points.iter().take_while(|p| p.time < horizon) {
            area += (p.time - from) * level;
            from = p.time;
            level = p.survival;
        }
        area + (horizon - from) * level
    }

    /// Number at risk (still observed, `time >= t`) at each of `times`, in the given order.
    ///
    /// This is the row printed under survival charts; between observed times it is the count of
    /// the next observed time. A NaN time has no one at risk.
    pub fn at_risk_table(&self, times: &[f64]) -> Vec<(f64, f64)> {
        times
            .iter()
            .map(|&t| {
                let at_risk = if t.is_nan() {
                    0.0
                } else {
                    let next = self.points.partition_point(|p| p.time < t);
                    self.points.get(next).map_or(0.0, |p| p.at_risk)
                };
                (t, at_risk)
            })
            .collect()
    }
}

/// The 95% band by the log(−log) transform ("exponential Greenwood"), as lifelines computes it.
///
/// Why this transform: the plain S ± z·se band leaves [0, 1] near the ends of the curve; on the
/// log(−log S) scale the band is symmetric and maps back inside (0, 1). With v = ln S the bounds
/// are exp(−exp(ln(−v) ∓ z·√greenwood / v)).
///
/// The two ends of the curve are degenerate, and follow lifelines: while S = 1 (no churn yet)
/// the formula is 0/0, which lifelines fills with 1, so the band is (1, 1); once S = 0 it is
/// exp(−∞) = 0 on both sides, so the band is (0, 0).
fn log_log_band(survival: f64, greenwood: f64) -> (f64, f64) {
    if survival >= 1.0 {
        return (1.0, 1.0);
    }
    if survival <= 0.0 {
        return (0.0, 0.0);
    }
    let v = survival.ln();
    let centre = (-v).ln();
    let half_width = Z_95 * greenwood.sqrt() / v;
    let lower = (-(centre - half_width).exp()).exp();
    let upper = (-(centre + half_width).exp()).exp();
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(pairs: &[(f64, bool)]) -> Vec<Observation> {
        pairs
            .iter()
            .map(|&(time, event)| Observation {
                time,
                event,
                weight: 1.0,
            })
            .collect()
    }

    fn close(actual: f64, expected: f64, what: &str) {
        assert!(
            (actual - expected).abs() <= 1e-12,
            "{what}: got {actual}, expected {expected}"
        );
    }

    /// Hand-computed, five subjects: churn at 2, censored at 3, churn at 3, churn at 5,
    /// censored at 8.
    ///
    /// | t | n | d | c | S                         | Greenwood Σ d/(n(n−d))        |
    /// |---|---|---|---|---------------------------|-------------------------------|
    /// | 2 | 5 | 1 | 0 | 4/5 = 0.8                 | 1/20 = 0.05                   |
    /// | 3 | 4 | 1 | 1 | 0.8 · 3/4 = 0.6           | 0.05 + 1/12 = 2/15            |
    /// | 5 | 2 | 1 | 0 | 0.6 · 1/2 = 0.3           | 2/15 + 1/2 = 19/30            |
    /// | 8 | 1 | 0 | 1 | 0.3                       | 19/30                         |
    ///
    /// Band at t = 2: v = ln 0.8, half = z·√0.05 / v; lower = exp(−exp(ln(−v) − half)) =
    /// 0.8^exp(−z·√0.05/ln 0.8) — written below in that second, independent form.
    #[test]
    fn five_subjects_by_hand() {
        let km = KaplanMeier::fit(&obs(&[
            (3.0, false),
            (2.0, true),
            (8.0, false),
            (5.0, true),
            (3.0, true),
        ]));
        let rows: Vec<(f64, f64, f64, f64)> = km
            .points
            .iter()
            .map(|p| (p.time, p.at_risk, p.events, p.censored))
            .collect();
        assert_eq!(
            rows,
            vec![
                (2.0, 5.0, 1.0, 0.0),
                (3.0, 4.0, 1.0, 1.0),
                (5.0, 2.0, 1.0, 0.0),
                (8.0, 1.0, 0.0, 1.0)
            ]
        );
        let expected = [
            (0.8, 1.0 / 20.0),
            (0.6, 2.0 / 15.0),
            (0.3, 19.0 / 30.0),
            (0.3, 19.0 / 30.0),
        ];
        for (p, &(s, var)) in km.points.iter().zip(&expected) {
            close(p.survival, s, "survival");
            // S^exp(±z·√var / ln S) is the same band written as a power of S.
            let k = (Z_95 * f64::sqrt(var) / s.ln()).exp();
            close(p.lower, s.powf(1.0 / k), "lower");
            close(p.upper, s.powf(k), "upper");
            assert!(p.lower < p.survival && p.survival < p.upper);
        }
        assert_eq!(km.median(), Some(5.0));
        // ∫₀⁶ S = 2·1 + 1·0.8 + 2·0.6 + 1·0.3
        close(km.rmst(6.0), 2.0 + 0.8 + 1.2 + 0.3, "rmst(6)");
        close(km.rmst(8.0), 2.0 + 0.8 + 1.2 + 0.9, "rmst(8)");
        close(
            km.rmst(10.0),
            2.0 + 0.8 + 1.2 + 1.5,
            "rmst beyond the last time",
        );
        assert_eq!(km.subjects(), 5);
    }

    #[test]
    fn survival_at_is_right_continuous() {
        let km = KaplanMeier::fit(&obs(&[(2.0, true), (4.0, true), (6.0, false)]));
        let cases = [
            (-1.0, 1.0),
            (0.0, 1.0),
            (1.999, 1.0),
            (2.0, 2.0 / 3.0),
            (3.0, 2.0 / 3.0),
            (4.0, 1.0 / 3.0),
            (100.0, 1.0 / 3.0),
        ];
        for (t, s) in cases {
            close(km.survival_at(t), s, &format!("S({t})"));
        }
        assert!(km.survival_at(f64::NAN).is_nan());
    }

    #[test]
    fn at_risk_counts_subjects_still_observed() {
        let km = KaplanMeier::fit(&obs(&[
            (2.0, true),
            (4.0, false),
            (4.0, true),
            (6.0, false),
        ]));
        let times = [-5.0, 0.0, 2.0, 2.5, 4.0, 6.0, 6.5];
        assert_eq!(
            km.at_risk_table(&times),
            vec![
                (-5.0, 4.0),
                (0.0, 4.0),
                (2.0, 4.0),
                (2.5, 3.0),
                (4.0, 3.0),
                (6.0, 1.0),
                (6.5, 0.0)
            ]
        );
        assert_eq!(km.at_risk_table(&[f64::NAN])[0].1, 0.0);
    }

    #[test]
    fn empty_input_is_an_empty_curve() {
        let km = KaplanMeier::fit(&[]);
        assert!(km.points.is_empty());
        assert_eq!(km.survival_at(10.0), 1.0);
        assert_eq!(km.median(), None);
        assert_eq!(km.rmst(30.0), 30.0);
        assert_eq!(km.at_risk_table(&[0.0]), vec![(0.0, 0.0)]);
    }

    #[test]
    fn all_censored_stays_at_one_with_a_degenerate_band() {
        let km = KaplanMeier::fit(&obs(&[(1.0, false), (5.0, false), (5.0, false)]));
        for p in &km.points {
            assert_eq!((p.survival, p.lower, p.upper), (1.0, 1.0, 1.0));
        }
        assert_eq!(km.median(), None);
        assert_eq!(km.rmst(7.5), 7.5);
    }

    #[test]
    fn everyone_churning_ends_at_zero_with_a_zero_band() {
        let km = KaplanMeier::fit(&obs(&[(1.0, true), (2.0, true), (2.0, true)]));
        let last = km.points.last().expect("two times");
        assert_eq!((last.survival, last.lower, last.upper), (0.0, 0.0, 0.0));
        assert_eq!(km.median(), Some(2.0));
        close(km.rmst(10.0), 1.0 + 2.0 / 3.0, "rmst");
    }

    #[test]
    fn churn_at_time_zero_counts_before_any_time_passes() {
        let km = KaplanMeier::fit(&obs(&[
            (0.0, true),
            (0.0, false),
            (3.0, true),
            (4.0, false),
        ]));
        assert_eq!((km.points[0].time, km.points[0].at_risk), (0.0, 4.0));
        close(km.survival_at(0.0), 0.75, "S(0)");
        // The area starts at S(0+) = 0.75, not 1: the churn at 0 took no time.
        close(km.rmst(3.0), 2.25, "rmst");
    }

    #[test]
    fn median_reached_exactly_at_one_half() {
        // 3/4 · 2/3 is 1/2 on paper; the median is the time it happens, not the next one.
        let km = KaplanMeier::fit(&obs(&[
            (1.0, true),
            (2.0, true),
            (3.0, false),
            (4.0, false),
        ]));
        assert_eq!(km.median(), Some(2.0));
    }

    #[test]
    fn invalid_times_are_reported_with_their_position() {
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = KaplanMeier::try_fit(&obs(&[(1.0, true), (bad, false)])).unwrap_err();
            assert!(matches!(err, SurvivalError::InvalidTime { index: 1, .. }));
        }
        assert_eq!(
            SurvivalError::InvalidTime {
                index: 1,
                time: -1.0
            }
            .to_string(),
            "observation 1 has time -1, expected a finite number of days >= 0"
        );
    }

    #[test]
    #[should_panic(expected = "observation 0 has time -2")]
    fn fit_panics_on_invalid_time() {
        KaplanMeier::fit(&obs(&[(-2.0, true)]));
    }

    /// A subject of weight 2 is two subjects: same curve, band and counts.
    #[test]
    fn a_weight_of_two_is_two_subjects() {
        let pairs = [
            (1.0, true),
            (2.0, false),
            (3.0, true),
            (3.0, true),
            (5.0, false),
        ];
        let doubled: Vec<Observation> = obs(&pairs).into_iter().flat_map(|o| [o, o]).collect();
        let weighted: Vec<Observation> = obs(&pairs).into_iter().map(|o| o.weighted(2.0)).collect();
        let (a, b) = (KaplanMeier::fit(&doubled), KaplanMeier::fit(&weighted));
        assert_eq!(a.points, b.points);
        assert_eq!(a.rmst(4.0), b.rmst(4.0));
    }

    #[test]
    fn invalid_weights_are_reported_with_their_position() {
        for weight in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let data = [
                Observation::churned(1.0),
                Observation::censored(2.0).weighted(weight),
            ];
            let error = KaplanMeier::try_fit(&data).expect_err("invalid weight");
            assert_eq!(
                error.to_string(),
                format!("observation 1 has weight {weight}, expected a finite number > 0")
            );
        }
    }
}
