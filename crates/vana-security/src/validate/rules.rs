//! The built-in detection rules. Each recognises the *structure* of an attack (a quote that closes a
//! string and continues as SQL, a tag with an event handler, a path that climbs out of its directory, a
//! shell separator followed by a command), not a list of known payloads. All run in one pass as a
//! `RegexSet`, case-insensitively, with ASCII-only word boundaries: Unicode `\b` would send the regex
//! engine to a path about 100x slower on non-ASCII text.

use std::borrow::Cow;

use super::verdict::{Category, Severity};

/// One detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable identifier, reported in verdicts and events.
    pub id: u16,
    /// What it detects.
    pub category: Category,
    /// How bad a match is.
    pub severity: Severity,
    /// How sure a match alone is of an attack: the confidences of the rules that fire in one input add up
    /// to its score, refused at `input_validation.anomaly_threshold` (5 by default). Most rules are 5 (a
    /// match is an attack on its own); weak signals, which ordinary text also shows, are 2 or 3.
    pub confidence: u8,
    /// What the pattern means, for people.
    pub description: &'static str,
    /// The regular expression (compiled case-insensitively; a configured one keeps Unicode classes).
    pub pattern: Cow<'static, str>,
}

use Category::{
    CodeInjection as Code, CommandInjection as Cmd, JavaInjection as Java, LdapInjection as Ldap,
    NosqlInjection as Nosql, PathTraversal as Path, PhpInjection as Php, SqlInjection as Sql,
    TemplateInjection as Template, XpathInjection as Xpath, Xss, Xxe,
};
use Severity::{Critical, High, Medium};

use super::shell::Shape as ShellShape;
use super::sql::Shape as SqlShape;

/// A rule judged by a tokenizer, not a regular expression: its `pattern` is empty.
pub(crate) const fn grammar(
    id: u16,
    category: Category,
    severity: Severity,
    confidence: u8,
    description: &'static str,
) -> Rule {
    Rule { id, category, severity, confidence, description, pattern: Cow::Borrowed("") }
}

/// The built-in rules judged by reading the input as a language (SQL, shell) rather than by a pattern:
/// what a value's tokens do once they leave the value.
pub const GRAMMAR_RULES: &[Rule] = &[
    SqlShape::Condition.rule(),
    SqlShape::Union.rule(),
    SqlShape::Stacked.rule(),
    SqlShape::CommentCut.rule(),
    SqlShape::Clause.rule(),
    SqlShape::Subquery.rule(),
    SqlShape::ProseCondition.rule(),
    SqlShape::Statement.rule(),
    ShellShape::Separated.rule(),
    ShellShape::Substitution.rule(),
    ShellShape::WholeCommand.rule(),
    ShellShape::StoredCommand.rule(),
    ShellShape::ProseCommand.rule(),
    ShellShape::TooManyPositions.rule(),
    STILL_ENCODED,
];

/// A value still changing after the decoder's last round (`normalize::MAX_ROUNDS`, 12): encoded more times
/// than any client does by accident, built to outlast a decoder that stops at a fixed depth.
pub(crate) const STILL_ENCODED: Rule = grammar(
    307,
    Path,
    High,
    5,
    "a value still encoded after twelve rounds of decoding, built to outlast a decoder of fixed depth",
);

/// The rules that recognise code quoted whole in text rather than text breaking out of its context: a SQL
/// statement, probing functions and catalogue names, a command line or a program's name, markup a message
/// does not carry, calls of script functions, template tags, query operators and MongoDB shell calls, LDAP
/// filters, a system file's or a Windows path. Questions about code show each of them; an attack needs the break-out around them, which the other
/// rules see. They count toward a refusal from paranoia level 2 (`input_validation.level`); at level 1 they
/// are findings only.
pub const QUOTED_CODE_RULES: &[u16] = &[
    106, // time-based and out-of-band functions named (`SLEEP(5)`)
    108, // catalogue and system objects named (`pg_catalog`)
    111, // a SELECT statement
    118, // aggregate and procedure calls (`COUNT(*)`)
    138, // a whole SQL statement (grammar)
    205, // script functions called (`alert('hi')`, `eval(x)`)
    211, // document and embedding markup (`<meta>`, `<!DOCTYPE>`)
    302, // a system file named by path (`/etc/hosts`)
    301, // a climb in a path (`../config`), which relative paths in text show; 312 is the attack's
    305, // a Windows drive, UNC or environment path
    404, // a command with options on its own
    413, // a whole command line or a program's name (grammar)
    502, // template and PHP tags (`{% for %}`)
    503, // interpreter internals named (`process.env`)
    631, // a query operator (`$gt`) in text; 633 is the attack's
    635, // a MongoDB shell call written whole
    643, // an LDAP filter written whole; 641 and 642 are the attack's
];

/// The paranoia level from which a rule's confidence counts toward a refusal: 2 for [`QUOTED_CODE_RULES`],
/// else 1. (At level 3 weak signals also count as much as the threshold.)
pub fn rule_level(id: u16) -> u8 {
    if QUOTED_CODE_RULES.contains(&id) { 2 } else { 1 }
}

macro_rules! rules {
    ($( $id:literal $category:ident $severity:ident $confidence:literal $description:literal $pattern:expr; )+) => {
        /// The built-in rules.
        pub const BUILT_IN_RULES: &[Rule] = &[
            $( Rule { id: $id, category: $category, severity: $severity, confidence: $confidence, description: $description, pattern: Cow::Borrowed($pattern) }, )+
        ];
    };
}

