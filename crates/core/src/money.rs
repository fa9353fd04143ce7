use std::fmt;

use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code: three uppercase ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

/// An amount as an integer count of minor units (cents) of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not a currency code (expected three letters such as USD)")]
    Currency(String),
    #[error("{0:?} is not an amount (expected a decimal such as 499.00)")]
    Amount(String),
    #[error("{0:?} has more decimals than {1} allows")]
    Precision(String, Currency),
    #[error("{0:?} is larger than any amount tenure accepts (at most {max} minor units)", max = Money::MAX_MINOR)]
    TooLarge(String),
}

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    pub fn parse(raw: &str) -> Result<Self, MoneyError> {
        let up = raw.trim().to_ascii_uppercase();
        match up.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => {
                Ok(Currency([*a, *b, *c]))
            }
            _ => Err(MoneyError::Currency(raw.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }

    /// Digits after the decimal point in this currency's minor unit (ISO 4217).
    pub fn exponent(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(raw: String) -> Result<Self, MoneyError> {
        Self::parse(&raw)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Money {
    /// The largest amount an input may carry, in minor units either way (100 billion in a
    /// currency with cents). Sums over a hundred thousand accounts of such amounts still fit in
    /// an `i64`, so one absurd row cannot overflow, or saturate, every total it joins.
    pub const MAX_MINOR: i64 = 10_000_000_000_000;

    pub fn new(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// Whether the amount is within [`Money::MAX_MINOR`] either way.
    pub fn is_plausible(&self) -> bool {
        self.minor.unsigned_abs() <= Self::MAX_MINOR.unsigned_abs()
    }

    /// Parses a decimal in major units (`499.00`, `-12.5`, `1000`) exactly, without floats.
    pub fn parse_major(raw: &str, currency: Currency) -> Result<Self, MoneyError> {
        let text = raw.trim();
        let bad = || MoneyError::Amount(raw.to_owned());
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, frac) = match digits.split_once('.') {
            Some((w, f)) => (w, f),
            None => (digits, ""),
        };
        if whole.is_empty() && frac.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || (digits.contains('.') && frac.is_empty() && whole.is_empty())
        {
            return Err(bad());
        }
        let exp = currency.exponent() as usize;
        let frac_trimmed = frac.trim_end_matches('0');
        if frac_trimmed.len() > exp {
            return Err(MoneyError::Precision(raw.to_owned(), currency));
        }
        let mut minor: i64 = 0;
        for b in whole.bytes().chain(
            frac_trimmed
                .bytes()
                .chain(std::iter::repeat(b'0'))
                .take(exp),
        ) {
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(b - b'0')))
                .ok_or_else(bad)?;
        }
        let money = Self::new(if negative { -minor } else { minor }, currency);
        if !money.is_plausible() {
            return Err(MoneyError::TooLarge(raw.to_owned()));
        }
        Ok(money)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let exp = self.currency.exponent();
        let scale = 10i64.pow(exp);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            write!(f, "{sign}{abs} {}", self.currency)
        } else {
            let scale = scale as u64;
            write!(
                f,
                "{sign}{}.{:0width$} {}",
                abs / scale,
                abs % scale,
                self.currency,
                width = exp as usize
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(raw: &str) -> Result<i64, MoneyError> {
        Money::parse_major(raw, Currency::USD).map(|m| m.minor)
    }

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(usd("499.00"), Ok(49_900));
        assert_eq!(usd("499"), Ok(49_900));
        assert_eq!(usd("0.1"), Ok(10));
        assert_eq!(usd("-12.5"), Ok(-1_250));
        assert_eq!(usd(" 7.250 "), Ok(725));
        assert_eq!(usd("0"), Ok(0));
        let yen = Currency::parse("jpy").unwrap();
        assert_eq!(Money::parse_major("1200", yen).unwrap().minor, 1_200);
    }

    #[test]
    fn rejects_what_is_not_an_amount() {
        for bad in ["", "abc", "1,000.00", "1.2.3", "$5", ".", "-", "1e3"] {
            assert!(usd(bad).is_err(), "{bad:?} accepted");
        }
        assert!(matches!(usd("1.234"), Err(MoneyError::Precision(..))));
        assert!(usd("99999999999999999999").is_err());
    }

    /// Issue 12's class: one absurd amount must not overflow (or saturate) every total it
    /// joins, so an amount is at most 100 billion in a currency with cents.
    #[test]
    fn amounts_are_bounded() {
        assert_eq!(usd("100000000000.00"), Ok(Money::MAX_MINOR));
        assert_eq!(usd("-100000000000"), Ok(-Money::MAX_MINOR));
        assert!(matches!(
            usd("100000000000.01"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            usd("90000000000000000"),
            Err(MoneyError::TooLarge(_))
        ));
        // Sums over 100,000 accounts at the bound fit an i64.
        assert!(Money::MAX_MINOR.checked_mul(100_000).is_some());
    }

    #[test]
    fn currency_codes() {
        assert_eq!(Currency::parse("eur").unwrap().as_str(), "EUR");
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("E1R").is_err());
    }

    #[test]
    fn displays_major_units() {
        assert_eq!(Money::new(-1_250, Currency::USD).to_string(), "-12.50 USD");
    }
}
