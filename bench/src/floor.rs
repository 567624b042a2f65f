//! The floor: the least any sync can do over the same simulator pages — a
//! native loop of reqwest + serde_json + one SQLite transaction inserting
//! the same rows. No sandbox, no mapping, no change detection, no apply.

use std::time::{Duration, Instant};

use anyhow::Context;
use base64::Engine as _;
use serde_json::Value;

pub struct Floor {
    pub wall: Duration,
    pub records: u64,
    pub requests: u64,
}

struct Loop {
    client: reqwest::Client,
    rows: Vec<(String, String, String)>,
    requests: u64,
}

impl Loop {
    fn new() -> anyhow::Result<Loop> {
        Ok(Loop { client: reqwest::Client::builder().no_proxy().build()?, rows: Vec::new(), requests: 0 })
    }

    async fn get(&mut self, req: reqwest::RequestBuilder) -> anyhow::Result<(Value, Option<String>)> {
        self.requests += 1;
        let resp = req.send().await?.error_for_status()?;
        let link = resp.headers().get("link").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.bytes().await?;
        Ok((serde_json::from_slice(&body)?, link))
    }

    fn keep(&mut self, stream: &str, items: &[Value]) {
        for item in items {
            self.rows.push((stream.to_string(), item["id"].to_string(), item.to_string()));
        }
    }

    fn store(self, db: &std::path::Path) -> anyhow::Result<(u64, u64)> {
        let mut conn = rusqlite::Connection::open(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS r (stream TEXT, id TEXT, data TEXT, UNIQUE(stream, id));",
        )?;
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare("INSERT OR REPLACE INTO r (stream, id, data) VALUES (?1, ?2, ?3)")?;
            for (s, id, data) in &self.rows {
                stmt.execute(rusqlite::params![s, id, data])?;
            }
        }
        tx.commit()?;
        Ok((self.rows.len() as u64, self.requests))
    }
}

/// Syncro: every page of customers, contacts, assets and tickets.
pub async fn syncro(api: &str, token: &str, db: &std::path::Path) -> anyhow::Result<Floor> {
    let started = Instant::now();
    let mut l = Loop::new()?;
    for (path, key, extra) in [
        ("/customers", "customers", "&include_disabled=true"),
        ("/contacts", "contacts", ""),
        ("/customer_assets", "assets", ""),
        ("/tickets", "tickets", ""),
    ] {
        let mut page = 1u64;
        loop {
            let url = format!("{api}{path}?page={page}{extra}");
            let (body, _) = l.get(l.client.get(url).bearer_auth(token)).await?;
            let items = body[key].as_array().cloned().unwrap_or_default();
            l.keep(key, &items);
            let total = body["meta"]["total_pages"].as_u64().unwrap_or(0);
            if items.is_empty() || page >= total {
                break;
            }
            page += 1;
        }
    }
    let (records, requests) = l.store(db)?;
    Ok(Floor { wall: started.elapsed(), records, requests })
}

/// CW Manage: companies, contacts, configurations, agreements, tickets at
/// 1,000 a page, and every company's sites.
pub async fn cw(site_root: &str, creds: &ferry_sim::cw::CwOptions, db: &std::path::Path) -> anyhow::Result<Floor> {
    let started = Instant::now();
    let mut l = Loop::new()?;
    let api = format!("{site_root}/v4_6_release/apis/3.0");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}+{}:{}", creds.company_id, creds.public_key, creds.private_key))
    );
    let get =
        |l: &Loop, url: String| l.client.get(url).header("authorization", &auth).header("clientid", &creds.client_id);
    let mut company_ids = Vec::new();
    for (path, key) in [
        ("/company/companies", "companies"),
        ("/company/contacts", "contacts"),
        ("/company/configurations", "configurations"),
        ("/finance/agreements", "agreements"),
        ("/service/tickets", "tickets"),
    ] {
        let mut page = 1u64;
        loop {
            let url = format!("{api}{path}?pageSize=1000&orderBy=id%20asc&page={page}");
            let (body, link) = l.get(get(&l, url)).await?;
            let items = body.as_array().cloned().unwrap_or_default();
            if key == "companies" {
                company_ids.extend(items.iter().filter_map(|c| c["id"].as_u64()));
            }
            l.keep(key, &items);
            let next = link.is_some_and(|h| h.contains("rel=\"next\""));
            if items.is_empty() || !next {
                break;
            }
            page += 1;
        }
    }
    for id in company_ids {
        let url = format!("{api}/company/companies/{id}/sites?pageSize=1000");
        let (body, _) = l.get(get(&l, url)).await.context("sites")?;
        let items = body.as_array().cloned().unwrap_or_default();
        l.keep("sites", &items);
    }
    let (records, requests) = l.store(db)?;
    Ok(Floor { wall: started.elapsed(), records, requests })
}
