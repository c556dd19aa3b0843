//! SQL read as SQL: a value is judged by what its tokens do once they leave the value, in the contexts an
//! injection starts from — the whole input as a bare value (`1 OR 1=1`), and the input after each of its
//! first quotes, as if that quote closed a string (`x' OR 'a' LIKE 'a`). Comments, `/*!...*/`, `#` and
//! `--` line ends, `||`, odd spacing and case all fold into the same tokens, so one shape catches every
//! spelling of it. Only the first few tokens of each context are read: the cost does not grow with the
//! input.

mod lexer;

use lexer::{Lexer, StringEnd, Token, Word};

use super::rules::{Rule, grammar};
use super::verdict::Category::SqlInjection as Sql;
use super::verdict::Severity::{Critical, High, Medium};

/// How many quotes of an input start a context: injections close a string early; prose quotes many.
const MAX_QUOTE_STARTS: usize = 8;
/// How many tokens a context reads at most: every shape is decided within them.
const MAX_TOKENS: usize = 24;

/// A SQL shape found in an input; each is one grammar rule (see `GRAMMAR_RULES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A value closed, then a condition: `' OR 'a'='a`, `1 || 1`, `1 OR 'a' LIKE 'a'`, `' OR 1--`.
    Condition,
    /// A value closed, then `UNION [ALL] SELECT`.
    Union,
    /// A value closed, then `;` and a statement.
    Stacked,
    /// A string closed, then a comment that cuts the rest of the query: `admin'--`.
    CommentCut,
    /// A value closed, then a clause: `ORDER BY 3--`, `HAVING 1=1`, `LIMIT`, `INTO OUTFILE`.
    Clause,
    /// A value closed, then a subquery or a concatenated call: `' OR EXISTS(`, `'||UTL_HTTP.REQUEST(`.
    Subquery,
    /// A condition that prose can show too (`1 or 2`, `x or y = z`): weak.
    ProseCondition,
    /// A whole SQL statement (`SELECT a, b FROM t`, `DECLARE @x`): questions about SQL carry them too.
    Statement,
}

impl Shape {
    /// Every shape, in the order of their rules.
    #[cfg(test)]
    pub(crate) const ALL: [Shape; 8] = [
        Shape::Condition,
        Shape::Union,
        Shape::Stacked,
        Shape::CommentCut,
        Shape::Clause,
        Shape::Subquery,
        Shape::ProseCondition,
        Shape::Statement,
    ];

    /// The grammar rule of this shape: its id, how bad and how sure, what it means.
    pub(crate) const fn rule(self) -> Rule {
        match self {
            Shape::Condition => grammar(
                131,
                Sql,
                Critical,
                5,
                "SQL: a value closed, then a condition (`' OR 'a'='a`, `1 || 1`, `1 OR 'a' LIKE 'a'`)",
            ),
            Shape::Union => grammar(132, Sql, Critical, 5, "SQL: a value closed, then UNION SELECT"),
            Shape::Stacked => grammar(133, Sql, Critical, 5, "SQL: a value closed, then a stacked statement"),
            Shape::CommentCut => grammar(
                134,
                Sql,
                High,
                5,
                "SQL: a string closed, then a comment that cuts the rest of the query",
            ),
            Shape::Clause => grammar(
                135,
                Sql,
                High,
                5,
                "SQL: a value closed, then a clause (ORDER BY, HAVING, LIMIT, INTO)",
            ),
            Shape::Subquery => {
                grammar(136, Sql, Critical, 5, "SQL: a value closed, then a subquery or a concatenated call")
            }
            Shape::ProseCondition => grammar(
                137,
                Sql,
                Medium,
                3,
                "SQL: a condition that prose can also show (`1 or 2`, `x or y = z`)",
            ),
            Shape::Statement => {
                grammar(138, Sql, Medium, 3, "SQL: a whole statement, as questions about SQL also carry")
            }
        }
    }

    /// The id of this shape's rule.
    pub(crate) fn rule_id(self) -> u16 {
        self.rule().id
    }

    fn is_weak(self) -> bool {
        matches!(self, Shape::ProseCondition | Shape::Statement)
    }
}

