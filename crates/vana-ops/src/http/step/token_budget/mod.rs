//! Token budgets (`http.token_budgets`, counted on the routes whose `ai_operation.budgets` name them):
//! before a request goes on, each budget it counts against is looked up for its identity (a JSON Pointer
//! into the body, or a route parameter); a spent one refuses it (429 `token_budget_exhausted`, with
//! `Retry-After`). At the answer's end, the tokens it reported are spent. A stream in flight is never cut.

mod identity;

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use vana_security::{BudgetLedger, TokenQuota};

use crate::http::reject::{BudgetSpent, Refusal};
use identity::Identity;

/// Longest identity kept (a longer one is cut): it names a ledger entry.
const MAX_IDENTITY_BYTES: usize = 256;

/// One budget a route counts against.
struct RouteBudget {
    name: &'static str,
    quota: TokenQuota,
    identity: Identity,
}

/// The budgets of one layer.
pub(crate) struct TokenBudgets {
    ledger: Arc<dyn BudgetLedger>,
    by_route: HashMap<Box<str>, Vec<RouteBudget>>,
    /// The ledger is in Redis: its calls leave the async worker.
    remote: bool,
}

/// Who spends which budget for one request: shared, so a look or a spend off the async worker takes it
/// without a copy.
pub(crate) struct Spenders(Arc<[Spender]>);

struct Spender {
    name: &'static str,
    quota: TokenQuota,
    /// The ledger key: the budget's name and the identity.
    key: String,
}

impl TokenBudgets {
    /// The budgets of `ops`' `http` section; `None` when no route counts any.
    pub(crate) fn new(ops: &crate::Ops, config: &vana_config::HttpLayer) -> Option<Self> {
        let mut by_route: HashMap<Box<str>, Vec<RouteBudget>> = HashMap::new();
        for (route, settings) in &config.route_settings {
            let Some(operation) = &settings.ai_operation else { continue };
            for (name, source) in &operation.budgets {
                let (Some(budget), Some(identity)) =
                    (config.token_budgets.get(name), Identity::new(route, source))
                else {
                    continue;
                };
                let tokens = NonZeroU64::new(budget.tokens).unwrap_or(NonZeroU64::MIN);
                let quota = TokenQuota::new(tokens, Duration::from_secs(budget.window_seconds));
                let name = vana_config::static_text(name).unwrap_or("budget");
                by_route.entry(route.as_str().into()).or_default().push(RouteBudget {
                    name,
                    quota,
                    identity,
                });
            }
        }
        if by_route.is_empty() {
            return None;
        }
        let security = ops.security();
        let max = usize::try_from(config.max_budget_identities).unwrap_or(usize::MAX);
        Some(Self {
            ledger: security.token_ledger(max),
            by_route,
            remote: security.rate_limiter().store().is_remote(),
        })
    }

    /// Whether `route`'s budgets find an identity in a JSON body.
    pub(crate) fn needs_json(&self, route: &str) -> bool {
        self.by_route.get(route).is_some_and(|budgets| budgets.iter().any(|budget| budget.identity.is_json()))
    }

    /// The identities of a request on `route` to `path`, with its JSON body when read.
    pub(crate) fn spenders(&self, route: &str, path: &str, json: Option<&[u8]>) -> Option<Spenders> {
        let budgets = self.by_route.get(route)?;
        let spenders: Arc<[Spender]> = budgets
            .iter()
            .filter_map(|budget| {
                let identity = budget.identity.of(path, json)?;
                let identity = crate::http::step::gen_ai::cut_at(&identity, MAX_IDENTITY_BYTES);
                Some(Spender {
                    name: budget.name,
                    quota: budget.quota,
                    key: format!("{}:{identity}", budget.name),
                })
            })
            .collect();
        (!spenders.is_empty()).then_some(Spenders(spenders))
    }

    /// Refuses the request when one of its budgets is spent.
    pub(crate) async fn check(&self, spenders: &Spenders) -> Result<(), Refusal> {
        let ledger = Arc::clone(&self.ledger);
        let list = Arc::clone(&spenders.0);
        let look = move || {
            list.iter().find_map(|spender| {
                let wait = ledger.wait(&spender.key, &spender.quota);
                (!wait.is_zero()).then(|| BudgetSpent {
                    budget: spender.name,
                    tokens: spender.quota.tokens(),
                    window_seconds: spender.quota.window().as_secs(),
                    retry_after: wait,
                })
            })
        };
        let spent =
            if self.remote { tokio::task::spawn_blocking(look).await.unwrap_or(None) } else { look() };
        match spent {
            Some(spent) => Err(Refusal::TokenBudget(spent)),
            None => Ok(()),
        }
    }

    /// Counts `tokens` against each of the request's budgets (off the async worker when in Redis).
    pub(crate) fn spend(&self, spenders: &Spenders, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let ledger = Arc::clone(&self.ledger);
        let list = Arc::clone(&spenders.0);
        let spend = move || {
            for spender in list.iter() {
                ledger.spend(&spender.key, &spender.quota, tokens);
            }
        };
        match (self.remote, tokio::runtime::Handle::try_current()) {
            (true, Ok(runtime)) => drop(runtime.spawn_blocking(spend)),
            _ => spend(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_is_cut_to_its_cap_in_the_ledger_key() {
        let ops = crate::http::step::test_ops(concat!(
            "http:\n  route_templates: [\"/run\"]\n  token_budgets:\n    user: {tokens: 10, window_seconds: 60}\n",
            "  route_settings:\n    /run:\n      ai_operation:\n        budgets: {user: {json: /userId}}\n",
        ));
        let budgets = TokenBudgets::new(&ops, &ops.config().security.http).expect("a route counts a budget");
        let body = format!("{{\"userId\": \"{}\"}}", "é".repeat(1000));
        let spenders = budgets.spenders("/run", "/run", Some(body.as_bytes())).expect("the identity");
        assert_eq!(spenders.0[0].key.len(), "user:".len() + MAX_IDENTITY_BYTES);
        assert!(budgets.spenders("/run", "/run", Some(b"{}")).is_none(), "no identity, no spender");
        assert!(budgets.spenders("/other", "/other", Some(body.as_bytes())).is_none());
    }
}
