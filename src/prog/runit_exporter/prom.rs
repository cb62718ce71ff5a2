//! The Prometheus text exposition format 0.0.4, emitted (docs/exporter.md §3).
//!
//! Only what the format requires of a producer: one `# HELP` and one `# TYPE` line per
//! family, all samples of a family together, label values escaped (`\` → `\\`, `"` → `\"`,
//! newline → `\n`), HELP text escaped (`\` → `\\`, newline → `\n`). Proven against
//! Prometheus's own parsers (`promtool check metrics`, a real scrape) in
//! tests/it/exporter.rs; a library for it would bring a registry, atomics and a
//! protobuf-shaped model to write a dozen lines per scrape.

use crate::facts::{Facts, Service};
use crate::info::End;
use crate::tai::Tai64n;

/// A family's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Gauge,
    Counter,
}

/// A sample value: an integer, or a time in microseconds shown as seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Int(u64),
    Micros(u64),
}

/// One metric family over the services' facts.
pub struct Family {
    pub name: &'static str,
    pub typ: Type,
    pub help: &'static str,
    /// The value for one service or log service; `None`: no sample (the fact is unknown).
    pub value: fn(&Facts, Tai64n) -> Option<Value>,
}

fn flag(b: bool) -> Option<Value> {
    Some(Value::Int(u64::from(b)))
}

/// The families, in output order (docs/exporter.md §3 lists them with these texts).
pub const FAMILIES: &[Family] = &[
    Family {
        name: "runit_service_supervised",
        typ: Type::Gauge,
        help: "1 if a runsv holds supervise/ok (a supervisor is alive), else 0.",
        value: |f, _| flag(f.supervised()),
    },
    Family {
        name: "runit_service_up",
        typ: Type::Gauge,
        help: "1 if the service is running (state run under a live runsv), else 0.",
        value: |f, _| flag(f.up()),
    },
    Family {
        name: "runit_service_state",
        typ: Type::Gauge,
        help: "State of the status record: 0 down, 1 run, 2 finish.",
        value: |f, _| f.state().map(|s| Value::Int(s as u64)),
    },
    Family {
        name: "runit_service_want_up",
        typ: Type::Gauge,
        help: "1 if the supervisor wants the service up, 0 if down (or exiting).",
        value: |f, _| f.want_up().and_then(flag),
    },
    Family {
        name: "runit_service_normally_up",
        typ: Type::Gauge,
        help: "1 if the service directory has no down file (started with its runsv), else 0.",
        value: |f, _| f.normally_up.ok().and_then(flag),
    },
    Family {
        name: "runit_service_paused",
        typ: Type::Gauge,
        help: "1 if the service is paused (sv pause: SIGSTOP), else 0.",
        value: |f, _| f.paused().and_then(flag),
    },
    Family {
        name: "runit_service_ready",
        typ: Type::Gauge,
        help: "1 if running and ready (always, without a readiness protocol), else 0.",
        value: |f, _| flag(f.ready()),
    },
    Family {
        name: "runit_service_state_age_seconds",
        typ: Type::Gauge,
        help: "Seconds since the last change of state (the status record's timestamp).",
        value: |f, now| f.age_us(now).map(Value::Micros),
    },
    Family {
        name: "runit_service_state_change_timestamp_seconds",
        typ: Type::Gauge,
        help: "Unix time of the last change of state (the status record's timestamp).",
        value: |f, _| {
            f.status().map(|s| {
                let secs = u64::try_from(s.when.unix_secs()).unwrap_or(0);
                Value::Micros(
                    secs.saturating_mul(1_000_000)
                        .saturating_add(u64::from(s.when.nanos / 1000)),
                )
            })
        },
    },
    Family {
        name: "runit_service_starts_total",
        typ: Type::Counter,
        help: "Starts of ./run since its runsv started (restarts: the increase).",
        value: |f, _| f.starts().map(Value::Int),
    },
    Family {
        name: "runit_service_last_exit_code",
        typ: Type::Gauge,
        help: "Exit code of the previous ./run, if it exited (not killed by a signal).",
        value: |f, _| match f.last() {
            Some(End::Exit(c)) => Some(Value::Int(u64::from(c))),
            _ => None,
        },
    },
    Family {
        name: "runit_service_last_signal",
        typ: Type::Gauge,
        help: "Signal that killed the previous ./run, if a signal did.",
        value: |f, _| match f.last() {
            Some(End::Signal(s)) => Some(Value::Int(u64::from(s))),
            _ => None,
        },
    },
    Family {
        name: "runit_service_gave_up",
        typ: Type::Gauge,
        help: "1 if runsv gave up restarting (restart-limit, or ./finish exited 125), else 0.",
        value: |f, _| f.gave_up().map(|g| Value::Int(u64::from(g.is_some()))),
    },
];