/// The strongest SQL shape in `text`, if any.
pub(crate) fn detect(text: &[u8]) -> Option<Shape> {
    let best = bare(text);
    if best.is_some_and(|shape| !shape.is_weak()) {
        return best;
    }
    let first_visible = text.iter().position(|byte| !byte.is_ascii_whitespace() && *byte != b'\\');
    for at in memchr::memchr2_iter(b'\'', b'"', text).take(MAX_QUOTE_STARTS) {
        // A quote after a space opens a quotation in prose; an injection's quote closes the value it
        // follows, or opens the input.
        if Some(at) != first_visible
            && text[..at].iter().rev().find(|byte| **byte != b'\\').is_some_and(u8::is_ascii_whitespace)
        {
            continue;
        }
        // A closed string is evidence: a quote context finds only strong shapes.
        let mut tokens = Tokens::new(&text[at + 1..]);
        if let Some(shape) = after_value(&mut tokens, Entry::Quote) {
            return Some(shape);
        }
    }
    best
}

/// Where the SQL starts and what value it closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// After a quote that closed a string.
    Quote,
    /// At the start of the input, after a number, a variable or a string.
    Value,
    /// At the start of the input, after a bare word (prose starts this way).
    Word,
    /// At the start of the input, with no value before (`OR 1=1`, `; DROP`).
    Start,
}

/// The tokens of one context, at most [`MAX_TOKENS`].
struct Tokens<'a> {
    lexer: Lexer<'a>,
    read: usize,
}

impl<'a> Tokens<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { lexer: Lexer::new(bytes), read: 0 }
    }

    fn next(&mut self) -> Token {
        if self.read == MAX_TOKENS {
            return Token::End;
        }
        self.read += 1;
        self.lexer.next_token()
    }

    /// Reads past the parenthesised arguments of a call whose `(` is next; the token after them.
    fn after_call(&mut self) -> Token {
        let mut depth = 0usize;
        loop {
            match self.next() {
                Token::Open => depth += 1,
                Token::Close if depth <= 1 => return self.next(),
                Token::Close => depth -= 1,
                Token::End => return Token::End,
                _ => {}
            }
        }
    }
}

/// The input as a bare value.
fn bare(text: &[u8]) -> Option<Shape> {
    let mut tokens = Tokens::new(text);
    let mut token = tokens.next();
    while token == Token::Open {
        token = tokens.next();
    }
    match token {
        Token::Number | Token::Variable | Token::Str { end: StringEnd::Closed } => {
            after_value(&mut tokens, Entry::Value)
        }
        Token::Word { word: Word::Bare, call: false } => after_value(&mut tokens, Entry::Word),
        Token::Word { word: Word::Logic, .. } => condition(&mut tokens, Entry::Start, false),
        Token::LogicSymbol => condition(&mut tokens, Entry::Start, true),
        Token::Semicolon => stacked(&mut tokens, Entry::Start),
        Token::Word { word: Word::Select, .. } => select_statement(&mut tokens),
        Token::Word { word: Word::Union, .. } => union(&mut tokens),
        Token::Word { word: Word::Statement, .. } => match tokens.next() {
            Token::Variable => Some(Shape::Statement),
            _ => None,
        },
        _ => None,
    }
}

/// What follows a closed value.
fn after_value(tokens: &mut Tokens<'_>, entry: Entry) -> Option<Shape> {
    let mut token = tokens.next();
    let mut closed_parentheses = false;
    while token == Token::Close {
        closed_parentheses = true;
        token = tokens.next();
    }
    match token {
        Token::Word { word: Word::Logic, .. } => condition(tokens, entry, false),
        Token::LogicSymbol => condition(tokens, entry, true),
        Token::Word { word: Word::Union, .. } => union(tokens),
        Token::Semicolon => stacked(tokens, entry),
        Token::CommentToEnd { text_follows: false }
            if entry == Entry::Quote || (entry == Entry::Value && closed_parentheses) =>
        {
            Some(Shape::CommentCut)
        }
        Token::Word { word: Word::Sort, .. } if entry != Entry::Word => sort_clause(tokens),
        Token::Word { word: Word::Clause, .. } if entry != Entry::Word => clause(tokens),
        Token::Open if entry == Entry::Quote => match skip_open(tokens) {
            Token::Word { word: Word::Select, .. } => Some(Shape::Subquery),
            _ => None,
        },
        Token::Arithmetic if entry != Entry::Word => match skip_open(tokens) {
            Token::Word { word: Word::Select, .. } => Some(Shape::Subquery),
            _ => None,
        },
        _ => None,
    }
}

