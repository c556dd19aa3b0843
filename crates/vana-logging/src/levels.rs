//! Log levels from the configuration, per component, changeable at run time.
//!
//! A component is named in `logging.components` (`security`, `agent_execution`, ...). Events belong to a
//! component by their target: the component's own name as a target prefix (`agent_execution`,
//! `agent_execution::planner`), or the vana crate that reports for it (`vana_security` for `security`,
//! `vana_metrics` and `vana_apm` for `performance`). `CRITICAL` maps onto tracing's `ERROR`; a component at
//! `CRITICAL` keeps only the error events marked `critical = true`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use tracing::Level;
use tracing_core::{Interest, Metadata};
use tracing_subscriber::layer::{Context, Filter};
use vana_config::{LogLevel, Logging};

/// The target of events written by [`StructuredLogger`](crate::StructuredLogger), whose component is a field.
pub(crate) const LOGGER_TARGET: &str = "vana_logging::structured";

/// vana crates whose events belong to a configured component.
const COMPONENT_ALIASES: [(&str, &str); 3] =
    [("security", "vana_security"), ("performance", "vana_metrics"), ("performance", "vana_apm")];

#[derive(Debug, Clone)]
struct ComponentRule {
    name: String,
    /// Target prefixes of the component, longest first across all rules.
    prefix: String,
    level: LogLevel,
}

/// The levels in force.
#[derive(Debug, Clone)]
pub(crate) struct LevelRules {
    global: LogLevel,
    rules: Vec<ComponentRule>,
}

impl LevelRules {
    pub(crate) fn from_config(config: &Logging) -> Self {
        let mut this = Self { global: config.level, rules: Vec::new() };
        for component in &config.components {
            this.set_component(&component.name, component.level);
        }
        this
    }

    fn set_component(&mut self, name: &str, level: LogLevel) {
        self.rules.retain(|rule| rule.name != name);
        let aliases =
            COMPONENT_ALIASES.iter().filter(|(component, _)| *component == name).map(|(_, target)| *target);
        for prefix in std::iter::once(name).chain(aliases) {
            self.rules.push(ComponentRule { name: name.to_owned(), prefix: prefix.to_owned(), level });
        }
        self.rules.sort_by_key(|rule| std::cmp::Reverse(rule.prefix.len()));
    }