/// Escapes a label value (the text format's three escapes).
pub fn escape_label(v: &[u8], out: &mut Vec<u8>) {
    for &b in v {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

/// Escapes HELP text (backslash and newline; a quote stays as it is).
pub fn escape_help(v: &[u8], out: &mut Vec<u8>) {
    for &b in v {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
}

fn put_value(v: Value, out: &mut Vec<u8>) {
    let mut b = [0u8; 20];
    match v {
        Value::Int(n) => out.extend_from_slice(crate::fmt_u64(n, &mut b)),
        Value::Micros(us) => {
            out.extend_from_slice(crate::fmt_u64(us / 1_000_000, &mut b));
            out.push(b'.');
            let frac = us % 1_000_000;
            let digits = crate::fmt_u64(frac, &mut b);
            out.extend(std::iter::repeat_n(b'0', 6 - digits.len()));
            out.extend_from_slice(digits);
        }
    }
}

fn header(name: &str, typ: Type, help: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"# HELP ");
    out.extend_from_slice(name.as_bytes());
    out.push(b' ');
    escape_help(help.as_bytes(), out);
    out.extend_from_slice(b"\n# TYPE ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(match typ {
        Type::Gauge => b" gauge\n",
        Type::Counter => b" counter\n",
    });
}

/// The whole exposition for `services` at `now`, appended to `out`.
pub fn encode(services: &[Service], now: Tai64n, out: &mut Vec<u8>) {
    // Label text of each service, built once for all families.
    let labels: Vec<Vec<u8>> = services
        .iter()
        .map(|s| {
            let mut text = Vec::with_capacity(s.name.len());
            crate::facts::name_text(&s.name, &mut text);
            let mut l = Vec::with_capacity(text.len() + 8);
            escape_label(&text, &mut l);
            l
        })
        .collect();
    for fam in FAMILIES {
        header(fam.name, fam.typ, fam.help, out);
        for (s, label) in services.iter().zip(&labels) {
            let kinds = [("main", Some(&s.main)), ("log", s.log.as_ref())];
            for (kind, facts) in kinds {
                let Some(f) = facts else { continue };
                let Some(v) = (fam.value)(f, now) else {
                    continue;
                };
                out.extend_from_slice(fam.name.as_bytes());
                out.extend_from_slice(b"{service=\"");
                out.extend_from_slice(label);
                out.extend_from_slice(b"\",kind=\"");
                out.extend_from_slice(kind.as_bytes());
                out.extend_from_slice(b"\"} ");
                put_value(v, out);
                out.push(b'\n');
            }
        }
    }
    header(
        "runit_exporter_services",
        Type::Gauge,
        "Service directories found in the scanned directory.",
        out,
    );
    out.extend_from_slice(b"runit_exporter_services ");
    put_value(Value::Int(services.len() as u64), out);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        let mut o = Vec::new();
        escape_label(b"a\\b\"c\nd\te", &mut o);
        assert_eq!(o, b"a\\\\b\\\"c\\nd\te");
        o.clear();
        escape_help(b"a\\b\"c\nd", &mut o);
        assert_eq!(o, b"a\\\\b\"c\\nd");
    }

    #[test]
    fn seconds_keep_six_decimals() {
        let mut o = Vec::new();
        put_value(Value::Micros(3_000_250), &mut o);
        o.push(b' ');
        put_value(Value::Micros(7), &mut o);
        o.push(b' ');
        put_value(Value::Int(0), &mut o);
        assert_eq!(o, b"3.000250 0.000007 0");
    }

    #[test]
    fn names_follow_prometheus_conventions() {
        for f in FAMILIES {
            assert!(f.name.starts_with("runit_service_"), "{}", f.name);
            assert_eq!(
                f.typ == Type::Counter,
                f.name.ends_with("_total"),
                "{}",
                f.name
            );
            assert!(f.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert!(f.help.ends_with('.'), "{}", f.name);
        }
    }
}
