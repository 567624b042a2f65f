//! Contract `ferry:connector@0.4.0` (`wit/connector.wit`), the newest: adds
//! `http.send-batch` (several requests at once, sent concurrently within the
//! integration's limits). Its types are the ones every older version
//! converts into, and the only ones converted into Ferry's [`model`]; the
//! host imports (`http`, `log`, `state`) are implemented here once for all
//! versions.

use wasmtime::component::{HasSelf, Linker};

use crate::model;
use crate::runtime::host::HostState;
use crate::runtime::http::{HttpFailure, OutboundRequest, OutboundResponse};

wasmtime::component::bindgen!({
    world: "connector",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub(crate) use self::ferry::connector::types::{
    CheckReport, ConnectorError, ConnectorInfo, Page, StreamRef, ValidatedConfig,
};
use self::ferry::connector::{http, log, state, types as wit};

/// The contract version, as components name it.
pub(crate) const VERSION: &str = "0.4.0";

/// Add this version's imports to the linker.
pub(crate) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    Connector::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl wit::Host for HostState {}

impl http::Host for HostState {
    async fn send(&mut self, req: http::Request) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        Ok(answer(self.http_send(outbound(req)).await))
    }

    async fn send_batch(
        &mut self,
        reqs: Vec<http::Request>,
    ) -> wasmtime::Result<Vec<Result<http::Response, http::HttpError>>> {
        let results = self.http_send_batch(reqs.into_iter().map(outbound).collect()).await;
        Ok(results.into_iter().map(answer).collect())
    }
}

/// A request as the connector gave it, for the gate.
fn outbound(req: http::Request) -> OutboundRequest {
    use http::Method;
    let method = match req.method {
        Method::Get => reqwest::Method::GET,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        Method::Patch => reqwest::Method::PATCH,
        Method::Delete => reqwest::Method::DELETE,
        Method::Head => reqwest::Method::HEAD,
    };
    OutboundRequest { method, url: req.url, headers: req.headers, body: req.body }
}

/// The gate's answer in the contract's terms.
fn answer(result: Result<OutboundResponse, HttpFailure>) -> Result<http::Response, http::HttpError> {
    use http::HttpError;
    match result {
        Ok(r) => Ok(http::Response { status: r.status, headers: r.headers, body: r.body }),
        Err(failure) => Err(match failure {
            HttpFailure::NotAllowed(why) => HttpError::NotAllowed(why),
            HttpFailure::InvalidUrl(why) => HttpError::InvalidUrl(why),
            HttpFailure::Timeout(_) => HttpError::Timeout,
            HttpFailure::Unreachable(why) => HttpError::Unreachable(why),
            HttpFailure::TooLarge(cap) => HttpError::TooLarge(cap),
            HttpFailure::BudgetExhausted(_) => HttpError::BudgetExhausted,
            HttpFailure::Stopped => HttpError::Other(HttpFailure::Stopped.to_string()),
            HttpFailure::Other(why) => HttpError::Other(why),
        }),
    }
}

impl log::Host for HostState {
    async fn emit(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let level = match level {
            log::Level::Trace => tracing::Level::TRACE,
            log::Level::Debug => tracing::Level::DEBUG,
            log::Level::Info => tracing::Level::INFO,
            log::Level::Warn => tracing::Level::WARN,
            log::Level::Error => tracing::Level::ERROR,
        };
        self.log_emit(level, &message);
        Ok(())
    }
}

impl state::Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.state.get(&key))
    }

    async fn set(
        &mut self,
        key: String,
        value: String,
        ttl_seconds: Option<u32>,
    ) -> wasmtime::Result<Result<(), state::StateError>> {
        use crate::runtime::state::StateRefusal;
        // A stored value is a secret from now on, even if storing fails.
        self.redactor.learn([value.clone()]);
        Ok(self.state.set(&key, value, ttl_seconds).map_err(|refusal| match refusal {
            StateRefusal::TooLarge(cap) => state::StateError::TooLarge(cap),
            StateRefusal::InvalidKey(why) => state::StateError::InvalidKey(why),
        }))
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.state.delete(&key);
        Ok(())
    }
}

impl From<model::StreamKind> for wit::StreamKind {
    fn from(kind: model::StreamKind) -> Self {
        match kind {
            model::StreamKind::Companies => wit::StreamKind::Companies,
            model::StreamKind::Contacts => wit::StreamKind::Contacts,
            model::StreamKind::Assets => wit::StreamKind::Assets,
            model::StreamKind::Sites => wit::StreamKind::Sites,
            model::StreamKind::Agreements => wit::StreamKind::Agreements,
            model::StreamKind::Tickets => wit::StreamKind::Tickets,
            model::StreamKind::Lookups => wit::StreamKind::Lookups,
        }
    }
}

