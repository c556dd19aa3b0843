//! A SQL lexer for judging injections, in the manner of libinjection: it reads bytes as a permissive
//! union of the MySQL, PostgreSQL, SQL Server and Oracle lexical grammars, folds what does not change
//! meaning (whitespace, inline comments, case, backslashes before quotes), and yields a handful of
//! token classes. It never fails: a byte it does not know is [`Token::Other`].

use super::super::word_table::WordTable;

/// A keyword class: what a word does in SQL, as far as judging an injection needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Word {
    /// `OR`, `AND`, `XOR`.
    Logic,
    /// `NOT`.
    Not,
    /// `UNION`, and the set operators `INTERSECT`, `EXCEPT`, `MINUS`.
    Union,
    /// `SELECT`.
    Select,
    /// `EXISTS`.
    Exists,
    /// A statement that changes or runs something (`DROP`, `INSERT`, `EXEC`, `WAITFOR`, ...).
    Statement,
    /// A statement that reads or sets up (`DESC`, `SHOW`, `SET`, `IF`, `PRINT`, `USE`, ...).
    QuietStatement,
    /// Comparison words: `LIKE`, `RLIKE`, `REGEXP`, `IN`, `IS`, `BETWEEN`, `SOUNDS`, `GLOB`, `MATCH`.
    Compare,
    /// `TRUE`, `FALSE`, `NULL`.
    Literal,
    /// `ORDER`, `GROUP`.
    Sort,
    /// `BY`.
    By,
    /// `HAVING`, `WHERE`, `LIMIT`, `OFFSET`, `PROCEDURE`, `INTO`.
    Clause,
    /// `FROM`.
    From,
    /// `ALL`, `DISTINCT`, `TOP`.
    Quantifier,
    /// `CASE`, `WHEN`, `THEN`, `ELSE`, `END`.
    Case,
    /// What statements act on: `TABLE`, `DATABASE`, `VIEW`, `USER`, ...
    Object,
    /// Any other word: an identifier or a word of prose.
    Bare,
}

/// How a string ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StringEnd {
    /// At its closing quote.
    Closed,
    /// The input ends inside it, and it is empty or a number: the quote the application adds will close it
    /// (`' OR '`, `' OR '1`).
    OpenShort,
    /// The input ends inside it.
    Open,
}

/// One folded token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    /// A number: decimal, hexadecimal (`0x..`), binary.
    Number,
    /// A quoted string. An unterminated string with a space in it is prose's quotation mark, not an
    /// injection's open quote: [`Token::Other`].
    Str { end: StringEnd },
    /// A word; `call` is true when `(` follows it (a function call).
    Word { word: Word, call: bool },
    /// `@name` or `@@name`.
    Variable,
    /// `=`, `<>`, `!=`, `<=>`, `<`, `>`, `<=`, `>=`.
    Compare,
    /// `||`, `&&`.
    LogicSymbol,
    /// `!`.
    Bang,
    /// `+ - * / % ^ | & ~`.
    Arithmetic,
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `,`.
    Comma,
    /// `;`.
    Semicolon,
    /// `.`.
    Dot,
    /// A comment (`--`, `#`, an unterminated `/*`) that runs to the end of the input. `text_follows` is
    /// true when text follows its marker at once or in two words (`--INFANT`, `#2`, `-- see below`), as
    /// prose and product names use dashes and hashes; an injection's comment carries at most a token
    /// after a space (`-- &password=`, `--+`).
    CommentToEnd { text_follows: bool },
    /// The end of the input.
    End,
    /// Anything else.
    Other,
}

/// The longest string read as one value; past it, the judge has long decided.
const MAX_STRING: usize = 4096;

