//! Template filters: how times, sizes, percentages and names read on a page.
//!
//! Values reach the templates serialized, so times arrive as RFC 3339 strings; the filters
//! parse them back and answer the original text when they cannot.

use jiff::Timestamp;
use minijinja::Environment;

/// Adds the filters to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("when", |text: &str| when(text));
    env.add_filter("day", |text: &str| day(text));
    env.add_filter("ago", |text: &str| ago(text, Timestamp::now()));
    env.add_filter("label", |text: &str| label(text));
    env.add_filter("filesize", filesize);
    env.add_filter("pct", |value: f64| pct(value));
    env.add_filter("width", |value: f64| width_class(value));
}

/// `2026-03-04T14:02:11Z` as `2026-03-04 14:02 UTC`.
pub fn when(text: &str) -> String {
    match text.parse::<Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => text.to_owned(),
    }
}

/// `2026-03-04T14:02:11Z` as `2026-03-04` (a date stays as it is).
pub fn day(text: &str) -> String {
    match text.parse::<Timestamp>() {
        Ok(t) => t.strftime("%Y-%m-%d").to_string(),
        Err(_) => text.to_owned(),
    }
}

/// How long ago `text` was at `now`, e.g. `5 min ago`, `in 3 days`.
pub fn ago(text: &str, now: Timestamp) -> String {
    let Ok(then) = text.parse::<Timestamp>() else {
        return text.to_owned();
    };
    let seconds = now.as_second() - then.as_second();
    let (future, seconds) = (seconds < 0, seconds.unsigned_abs());
    let amount = match seconds {
        0..60 => return "just now".to_owned(),
        60..3_600 => format!("{} min", seconds / 60),
        3_600..86_400 => format!("{} h", seconds / 3_600),
        86_400..172_800 => "1 day".to_owned(),
        _ => format!("{} days", seconds / 86_400),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// `missing_evidence` as `Missing evidence`.
pub fn label(text: &str) -> String {
    let spaced = text.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A byte count as `12.3 KB`.
#[allow(clippy::cast_precision_loss, reason = "a size shown to one decimal")]
pub fn filesize(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// A percentage with at most one decimal, e.g. `87.5%`, `100%`.
pub fn pct(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if (rounded - rounded.trunc()).abs() < f64::EPSILON {
        format!("{rounded:.0}%")
    } else {
        format!("{rounded:.1}%")
    }
}

/// The width class of a bar filled to `value` percent (`w-0` to `w-100`).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 0..=100 first"
)]
pub fn width_class(value: f64) -> String {
    let percent = if value.is_nan() {
        0
    } else {
        value.clamp(0.0, 100.0).round() as u8
    };
    format!("w-{percent}")
}

/// A span of seconds as `3 d 4 h`, `2 h 5 min`, `40 min`.
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let days = seconds / 86_400;
    let hours = (seconds % 86_400) / 3_600;
    let minutes = (seconds % 3_600) / 60;
    match (days, hours, minutes) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_dates_and_ages() {
        assert_eq!(when("2026-03-04T14:02:11Z"), "2026-03-04 14:02 UTC");
        assert_eq!(day("2026-03-04T14:02:11Z"), "2026-03-04");
        assert_eq!(day("2026-03-04"), "2026-03-04");
        assert_eq!(when("not a time"), "not a time");
        let now: Timestamp = "2026-03-04T14:02:11Z".parse().unwrap();
        assert_eq!(ago("2026-03-04T14:02:00Z", now), "just now");
        assert_eq!(ago("2026-03-04T13:02:11Z", now), "1 h ago");
        assert_eq!(ago("2026-03-01T14:02:11Z", now), "3 days ago");
        assert_eq!(ago("2026-03-05T14:02:11Z", now), "in 1 day");
    }

    #[test]
    fn names_sizes_and_percentages_read_well() {
        assert_eq!(label("missing_evidence"), "Missing evidence");
        assert_eq!(label(""), "");
        assert_eq!(filesize(999), "999 B");
        assert_eq!(filesize(12_345), "12.3 KB");
        assert_eq!(filesize(5_000_000), "5.0 MB");
        assert_eq!(pct(87.54), "87.5%");
        assert_eq!(pct(100.0), "100%");
        assert_eq!(width_class(57.4), "w-57");
        assert_eq!(width_class(140.0), "w-100");
        assert_eq!(width_class(f64::NAN), "w-0");
        assert_eq!(duration(90), "1 min");
        assert_eq!(duration(3 * 3600 + 300), "3 h 5 min");
        assert_eq!(duration(2 * 86_400 + 7200), "2 d 2 h");
    }
}