/// The first token that is not `(`.
fn skip_open(tokens: &mut Tokens<'_>) -> Token {
    let mut token = tokens.next();
    while token == Token::Open {
        token = tokens.next();
    }
    token
}

/// `UNION` read: `[ALL | DISTINCT] [(] SELECT`.
fn union(tokens: &mut Tokens<'_>) -> Option<Shape> {
    let mut token = skip_open(tokens);
    if matches!(token, Token::Word { word: Word::Quantifier, .. }) {
        token = skip_open(tokens);
    }
    matches!(token, Token::Word { word: Word::Select, .. }).then_some(Shape::Union)
}

/// `;` read: a statement or a comment after it.
fn stacked(tokens: &mut Tokens<'_>, entry: Entry) -> Option<Shape> {
    let statement = tokens.next();
    let shape = match (statement, entry) {
        (Token::CommentToEnd { text_follows: false }, Entry::Quote | Entry::Start) => {
            return Some(Shape::Stacked);
        }
        (Token::Word { word: Word::Statement, .. }, Entry::Quote | Entry::Value | Entry::Start)
        | (Token::Word { word: Word::Select | Word::QuietStatement, .. }, Entry::Quote | Entry::Start)
        | (Token::Word { word: Word::Select, .. }, Entry::Value) => Shape::Stacked,
        (Token::Word { word: Word::Statement | Word::Select, .. }, Entry::Word) => Shape::Statement,
        _ => return None,
    };
    statement_goes_on(tokens).then_some(shape)
}

/// Whether what follows a statement keyword reads as SQL: a plain word followed by another or by a
/// statement keyword is prose (`; exec will create`); a name followed by anything else, or a keyword, is
/// not (`; DROP TABLE users`, `; UPDATE users SET`).
fn statement_goes_on(tokens: &mut Tokens<'_>) -> bool {
    let bare = Token::Word { word: Word::Bare, call: false };
    match tokens.next() {
        Token::Other => false,
        token if token == bare => !matches!(
            tokens.next(),
            Token::Other | Token::Word { word: Word::Bare | Word::Statement, call: false }
        ),
        _ => true,
    }
}

/// `ORDER` or `GROUP` read: `BY` a column, then the end of the value.
fn sort_clause(tokens: &mut Tokens<'_>) -> Option<Shape> {
    if tokens.next() != (Token::Word { word: Word::By, call: false }) {
        return None;
    }
    match tokens.next() {
        Token::Number | Token::Word { word: Word::Bare, call: false } => {}
        _ => return None,
    }
    matches!(
        tokens.next(),
        Token::End | Token::CommentToEnd { .. } | Token::Comma | Token::Semicolon | Token::Close
    )
    .then_some(Shape::Clause)
}

/// `HAVING`, `WHERE`, `LIMIT`, `OFFSET`, `PROCEDURE` or `INTO` read: an operand and an operator after it.
fn clause(tokens: &mut Tokens<'_>) -> Option<Shape> {
    match tokens.next() {
        Token::Number | Token::Word { call: true, .. } => Some(Shape::Clause),
        Token::Word { word: Word::Bare, call: false } | Token::Str { .. } => match tokens.next() {
            Token::Compare | Token::Word { word: Word::Compare, .. } | Token::Str { .. } => {
                Some(Shape::Clause)
            }
            _ => None,
        },
        _ => None,
    }
}

/// `SELECT` at the start of the input: a column list, `FROM`, a table and the end of a statement.
fn select_statement(tokens: &mut Tokens<'_>) -> Option<Shape> {
    loop {
        let token = match tokens.next() {
            Token::Word { word: Word::Quantifier, .. } => tokens.next(),
            token => token,
        };
        let after = match token {
            Token::Word { call: true, .. } => tokens.after_call(),
            Token::Word { word: Word::Bare | Word::Object, .. }
            | Token::Number
            | Token::Variable
            | Token::Arithmetic => tokens.next(),
            _ => return None,
        };
        match after {
            Token::Comma => continue,
            Token::Word { word: Word::From, .. } => break,
            _ => return None,
        }
    }
    if !matches!(tokens.next(), Token::Word { word: Word::Bare | Word::Object, call: false }) {
        return None;
    }
    let mut token = tokens.next();
    if token == Token::Dot {
        tokens.next();
        token = tokens.next();
    }
    matches!(
        token,
        Token::End
            | Token::Semicolon
            | Token::CommentToEnd { .. }
            | Token::Word { word: Word::Clause | Word::Sort, .. }
    )
    .then_some(Shape::Statement)
}