/// Reads tokens from `bytes`.
pub(super) struct Lexer<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn peek_at(&self, offset: usize) -> u8 {
        self.bytes.get(self.at + offset).copied().unwrap_or(0)
    }

    /// The next token; [`Token::End`] forever once the input is read.
    pub(super) fn next_token(&mut self) -> Token {
        loop {
            let Some(&byte) = self.bytes.get(self.at) else { return Token::End };
            match byte {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.at += 1,
                // An escaped quote outside a string is read as the quote: applications unescape.
                b'\\' if matches!(self.peek_at(1), b'\'' | b'"') => self.at += 1,
                b'-' if self.peek_at(1) == b'-' => {
                    if let Some(token) = self.line_comment(2) {
                        return token;
                    }
                }
                b'#' => {
                    if let Some(token) = self.hash_comment() {
                        return token;
                    }
                }
                b'/' if self.peek_at(1) == b'*' => {
                    if let Some(token) = self.block_comment() {
                        return token;
                    }
                }
                b'*' if self.peek_at(1) == b'/' => self.at += 2,
                _ => return self.token_at(byte),
            }
        }
    }

    /// A token that starts with `byte` at the cursor (not whitespace or a comment).
    fn token_at(&mut self, byte: u8) -> Token {
        let start = self.at;
        self.at += 1;
        match byte {
            b'\'' | b'"' => self.string(byte),
            b'`' => {
                // A quoted identifier.
                match memchr::memchr(b'`', &self.bytes[self.at..]) {
                    Some(end) => self.at += end + 1,
                    None => self.at = self.bytes.len(),
                }
                self.word_token(Word::Bare)
            }
            b'0'..=b'9' => self.number(),
            b'.' if self.peek_at(0).is_ascii_digit() => self.number(),
            b'@' => {
                if self.peek_at(0) == b'@' {
                    self.at += 1;
                }
                self.skip_word_bytes();
                Token::Variable
            }
            b'(' => Token::Open,
            b')' => Token::Close,
            b',' => Token::Comma,
            b';' => Token::Semicolon,
            b'.' => Token::Dot,
            b'|' if self.peek_at(0) == b'|' => {
                self.at += 1;
                Token::LogicSymbol
            }
            b'&' if self.peek_at(0) == b'&' => {
                self.at += 1;
                Token::LogicSymbol
            }
            b'=' => {
                if self.peek_at(0) == b'=' {
                    self.at += 1;
                }
                Token::Compare
            }
            b'<' | b'>' | b'!' | b':' => self.comparison(byte),
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|' | b'&' | b'~' => Token::Arithmetic,
            _ if is_word_byte(byte) => {
                self.at = start;
                self.word()
            }
            _ => Token::Other,
        }
    }

    /// `<`, `>`, `!` or `:` read, the cursor after it.
    fn comparison(&mut self, first: u8) -> Token {
        match (first, self.peek_at(0), self.peek_at(1)) {
            (b'<', b'=', b'>') => {
                self.at += 2;
                Token::Compare
            }
            (b'<', b'>' | b'=', _) | (b'>' | b'!' | b':', b'=', _) => {
                self.at += 1;
                Token::Compare
            }
            (b'<' | b'>', _, _) => Token::Compare,
            (b'!', _, _) => Token::Bang,
            _ => Token::Other,
        }
    }

    /// A line comment whose marker is `marker_length` bytes at the cursor: to the end of its line. `None`
    /// when a newline ends it and reading goes on (`UNION#x` newline `SELECT`).
    fn line_comment(&mut self, marker_length: usize) -> Option<Token> {
        let body_start = self.at + marker_length;
        match memchr::memchr(b'\n', &self.bytes[body_start.min(self.bytes.len())..]) {
            Some(newline) => {
                self.at = body_start + newline + 1;
                None
            }
            None => {
                let text_follows = text_follows(&self.bytes[body_start.min(self.bytes.len())..]);
                self.at = self.bytes.len();
                Some(Token::CommentToEnd { text_follows })
            }
        }
    }

    /// A `#` comment at the cursor: as a line comment, but any letter or digit after it is text
    /// (`'#2 MOM`, `%27%23+BLAH`): hashes mark numbers and tags far more often than MySQL comments.
    fn hash_comment(&mut self) -> Option<Token> {
        let body = &self.bytes[self.at + 1..];
        let token = self.line_comment(1)?;
        let line = body.split(|byte| *byte == b'\n').next().unwrap_or_default();
        Some(if line.iter().any(u8::is_ascii_alphanumeric) {
            Token::CommentToEnd { text_follows: true }
        } else {
            token
        })
    }

    /// A block comment at the cursor: skipped; `/*! ... */` (MySQL runs its body) is read as code; an
    /// unterminated one runs to the end.
    fn block_comment(&mut self) -> Option<Token> {
        let body_start = self.at + 2;
        if self.peek_at(2) == b'!' {
            self.at = body_start + 1;
            while self.peek_at(0).is_ascii_digit() {
                self.at += 1;
            }
            return None;
        }
        match memchr::memmem::find(&self.bytes[body_start..], b"*/") {
            Some(end) => {
                self.at = body_start + end + 2;
                None
            }
            None => {
                let text_follows = text_follows(&self.bytes[body_start..]);
                self.at = self.bytes.len();
                Some(Token::CommentToEnd { text_follows })
            }
        }
    }

    /// A string opened by `quote` (already read): doubled quotes and backslash escapes stay inside. A
    /// string that does not close within [`MAX_STRING`] bytes is text, not a value: [`Token::Other`].
    fn string(&mut self, quote: u8) -> Token {
        let limit = (self.at + MAX_STRING).min(self.bytes.len());
        while let Some(offset) = memchr::memchr2(quote, b'\\', &self.bytes[self.at.min(limit)..limit]) {
            let at = self.at + offset;
            if self.bytes[at] == b'\\' {
                self.at = (at + 2).min(self.bytes.len());
                continue;
            }
            if self.bytes.get(at + 1) == Some(&quote) {
                self.at = at + 2;
                continue;
            }
            self.at = at + 1;
            return Token::Str { end: StringEnd::Closed };
        }
        if limit < self.bytes.len() {
            self.at = self.bytes.len();
            return Token::Other;
        }
        let body = &self.bytes[self.at.min(limit)..];
        self.at = self.bytes.len();
        if body.iter().all(u8::is_ascii_digit) {
            Token::Str { end: StringEnd::OpenShort }
        } else if body.iter().any(u8::is_ascii_whitespace) {
            Token::Other
        } else {
            Token::Str { end: StringEnd::Open }
        }
    }

    /// A number whose first byte was read: decimal with a fraction and exponent, or `0x` hexadecimal.
    fn number(&mut self) -> Token {
        if self.bytes[self.at - 1] == b'0' && matches!(self.peek_at(0), b'x' | b'X') {
            self.at += 1;
            while self.peek_at(0).is_ascii_hexdigit() {
                self.at += 1;
            }
            return Token::Number;
        }
        while self.peek_at(0).is_ascii_digit() || self.peek_at(0) == b'.' {
            self.at += 1;
        }
        let signed = matches!(self.peek_at(1), b'+' | b'-');
        if matches!(self.peek_at(0), b'e' | b'E') && self.peek_at(1 + usize::from(signed)).is_ascii_digit() {
            self.at += 2;
            while self.peek_at(0).is_ascii_digit() {
                self.at += 1;
            }
        }
        Token::Number
    }

    fn skip_word_bytes(&mut self) {
        while is_word_byte(self.peek_at(0)) && self.at < self.bytes.len() {
            self.at += 1;
        }
    }

    /// A word at the cursor. An empty comment inside it (`UNI/**/ON`) is dropped, as filters that strip
    /// comments do.
    fn word(&mut self) -> Token {
        let mut folded = [0u8; 16];
        let mut length = 0;
        loop {
            while let Some(&byte) = self.bytes.get(self.at).filter(|byte| is_word_byte(**byte)) {
                if let Some(slot) = folded.get_mut(length) {
                    *slot = byte.to_ascii_lowercase();
                }
                length += 1;
                self.at += 1;
            }
            // Only a fragment is joined: `UNION/**/SELECT` stays two keywords.
            if self.bytes[self.at..].starts_with(b"/**/")
                && self.bytes.get(self.at + 4).is_some_and(|b| is_word_byte(*b))
                && length <= folded.len()
                && classify(&folded[..length]) == Word::Bare
            {
                self.at += 4;
                continue;
            }
            break;
        }
        let word = if length <= folded.len() { classify(&folded[..length]) } else { Word::Bare };
        self.word_token(word)
    }

    /// A word token: a call when `(` follows, after spaces.
    fn word_token(&mut self, word: Word) -> Token {
        let mut at = self.at;
        while matches!(self.bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            at += 1;
        }
        Token::Word { word, call: self.bytes.get(at) == Some(&b'(') }
    }
}