impl From<wit::StreamKind> for model::StreamKind {
    fn from(kind: wit::StreamKind) -> Self {
        match kind {
            wit::StreamKind::Companies => model::StreamKind::Companies,
            wit::StreamKind::Contacts => model::StreamKind::Contacts,
            wit::StreamKind::Assets => model::StreamKind::Assets,
            wit::StreamKind::Sites => model::StreamKind::Sites,
            wit::StreamKind::Agreements => model::StreamKind::Agreements,
            wit::StreamKind::Tickets => model::StreamKind::Tickets,
            wit::StreamKind::Lookups => model::StreamKind::Lookups,
        }
    }
}

impl From<wit::ConnectorInfo> for model::ConnectorInfo {
    fn from(i: wit::ConnectorInfo) -> Self {
        model::ConnectorInfo {
            id: i.id,
            name: i.name,
            version: i.version,
            description: i.description,
            config: i
                .config
                .into_iter()
                .map(|f| model::ConfigField {
                    key: f.key,
                    label: f.label,
                    help: f.help,
                    required: f.required,
                    secret: f.secret,
                    default_value: f.default_value,
                })
                .collect(),
            streams: i
                .streams
                .into_iter()
                .map(|s| model::StreamInfo {
                    kind: s.kind.into(),
                    incremental: s.incremental,
                    description: s.description,
                })
                .collect(),
            allowed_hosts: i.allowed_hosts,
            rate_limit: i.rate_limit.map(|r| model::RateLimit { requests: r.requests, per_seconds: r.per_seconds }),
            extra_streams: i
                .extra_streams
                .into_iter()
                .map(|s| model::ExtraStreamInfo {
                    name: s.name,
                    description: s.description,
                    incremental: s.incremental,
                })
                .collect(),
        }
    }
}

impl From<wit::ConnectorError> for model::ConnectorError {
    fn from(e: wit::ConnectorError) -> Self {
        use model::ConnectorError as M;
        match e {
            wit::ConnectorError::Unauthorized(detail) => M::Unauthorized { detail },
            // Retried by the session first; what is left is a refusal.
            wit::ConnectorError::TokenExpired(detail) => M::Unauthorized { detail },
            wit::ConnectorError::Forbidden(p) => {
                M::Forbidden { resource: p.resource, permission: p.permission, detail: p.detail }
            }
            wit::ConnectorError::NotFound(detail) => M::NotFound { detail },
            wit::ConnectorError::RateLimited(retry_after) => M::RateLimited { retry_after },
            wit::ConnectorError::Unreachable(detail) => M::Unreachable { detail },
            wit::ConnectorError::Timeout(detail) => M::Timeout { detail },
            wit::ConnectorError::InvalidConfig(p) => M::InvalidConfig { field: p.field, reason: p.reason },
            wit::ConnectorError::BadResponse(detail) => M::BadResponse { detail },
            wit::ConnectorError::UnsupportedStream(s) => M::UnsupportedStream { stream: stream_name(s) },
            wit::ConnectorError::Other(detail) => M::Other { detail },
        }
    }
}

impl From<wit::CheckReport> for model::CheckReport {
    fn from(r: wit::CheckReport) -> Self {
        model::CheckReport { summary: r.summary, facts: fields(r.facts), warnings: r.warnings }
    }
}

impl From<wit::ValidatedConfig> for model::ValidatedConfig {
    fn from(v: wit::ValidatedConfig) -> Self {
        model::ValidatedConfig { config: v.config, notices: v.notices }
    }
}

fn stream_name(s: wit::StreamRef) -> String {
    match s {
        wit::StreamRef::Kind(k) => model::StreamKind::from(k).to_string(),
        wit::StreamRef::Extra(name) => name,
    }
}

fn fields(list: Vec<wit::Field>) -> Vec<model::Field> {
    list.into_iter().map(|f| model::Field { label: f.label, value: f.value }).collect()
}

fn address(a: Option<wit::Address>) -> Option<model::Address> {
    a.map(|a| model::Address {
        line1: a.line1,
        line2: a.line2,
        city: a.city,
        state: a.state,
        postal_code: a.postal_code,
        country: a.country,
    })
}

fn lookup_kind(k: wit::LookupKind) -> model::LookupKind {
    match k {
        wit::LookupKind::CompanyType => model::LookupKind::CompanyType,
        wit::LookupKind::CompanyStatus => model::LookupKind::CompanyStatus,
        wit::LookupKind::AssetType => model::LookupKind::AssetType,
        wit::LookupKind::AssetStatus => model::LookupKind::AssetStatus,
        wit::LookupKind::AgreementType => model::LookupKind::AgreementType,
        wit::LookupKind::TicketStatus => model::LookupKind::TicketStatus,
    }
}