    fn rule_for_target(&self, target: &str) -> Option<&ComponentRule> {
        self.rules.iter().find(|rule| {
            target
                .strip_prefix(rule.prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
    }

    /// The configured component an event of `target` belongs to.
    pub(crate) fn component_for_target(&self, target: &str) -> Option<&str> {
        self.rule_for_target(target).map(|rule| rule.name.as_str())
    }

    fn level_for_target(&self, target: &str) -> LogLevel {
        self.rule_for_target(target).map_or(self.global, |rule| rule.level)
    }

    /// The level of a component named by a field (events of [`StructuredLogger`](crate::StructuredLogger)).
    pub(crate) fn level_for_component(&self, name: &str) -> LogLevel {
        self.rules.iter().find(|rule| rule.name == name).map_or(self.global, |rule| rule.level)
    }

    /// The most verbose level of any component.
    fn most_verbose(&self) -> LogLevel {
        self.rules
            .iter()
            .map(|rule| rule.level)
            .chain(std::iter::once(self.global))
            .min()
            .unwrap_or(self.global)
    }

    /// Whether an event of `level` (marked critical or not) passes `configured`, for a known component.
    pub(crate) fn passes(configured: LogLevel, level: &Level, critical: bool) -> bool {
        match configured {
            LogLevel::Critical => *level == Level::ERROR && critical,
            other => *level <= to_tracing(other),
        }
    }

    /// Whether an event of `target` and `level` could pass (before its fields are seen).
    fn may_pass(&self, target: &str, level: &Level) -> bool {
        let configured =
            if target == LOGGER_TARGET { self.most_verbose() } else { self.level_for_target(target) };
        *level <= to_tracing(configured)
    }

    /// Whether an event of `target` passes once its critical marker and component field are known.
    pub(crate) fn event_passes(
        &self,
        target: &str,
        component_field: Option<&str>,
        level: &Level,
        critical: bool,
    ) -> bool {
        let configured = match component_field {
            Some(component) => self.level_for_component(component),
            None => self.level_for_target(target),
        };
        Self::passes(configured, level, critical)
    }
}

/// tracing's level for a configured one; CRITICAL is ERROR with a marker.
pub(crate) fn to_tracing(level: LogLevel) -> Level {
    match level {
        LogLevel::Debug => Level::DEBUG,
        LogLevel::Info => Level::INFO,
        LogLevel::Warning => Level::WARN,
        LogLevel::Error | LogLevel::Critical => Level::ERROR,
    }
}

/// The per-layer filter of [`LogLayer`](crate::LogLayer): the configured levels by component, answered per
/// callsite so that a disabled event costs a cached check.
#[derive(Clone)]
pub struct ComponentFilter {
    pub(crate) rules: Arc<RwLock<LevelRules>>,
}

impl ComponentFilter {
    fn decide(&self, metadata: &Metadata<'_>) -> bool {
        if metadata.is_span() {
            // Spans carry correlation ids and context for the events inside them: keep those at INFO and
            // above whatever the event levels, and the verbose ones only when their level is on.
            return *metadata.level() <= Level::INFO
                || self.rules.read().may_pass(metadata.target(), metadata.level());
        }
        self.rules.read().may_pass(metadata.target(), metadata.level())
    }
}

impl<S> Filter<S> for ComponentFilter {
    fn enabled(&self, metadata: &Metadata<'_>, _: &Context<'_, S>) -> bool {
        self.decide(metadata)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.decide(metadata) { Interest::always() } else { Interest::never() }
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        let verbose = to_tracing(self.rules.read().most_verbose()).max(Level::INFO);
        Some(tracing::level_filters::LevelFilter::from_level(verbose))
    }
}

/// [`ComponentFilter`] deciding for the whole subscriber, used when the log layer is its only layer.
pub(crate) struct GlobalFilter(pub(crate) ComponentFilter);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for GlobalFilter {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        Filter::<S>::callsite_enabled(&self.0, metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.0.decide(metadata)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Filter::<S>::max_level_hint(&self.0)
    }
}

/// Bumped after every change of levels anywhere in the process: a reader that cached a decision sees the
/// same number until a change, with one read of a value nobody else writes meanwhile.
static LEVELS_CHANGED: AtomicU64 = AtomicU64::new(0);

/// The current value of [`LEVELS_CHANGED`].
pub(crate) fn levels_generation() -> u64 {
    LEVELS_CHANGED.load(Ordering::Acquire)
}

fn levels_changed() {
    LEVELS_CHANGED.fetch_add(1, Ordering::Release);
    tracing_core::callsite::rebuild_interest_cache();
}

/// Changes the levels in force at run time, from any thread.
#[derive(Clone)]
pub struct LevelHandle {
    pub(crate) rules: Arc<RwLock<LevelRules>>,
}

impl LevelHandle {
    /// Sets the global level.
    pub fn set_level(&self, level: LogLevel) {
        self.rules.write().global = level;
        levels_changed();
    }

    /// Sets one component's level (adding the component if it was not configured).
    pub fn set_component_level(&self, component: &str, level: LogLevel) {
        self.rules.write().set_component(component, level);
        levels_changed();
    }

    /// Replaces every level with those of `config`.
    pub fn apply(&self, config: &Logging) {
        *self.rules.write() = LevelRules::from_config(config);
        levels_changed();
    }

    /// The level an event of `target` is held to.
    pub fn level_for_target(&self, target: &str) -> LogLevel {
        self.rules.read().level_for_target(target)
    }
}

impl std::fmt::Debug for LevelHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LevelHandle").field("rules", &*self.rules.read()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_by_target_prefix_and_alias() {
        let rules = LevelRules::from_config(&Logging::default());
        assert_eq!(rules.component_for_target("agent_execution::planner"), Some("agent_execution"));
        assert_eq!(rules.component_for_target("vana_security::validate"), Some("security"));
        assert_eq!(rules.component_for_target("vana_apm"), Some("performance"));
        assert_eq!(rules.component_for_target("securityish"), None);
        assert_eq!(rules.level_for_target("hyper::proto"), LogLevel::Info);
        assert_eq!(rules.level_for_target("vana_security"), LogLevel::Warning);
        assert!(rules.may_pass("agent_execution", &Level::DEBUG));
        assert!(!rules.may_pass("security", &Level::INFO));
        assert!(!rules.may_pass("other", &Level::DEBUG));
    }

    #[test]
    fn critical_keeps_only_marked_errors() {
        assert!(LevelRules::passes(LogLevel::Critical, &Level::ERROR, true));
        assert!(!LevelRules::passes(LogLevel::Critical, &Level::ERROR, false));
        assert!(!LevelRules::passes(LogLevel::Critical, &Level::WARN, true));
        assert!(LevelRules::passes(LogLevel::Error, &Level::ERROR, false));
        assert!(!LevelRules::passes(LogLevel::Info, &Level::DEBUG, false));
    }
}
