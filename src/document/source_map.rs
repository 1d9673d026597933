//! A small JSON scanner that records where each value starts, by JSON pointer.
//!
//! It runs in linear time with an explicit stack (no recursion), stops recording below
//! [`MAX_DEPTH`] levels (the nesting serde_json accepts), and never fails: on malformed input it
//! keeps what it has seen so far (serde_json reports the syntax error itself). It also finds
//! duplicate object keys, which serde_json silently collapses into the last one.

use std::borrow::Cow;
use std::collections::HashMap;

use super::SourceMap;

/// Deepest nesting the scanner follows (serde_json refuses deeper documents).
pub(crate) const MAX_DEPTH: usize = 128;

/// Upper bound of the bytes of all recorded pointers; past it, positions fall back to ancestors.
const MAX_POINTER_BYTES: usize = 64 * 1024 * 1024;

/// A key given twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    /// Pointer of the second (ignored by serde_json: it keeps the last) occurrence's value.
    pub pointer: String,
    pub key: String,
    /// Position of the repeated key itself.
    pub line: usize,
    pub column: usize,
    /// Position of the first occurrence's key.
    pub first_line: usize,
    pub first_column: usize,
}

/// What one scan found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub map: SourceMap,
    pub duplicates: Vec<DuplicateKey>,
}

impl SourceMap {
    /// Scans `text` and records the 1-based line and column (in characters) where each value starts.
    /// A leading byte order mark is skipped (positions are the ones an editor shows).
    pub fn build(text: &str) -> SourceMap {
        scan(text).map
    }
}

/// Escapes one reference token of a JSON pointer (RFC 6901: `~` → `~0`, `/` → `~1`).
pub(crate) fn escape(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

/// Line and column (1-based, columns in characters) of a byte offset of `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, 1 + before[line_start..].chars().count())
}

enum Container {
    Object {
        /// Keys seen so far, with the position of their first occurrence.
        keys: HashMap<String, (usize, usize)>,
    },
    Array {
        next_index: usize,
    },
}

struct Frame {
    container: Container,
    /// Length of the pointer of this container (children append to it).
    pointer_len: usize,
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    column: usize,
    pointer: String,
    stored_bytes: usize,
    out: Scan,
}

