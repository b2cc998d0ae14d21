//! `Range: bytes=…` (RFC 9110 §14) against a file of known size. Pure; `files.rs` serves the
//! answer.

/// What to send for a Range header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranged {
    /// No usable Range: 200 with the whole file. Malformed headers, other units and several
    /// ranges all land here (a 200 is always a correct answer to a Range request).
    Whole,
    /// 206 with the inclusive byte span `start..=end`.
    Part { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

enum Spec {
    /// `a-b` or `a-` (open end).
    From(u64, Option<u64>),
    /// `-n`: the last n bytes.
    Suffix(u64),
}

fn parse_spec(s: &str) -> Option<Spec> {
    let (a, b) = s.trim().split_once('-')?;
    let num = |t: &str| -> Option<u64> {
        (!t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    match (a.trim(), b.trim()) {
        ("", n) => Some(Spec::Suffix(num(n)?)),
        (a, "") => Some(Spec::From(num(a)?, None)),
        (a, b) => {
            let (a, b) = (num(a)?, num(b)?);
            (a <= b).then_some(Spec::From(a, Some(b)))
        }
    }
}

pub fn decide(header: &str, size: u64) -> Ranged {
    let Some((unit, set)) = header.trim().split_once('=') else {
        return Ranged::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Ranged::Whole;
    }
    let specs: Option<Vec<Spec>> = set.split(',').map(parse_spec).collect();
    let Some(specs) = specs.filter(|s| !s.is_empty()) else {
        return Ranged::Whole;
    };
    let satisfiable: Vec<(u64, u64)> = specs
        .iter()
        .filter_map(|s| match *s {
            Spec::From(a, _) if a >= size => None,
            Spec::From(a, b) => Some((a, b.map_or(size - 1, |b| b.min(size - 1)))),
            Spec::Suffix(0) => None,
            Spec::Suffix(_) if size == 0 => None,
            Spec::Suffix(n) => Some((size.saturating_sub(n), size - 1)),
        })
        .collect();
    match satisfiable.as_slice() {
        [] => Ranged::Unsatisfiable,
        [(start, end)] if specs.len() == 1 => Ranged::Part {
            start: *start,
            end: *end,
        },
        _ => Ranged::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ranged::*;

    #[test]
    fn single_ranges() {
        assert_eq!(decide("bytes=0-", 100), Part { start: 0, end: 99 });
        assert_eq!(decide("bytes=0-1", 100), Part { start: 0, end: 1 });
        assert_eq!(
            decide("bytes=0-1023", 5000),
            Part {
                start: 0,
                end: 1023
            }
        );
        assert_eq!(decide("bytes=99-99", 100), Part { start: 99, end: 99 });
        assert_eq!(decide("bytes=50-1000", 100), Part { start: 50, end: 99 });
        assert_eq!(decide("bytes=-10", 100), Part { start: 90, end: 99 });
        assert_eq!(decide("bytes=-1000", 100), Part { start: 0, end: 99 });
        assert_eq!(decide("Bytes = 5 - 6 ", 100), Part { start: 5, end: 6 });
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(decide("bytes=100-", 100), Unsatisfiable);
        assert_eq!(decide("bytes=100-200", 100), Unsatisfiable);
        assert_eq!(decide("bytes=-0", 100), Unsatisfiable);
        assert_eq!(decide("bytes=0-", 0), Unsatisfiable);
        assert_eq!(decide("bytes=-5", 0), Unsatisfiable);
        assert_eq!(decide("bytes=200-300,400-", 100), Unsatisfiable);
    }

    #[test]
    fn malformed_or_multiple_is_the_whole_file() {
        for h in [
            "",
            "bytes",
            "bytes=",
            "bytes=abc",
            "bytes=5-2",
            "bytes=--5",
            "bytes=1-2-3",
            "items=0-5",
            "bytes=0-9,20-29",
            "bytes=0-50, 100-150",
            "bytes=0-1,",
            "bytes=+1-2",
            "bytes=0x10-",
            "bytes=18446744073709551616-",
        ] {
            assert_eq!(decide(h, 100), Whole, "{h:?}");
        }
    }

    /// Exhaustive over small sizes and every header form: the answer is the exact slice the
    /// header names (checked against an independent reading), a 416, or the whole file.
    #[test]
    fn exhaustive_small_files() {
        for size in 0u64..12 {
            for a in 0u64..15 {
                for b in 0u64..15 {
                    let closed = decide(&format!("bytes={a}-{b}"), size);
                    let expected = if a > b {
                        Whole
                    } else if a >= size {
                        Unsatisfiable
                    } else {
                        Part {
                            start: a,
                            end: b.min(size - 1),
                        }
                    };
                    assert_eq!(closed, expected, "bytes={a}-{b} of {size}");
                }
                let open = decide(&format!("bytes={a}-"), size);
                let expected = if a >= size {
                    Unsatisfiable
                } else {
                    Part {
                        start: a,
                        end: size - 1,
                    }
                };
                assert_eq!(open, expected, "bytes={a}- of {size}");
                let suffix = decide(&format!("bytes=-{a}"), size);
                let expected = if a == 0 || size == 0 {
                    Unsatisfiable
                } else {
                    Part {
                        start: size - a.min(size),
                        end: size - 1,
                    }
                };
                assert_eq!(suffix, expected, "bytes=-{a} of {size}");
            }
            for answer in [decide("bytes=0-0", size), decide("bytes=-1", size)] {
                if let Part { start, end } = answer {
                    assert!(start <= end && end < size);
                }
            }
        }
    }
}
