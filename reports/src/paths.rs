//! Names that become path parts: dataset, codec and metric names turned into file and
//! folder names (`figures/<dataset>.svg`, `<out>/<dataset>/<codec>.json`,
//! `ground_truth/<dataset>.json`).
//!
//! Every place that turns such a name into a path part goes through this module:
//!
//! - [`check_path_part`] **refuses** a name that is not a safe, plain path component as it
//!   is (for names written in a config: the config is rejected with a clear error);
//! - [`path_part`] **sanitises** a name read from a results table or a received file, so
//!   a hostile or unlucky name (`/tmp/evil`, `../../x`, `a/b`) can never make a path leave
//!   the output folder. A safe name maps to itself; any other is percent-encoded.
//!
//! A name is safe when it is not empty, not `.` or `..`, and has no `/`, `\`, `%`, NUL or
//! other control character. `%` is refused because it is the escape character: every
//! encoded name contains a `%` and no safe name does, and the encoding escapes `%` itself,
//! so two different names never share a path part (the mapping is one-to-one).

use std::borrow::Cow;

/// Why a name cannot be used as a path part as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathPartError {
    /// The name is empty.
    #[error("the name is empty")]
    Empty,
    /// The name is `.` or `..`.
    #[error("`{0}` cannot be a file or folder name (it means this or the parent folder)")]
    Dots(String),
    /// The name has a path separator (an absolute path included).
    #[error("`{name}` has a path separator `{ch}`; names become file names and cannot contain `/` or `\\`")]
    Separator {
        /// The name.
        name: String,
        /// The separator.
        ch: char,
    },
    /// The name has a NUL or other control character.
    #[error("{name:?} has a control character (U+{code:04X}) at byte {index}")]
    Control {
        /// The name.
        name: String,
        /// The character's code point.
        code: u32,
        /// Its byte offset.
        index: usize,
    },
    /// The name has `%`, the escape character of sanitised names.
    #[error("`{0}` has `%`, which is reserved (it escapes unsafe characters in file names)")]
    Percent(String),
}

fn is_escaped(c: char) -> bool {
    matches!(c, '/' | '\\' | '%') || c.is_control()
}

/// Checks that `name` can be used as one path component exactly as it is; returns it.
pub fn check_path_part(name: &str) -> Result<&str, PathPartError> {
    if name.is_empty() {
        return Err(PathPartError::Empty);
    }
    if name == "." || name == ".." {
        return Err(PathPartError::Dots(name.to_string()));
    }
    for (index, c) in name.char_indices() {
        match c {
            '/' | '\\' => {
                return Err(PathPartError::Separator {
                    name: name.to_string(),
                    ch: c,
                });
            }
            '%' => return Err(PathPartError::Percent(name.to_string())),
            c if c.is_control() => {
                return Err(PathPartError::Control {
                    name: name.to_string(),
                    code: c as u32,
                    index,
                });
            }
            _ => {}
        }
    }
    Ok(name)
}

/// The path part for `name`: the name itself when [`check_path_part`] accepts it, else
/// its percent-encoding (`/tmp/evil` → `%2Ftmp%2Fevil`, `..` → `%2E%2E`, the empty name →
/// `%`), which is a single, plain component. One-to-one: different names never give the
/// same part.
pub fn path_part(name: &str) -> Cow<'_, str> {
    if check_path_part(name).is_ok() {
        return Cow::Borrowed(name);
    }
    if name.is_empty() {
        return Cow::Borrowed("%");
    }
    if name == "." || name == ".." {
        return Cow::Owned("%2E".repeat(name.len()));
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if is_escaped(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Path parts of the names in `names` that had to be sanitised, as warnings
/// (`what` says which kind of name: "dataset", "codec", "metric").
pub fn sanitised_warnings<'a>(what: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if let Cow::Owned(part) = path_part(name) {
            let w = format!("{what} name {name:?} is not a safe file name; its files are named `{part}`");
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_are_kept() {
        for n in [
            "kodak",
            "photos 2",
            "psnr-rgb",
            "ms-ssim-rgb",
            "jpeg_q",
            ".hidden",
            "x..y",
            "ünïcode",
        ] {
            assert_eq!(check_path_part(n), Ok(n));
            assert!(matches!(path_part(n), Cow::Borrowed(p) if p == n));
        }
    }

    #[test]
    fn unsafe_names_are_refused_or_encoded() {
        let cases = [
            ("/tmp/evil", "%2Ftmp%2Fevil"),
            ("../../x", "..%2F..%2Fx"),
            ("..", "%2E%2E"),
            (".", "%2E"),
            ("", "%"),
            ("a/b", "a%2Fb"),
            ("a\\b", "a%5Cb"),
            ("a\0b", "a%00b"),
            ("a\nb", "a%0Ab"),
            ("50%", "50%25"),
            ("a%2Fb", "a%252Fb"),
            ("\u{85}x", "%C2%85x"),
        ];
        for (name, want) in cases {
            assert!(check_path_part(name).is_err(), "{name:?} accepted");
            let part = path_part(name);
            assert_eq!(part, want, "{name:?}");
            // One plain component: no separator, not `.`/`..`, not empty.
            let p = std::path::Path::new(part.as_ref());
            assert_eq!(p.components().count(), 1, "{part}");
            assert!(matches!(p.components().next(), Some(std::path::Component::Normal(_))), "{part}");
        }
        let e = check_path_part("a/b").unwrap_err().to_string();
        assert!(e.contains("path separator `/`"), "{e}");
        assert!(check_path_part("..").unwrap_err().to_string().contains("parent folder"));
        assert!(check_path_part("a\0").unwrap_err().to_string().contains("U+0000"));
    }

    #[test]
    fn mapping_is_one_to_one() {
        let names = [
            "a/b", "a%2Fb", "a_b", "a%252Fb", "%", "", ".", "%2E", "..", "%2E%2E", "a\\b", "a%5Cb",
        ];
        let parts: std::collections::BTreeSet<String> = names.iter().map(|n| path_part(n).into_owned()).collect();
        assert_eq!(parts.len(), names.len(), "{parts:?}");
    }

    #[test]
    fn warnings_name_the_sanitised_ones() {
        let w = sanitised_warnings("dataset", ["ok", "/tmp/evil", "/tmp/evil"]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("\"/tmp/evil\"") && w[0].contains("`%2Ftmp%2Fevil`"), "{w:?}");
    }
}
