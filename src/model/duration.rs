//! Durations as people write them: `500ms`, `30s`, `5m`, `1h30m`.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn secs(s: u64) -> Duration {
        Duration(std::time::Duration::from_secs(s))
    }

    pub fn parse(text: &str) -> Result<Duration, String> {
        let bad = || {
            format!(
                "invalid duration `{text}`: expected a number with a unit, like `500ms`, `30s`, `5m` or `1h30m`"
            )
        };
        let s = text.trim();
        if s.is_empty() {
            return Err(bad());
        }
        let mut total: u128 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(bad());
            }
            let n: u128 = rest[..digits].parse().map_err(|_| bad())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let millis = match &rest[..unit_len] {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "" => {
                    return Err(format!(
                        "duration `{text}` has no unit: write `{text}s` for seconds"
                    ));
                }
                _ => return Err(bad()),
            };
            rest = &rest[unit_len..];
            total = total.saturating_add(n.saturating_mul(millis));
        }
        // A week bounds every wait zkrun makes; anything longer is a typo.
        if total > 7 * 24 * 3_600_000 {
            return Err(format!("duration `{text}` is longer than a week"));
        }
        Ok(Duration(std::time::Duration::from_millis(total as u64)))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        let (h, m, s, rem) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        if rem > 0 {
            write!(f, "{rem}ms")?;
        }
        Ok(())
    }
}

/// Reads a duration in the visitor, where serde_yaml still knows the
/// scalar's place; `zero`, when set, refuses `0s` with that message.
struct DurationVisitor {
    zero: Option<&'static str>,
}

impl serde::de::Visitor<'_> for DurationVisitor {
    type Value = Duration;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a duration like `30s` or `5m`")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
        let d = Duration::parse(v).map_err(E::custom)?;
        match self.zero {
            Some(why) if d.0.is_zero() => Err(E::custom(why)),
            _ => Ok(d),
        }
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "duration `{v}` has no unit: write `{v}s` for seconds"
        )))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "invalid duration `{v}`: expected a positive duration like `30s`"
        )))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor { zero: None })
    }
}

/// A duration that must not be zero; `why` says what zero would mean.
pub fn nonzero<'de, D: Deserializer<'de>>(d: D, why: &'static str) -> Result<Duration, D::Error> {
    d.deserialize_any(DurationVisitor { zero: Some(why) })
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([0-9]+(ms|s|m|h))+$",
            "description": "A duration with units, e.g. `500ms`, `30s`, `5m`, `1h30m`."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(Duration::parse("30s").unwrap(), Duration::secs(30));
        assert_eq!(Duration::parse("1h30m").unwrap(), Duration::secs(5400));
        assert_eq!(Duration::parse("250ms").unwrap().0.as_millis(), 250);
        assert_eq!(Duration::parse("1h30m").unwrap().to_string(), "1h30m");
    }

    #[test]
    fn rejects_nonsense_with_a_hint() {
        assert!(
            Duration::parse("banana")
                .unwrap_err()
                .contains("like `500ms`")
        );
        assert!(Duration::parse("60").unwrap_err().contains("write `60s`"));
        assert!(Duration::parse("5d").is_err());
        assert!(Duration::parse("200h").unwrap_err().contains("week"));
    }
}