/// What an operand is, for judging how sure a condition is.
fn is_evidence(token: Token) -> bool {
    matches!(
        token,
        Token::Number
            | Token::Str { .. }
            | Token::Variable
            | Token::Word { call: true, .. }
            | Token::Word { word: Word::Literal, .. }
    )
}

/// One operand read from `token` on: a literal, a name (qualified: `a.b`), a call with its arguments.
/// Returns the token after it and whether the operand is more than a bare name (a literal, a variable, a
/// call); `None` when `token` is no operand.
fn operand(tokens: &mut Tokens<'_>, token: Token) -> Option<(Token, bool)> {
    let mut evidence = is_evidence(token);
    let mut after = match token {
        Token::Word { call: true, .. } => tokens.after_call(),
        Token::Number | Token::Str { end: StringEnd::Closed } | Token::Variable => tokens.next(),
        Token::Word { word: Word::Bare | Word::Literal, .. } => tokens.next(),
        _ => return None,
    };
    while after == Token::Dot {
        after = match tokens.next() {
            Token::Word { call: true, .. } => {
                evidence = true;
                tokens.after_call()
            }
            Token::Word { .. } => tokens.next(),
            _ => return None,
        };
    }
    Some((after, evidence))
}

/// A logical operator read (`symbol`: `||` or `&&`): what follows makes it an injection or prose.
fn condition(tokens: &mut Tokens<'_>, entry: Entry, symbol: bool) -> Option<Shape> {
    let mut token = tokens.next();
    while matches!(token, Token::Open | Token::Bang | Token::Arithmetic | Token::Word { word: Word::Not, .. })
    {
        token = tokens.next();
    }
    match token {
        Token::Word { word: Word::Select | Word::Exists, .. } => return Some(Shape::Subquery),
        Token::Str { end: StringEnd::OpenShort } if entry == Entry::Quote => return Some(Shape::Condition),
        _ => {}
    }
    let first = token;
    let (mut after, first_is_evidence) = operand(tokens, first)?;
    let mut evidence = first_is_evidence || symbol || entry == Entry::Quote;
    while after == Token::Arithmetic {
        let token = tokens.next();
        let (next, next_is_evidence) = operand(tokens, token)?;
        evidence |= next_is_evidence;
        after = next;
    }
    while after == Token::Close {
        after = tokens.next();
    }
    let strength = |sure: bool| if sure { Shape::Condition } else { Shape::ProseCondition };
    match after {
        Token::Compare => {
            let mut right = tokens.next();
            while matches!(right, Token::Open | Token::Arithmetic | Token::Bang) {
                right = tokens.next();
            }
            evidence |= is_evidence(right);
            let right_is_operand =
                is_evidence(right) || matches!(right, Token::Word { .. } | Token::Str { .. });
            right_is_operand.then(|| strength(evidence || symbol))
        }
        Token::Word { word: Word::Compare, .. } => {
            let mut right = tokens.next();
            if matches!(right, Token::Word { word: Word::Not, .. }) {
                right = tokens.next();
            }
            (is_evidence(right) || right == Token::Open).then(|| strength(entry != Entry::Word || evidence))
        }
        Token::Word { word: Word::Union, .. } => union(tokens),
        Token::CommentToEnd { text_follows: false } | Token::Semicolon
            if first_is_evidence || entry == Entry::Quote =>
        {
            Some(Shape::Condition)
        }
        Token::End => {
            let literal = first_is_evidence && !matches!(first, Token::Str { .. });
            match entry {
                _ if symbol && (first_is_evidence || entry == Entry::Quote) => Some(Shape::Condition),
                Entry::Quote if literal => Some(Shape::Condition),
                Entry::Value | Entry::Start | Entry::Word if literal => Some(Shape::ProseCondition),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(input: &str) -> Option<Shape> {
        detect(input.as_bytes())
    }

    #[test]
    fn injections_in_their_spellings() {
        let cases: &[(&str, Shape)] = &[
            ("1 OR 1=1", Shape::Condition),
            ("1 OR true --", Shape::Condition),
            ("1 || 1", Shape::Condition),
            ("1 OR 'a' LIKE 'a'", Shape::Condition),
            ("x' OR 'a'='a", Shape::Condition),
            ("admin' or '", Shape::Condition),
            ("admin\\' or \\'", Shape::Condition),
            ("' or 'whatever' in ('whatever')", Shape::Condition),
            ("1 and user_name() = 'dbo'", Shape::Condition),
            (" or isNULL(1/0) /*", Shape::Condition),
            ("') or ('1'='1", Shape::Condition),
            ("1 UNION#x\nSELECT password", Shape::Union),
            ("1 uni/**/on select all from where", Shape::Union),
            ("-1' /*!UNION*/ ALL SELECT 1,2", Shape::Union),
            ("1;SELECT *", Shape::Stacked),
            ("'; desc users; --", Shape::Stacked),
            ("1; DROP TABLE users", Shape::Stacked),
            ("; --", Shape::Stacked),
            ("admin'--", Shape::CommentCut),
            ("' -- &password=", Shape::CommentCut),
            ("admin'#", Shape::CommentCut),
            ("1 ORDER BY 3--", Shape::Clause),
            ("' having 1=1 --", Shape::Clause),
            ("' or (EXISTS)", Shape::Subquery),
            ("'||UTL_HTTP.REQUEST('x')", Shape::Condition),
            ("'||UTL_HTTP.REQUEST", Shape::Condition),
            ("' (select top 1", Shape::Subquery),
            ("uni/**/on sel/**/ect", Shape::Union),
            ("1; exec xp_cmdshell 'dir'", Shape::Stacked),
            ("' + (select top 1 name from users)", Shape::Subquery),
            ("hi or a=a", Shape::ProseCondition),
            ("select user from sysibm.sysdummy1;", Shape::Statement),
            ("declare @q nvarchar (4000) select @q =", Shape::Statement),
        ];
        for (input, expected) in cases {
            assert_eq!(shape(input), Some(*expected), "{input}");
        }
    }

    #[test]
    fn the_first_strong_context_names_the_shape() {
        // The bare input decides before any quote.
        assert_eq!(shape("1 UNION SELECT 'a' OR 'b'='b'"), Some(Shape::Union));
        // A weak bare shape gives way to a strong one after a quote.
        assert_eq!(shape("1 or 2 and x' OR 'a'='a"), Some(Shape::Condition));
        assert_eq!(shape("1 or 2"), Some(Shape::ProseCondition));
    }

    #[test]
    fn quotes_after_a_space_open_no_context() {
        assert_eq!(shape("x 'or 1=1"), None);
        assert_eq!(shape("x \\'or 1=1"), None, "a backslash does not hide the space");
        assert_eq!(shape("  ' or 1=1"), Some(Shape::Condition), "the first visible quote opens the input");
        assert_eq!(shape("\\' or 1=1"), Some(Shape::Condition));
        assert_eq!(shape("x' or 1=1"), Some(Shape::Condition));
    }

    #[test]
    fn only_the_first_quotes_start_contexts() {
        let quotes = |count: usize| format!("{} or 1=1", "a'".repeat(count));
        assert_eq!(shape(&quotes(MAX_QUOTE_STARTS)), Some(Shape::Condition));
        assert_eq!(shape(&quotes(MAX_QUOTE_STARTS + 1)), None, "the ninth quote starts no context");
    }

    #[test]
    fn contexts_read_a_bounded_number_of_tokens() {
        assert_eq!(shape("1 OR 1 + 1 = 1"), Some(Shape::Condition));
        let long = format!("1 OR 1{} = 1", " + 1".repeat(MAX_TOKENS));
        assert_eq!(shape(&long), None, "the comparison lies past the tokens a context reads");
    }

    #[test]
    fn what_follows_a_value_depends_on_the_value() {
        // A comment cuts a query after a closed string or parenthesis, not after a bare number or word.
        assert_eq!(shape("1) --"), Some(Shape::CommentCut));
        assert_eq!(shape("10 --"), None);
        assert_eq!(shape("abc --"), None);
        // Clauses and subqueries follow values, not words of prose.
        assert_eq!(shape("1 ORDER BY 2"), Some(Shape::Clause));
        assert_eq!(shape("numbers order by 2"), None);
        assert_eq!(shape("cats having 3 legs"), None);
        assert_eq!(shape("1+(select sleep(5))"), Some(Shape::Subquery));
        assert_eq!(shape("pages + (select one)"), None);
        assert_eq!(shape("2 (select one)"), None);
        // A statement after a word is weak; after a value, strong; a statement that goes on as text is none.
        assert_eq!(shape("name; drop table x"), Some(Shape::Statement));
        assert_eq!(shape("1; drop table x"), Some(Shape::Stacked));
        assert_eq!(shape("1; delete ?"), None);
        assert_eq!(shape("|| 1==1"), Some(Shape::Condition));
    }

    #[test]
    fn a_condition_is_sure_with_a_literal_a_quote_or_a_symbol() {
        assert_eq!(shape("x' or a=b"), Some(Shape::Condition), "after a closed string");
        assert_eq!(shape("hi or a = 1"), Some(Shape::Condition), "a literal on the right");
        assert_eq!(shape("hi or 2 = a"), Some(Shape::Condition), "a literal on the left");
        assert_eq!(shape("x or y + 1 = z"), Some(Shape::Condition), "a literal in the arithmetic");
        assert_eq!(shape("1 or x like 'a'"), Some(Shape::Condition), "after a number");
        assert_eq!(shape("1 or x in (1)"), Some(Shape::Condition));
        assert_eq!(shape("cats or dogs like 'x'"), Some(Shape::ProseCondition), "words on both sides");
        assert_eq!(shape("1 or 1 union select 2"), Some(Shape::Union));
        assert_eq!(shape("hi or there --"), None);
        assert_eq!(shape("x' or y --"), Some(Shape::Condition));
        assert_eq!(shape("and '"), None, "an open quote closes only after a closed value");
        assert_eq!(shape("x' or 1"), Some(Shape::Condition), "a literal ends the condition after a quote");
        assert_eq!(shape("1 or x"), None, "a word ends it after a number");
    }

    #[test]
    fn clauses_and_whole_statements() {
        assert_eq!(shape("1 having x = 1"), Some(Shape::Clause));
        assert_eq!(shape("1 where name like 'a'"), Some(Shape::Clause));
        assert_eq!(shape("1 where name then"), None);
        assert_eq!(shape("select count(*) from t;"), Some(Shape::Statement));
        assert_eq!(shape("select a, b from t"), Some(Shape::Statement));
        assert_eq!(shape("select a b from t"), None);
    }

    #[test]
    fn calls_are_read_to_their_closing_parenthesis() {
        assert_eq!(shape("1 OR f((1), 2) = 1"), Some(Shape::Condition));
        assert_eq!(shape("1 OR f(g(1)) = 1"), Some(Shape::Condition));
    }

    #[test]
    fn prose_is_not_sql() {
        for input in [
            "Is it 'yes' or 'no'?",
            "I don't know or care",
            "It's 'this' or that",
            "He said 'no' -- then left",
            "Cats or dogs?",
            "Select the best one from the list",
            "select one from each group",
            "I like it; select the best one",
            "2 order by tomorrow please",
            "'hello' + 'world'",
            "Either x or y",
            "",
            "'",
            "1",
            "the word 'or' is a conjunction",
            "select 'and'",
            "'countdown calendar\" and \"disney:",
            "1; exec will create the case 7",
            "\"And there is a little reward\"",
            "\"'This is Mr. Jabez Wilson,' said my assistant, 'and he is",
            "\"And that is--\"",
            "and they like to do their own secreting",
            "\"#2 MOM\"",
            "BLUE BROWN -BABY' --INFANT -CHILD",
        ] {
            assert_eq!(shape(input).filter(|shape| !shape.is_weak()), None, "{input}");
        }
        assert_eq!(shape("1 or 2"), Some(Shape::ProseCondition));
    }
}
