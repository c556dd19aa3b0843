//! Small enums spelled as words in the YAML (levels, formats, channel types), read case-insensitively.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::suggest::did_you_mean;

/// An enum written in YAML as one of a fixed set of words.
trait Keyword: Sized + Copy + 'static {
    /// What the value is, for error messages: `log level`.
    const WHAT: &'static str;
    /// Every value with its canonical spelling.
    const WORDS: &'static [(&'static str, Self)];

    fn word(self) -> &'static str;
}

fn deserialize_keyword<'de, D: Deserializer<'de>, K: Keyword>(deserializer: D) -> Result<K, D::Error> {
    struct KeywordVisitor<K>(std::marker::PhantomData<K>);

    impl<K: Keyword> Visitor<'_> for KeywordVisitor<K> {
        type Value = K;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "a {}", K::WHAT)
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<K, E> {
            if let Some((_, value)) = K::WORDS.iter().find(|(word, _)| word.eq_ignore_ascii_case(text)) {
                return Ok(*value);
            }
            let words: Vec<&str> = K::WORDS.iter().map(|(word, _)| *word).collect();
            let hint = match did_you_mean(text, words.iter().copied()) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("expected one of {}", words.join(", ")),
            };
            Err(E::custom(format_args!("unknown {} `{}`; {}", K::WHAT, text.escape_debug(), hint)))
        }
    }

    deserializer.deserialize_str(KeywordVisitor(std::marker::PhantomData))
}

macro_rules! keyword_enum {
    (
        $(#[$meta:meta])* $name:ident, $what:literal,
        { $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl Keyword for $name {
            const WHAT: &'static str = $what;
            const WORDS: &'static [(&'static str, Self)] = &[ $( ($word, $name::$variant), )+ ];
            fn word(self) -> &'static str {
                match self { $( $name::$variant => $word, )+ }
            }
        }

        impl $name {
            /// The canonical spelling, as written in the shipped files.
            pub fn as_str(self) -> &'static str {
                self.word()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.word())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserialize_keyword(deserializer)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.word())
            }
        }
    };
}

keyword_enum! {
    /// A log level, in the specification's names; `CRITICAL` is above `ERROR`.
    #[derive(PartialOrd, Ord)]
    LogLevel, "log level", {
        /// Detail for debugging.
        Debug = "DEBUG",
        /// Normal operation.
        Info = "INFO",
        /// Something unexpected that was handled.
        Warning = "WARNING",
        /// An operation failed.
        Error = "ERROR",
        /// The service is in danger.
        Critical = "CRITICAL",
    }
}

keyword_enum! {
    /// How log lines are written.
    LogFormat, "log format", {
        /// One JSON object per line, for machines.
        Json = "json",
        /// A readable line, for people at a terminal.
        Text = "text",
    }
}

keyword_enum! {
    /// Where log lines go.
    LogOutput, "log output", {
        /// Standard output.
        Stdout = "stdout",
        /// Standard error.
        Stderr = "stderr",
        /// A rotated file (`logging.file`).
        File = "file",
    }
}

keyword_enum! {
    /// When a log file is rotated.
    LogRotation, "log rotation", {
        /// Every minute (for tests and very busy services).
        Minutely = "minutely",
        /// Every hour.
        Hourly = "hourly",
        /// Every day.
        Daily = "daily",
        /// Never: one file.
        Never = "never",
    }
}

keyword_enum! {
    /// The severity of an alert; `Critical` is above `Warning`.
    #[derive(PartialOrd, Ord)]
    AlertLevel, "alert level", {
        /// The warning line was crossed.
        Warning = "warning",
        /// The critical line was crossed.
        Critical = "critical",
    }
}

keyword_enum! {
    /// Which side of a threshold is bad.
    Comparison, "comparison", {
        /// Values at or above the line alert (latency, memory, error rate).
        Greater = "greater",
        /// Values at or below the line alert (free disk, throughput).
        Less = "less",
    }
}

keyword_enum! {
    /// Where an alerting channel delivers.
    #[non_exhaustive]
    ChannelKind, "alert channel type", {
        /// A structured log line per alert transition.
        Log = "log",
        /// An email to the channel's recipients.
        Email = "email",
        /// An HTTP POST of JSON to a URL (Alertmanager's webhook format, or Slack's).
        Webhook = "webhook",
        /// `POST /api/v2/alerts` to one or more Alertmanagers.
        Alertmanager = "alertmanager",
    }
}

keyword_enum! {
    /// Where shared security state (rate limits, blocked addresses) lives.
    BackendKind, "backend type", {
        /// In this process only.
        Memory = "memory",
        /// In Redis, shared by every instance.
        Redis = "redis",
    }
}

keyword_enum! {
    /// What happens while the shared backend is unreachable.
    FailureMode, "failure mode", {
        /// Allow the request (and count it): availability over enforcement.
        FailOpen = "fail_open",
        /// Use this instance's in-memory state until the backend returns.
        LocalFallback = "local_fallback",
    }
}

keyword_enum! {
    /// The body a webhook channel posts.
    WebhookFormat, "webhook format", {
        /// Alertmanager's webhook payload, version 4.
        Alertmanager = "alertmanager",
        /// `{"text": ...}`, as Slack's incoming webhooks (and many chat tools) take.
        Slack = "slack",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<K: for<'de> Deserialize<'de>>(text: &str) -> Result<K, String> {
        serde_yaml::from_str(text).map_err(|error| error.to_string())
    }

    #[test]
    fn accepts_any_case() {
        assert_eq!(parse::<LogLevel>("warning"), Ok(LogLevel::Warning));
        assert_eq!(parse::<LogLevel>("Critical"), Ok(LogLevel::Critical));
        assert_eq!(parse::<AlertLevel>("CRITICAL"), Ok(AlertLevel::Critical));
        assert!(LogLevel::Critical > LogLevel::Error);
    }

    #[test]
    fn suggests_the_closest_word() {
        let error = parse::<LogLevel>("WARN").unwrap_err();
        assert!(error.contains("unknown log level `WARN`; did you mean `WARNING`?"), "{error}");
        let error = parse::<ChannelKind>("pager").unwrap_err();
        assert!(
            error.contains(
                "unknown alert channel type `pager`; expected one of log, email, webhook, alertmanager"
            ),
            "{error}"
        );
    }
}