/// Letters, digits, `_`, `$` and every byte of a non-ASCII character.
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'$' || byte >= 0x80
}

/// Whether text follows a comment marker: at once (`--INFANT`) or as two words (`-- see the note`).
fn text_follows(rest: &[u8]) -> bool {
    let rest = &rest[..rest.len().min(64)];
    if rest.first().is_some_and(u8::is_ascii_alphanumeric) {
        return true;
    }
    rest.split(|byte| *byte == b' ')
        .filter(|word| word.len() >= 2 && word.iter().all(u8::is_ascii_alphabetic))
        .nth(1)
        .is_some()
}

/// The class of a lowercased word.
fn classify(word: &[u8]) -> Word {
    KEYWORD_TABLE.get(word).unwrap_or(Word::Bare)
}

/// The keywords, indexed by first letter.
const KEYWORD_TABLE: WordTable<Word> = WordTable::new(KEYWORDS);

/// The keywords that matter for judging an injection, sorted (a test checks the order):
/// logical and set operators, statements, comparison words, literals, clauses, and what statements act on.
const KEYWORDS: &[(&[u8], Word)] = &[
    (b"all", Word::Quantifier),
    (b"alter", Word::Statement),
    (b"and", Word::Logic),
    (b"attach", Word::QuietStatement),
    (b"backup", Word::Statement),
    (b"begin", Word::QuietStatement),
    (b"between", Word::Compare),
    (b"by", Word::By),
    (b"call", Word::Statement),
    (b"case", Word::Case),
    (b"column", Word::Object),
    (b"columns", Word::Object),
    (b"commit", Word::QuietStatement),
    (b"copy", Word::QuietStatement),
    (b"create", Word::Statement),
    (b"database", Word::Object),
    (b"databases", Word::Object),
    (b"declare", Word::Statement),
    (b"delete", Word::Statement),
    (b"desc", Word::QuietStatement),
    (b"describe", Word::QuietStatement),
    (b"distinct", Word::Quantifier),
    (b"drop", Word::Statement),
    (b"else", Word::Case),
    (b"end", Word::Case),
    (b"except", Word::Union),
    (b"exec", Word::Statement),
    (b"execute", Word::Statement),
    (b"exists", Word::Exists),
    (b"explain", Word::QuietStatement),
    (b"false", Word::Literal),
    (b"from", Word::From),
    (b"function", Word::Object),
    (b"glob", Word::Compare),
    (b"grant", Word::Statement),
    (b"group", Word::Sort),
    (b"handler", Word::Statement),
    (b"having", Word::Clause),
    (b"if", Word::QuietStatement),
    (b"ilike", Word::Compare),
    (b"in", Word::Compare),
    (b"index", Word::Object),
    (b"insert", Word::Statement),
    (b"intersect", Word::Union),
    (b"into", Word::Clause),
    (b"is", Word::Compare),
    (b"kill", Word::Statement),
    (b"like", Word::Compare),
    (b"limit", Word::Clause),
    (b"load", Word::Statement),
    (b"lock", Word::QuietStatement),
    (b"login", Word::Object),
    (b"match", Word::Compare),
    (b"merge", Word::Statement),
    (b"minus", Word::Union),
    (b"not", Word::Not),
    (b"null", Word::Literal),
    (b"offset", Word::Clause),
    (b"or", Word::Logic),
    (b"order", Word::Sort),
    (b"pragma", Word::QuietStatement),
    (b"print", Word::QuietStatement),
    (b"procedure", Word::Clause),
    (b"regexp", Word::Compare),
    (b"rename", Word::Statement),
    (b"restore", Word::Statement),
    (b"revoke", Word::Statement),
    (b"rlike", Word::Compare),
    (b"rollback", Word::QuietStatement),
    (b"schema", Word::Object),
    (b"select", Word::Select),
    (b"set", Word::QuietStatement),
    (b"show", Word::QuietStatement),
    (b"shutdown", Word::Statement),
    (b"similar", Word::Compare),
    (b"sounds", Word::Compare),
    (b"table", Word::Object),
    (b"tables", Word::Object),
    (b"then", Word::Case),
    (b"top", Word::Quantifier),
    (b"trigger", Word::Object),
    (b"true", Word::Literal),
    (b"truncate", Word::Statement),
    (b"union", Word::Union),
    (b"update", Word::Statement),
    (b"use", Word::QuietStatement),
    (b"user", Word::Object),
    (b"view", Word::Object),
    (b"waitfor", Word::Statement),
    (b"when", Word::Case),
    (b"where", Word::Clause),
    (b"with", Word::QuietStatement),
    (b"xor", Word::Logic),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: &str) -> Vec<Token> {
        let mut lexer = Lexer::new(input.as_bytes());
        let mut out = Vec::new();
        loop {
            let token = lexer.next_token();
            out.push(token);
            if token == Token::End || out.len() > 64 {
                return out;
            }
        }
    }

    #[test]
    fn each_symbol_is_its_own_token() {
        use Token::{Arithmetic, Compare, End, LogicSymbol, Number};
        assert_eq!(tokens("1-1"), [Number, Arithmetic, Number, End], "one dash is no comment");
        assert_eq!(tokens("1|2"), [Number, Arithmetic, Number, End]);
        assert_eq!(tokens("1||2"), [Number, LogicSymbol, Number, End]);
        assert_eq!(tokens("1&2"), [Number, Arithmetic, Number, End]);
        assert_eq!(tokens("1&&2"), [Number, LogicSymbol, Number, End]);
        assert_eq!(tokens("1<2"), [Number, Compare, Number, End]);
        assert_eq!(tokens("1>2"), [Number, Compare, Number, End]);
        assert_eq!(tokens(".5"), [Number, End], "a leading dot starts a number");
        assert_eq!(tokens("1--comment\n2"), [Number, Number, End], "a line comment ends at its newline");
        assert_eq!(tokens("1/*xyz*/2"), [Number, Number, End]);
    }

    #[test]
    fn backslashes_and_backquotes() {
        // An escaped quote is the quote (applications unescape); any other backslash stays a token.
        assert_eq!(tokens("\\' or 1=1"), tokens("' or 1=1"));
        assert_ne!(tokens("a\\b"), tokens("a b"));
        // A backquoted identifier is one word, spaces and all.
        let identifier = tokens("`a b` 1");
        assert!(matches!(identifier[0], Token::Word { word: Word::Bare, .. }), "{identifier:?}");
        assert_eq!(identifier[1..], [Token::Number, Token::End]);
    }

    #[test]
    fn numbers_strings_and_words_end_where_they_should() {
        use Token::{End, Number};
        for input in ["1e5", "1e+5", "2.5e-10", "1e55", "0x1F"] {
            assert_eq!(tokens(input), [Number, End], "{input}");
        }
        assert!(matches!(tokens("'abc''d' 1")[..], [Token::Str { end: StringEnd::Closed }, Number, End]));
        // A call is a word followed by `(`, spaces between or not.
        assert!(matches!(tokens("count (1)")[0], Token::Word { call: true, .. }));
        assert!(matches!(tokens("count 1")[0], Token::Word { call: false, .. }));
        // Every byte of a non-ASCII character belongs to its word.
        assert_eq!(tokens("café").len(), 2, "one word and the end");
    }

    #[test]
    fn a_string_that_does_not_close_within_the_cap_is_text() {
        let long = format!("'{}' 1", "a".repeat(MAX_STRING + 10));
        assert_eq!(tokens(&long)[0], Token::Other);
        // The longest that closes: its closing quote is the cap's last byte.
        let longest = format!("'{}' 1", "a".repeat(MAX_STRING - 1));
        assert!(matches!(tokens(&longest)[0], Token::Str { end: StringEnd::Closed }));
    }

    #[test]
    fn comments_case_and_spacing_fold_away() {
        let union = Token::Word { word: Word::Union, call: false };
        let select = Token::Word { word: Word::Select, call: false };
        for input in [
            "1 UNION SELECT",
            "1 union/**/select",
            "1 UnIoN#x\nSELECT",
            "1/*!50000union*/ select",
            "1 UNI/**/ON SEL/**/ECT",
        ] {
            assert_eq!(tokens(input), [Token::Number, union, select, Token::End], "{input}");
        }
    }

    #[test]
    fn strings_numbers_and_operators() {
        assert_eq!(
            tokens(r#"'a''b' "c\"d" 0x1F 1.5e3 @@version <=> != || && ! x("#),
            [
                Token::Str { end: StringEnd::Closed },
                Token::Str { end: StringEnd::Closed },
                Token::Number,
                Token::Number,
                Token::Variable,
                Token::Compare,
                Token::Compare,
                Token::LogicSymbol,
                Token::LogicSymbol,
                Token::Bang,
                Token::Word { word: Word::Bare, call: true },
                Token::Open,
                Token::End
            ]
        );
        assert_eq!(tokens("'open"), [Token::Str { end: StringEnd::Open }, Token::End]);
        assert_eq!(tokens("'12"), [Token::Str { end: StringEnd::OpenShort }, Token::End]);
        assert_eq!(tokens("'an open quote"), [Token::Other, Token::End]);
        let endless = format!("'{}", "''".repeat(MAX_STRING));
        assert_eq!(tokens(&endless), [Token::Other, Token::End], "bounded");
        let escapes = format!("'{}", "\\".repeat(MAX_STRING + 1));
        assert_eq!(tokens(&escapes), [Token::Other, Token::End], "bounded");
        assert_eq!(
            tokens("1or1"),
            [Token::Number, Token::Word { word: Word::Bare, call: false }, Token::End],
            "`or1` is a word"
        );
    }

    #[test]
    fn comments_to_the_end_say_whether_text_follows() {
        assert_eq!(
            tokens("x -- &password="),
            [
                Token::Word { word: Word::Bare, call: false },
                Token::CommentToEnd { text_follows: false },
                Token::End
            ]
        );
        assert_eq!(tokens("-- see the note"), [Token::CommentToEnd { text_follows: true }, Token::End]);
        assert_eq!(tokens("#2"), [Token::CommentToEnd { text_follows: true }, Token::End]);
        assert_eq!(tokens("# BLAH"), [Token::CommentToEnd { text_follows: true }, Token::End]);
        assert_eq!(tokens("#  "), [Token::CommentToEnd { text_follows: false }, Token::End]);
        assert_eq!(tokens("/* open"), [Token::CommentToEnd { text_follows: false }, Token::End]);
    }

    #[test]
    fn the_keyword_table_is_sorted_and_unique() {
        assert!(KEYWORDS.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(classify(b"union"), Word::Union);
        assert_eq!(classify(b"unions"), Word::Bare);
    }

    #[test]
    fn any_bytes_end() {
        for input in ["\\", "'\\", "/*", "0x", "@", "`", "<", "--", "#", "/**/", "a/**/"] {
            assert_eq!(tokens(input).last(), Some(&Token::End), "{input}");
        }
    }
}
