//! `http.route_settings`: what one route does differently from the rest: a body cap of its own (attachments
//! on an upload route), security headers over the global ones (pages an upstream serves with scripts
//! and fonts of other origins), and whether it is an AI operation whose events the gateway reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ai_operation::AiOperation;
use crate::checks::Checker;
use crate::key_path::KeyPath;
use crate::limits;

/// The settings of one route template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct RouteSettings {
    /// Largest request body on this route, in bytes (413 past it), instead of `http.max_body_bytes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<u64>,
    /// Security headers on this route's responses, over `headers.security_headers`: a name given here
    /// replaces the global value, `""` sends no such header on this route, and names not given keep the
    /// global value. A header the upstream sets itself is never replaced.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub security_headers: BTreeMap<String, String>,
    /// The route answers with a model's output: the gateway reads its events for time to first token,
    /// tokens, model and agent (`{}` takes ADK's fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai_operation: Option<AiOperation>,
}

impl RouteSettings {
    /// The route's security headers: `global` with this route's over them (`""` removes one).
    pub fn headers_over(&self, global: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut merged: BTreeMap<String, String> = global
            .iter()
            .filter(|(name, _)| !self.security_headers.keys().any(|own| own.eq_ignore_ascii_case(name)))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        for (name, value) in &self.security_headers {
            if !value.is_empty() {
                merged.insert(name.clone(), value.clone());
            }
        }
        merged
    }
}

/// Checks `http.route_settings`: every key is one of `route_templates`, each setting is valid.
pub(crate) fn check(
    settings: &BTreeMap<String, RouteSettings>,
    route_templates: &[String],
    budgets: &BTreeMap<String, crate::ai_operation::TokenBudget>,
    at: &KeyPath,
    check: &mut Checker,
) {
    check.at_most_entries(at.clone(), settings.len(), limits::MAX_HTTP_LIST);
    for (route, setting) in settings.iter().take(limits::MAX_HTTP_LIST) {
        let here = at.key(route.clone());
        if !route_templates.iter().any(|template| template == route) {
            check.fail(
                here.clone(),
                format!(
                    "unknown route `{}`: settings name one of http.route_templates",
                    route.escape_debug()
                ),
            );
        }
        if let Some(max) = setting.max_body_bytes {
            check.positive_at_most(here.key("max_body_bytes"), max, limits::MAX_BODY_BYTES, "bytes");
        }
        let headers = crate::security::Headers { security_headers: setting.security_headers.clone() };
        headers.check(&here, check);
        if let Some(operation) = &setting.ai_operation {
            operation.check(&here.key("ai_operation"), check);
            operation.check_budgets(route, budgets, &here.key("ai_operation"), check);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_s_headers_replace_or_drop_the_global_ones_by_name_in_any_case() {
        let global: BTreeMap<String, String> =
            [("Content-Security-Policy", "default-src 'self'"), ("X-Frame-Options", "DENY")]
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
        let route = RouteSettings {
            max_body_bytes: None,
            ai_operation: None,
            security_headers: [
                ("content-security-policy", "default-src 'self' https:"),
                ("X-Frame-Options", ""),
            ]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect(),
        };
        let merged = route.headers_over(&global);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged["content-security-policy"], "default-src 'self' https:");
    }
}
