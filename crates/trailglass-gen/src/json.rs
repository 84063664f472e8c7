//! A minimal streaming JSON writer: keys come out in the order written (CloudTrail's order), no
//! intermediate `serde_json::Value`, and the output is compact.

use std::fmt::Write as _;

pub fn push_escaped(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: Option<&str> = match b {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0..=0x1f => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", b);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Streaming writer over a `String`. `first` tracks, per open container, whether a separator is due.
#[derive(Default)]
pub struct W {
    pub s: String,
    first: Vec<bool>,
}

impl W {
    pub fn new() -> Self {
        W {
            s: String::with_capacity(2048),
            first: Vec::with_capacity(8),
        }
    }

    pub fn clear(&mut self) {
        self.s.clear();
        self.first.clear();
    }

    #[inline]
    fn sep(&mut self) {
        if let Some(f) = self.first.last_mut() {
            if *f {
                *f = false;
            } else {
                self.s.push(',');
            }
        }
    }

    #[inline]
    pub fn key(&mut self, k: &str) {
        self.sep();
        self.s.push('"');
        self.s.push_str(k);
        self.s.push_str("\":");
    }

    /// Open an object (at top level or as an array element).
    pub fn begin(&mut self) {
        self.sep();
        self.s.push('{');
        self.first.push(true);
    }

    pub fn end(&mut self) {
        self.s.push('}');
        self.first.pop();
    }

    /// `"k":{` …
    pub fn obj(&mut self, k: &str) {
        self.key(k);
        self.s.push('{');
        self.first.push(true);
    }

    /// `"k":[` …
    pub fn arr(&mut self, k: &str) {
        self.key(k);
        self.s.push('[');
        self.first.push(true);
    }

    /// Open an array at top level or as an array element (`[` …).
    pub fn open_arr(&mut self) {
        self.sep();
        self.s.push('[');
        self.first.push(true);
    }

    pub fn end_arr(&mut self) {
        self.s.push(']');
        self.first.pop();
    }

    pub fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        push_escaped(&mut self.s, v);
    }

    pub fn opt_str(&mut self, k: &str, v: Option<&str>) {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }

    /// A string value made by a closure writing straight into the buffer (no escaping: ASCII ids).
    pub fn str_with(&mut self, k: &str, f: impl FnOnce(&mut String)) {
        self.key(k);
        self.s.push('"');
        f(&mut self.s);
        self.s.push('"');
    }

    pub fn raw(&mut self, k: &str, v: &str) {
        self.key(k);
        self.s.push_str(v);
    }

    pub fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.s.push_str(if v { "true" } else { "false" });
    }

    pub fn num(&mut self, k: &str, v: i64) {
        self.key(k);
        let _ = write!(self.s, "{v}");
    }

    pub fn null(&mut self, k: &str) {
        self.key(k);
        self.s.push_str("null");
    }

    /// A string element of the current array.
    pub fn item(&mut self, v: &str) {
        self.sep();
        push_escaped(&mut self.s, v);
    }

    /// Raw JSON element of the current array.
    pub fn item_raw(&mut self, v: &str) {
        self.sep();
        self.s.push_str(v);
    }
}

/// Build a small JSON object with a closure; returns its text.
pub fn object(f: impl FnOnce(&mut W)) -> String {
    let mut w = W::new();
    w.begin();
    f(&mut w);
    w.end();
    w.s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_json() {
        let s = object(|w| {
            w.str("a", "x\"y\\z\n\u{1}");
            w.obj("b");
            w.num("n", -3);
            w.bool("t", true);
            w.null("z");
            w.end();
            w.arr("c");
            w.item("p");
            w.begin();
            w.str("q", "r");
            w.end();
            w.item_raw("1");
            w.end_arr();
        });
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["a"], "x\"y\\z\n\u{1}");
        assert_eq!(v["b"]["n"], -3);
        assert_eq!(v["c"][1]["q"], "r");
        assert_eq!(
            s,
            r#"{"a":"x\"y\\z\n\u0001","b":{"n":-3,"t":true,"z":null},"c":["p",{"q":"r"},1]}"#
        );
    }
}
