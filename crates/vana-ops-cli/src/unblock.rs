//! `vana-ops unblock` with the memory backend: the running gateway holds the blocks, so it is asked to lift
//! one, through its admin API when a token is at hand, else through its dashboard route (which a gateway
//! without a token opens to loopback clients).

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use axum::body::Body;
use http_body_util::BodyExt;

/// Where the gateway listens when nothing says otherwise (`vana-ops serve`'s `--listen` default).
const DEFAULT_GATEWAY: &str = "http://127.0.0.1:8080";

pub(crate) fn through_gateway(
    http: &vana_ops::config::HttpLayer,
    gateway: Option<&str>,
    address: IpAddr,
) -> anyhow::Result<ExitCode> {
    let from_env = std::env::var("VANA_GATEWAY_URL").ok();
    let base = match (gateway, from_env, http.ops_listen.is_empty()) {
        (Some(gateway), _, _) => gateway.trim_end_matches('/').to_owned(),
        (None, Some(gateway), _) => gateway.trim_end_matches('/').to_owned(),
        (None, None, false) => format!("http://{}", http.ops_listen),
        (None, None, true) => DEFAULT_GATEWAY.to_owned(),
    };
    // The endpoints sit under the prefix only on the service's listener.
    let prefix = if http.ops_listen.is_empty() { http.ops_prefix.trim_end_matches('/') } else { "" };
    let token = admin_token()?;
    let (route, by) = match token.is_some() {
        true => (format!("{base}{prefix}/security/blocks/{address}"), "its admin API"),
        false => (format!("{base}{prefix}/dashboard/blocks/{address}"), "its dashboard route"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let answer = runtime.block_on(delete(&route, token.as_deref()));
    let (status, body) = match answer {
        Ok(answer) => answer,
        Err(error) => {
            eprintln!(
                "unblock: the backend is `memory`, so the running gateway holds the blocks, and it did not \
                 answer at {base} ({error:#}); give its address with --gateway (or VANA_GATEWAY_URL)"
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    match status {
        200 => {
            let was_blocked = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|answer| answer["was_blocked"].as_bool())
                .unwrap_or(false);
            if was_blocked {
                println!("unblocked {address} in the gateway at {base} (through {by})");
            } else {
                println!("{address} was not blocked in the gateway at {base}");
            }
            Ok(ExitCode::SUCCESS)
        }
        401 => fail(
            "the gateway refused the admin token: set VANA_ADMIN_TOKEN (or VANA_ADMIN_TOKEN_FILE) to its token",
        ),
        403 => fail(
            "the gateway has an admin token or this client is not on its loopback: set VANA_ADMIN_TOKEN (or \
             VANA_ADMIN_TOKEN_FILE) to the gateway's token",
        ),
        404 => fail(
            "the gateway has no such route: check --gateway and the configuration's http.ops_prefix (pass the \
             gateway's --config), or set VANA_ADMIN_TOKEN if the gateway has one",
        ),
        other => fail(&format!("the gateway answered {other}: {}", body.trim())),
    }
}

/// The admin token's text, from `VANA_ADMIN_TOKEN` or the first line of `VANA_ADMIN_TOKEN_FILE`, as the
/// gateway reads it; `None` when neither is set.
fn admin_token() -> anyhow::Result<Option<String>> {
    if let Ok(token) = std::env::var(vana_ops::ADMIN_TOKEN_ENV) {
        return Ok(Some(token.trim().to_owned()));
    }
    let Some(path) = std::env::var_os(vana_ops::ADMIN_TOKEN_FILE_ENV) else { return Ok(None) };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the file {} names", vana_ops::ADMIN_TOKEN_FILE_ENV))?;
    Ok(Some(text.lines().next().unwrap_or("").trim().to_owned()))
}

fn fail(message: &str) -> anyhow::Result<ExitCode> {
    eprintln!("unblock: {message}");
    Ok(ExitCode::FAILURE)
}

/// `DELETE route` with the token, or with the dashboard's page header: (status, body).
async fn delete(route: &str, token: Option<&str>) -> anyhow::Result<(u16, String)> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let mut request = http::Request::delete(route);
    request = match token {
        Some(token) => request.header(http::header::AUTHORIZATION, format!("Bearer {token}")),
        None => request.header("x-vana-dashboard", "1"),
    };
    let request = request.body(Body::empty()).context("not a URL")?;
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .context("no answer within 10 s")??;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}