/// A page in Ferry's types, with the kind its records claim to be (`None`:
/// items of an extra stream, as `Record::Item`).
pub(crate) fn page_into_model(p: wit::Page) -> (Option<model::StreamKind>, model::Page) {
    use model::Record as R;
    let (kind, records): (Option<model::StreamKind>, Vec<R>) = match p.records {
        wit::Records::Items(list) => (
            None,
            list.into_iter()
                .map(|i| {
                    R::Item(model::Item {
                        id: i.id,
                        company_id: i.company_id,
                        name: i.name,
                        type_name: i.type_name,
                        active: i.active,
                        updated_at: i.updated_at,
                        card: fields(i.card),
                        raw: i.raw,
                    })
                })
                .collect(),
        ),
        wit::Records::Companies(list) => (
            Some(model::StreamKind::Companies),
            list.into_iter()
                .map(|c| {
                    R::Company(model::Company {
                        id: c.id,
                        name: c.name,
                        active: c.active,
                        deleted: c.deleted,
                        status: c.status,
                        types: c.types,
                        website: c.website,
                        email: c.email,
                        phone: c.phone,
                        address: address(c.address),
                        updated_at: c.updated_at,
                        card: fields(c.card),
                        raw: c.raw,
                    })
                })
                .collect(),
        ),
        wit::Records::Contacts(list) => (
            Some(model::StreamKind::Contacts),
            list.into_iter()
                .map(|c| {
                    R::Contact(model::Contact {
                        id: c.id,
                        company_id: c.company_id,
                        name: c.name,
                        first_name: c.first_name,
                        last_name: c.last_name,
                        title: c.title,
                        email: c.email,
                        phone: c.phone,
                        mobile: c.mobile,
                        active: c.active,
                        updated_at: c.updated_at,
                        card: fields(c.card),
                        raw: c.raw,
                    })
                })
                .collect(),
        ),
        wit::Records::Assets(list) => (
            Some(model::StreamKind::Assets),
            list.into_iter()
                .map(|a| {
                    R::Asset(model::Asset {
                        id: a.id,
                        company_id: a.company_id,
                        name: a.name,
                        type_name: a.type_name,
                        status: a.status,
                        active: a.active,
                        serial_number: a.serial_number,
                        mac_address: a.mac_address,
                        ip_address: a.ip_address,
                        manufacturer: a.manufacturer,
                        model: a.model,
                        operating_system: a.operating_system,
                        tag: a.tag,
                        updated_at: a.updated_at,
                        card: fields(a.card),
                        raw: a.raw,
                    })
                })
                .collect(),
        ),
        wit::Records::Sites(list) => (
            Some(model::StreamKind::Sites),
            list.into_iter()
                .map(|s| {
                    R::Site(model::Site {
                        id: s.id,
                        company_id: s.company_id,
                        name: s.name,
                        address: address(s.address),
                        phone: s.phone,
                        primary: s.primary,
                        active: s.active,
                        updated_at: s.updated_at,
                        card: fields(s.card),
                        raw: s.raw,
                    })
                })
                .collect(),
        ),
        wit::Records::Agreements(list) => (
            Some(model::StreamKind::Agreements),
            list.into_iter()
                .map(|a| {
                    R::Agreement(model::Agreement {
                        id: a.id,
                        company_id: a.company_id,
                        name: a.name,
                        type_name: a.type_name,
                        status: a.status,
                        active: a.active,
                        start_date: a.start_date,
                        end_date: a.end_date,
                        updated_at: a.updated_at,
                        card: fields(a.card),
                        raw: a.raw,
                    })
                })
                .collect(),
        ),
        wit::Records::Tickets(list) => (
            Some(model::StreamKind::Tickets),
            list.into_iter()
                .map(|t| {
                    R::Ticket(model::Ticket {
                        id: t.id,
                        company_id: t.company_id,
                        contact_id: t.contact_id,
                        number: t.number,
                        subject: t.subject,
                        status: t.status,
                        priority: t.priority,
                        type_name: t.type_name,
                        board: t.board,
                        closed: t.closed,
                        created_at: t.created_at,
                        updated_at: t.updated_at,
                        resolved_at: t.resolved_at,
                        card: fields(t.card),
                        raw: t.raw,
                    })
                })
                .collect(),
        ),
        wit::Records::Lookups(list) => (
            Some(model::StreamKind::Lookups),
            list.into_iter()
                .map(|l| {
                    R::Lookup(model::Lookup {
                        kind: lookup_kind(l.kind),
                        id: l.id,
                        name: l.name,
                        active: l.active,
                        closed: l.closed,
                    })
                })
                .collect(),
        ),
    };
    (kind, model::Page { records, next: p.next, total: p.total })
}
