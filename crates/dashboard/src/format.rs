//! Figures as a person reads them: money with its currency, ratios as percentages, multiples
//! with `×`, instants as days (UTC), and field names as words.

use serde_json::Value;
use tenure_core::Currency;
use tenure_reports::Unit;

/// `value` of `unit` as the dashboard shows it: as the CLI's tables do, and a multiple with `×`.
pub fn cell(value: &Value, unit: Unit, currency: Currency) -> String {
    let text = tenure_reports::format(value, unit, currency);
    match unit {
        Unit::Multiple if value.is_number() => format!("{text}×"),
        // Whole days (a contract's days left, a renewal window) read as counted.
        Unit::Days if value.as_f64().is_some_and(|d| d.fract() == 0.0) => {
            tenure_reports::integer(value.as_f64().unwrap_or(0.0) as i64)
        }
        _ => text,
    }
}

/// A report's field name as a column heading: `net_new_mrr` → `Net new MRR`.
pub fn label(key: &str) -> String {
    let words: Vec<String> = key
        .split('_')
        .enumerate()
        .map(|(i, word)| match word {
            "mrr" | "arr" | "nrr" | "grr" | "roas" | "cac" | "ltv" | "arpa" | "rmst" | "csm"
            | "auc" | "sd" | "id" | "utm" => word.to_uppercase(),
            "95" => "95%".to_owned(),
            "to" if i > 0 => "to".to_owned(),
            _ if i == 0 => {
                let mut chars = word.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().chain(chars).collect()
                })
            }
            _ => word.to_owned(),
        })
        .collect();
    words.join(" ")
}

/// A number as a figure in a chart's axis or tooltip, in `unit`.
pub fn number(value: f64, unit: Unit, currency: Currency) -> String {
    cell(&serde_json::json!(value), unit, currency)
}

/// A short axis label: 1,250,000 → `1.3M`, money with its symbol.
pub fn axis(value: f64, unit: Unit, currency: Currency) -> String {
    match unit {
        Unit::Money => {
            let symbol = tenure_reports::money(0.0, currency)
                .trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == ',')
                .to_owned();
            let symbol = if symbol.is_empty() {
                format!("{} ", currency.as_str())
            } else {
                symbol
            };
            let sign = if value < 0.0 { "-" } else { "" };
            format!("{sign}{symbol}{}", short(value.abs()))
        }
        Unit::Fraction => format!("{:.0}%", value * 100.0),
        Unit::Multiple => format!("{}×", short(value)),
        _ => short(value),
    }
}

fn short(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e9 {
        (value / 1e9, "B")
    } else if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.fract().abs() < 1e-9 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 || suffix.is_empty() && scaled.abs() >= 1.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn figures_read_as_people_write_them() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(cell(&json!(14700), Unit::Money, usd), "$14,700.00");
        assert_eq!(cell(&json!(0.467121), Unit::Fraction, usd), "46.7%");
        assert_eq!(cell(&json!(2.4), Unit::Multiple, usd), "2.40×");
        assert_eq!(cell(&json!(null), Unit::Multiple, usd), "");
        assert_eq!(
            cell(&json!("2026-12-05T00:00:00.000Z"), Unit::Time, usd),
            "2026-12-05"
        );
        assert_eq!(cell(&json!(30), Unit::Days, usd), "30");
        assert_eq!(cell(&json!(8.66), Unit::Days, usd), "8.7");
        assert_eq!(label("net_new_mrr"), "Net new MRR");
        assert_eq!(label("odds_ratio_low_95"), "Odds ratio low 95%");
        assert_eq!(label("ltv_to_cac"), "LTV to CAC");
        assert_eq!(axis(1_250_000.0, Unit::Money, usd), "$1.25M");
        assert_eq!(axis(-2500.0, Unit::Money, usd), "-$2.5k");
        assert_eq!(axis(0.25, Unit::Fraction, usd), "25%");
        assert_eq!(axis(40.0, Unit::Count, usd), "40");
    }
}