/// Scans `text`: positions of values and duplicate keys.
pub(crate) fn scan(text: &str) -> Scan {
    // A byte order mark is invisible in editors: positions start after it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut s = Scanner {
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        column: 1,
        pointer: String::new(),
        stored_bytes: 0,
        out: Scan::default(),
    };
    s.run();
    s.out
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Advances one byte, keeping line and column (columns count characters, not bytes).
    fn bump(&mut self) {
        if let Some(b) = self.peek() {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                // Not a UTF-8 continuation byte: a new character starts here.
                self.column += 1;
            }
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.bump();
        }
    }

    fn record(&mut self, line: usize, column: usize) {
        if self.stored_bytes > MAX_POINTER_BYTES {
            return;
        }
        self.stored_bytes += self.pointer.len();
        self.out
            .map
            .positions
            .entry(self.pointer.clone())
            .or_insert((line, column));
    }

    fn run(&mut self) {
        let mut stack: Vec<Frame> = Vec::new();
        self.skip_ws();
        if !self.value(&mut stack) {
            return;
        }
        loop {
            self.skip_ws();
            let Some(frame) = stack.last_mut() else {
                return;
            };
            let pointer_len = frame.pointer_len;
            let is_object = matches!(frame.container, Container::Object { .. });
            match (self.peek(), is_object) {
                (Some(b','), _) => {
                    self.bump();
                    self.skip_ws();
                    self.pointer.truncate(pointer_len);
                    if is_object {
                        if !self.member(&mut stack) {
                            return;
                        }
                    } else if !self.element(&mut stack) {
                        return;
                    }
                }
                (Some(b'}'), true) | (Some(b']'), false) => {
                    self.bump();
                    stack.pop();
                    self.pointer.truncate(pointer_len);
                    if let Some(parent) = stack.last() {
                        self.pointer.truncate(parent.pointer_len);
                    }
                }
                _ => return,
            }
        }
    }

    /// Scans the key of an object member and the start of its value.
    fn member(&mut self, stack: &mut Vec<Frame>) -> bool {
        let (line, column) = (self.line, self.column);
        let Some(key) = self.string() else {
            return false;
        };
        let Some(frame) = stack.last_mut() else {
            return false;
        };
        self.pointer.truncate(frame.pointer_len);
        self.pointer.push('/');
        self.pointer.push_str(&escape(&key));
        if let Container::Object { keys } = &mut frame.container {
            if let Some(&(first_line, first_column)) = keys.get(&key) {
                self.out.duplicates.push(DuplicateKey {
                    pointer: self.pointer.clone(),
                    key,
                    line,
                    column,
                    first_line,
                    first_column,
                });
            } else {
                keys.insert(key, (line, column));
            }
        }
        self.skip_ws();
        if self.peek() != Some(b':') {
            return false;
        }
        self.bump();
        self.skip_ws();
        self.value(stack)
    }

    /// Scans the start of the next array element.
    fn element(&mut self, stack: &mut Vec<Frame>) -> bool {
        let Some(frame) = stack.last_mut() else {
            return false;
        };
        let Container::Array { next_index } = &mut frame.container else {
            return false;
        };
        let index = *next_index;
        *next_index += 1;
        self.pointer.truncate(frame.pointer_len);
        self.pointer.push('/');
        self.pointer.push_str(&index.to_string());
        self.value(stack)
    }

    /// Scans one value at the current pointer. Scalars are consumed whole; for a container, its
    /// frame is pushed and its first member (if any) scanned. Returns `false` to stop scanning.
    fn value(&mut self, stack: &mut Vec<Frame>) -> bool {
        let (line, column) = (self.line, self.column);
        match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                if stack.len() >= MAX_DEPTH {
                    return false;
                }
                self.record(line, column);
                self.bump();
                self.skip_ws();
                let is_object = open == b'{';
                let close = if is_object { b'}' } else { b']' };
                let container = if is_object {
                    Container::Object {
                        keys: HashMap::new(),
                    }
                } else {
                    Container::Array { next_index: 0 }
                };
                stack.push(Frame {
                    container,
                    pointer_len: self.pointer.len(),
                });
                if self.peek() == Some(close) {
                    // Empty container: the main loop pops it.
                    return true;
                }
                if is_object {
                    self.member(stack)
                } else {
                    self.element(stack)
                }
            }
            Some(b'"') => {
                self.record(line, column);
                self.string().is_some()
            }
            Some(b) if b == b'-' || b.is_ascii_alphanumeric() => {
                self.record(line, column);
                while let Some(b) = self.peek() {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.') {
                        self.bump();
                    } else {
                        break;
                    }
                }
                true
            }
            _ => false,
        }
    }

    /// Scans a string literal and returns its decoded text, or `None` if it is malformed.
    fn string(&mut self) -> Option<String> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.bump();
        let mut out = Vec::new();
        loop {
            let b = self.peek()?;
            self.bump();
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = self.peek()?;
                    self.bump();
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0C),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let c = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1F => return None,
                _ => out.push(b),
            }
        }
    }

    /// Decodes the `XXXX` of `\uXXXX` (and a following low surrogate escape when needed).
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) {
            if self.peek() != Some(b'\\') {
                return Some(char::REPLACEMENT_CHARACTER);
            }
            self.bump();
            if self.peek() != Some(b'u') {
                return None;
            }
            self.bump();
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Some(char::REPLACEMENT_CHARACTER);
            }
            let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
            return Some(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        Some(char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = (self.peek()? as char).to_digit(16)?;
            self.bump();
            v = v * 16 + d;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_positions_by_pointer() {
        let text = "{\n  \"a\": [1, {\"b/c\": true}],\n  \"é~\": \"x\",\n  \"d\": {}\n}";
        let map = SourceMap::build(text);
        assert_eq!(map.position(""), Some((1, 1)));
        assert_eq!(map.position("/a"), Some((2, 8)));
        assert_eq!(map.position("/a/0"), Some((2, 9)));
        assert_eq!(map.position("/a/1"), Some((2, 12)));
        assert_eq!(map.position("/a/1/b~1c"), Some((2, 20)));
        // Columns count characters: `é` is two bytes but one column.
        assert_eq!(map.position("/é~0"), Some((3, 9)));
        assert_eq!(map.position("/d"), Some((4, 8)));
        // Unknown pointers fall back to the nearest ancestor.
        assert_eq!(map.position("/a/1/nope/3"), Some((2, 12)));
    }

    #[test]
    fn finds_duplicate_keys_including_escaped_spellings() {
        let scan = scan("{\"a\": 1,\n \"\\u0061\": 2, \"b\": {\"x\": 1, \"x\": 2}}");
        let found: Vec<_> = scan
            .duplicates
            .iter()
            .map(|d| {
                (
                    d.pointer.as_str(),
                    d.line,
                    d.column,
                    d.first_line,
                    d.first_column,
                )
            })
            .collect();
        assert_eq!(found, vec![("/a", 2, 2, 1, 2), ("/b/x", 2, 29, 2, 21)]);
    }

    #[test]
    fn survives_deep_nesting_and_garbage() {
        let deep = "[".repeat(100_000);
        let map = SourceMap::build(&deep);
        assert_eq!(map.position(""), Some((1, 1)));
        assert!(map.positions.len() <= MAX_DEPTH);
        for text in [
            "",
            "{",
            "{\"a\"",
            "{\"a\":",
            "[1,",
            "\"\\u12",
            "}{",
            "{\"a\":1}}",
            "\u{0}",
        ] {
            let _ = SourceMap::build(text);
        }
    }

    #[test]
    fn line_column_of_offsets() {
        let text = "ab\ncé d";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 6), (2, 3));
        assert_eq!(line_column(text, 99), (2, 5));
    }
}