rules! {
    // --- SQL injection -------------------------------------------------------------------------------
    101 Sql Critical 5 "UNION-based query extension"
        r"(?-u:\b)union(?:\s|\(|/\*.*?\*/)+(?:all(?:\s|\()+|distinct(?:\s|\()+)?select(?-u:\b)";
    102 Sql High 5 "a quote that closes a string, then a boolean operator and a condition"
        r#"(?:['"`]|´|’|‘|′)\s*\)*\s*(?:or|and|xor|\|\||&&)[\s(]*(?:[\w'"`.]+\s*\)*\s*(?:=|<>|!=|<=>|>=|<=|<|>|(?-u:\b)(?:like\s+['"]|rlike|regexp|in\s*\(|is\s+(?:not\s+)?null|between\s+\S+\s+and|sounds\s+like)(?-u:\b))|(?:true|false|null|\d+)\s*(?:--|#|/\*|;|$)|\w+\s*\(|['"`]{2})"#;
    103 Sql High 5 "a quote that closes a string, then a comment or statement end"
        r#"(?:['"`]|´|’|‘|′)\s*\)*\s*(?:--(?:[\s+-]*$|\s+-)|#\s*$|/\*|;\s*(?:--|#|select|drop|insert|update|delete|exec|shutdown|declare|waitfor|union|create|alter|truncate))"#;
    104 Sql High 5 "a tautology or contradiction of quoted values after OR / AND"
        r#"(?-u:\b)(?:or|and|xor|where|having|when)\s+\(*\s*(?:(?:'|‘|’|′)[^'"]*?(?:'|‘|’|′)|"[^"]*")\s*\)*\s*(?:=|<=>|!=|<>|<|>|<=|>=)\s*\(*\s*(?:'|‘|’|′|"|\d)"#;
    105 Sql High 5 "a bare boolean after OR / AND, ended by a comment"
        r"(?-u:\b)(?:or|and)\s+(?:true|false|\d+)\s*(?:--|#|/\*|;)";
    106 Sql Critical 5 "time-based or out-of-band SQL functions"
        r"(?-u:\b)(?:sleep|benchmark|pg_sleep|randomblob|dbms_lock\.sleep|dbms_pipe\.receive_message|utl_inaddr\.get_host_\w+|utl_http\.request|load_file|extractvalue|updatexml|exp|json_keys|gtid_subset)\s*\(\s*(?:\d|'|\(|select|md5|concat|char|0x|@@)";
    107 Sql Critical 5 "WAITFOR DELAY / TIME"
        r"(?-u:\b)waitfor\s+(?:delay|time)\s*'";
    108 Sql High 5 "SQL catalogue or system objects"
        r"(?-u:\b)(?:information_schema|mysql\.(?:user|db)|pg_(?:catalog|shadow|user|database)|sqlite_master|sys\.(?:objects|tables|columns|databases|all_\w+|user\$|sysobjects|syscolumns)|all_tables|all_tab_columns|user_tables|v\$version|msysaccessobjects|msysobjects|sysobjects|syscolumns|master\.\.)(?-u:\b)";
    109 Sql High 5 "server variables and fingerprinting functions"
        r"@@[a-z_]{3,}|(?-u:\b)select\s+(?:current_user|session_user|system_user|user|current_database|database|version)(?:\s*\(\s*\))?\s*(?:;|--|#|$)|(?-u:\b)(?:version|database|current_user|user|system_user|session_user|schema|current_setting|current_database|pg_backend_pid|connection_id|last_insert_id|row_count)\s*\(\s*(?:\)|')";
    110 Sql Critical 5 "stacked query with a destructive or executing statement"
        r"(?:;|\)|'|\x22)\s*(?:(?:drop\s+(?:table|database|schema|user|view)|truncate\s+table|alter\s+(?:table|user|database)|delete\s+from|insert\s+into|create\s+(?:table|user|function|procedure))\s+[\w`\x22\[]|update\s+\w+\s+set|exec(?:ute)?\s+(?:xp_|sp_|master\.)|shutdown(?:\s+with\s+nowait)?\s*(?:--|;|#|$)|declare\s+@|grant\s+\w+\s+(?:on|to))|(?-u:\b)(?:exec(?:ute)?\s+(?:xp_|sp_|master\.\.)|create\s+table\s+[\w.]+\s*\(|backup\s+database\s+\w+\s+to|grant\s+(?:connect|resource|dba|all)\s+to)";
    111 Sql High 5 "SELECT with SQL punctuation in its column list, then FROM"
        r"(?-u:\b)select(?:\s|\(|/\*.*?\*/)+(?:[\w.]*[*,(@'`\x22][^;]*?|\*)(?:\s|\)|\*/)from(?:\s|\()+[\w.$`\x22\[]+";
    112 Sql High 5 "ORDER BY / GROUP BY a column number, ended like an injection"
        r"(?-u:\b)(?:order|group)\s+by\s+\d+\s*(?:--|#|/\*|,|;|\)|$)";
    113 Sql High 5 "string building and type juggling used in injections"
        r"(?-u:\b)(?:convert|cast)\s*\(\s*(?:int|char|varchar|nvarchar|signed|unsigned)\s*,|(?-u:\b)(?:char|chr|nchar|concat|concat_ws|group_concat|ascii|substring|substr|mid|hex|unhex|cast|convert)\s*\(\s*(?:\d+\s*(?:\)|,|\+)|select|@@|0x|\(|'[^']*'\s*,|[\w.]+\s*\(|\w+\s+as\s+\w+|[\w.]+\s*,\s*\d)";
    114 Sql High 5 "INTO OUTFILE / DUMPFILE"
        r"(?-u:\b)into\s+(?:out|dump)file(?-u:\b)";
    116 Sql High 5 "a closing quote followed by string concatenation into a query"
        r#"['"`]\s*(?:\|\||\+)\s*\(?\s*(?:select|char|chr|concat|if)(?-u:\b)|['"`]\s*\|\|\s*(?:['"`]|[\w.]+\s*\()|['"`]\s*\)*\s*,\s*null\s*[,)]|/\*!?\d*[^*]*['"][^*]*\*/"#;
    117 Sql High 5 "a numeric or string comparison opened by a quote or parenthesis"
        r#"['")]\s*(?:and|or|&&|\|\|)\s+['"(]?[\w.]+['")]?\s*(?:=|<>|!=|>|<|like)\s*['"(]?[\w.]*"#;
    118 Sql High 5 "procedure and aggregate calls typical of probing"
        r"(?-u:\b)(?:procedure\s+analyse|row_count\s*\(|if\s*\(\s*(?:\d|\(|select|ascii|substr|count|length|benchmark|sleep)|case\s+when\s+.+\s+then|count\s*\(\s*\*\s*\)|randomblob|dbms_\w+\.\w+\s*\()";
    119 Sql High 5 "the operator and value of a tautology without the keyword"
        r#"(?:'(?:[^'\s]*)'\s*=\s*'|"(?:[^"\s]*)"\s*=\s*"|\d+\s*=\s*\d+\s*(?:--|#|/\*))|['"]\s*=\s*\d+\s*(?:--|#)|^\s*(?:or|and)\s+(?:true|false|\d+)\s*$|^\s*(?:or|and)\s+\w+\s*=\s*\w+\s*(?:--|#|/\*|$)|^\s*['"`]+\s*[-=&^|]{1,2}\s*['"`]+\s*$"#;
    121 Sql High 5 "a value that opens with a numeric tautology, or chains two of them"
        r#"^\s*(?:\d+\s*)?['"`]?\s*\)*\s*(?:or|and|xor|having|where)\s+\(*\s*['"]?\d[\w.]*['"]?\s*\)*\s*(?:=|<=>|!=|<>|<|>|<=|>=)\s*\(*\s*['"]?\d|\d\s*(?:=|<>|!=)\s*\d+\s+(?:and|or|xor)\s+\(*\s*['"]?\d+\s*(?:=|<>|!=)\s*\d"#;
    122 Sql Critical 5 "a time-based or probing function in an injection's place: opened by an operator, a quote or a parenthesis, or closed by a comment, a comparison or the value's end"
        r"(?:^|['\x22)+|&=,]\s*|(?-u:\b)(?:and|or|xor|if|then|else|select|where|having)\s*\(?\s*)(?:sleep|pg_sleep|benchmark|randomblob|dbms_lock\.sleep|dbms_pipe\.receive_message|utl_inaddr\.get_host_\w+|utl_http\.request|load_file|extractvalue|updatexml|row_count)\s*\([^()]*(?:\([^()]*\)[^()]*)*\)|(?-u:\b)(?:sleep|pg_sleep|benchmark|randomblob|dbms_lock\.sleep|load_file|extractvalue|updatexml)\s*\([^()]*(?:\([^()]*\)[^()]*)*\)\s*\)*\s*(?:--|#|/\*|;|=|<|>|$)";
    123 Sql High 5 "a bare number closed and followed by a boolean operator and a SQL literal: `true`/`false` or a cast quoted literal (`1 OR true`, `1 OR '{}'::jsonb @> ...`)"
        r#"^\s*['"]?\s*-?\d+\s*['"]?\s*\)*\s*(?:or|and|xor|\|\||&&)\s+\(*\s*(?:true|false|not\s+false|'[^']*'\s*::\s*\w+)(?-u:\b)"#;
    124 Sql High 5 "a value closed by parentheses, then an alias or a clause (`1)) AS x WHERE`, `1) ORDER BY 3`)"
        r#"^\s*(?:-?\d+|['"][^'"]*['"]?|\w+['"])\s*\)+\s*(?:as\s+\w+\s+)?(?:where|and|or|xor|order\s+by|group\s+by|having|union|limit|procedure)(?-u:\b)"#;
    120 Sql Medium 3 "a numeric comparison after WHERE / OR / AND (`OR 1=1`), which prose about SQL also shows"
        r#"(?-u:\b)(?:or|and|xor|where|having|when)\s+\(*\s*\d[\w.]*\s*\)*\s*(?:=|<=>|!=|<>|<|>|<=|>=)\s*\(*\s*(?:'|‘|’|′|"|\d)"#;

    // --- Cross-site scripting ------------------------------------------------------------------------
    201 Xss Critical 5 "a script, style or active-content element"
        r"<\s*/?\s*(?:script|iframe|frame|frameset|object|embed|applet|meta|base|link|style|svg|math|xml|xss|import|layer|ilayer|bgsound|isindex|template|noscript|portal|vmlframe|set|animate|handler|listener)(?:[\s/>+]|$)";
    202 Xss Critical 5 "an event-handler attribute"
        r#"(?-u:\b)on(?:moz|webkit|ms)?(?:auxclick|canplay\w*|close|cue\w+|formdata|fullscreen\w+|unhandledrejection|abort|activate|after\w+|animation\w+|before\w+|begin|blur|bounce|cell\w+|change|click|context\w+|control\w+|copy|cut|data\w+|dbl\w+|deactivate|drag\w*|drop|durationchange|emptied|end|ended|error\w*|filterchange|finish|focus\w*|formchange|forminput|hashchange|help|input|invalid|key\w+|layoutcomplete|load\w*|lose\w+|media\w+|message|mouse\w+|move\w*|offline|online|outofsync|page\w+|paste|pause|play\w*|pointer\w+|popstate|progress|property\w+|ratechange|readystatechange|redo|repeat|reset|resize\w*|resume|reverse|row\w+|scroll\w*|search|seek\w*|select\w*|show|stalled|start|stop|storage|submit|suspend|sync\w+|time\w+|toggle|touch\w+|track\w+|transition\w+|undo|unload|url\w+|volumechange|waiting|wheel)\s*="#;
    203 Xss Critical 5 "a script-capable URL scheme"
        r"(?-u:\b)(?:j\s*a\s*v\s*a|v\s*b|l\s*i\s*v\s*e|e\s*c\s*m\s*a)\s*s\s*c\s*r\s*i\s*p\s*t\s*:|(?-u:\b)mocha\s*:|(?-u:\b)data\s*:\s*(?:text/html|image/svg\+xml|application/(?:x-)?(?:javascript|ecmascript|xhtml))|(?-u:\b)(?:javascript|vbscript)\s*(?:&colon;|%3a|\\x3a)";
    204 Xss High 5 "a tag with a URL, style or handler attribute"
        r#"<\s*[a-z][a-z0-9:-]*(?:[\s/+]|\x00)[^>]*?(?:src|href|dynsrc|lowsrc|background|action|formaction|poster|data|style|xlink:href|srcdoc|code|codebase|values|from|to|by|attributename)\s*=\s*['"`]?\s*(?:[^\s'"`>]*(?:javascript|vbscript|data|expression|alert|\(|&#|\\u|\\x)|[^'"`>]*(?:javascript|expression))"#;
    205 Xss High 5 "calls to dialog, eval and string-to-code functions"
        r#"(?-u:\b)(?:alert|prompt|confirm|eval|settimeout|setinterval|execscript|msgbox)\s*(?:\(|\\*`|&#|\))|(?-u:\b)(?:alert|prompt|confirm|eval)\s*\]|\[\s*['"]?(?:al|ale|pro|con)\S*['"]?\s*\+|string\.fromcharcode|\.constructor\s*\(|function\s*\(\s*\)\s*\{|function\s+\w+\s*\([^)]*\)\s*\{|\$\(\s*['"][^'"]*['"]\s*\)\s*\.\s*\w+\s*\(|(?-u:\b)location\s*=\s*['"]|document\s*\.\s*(?:cookie|domain|write|location|body)|window\s*\.\s*(?:location|open|name)|location\s*\.\s*(?:hash|href|search|replace)|(?:top|self|parent|window|this)\s*\[\s*['"/\d]"#;
    213 Xss High 5 "a dialog or code function called the way filter evasions call it: a tagged template, encoded parentheses, a parenthesised or bracketed callee, or passed as a callback"
        r#"(?-u:\b)(?:alert|prompt|confirm|eval|print)\s*(?:`|&(?:lpar|#x?0*(?:28|40));|\\x28|\\u0028)|\(\s*(?:alert|prompt|confirm|eval)\s*\)\s*\(|\.\s*(?:find|map|call|apply|some|every|filter|foreach|then)\s*\(\s*(?:alert|prompt|confirm|eval)\s*\)|(?:top|window|self|parent|frames|globalthis)\s*\[\s*['"`]?\s*(?:alert|prompt|confirm|eval)|=\s*(?:alert|prompt|confirm|eval)\s*,\s*\w+\s*\("#;
    206 Xss High 5 "CSS expressions and script-bearing CSS"
        r"(?-u:\b)expression\s*\(|(?-u:\b)url\s*\(\s*['\x22]?\s*(?:javascript|vbscript|data):|-moz-binding|behavior\s*:|@import|@font-face";
    207 Xss High 5 "markup that breaks out of an attribute or element"
        r#"['"`]\s*/?\s*>\s*<\s*/?\s*(?:script|svg|iframe|style|title|textarea|!--|/)|</\s*(?:title|textarea|style|script|noscript|xmp|iframe|noembed|noframes|plaintext)\s*>|<!--.*?-->|-->\s*<|<\s*!\s*(?:entity|element|attlist)"#;
    208 Xss Medium 5 "an event-handler name on its own, as probes send it"
        r"^\s*(?:fs)?on(?:moz|webkit|ms)?(?:auxclick|canplay\w*|close|cue\w+|formdata|fullscreen\w+|unhandledrejection|abort|activate|after\w+|animation\w+|before\w+|begin|blur|bounce|cell\w+|change|click|context\w+|control\w+|copy|cut|data\w+|dbl\w+|deactivate|drag\w*|drop|durationchange|emptied|end|ended|error\w*|filterchange|finish|focus\w*|formchange|forminput|hashchange|help|input|invalid|key\w+|layoutcomplete|load\w*|lose\w+|media\w+|message|mouse\w+|move\w*|offline|online|outofsync|page\w+|paste|pause|play\w*|pointer\w+|popstate|progress|property\w+|ratechange|readystatechange|redo|repeat|reset|resize\w*|resume|reverse|row\w+|scroll\w*|search|seek\w*|select\w*|show|stalled|start|stop|storage|submit|suspend|sync\w+|time\w+|toggle|touch\w+|track\w+|transition\w+|undo|unload|url\w+|volumechange|waiting|wheel)\s*$|^\s*fscommand\s*$|^\s*seeksegmenttime\s*$";
    209 Xss High 5 "a tag opened with a quote or angle bracket break"
        r#"^\s*['"`]?\s*>?\s*<\s*[a-z]+[^>]*>?.*(?:alert|prompt|confirm|javascript|on[a-z]+\s*=)"#;
    210 Xss Medium 5 "base64 or entity-encoded markup"
        r"(?-u:\b)(?:phn2zy|phnjcmlwd|pgltz|pgzyyw1|pgjvzhk|pgrpdi|phn0eWxl|pgetag)|&#x?0*(?:3c|60);?\s*/?\s*[a-z]|\+ad[w4]-|\\0*(?:6[1-9a-f]|7[0-9a])\\0*(?:6[1-9a-f]|7[0-9a])";
    212 Xss Medium 5 "an angle bracket on its own, as encoded-bracket probes send it"
        r"^\s*<\s*$";
    211 Xss Medium 5 "document, form and embedding markup that user text does not carry"
        r"<\s*/?\s*(?:html|head|body|meta|title|form|input|button|textarea|select|option|label|fieldset|legend|frameset|xmp|plaintext|listing|marquee|keygen|isindex|details|summary|dialog|image|fe[a-z]+|[a-z]+:[a-z]+|svg|math|video|audio|source|track|canvas|table|tr|td|th|xml|doc|root|stylesheet|template|div|hr)(?:\s[^<>]*)?/?\s*>|<\?\s*(?:xml|import)|<!--|<!\[|<\s*!\s*doctype|<%";

    // --- Path traversal and file inclusion -------------------------------------------------------------
    312 Path Critical 5 "a climb that reaches out: at the value's start, three levels or more, onto a system directory or a secret file, or cut short by a NUL or a parameter"
        r"^\s*(?:\.{0,2}[/\\]+)*\.\.+[/\\]|(?:\.\.+[/\\]+){3}|\.\.+[/\\]+(?:\.\.+[/\\]+)*(?:etc|proc|sys|boot|root|home|var|usr|windows|winnt|inetpub|system32|\.(?:ssh|env|git|htaccess|htpasswd))(?:[/\\]|$)|\.{2,}(?:;|%00|\x00)";
    301 Path Critical 5 "a path that climbs out of its directory"
        r"\.\.+[/\\]|[/\\]\.{2,}[/\\;]|[/\\]\.\.$|\.{2,}(?:;|%00|\x00)";
    302 Path Critical 5 "files that hold secrets or system state, by path"
        r"(?:^|[/\\])(?:etc[/\\](?:passwd|shadow|gshadow|group|issue|motd|fstab|crontab|sudoers|httpd|apache\w*|nginx|php\w*|mysql|ssh|\w+\.conf)|proc[/\\](?:self|version|cmdline|meminfo|net|\d+)|boot\.ini|win\.ini|system32[/\\]|\.(?:ssh|bashrc|bash_profile|bash_history|profile|htpasswd|htaccess|git|svn|env|netrc|npmrc|xauthority|mysql_history|viminfo)(?:[/\\]|$)|web\.config|wp-config\.php|(?:access|error)[._]\s?log|(?:httpd|apache2?|nginx|lighttpd)\.conf|php\.ini|my\.cnf)|/(?:root|boot|private/etc|library/preferences)/[\w.+-]|/?(?:inetpub|xampp|wamp\d*|apache group|winnt|system32)[/\\]";
    308 Path Medium 3 "an absolute path into a system directory, which questions about systems also show"
        r"/etc/[\w.+-]|(?:^|[\s'\x22=;(])/(?:var|usr|sys|dev|bin|sbin|lib|lib64|opt)/[\w.+-]|(?-u:\b)[a-z]:[/\\](?:[\w .-]+[/\\])+|/?(?:program files(?: \(x86\))?|apache\d?|php\d?|windows)[/\\]|(?-u:\b)[a-z]:[\\/](?:users|documents|program)";
    310 Path High 5 "a value that is nothing but a path into a system directory or to a file at a drive's root, as file parameters are probed"
        r"^\s*(?:[/\\]?(?:[a-z]:)?[/\\]?(?:etc|var|usr|sys|dev|bin|sbin|lib|lib64|opt|root|boot|proc|windows|winnt|system32|appserv|program files(?: \(x86\))?|inetpub|xampp|apache\d?|php\d?)[/\\][^\s<>|;&]*(?:\s[^\s<>|;&]+[/\\][^\s<>|;&]*)*[/\\]?|[a-z]:[/\\][\w.-]+\.\w+)\s*$";
    311 Path High 5 "a value that is nothing but the path of a file that holds secrets or system state, as file parameters are probed"
        r"^\s*(?:\.{0,2}[/\\])*(?:etc[/\\](?:passwd|shadow|gshadow|group|hosts|issue|fstab|crontab|sudoers)|proc[/\\](?:self|version|cmdline|\d+)[/\\]?\S*|\.(?:htaccess|htpasswd|env|git|svn|ssh|bash_history|netrc|npmrc)(?:[/\\]\S*)?|(?:boot|win|system)\.ini|web\.config|wp-config\.php)\s*$";
    309 Path Medium 2 "text that starts with an ellipsis, as traversal probes do"
        r"^\.{3,}";
    303 Path Critical 5 "stream wrappers and URLs of local files and resources (`file://`, `res://`)"
        r"(?-u:\b)(?:php|file|zip|phar|glob|data|expect|input|zlib|compress\.\w+|ogg|rar|ssh2|gopher|dict|jar|netdoc|res)://";
    304 Path High 5 "a NUL byte that truncates a path"
        r"%00|\x00|\\0(?:[^\d]|$)";
    305 Path High 5 "Windows drive, UNC and environment paths"
        r"(?-u:\b)[a-z]:[\\/](?:windows|winnt|boot\.ini|inetpub|system32)|^\\\\[\w.$-]+\\|%systemroot%|%windir%";
    306 Path High 5 "dot-segments written with encodings the decoder does not know"
        r"(?:%2e|0x2e|%c0%ae|%uff0e|\\u002e)(?:\.|%2e|0x2e|%c0%ae|%uff0e|\\u002e)(?:/|\\|%2f|%5c|0x2f|0x5c|%c0%af|%c1%9c|%uff0f|\\u002f|2f|5c)|\.(?:%2e|0x2e|%c0%ae|%uff0e|\\u002e)(?:/|\\|%2f|%5c|0x2f|0x5c|%c0%af|%c1%9c|%uff0f|\\u002f|2f|5c)|\.\.(?:%2f|%5c|0x2f|0x5c|%c0%af|%c1%9c|%uff0f|\\u002f|2f|5c)|\.\.(?:%|0x|\\x|\\u)|(?-u:\b)(?:li4v|li4u|l2v0yy|zxrjl3bhc3n3za)";

    // --- OS command injection --------------------------------------------------------------------------
    401 Cmd Critical 5 "a shell separator followed by a command"
        r"(?:\n\s*(?:whoami|uname|ifconfig|ipconfig|netstat|nslookup|wget|curl|systeminfo|tasklist|netsh|powershell|(?:/usr)?/s?bin/\w+)(?-u:\b))|(?:[;&|]|\$\(|\|\||&&|\\n|\\r|%0a|%0d)[^\S\n]*(?:\{|\(|!)?\s*(?:/(?:usr/)?(?:s?bin)/)?(?:(?:id|whoami|uname|pwd|ls|ping|nc|ncat|netcat|curl|wget|bash|sh|zsh|ksh|dash|cmd|powershell|pwsh|echo|sleep|nslookup|dig|ifconfig|ipconfig|netstat|dir|rm|chmod|chown|python\d?|perl|ruby|php|node|lua|telnet|ssh|scp|systeminfo|sysinfo|tasklist|taskkill|hostname|ps|killall|crontab|nohup|xterm|base64|sudo|mkfifo|mknod|tftp|wmic|certutil|bitsadmin|xcopy|attrib|arp|tracert|traceroute|useradd|passwd|cat|netsh|phpinfo|phpversion)(?:\s|$|\(|;|&|\||`|\)|\$\{ifs\}|<|>|\.exe|\\n)|(?:type|set|find|more|less|head|tail|copy|del|start|kill|env|export|who|net|ver|sh|grep|awk|sed|reg|sc|cp|mv|touch|shutdown|reboot)\s+(?:-|/|\\|%|[a-z]:\\|\$)|net\s+(?:user|localgroup|view|share|use|group|accounts|session)(?-u:\b)|reg\s+(?:add|query|delete|save|export)\s|which\s+(?:curl|wget|gcc|cc|nc|netcat|ncat|perl|python\d?|ruby|php|bash|sh|node)(?-u:\b))|['\x22]\s*(?:whoami|uname|ifconfig|ipconfig|netstat|nslookup|systeminfo|tasklist|phpinfo|netsh)(?-u:\b)";
    402 Cmd Critical 5 "command substitution `$(...)` of a shell command (backquotes are the shell grammar's: markdown writes code in them)"
        r"\$\(\s*(?:/[\w/]*)?(?:id|whoami|uname|pwd|ls|cat|curl|wget|nc|ncat|netcat|bash|sh|zsh|ping|sleep|echo|perl|python\d?|ruby|php|nslookup|ifconfig|ipconfig|netstat|rm|chmod|base64|dig|hostname|env|printenv|ps|kill|which|nohup|telnet|ssh)(?-u:\b)[^)]*\)";
    403 Cmd High 5 "shell tricks: IFS, brace expansion, shellshock, redirection to a device (not `/dev/null`) or a system directory, netcat running a program"
        r"\$\{?ifs\}?|\{\s*(?:/[\w/.]+|cat|ls|id|whoami|uname|wget|curl|nc|bash|sh|echo|ping|sleep)\s*,[^}]*\}|\(\)\s*\{\s*:;\s*\}|/dev/(?:tcp|udp)/|>\s*/(?:tmp|var|etc)/|>\s*/dev/(?:[^n\s]|n[^u]|nu[^l])|(?-u:\b)(?:ba)?sh\s+-c\s|(?-u:\b)cmd(?:\.exe)?\s*/[ck](?-u:\b)|powershell(?:\.exe)?\s+-|(?-u:\b)(?:nc|ncat|netcat)(?:\.exe)?\s+(?:[^\s;|&]+\s+){0,6}-[ec]\s*['\x22]?(?:/[\w/.-]+|(?:ba|z|k|da|c)?sh|cmd(?:\.exe)?|powershell|pwsh|python\d?|perl|ruby|php)(?-u:\b)";
    404 Cmd High 5 "a command with options on its own"
        r"^\s*(?:[&;|]\s*)?(?:(?:uname|ifconfig|ipconfig|netstat|whoami|pwd|sysinfo|systeminfo|tasklist|phpinfo\(\);?|ls|dir|route|hostname)(?:\s+(?:-|/)\w+)*|(?:ls|dir|cat|type|ping|nc|ncat|netcat|curl|wget|perl|python\d?|ruby|php|node|bash|sh|powershell|cmd|netsh|net|reg|ipconfig|ifconfig|netstat|nslookup|uname|rm|chmod|tftp|ftp|telnet|ssh|sleep)\s+(?:(?:-|/)[a-z]+\s*|[a-z]:\\|/[\w.*/-]*|https?://\S+|\d[\d.]*\s*|\w+\s+)+.*)\s*[;&|]?\s*$";
    405 Cmd High 5 "a shell separator around a command with a path argument"
        r"[;&|`]\s*[a-z]+\s+(?:-\w+\s+)*(?:/(?:etc|bin|usr|var|home|tmp|dev|proc)|[a-z]:\\|%\w+%)";
    406 Cmd Medium 5 "escaped line breaks around a command"
        r"(?:\\n|\\r|%0a|%0d)\s*/?(?:bin/)?\w+\s*(?:-\w+\s*)?(?:\\n|\\r|%0a|%0d|$)|^\s*(?:[;&|]{1,2}|\\[nr]|%0[ad])+\s*$|[|;]\s*[\w/]*/?(?:id|whoami|uname)\\n";

    // --- Code injection ----------------------------------------------------------------------------------
    501 Code High 5 "server-side code execution calls"
        r"(?-u:\b)(?:system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec|assert|create_function|call_user_func|preg_replace|include|require|include_once|require_once|file_get_contents|file_put_contents|fopen|readfile|base64_decode|gzinflate|str_rot13|eval|__import__|subprocess\.\w+|os\.system|os\.popen|runtime\.getruntime|processbuilder)\s*\(\s*(?:\$|'|\x22|`|\w+\s*\(|_|\[|\$_)";
    502 Code High 5 "PHP and server-side template tags"
        r"<\?(?:php|=)?\s|\{\{.*?(?:__|\.\w+\(|\w+\s*\(\s*['\x22]|config|self|request|import|\[|\d+\s*[*+]\s*\d+).*?\}\}|\{%\s*(?:import|include|extends|set|for|if|macro|call|debug|load|block|print)(?-u:\b).*?%\}|\$\{.*?(?:runtime|\.exec|class|getclass|forname|java\.lang|\d+\s*[*+]\s*\d+).*?\}|#\{\s*(?:\d+\s*[*+]\s*\d+|[\w.]+\s*[.(]|`)|<%.*?%>";
    503 Code High 5 "superglobals and interpreter internals"
        r"\$\{\s*(?:jndi|lower|upper|env|sys|java|date|ctx|main|k8s|docker|spring|bundle|base64)\s*:|\$\{@?\w+\s*\(|\{\$\{|(?-u:\b)(?:phpinfo|phpversion)\s*\(|\$_(?:get|post|request|cookie|server|files|env|session)\s*\[|\.__(?:proto|class|globals|builtins|subclasses|import|mro|init|base|bases|dict)__|__proto__\s*[\[.=]|(?-u:\b)constructor\s*\.\s*constructor|(?-u:\b)process\s*\.\s*(?:mainmodule|binding|env)|require\s*\(\s*['\x22]child_process";
    505 Code High 5 "a value that is nothing but a template placeholder, as template-injection probes send it"
        r"^\s*\{\{\s*[\w.\[\]'\x22]+\s*\}\}\s*$";
    504 Code Medium 2 "a template placeholder (`{{ name }}`) in text, which questions about templates also show"
        r"\{\{\s*[\w.\[\]'\x22]+\s*\}\}";
    // --- PHP ------------------------------------------------------------------------------------------------
    601 Php Critical 5 "a serialized PHP object or array, as unserialize() takes it"
        r#"(?:^|[;{"'\s=])[oc]:\d+:"[a-z_\\][\w\\]*":\d+:\{|(?:^|[;{"'\s=])a:\d+:\{\s*[is]:\d+[:;]"#;
    602 Php Critical 5 "PHP stream filters and inline code as data: the moves of file inclusion"
        r"php://(?:filter|input|stdin|memory|temp|fd)(?:/|$|\s)|convert\.(?:base64|iconv|quoted)[\w.-]*(?:/[\w.|-]*)*/?resource\s*=|(?-u:\b)data:[\w/+.-]*;base64,\s*pd9w|(?-u:\b)expect://\w";
    603 Php Critical 5 "PHP code: an opening tag, calls through variables and superglobals, callbacks that run commands"
        r#"<\?(?:php(?-u:\b)|=)|\$_(?:get|post|request|cookie|server|files)\s*\[[^\]]*\]\s*\(|\$\{\s*@?\s*[a-z_]\w*\s*\(|\$[a-z_]\w*\s*\(\s*\$_(?:get|post|request|cookie)|(?-u:\b)(?:array_map|array_filter|usort|uasort|register_shutdown_function|ob_start|call_user_func(?:_array)?)\s*\(\s*['"](?:system|exec|passthru|assert|shell_exec|popen)['"]"#;

    // --- Java ---------------------------------------------------------------------------------------------------
    611 Java Critical 5 "a JNDI lookup as Log4j resolves it, letters spelled by nested lookups included"
        r"\$\{\s*(?:j|\$\{[^{}]{1,40}\})\s*(?:n|\$\{[^{}]{1,40}\})\s*(?:d|\$\{[^{}]{1,40}\})\s*(?:i|\$\{[^{}]{1,40}\})\s*:|\$\{\s*\$\{\s*(?:lower|upper|::-|env|sys|date|base64|main|ctx)[^{}]{0,40}\}";
    612 Java Critical 5 "OGNL reaching the runtime or the member-access guard (Struts)"
        r"%\{\s*\(\s*#|#_memberaccess|@ognl\.ognlcontext|#context\s*\[|\(\s*#[a-z_]\w*\s*=|@java\.lang\.(?:runtime|system|processbuilder|class)@|#(?:cmd|cmds|p|process|ros)\s*=\s*[\x22'@(]";
    613 Java Critical 5 "an expression language reaching the Java runtime or reflection"
        r"(?-u:\b)t\s*\(\s*(?:java|javax|org)\.[\w.]+\s*\)|java\.lang\.(?:runtime|processbuilder|system|class|thread|reflect)(?-u:\b)|(?-u:\b)runtime\s*\.\s*getruntime\s*\(|\.\s*getclass\s*\(\s*\)\s*\.\s*(?:forname|getclassloader)|(?-u:\b)class\s*\.\s*forname\s*\(|new\s+java\.(?:lang|io|net|util)\.|scriptenginemanager|(?-u:\b)processbuilder\s*\(|\.\s*getruntime\s*\(\s*\)\s*\.\s*exec|javax\.script|\.\s*getdeclaredmethod\s*\(";
    614 Java High 5 "a serialized Java object (its stream magic, in base64 or hex)"
        r"(?-u:\b)ro0ab[a-z0-9+/]{8}|(?-u:\b)aced0005[0-9a-f]{4}|h4siaaaaaaaaa[a-z0-9+/]{4}";

    // --- Server-side templates --------------------------------------------------------------------------------
    621 Template Critical 5 "arithmetic inside template delimiters, as template-injection probes send it"
        r#"\{\{\s*\d+\s*[*+/-]\s*['"]?\d+['"]?\s*\}\}|\$\{\s*\{?\s*\d+\s*[*+]\s*\d+\s*\}?\s*\}|#\{\s*\d+\s*[*+]\s*\d+\s*\}|<%=?\s*\d+\s*[*+]\s*\d+\s*%>|\[\[\s*\d+\s*[*+]\s*\d+\s*\]\]|@\(\s*\d+\s*[*+]\s*\d+\s*\)|\{\s*\d+\s*\*\s*\d+\s*\}"#;
    622 Template Critical 5 "a template reaching objects, filters or the engine's internals"
        r#"\{\{[^}]{0,200}(?:__\w+__|\.mro(?-u:\b)|subclasses|\|\s*attr\s*\(|\|\s*filter\s*\(|\|\s*map\s*\(|request\s*\.\s*(?:application|args|environ)|config\s*\.\s*items|_self\s*\.\s*env|\.\s*getclass\s*\(|lipsum\s*\.|cycler\s*\.|joiner\s*\.|namespace\s*\.|dump\s*\(\s*app|app\s*\.\s*request|\[\s*['"][^'"]*['"]\s*\]\s*\|)|\{%[^%]{0,200}(?:__\w+__|popen|import\s+os)|<#assign|\?\s*new\s*\(\s*\)|freemarker\.template\.utility|\{\s*\$smarty\s*\.|\{php\}|#set\s*\(\s*\$\w+\s*=|\$class\s*\.\s*inspect|\{\{\s*(?:self|config|request|settings)\s*\}\}"#;

    // --- NoSQL ------------------------------------------------------------------------------------------------------
    635 Nosql Medium 5 "a MongoDB shell call written whole (`db.users.find({...})`): a query quoted, as a SQL statement is"
        r"(?-u:\b)db\s*\.\s*\w+\s*\.\s*(?:find|insert|update|remove|drop|mapreduce|aggregate|count)\w*\s*\(";
    633 Nosql Critical 5 "a query operator object where a value belongs: the whole value an object (or holding one) keyed by an operator, a bracketed operator parameter (`[$ne]=`), or a bare operator"
        r#"^\s*\{\s*['"]?\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|nor|not|expr|elemmatch|size|type|mod|all|function|accumulator|lookup|jsonschema)['"]?\s*:|^\s*\{[^{}]*:\s*\{\s*['"]?\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|nor|not|expr|elemmatch|size|type|mod|all|function|accumulator|lookup|jsonschema)['"]?\s*:|\[\s*['"]?\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|nor|not|expr|elemmatch|size|type|mod|all|function|accumulator|lookup|jsonschema)['"]?\s*\]|^\s*['"]?\$(?:ne|gt|gte|lt|lte|in|nin|regex|where|exists|or|nor|expr|function)['"]?\s*(?::|$)"#;
    634 Nosql Critical 5 "a value closed, then a JavaScript statement, as a MongoDB `$where` runs it (`';return(true);var x='`, `0;return true`)"
        r#"^\s*(?:-?\d+|['"]|\w*['"])\s*\)*\s*;\s*(?:return\b|var\s|let\s|const\s|while\s*\(|for\s*\(|sleep\s*\(|this\.)"#;
    631 Nosql Critical 5 "a MongoDB query operator where a value belongs (`{\"$ne\": 1}`, `[$gt]=`)"
        r#"[\[{,]\s*['"]?\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|or|and|nor|not|expr|elemmatch|size|type|mod|all|function|accumulator|lookup|jsonschema)['"]?\s*[\]:]|^\s*['"]?\$(?:ne|gt|gte|lt|lte|in|nin|regex|where|exists|or|nor|expr|function)['"]?\s*(?::|$)"#;
    632 Nosql High 5 "server-side JavaScript of a MongoDB $where: document fields, busy waits"
        r"this\s*\.\s*\w+\s*\.\s*match\s*\(|['\x22]\s*;\s*sleep\s*\(\s*\d{3,}\s*\)|while\s*\(\s*\w+\s*-\s*\w+\s*<\s*\d{3,}\s*\)|(?-u:\b)(?:true|1)\s*,\s*\$where\s*:";

    // --- LDAP ---------------------------------------------------------------------------------------------------------
    642 Ldap High 5 "a value made of LDAP filter metacharacters (`*()|&`), as filter breakers probe"
        r#"^\s*\*?\s*(?:[()|&!]\s*){3,}['"]?\s*$"#;
    643 Ldap Medium 5 "an LDAP filter written whole (`(&(objectClass=user)(cn=a))`), as questions about LDAP quote it"
        r"\(\s*[|&]\s*\(\s*[\w.-]+\s*[~<>]?=";
    641 Ldap High 5 "an LDAP filter closed and reopened, or a wildcard filter on an attribute"
        r"\)\s*\(\s*[|&!]|\*\s*\)\s*\(\s*[|&!(\w]|\(\s*[\w.-]+\s*=\s*\*\s*\)\s*\)|^\s*\*\s*\(\s*[|&]|\)\s*\(\s*[\w.-]+\s*=\s*\*?\s*\)\s*\)|[*)]\s*\)\s*(?:%00|\x00)";

    // --- XPath ----------------------------------------------------------------------------------------------------------
    651 Xpath High 5 "XPath functions and axes probing a document"
        r#"['"]\s*(?:or|and)\s+(?:name|count|string-length|substring|local-name|contains|text|position|string)\s*\(|(?-u:\b)count\s*\(\s*/|(?-u:\b)(?:name|local-name|string-length)\s*\(\s*(?:/|\.\.|\))[^)]*\)\s*(?:=|<|>|!=)|/\s*(?:child|descendant|descendant-or-self|ancestor|parent|following-sibling|preceding-sibling|attribute)::|//\s*\*\s*\[|/\s*@\s*\*"#;

    // --- XML external entities ----------------------------------------------------------------------------------------
    661 Xxe Critical 5 "an XML entity declared in a document type, or reaching a file or the network"
        r#"<!doctype[^>\[]{0,100}\[\s*<!(?:entity|element)|<!entity\s+(?:%\s*)?[\w.-]+\s+(?:system|public)(?-u:\b)|<!entity\s+(?:%\s*)?[\w.-]+\s+['"]|(?:system|public)\s+['"](?:file|https?|ftp|php|expect|jar|netdoc|gopher|data):|%[\w.-]+;\s*(?:%[\w.-]+;|\]>)"#;
    662 Xxe High 5 "XInclude and XSLT reaching documents, functions or system properties"
        r"<\s*xi\s*:\s*include|xmlns\s*:\s*xi\s*=|<\s*xsl\s*:[\w-]+[^>]*(?:document\s*\(|php:function|system-property|unparsed-text)|xmlns\s*:\s*php\s*=\s*['\x22]http://php\.net/xsl";
}
