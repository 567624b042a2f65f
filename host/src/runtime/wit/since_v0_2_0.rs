//! Contract `ferry:connector@0.2.0` (frozen in `wit/v0.2.0/`): added
//! `page.total`. Its answers convert forward into 0.3.0's types (the next
//! newer version): 0.3.0 added extra streams, `token-expired` and the
//! `state` import, none of which a 0.2.0 connector uses. `http` and `log`
//! did not change, so they reuse the newest bindings and host code, linked
//! here under their 0.2.0 names.

use wasmtime::component::{HasSelf, Linker};

use super::{forward_enum, forward_record, since_v0_3_0 as next};
use crate::runtime::host::HostState;

wasmtime::component::bindgen!({
    world: "connector",
    path: "../wit/v0.2.0",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "ferry:connector/http": crate::runtime::wit::latest::ferry::connector::http,
        "ferry:connector/log": crate::runtime::wit::latest::ferry::connector::log,
    },
});

use self::ferry::connector::types as this;
pub(crate) use self::ferry::connector::types::{CheckReport, ConnectorError, ConnectorInfo, Page, ValidatedConfig};
use next::ferry::connector::types as newer;

/// The contract version, as components name it.
pub(crate) const VERSION: &str = "0.2.0";

/// Add this version's imports to the linker: its own (empty) `types`, and
/// the newest `http` and `log` under this version's names. (The generated
/// world-level `add_to_linker` would register the reused interfaces under
/// the newest names.)
pub(crate) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use crate::runtime::wit::latest::ferry::connector::{http, log};
    ferry::connector::types::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    http::add_to_linker_instance::<HostState, HasSelf<HostState>>(
        &mut linker.instance(&format!("ferry:connector/http@{VERSION}"))?,
        |s| s,
    )?;
    log::add_to_linker_instance::<HostState, HasSelf<HostState>>(
        &mut linker.instance(&format!("ferry:connector/log@{VERSION}"))?,
        |s| s,
    )?;
    Ok(())
}

impl this::Host for HostState {}

// Arguments the host passes down.
forward_enum!(StreamKind, newer => this { Companies, Contacts, Assets, Sites, Agreements, Tickets, Lookups });

// Answers, forward into 0.3.0.
forward_enum!(StreamKind, this => newer { Companies, Contacts, Assets, Sites, Agreements, Tickets, Lookups });
forward_enum!(LookupKind, this => newer { CompanyType, CompanyStatus, AssetType, AssetStatus, AgreementType, TicketStatus });
forward_record!(ConfigField, this => newer { key, label, help, required, secret, default_value });
forward_record!(StreamInfo, this => newer { kind, incremental, description });
forward_record!(RateLimit, this => newer { requests, per_seconds });
forward_record!(Field, this => newer { label, value });
forward_record!(Address, this => newer { line1, line2, city, state, postal_code, country });
forward_record!(Company, this => newer {
    id, name, active, deleted, status, types, website, email, phone, address, updated_at, card, raw
});
forward_record!(Contact, this => newer {
    id, company_id, name, first_name, last_name, title, email, phone, mobile, active, updated_at, card, raw
});
forward_record!(Asset, this => newer {
    id, company_id, name, type_name, status, active, serial_number, mac_address, ip_address, manufacturer,
    model, operating_system, tag, updated_at, card, raw
});
forward_record!(Site, this => newer { id, company_id, name, address, phone, primary, active, updated_at, card, raw });
forward_record!(Agreement, this => newer {
    id, company_id, name, type_name, status, active, start_date, end_date, updated_at, card, raw
});
forward_record!(Ticket, this => newer {
    id, company_id, contact_id, number, subject, status, priority, type_name, board, closed, created_at,
    updated_at, resolved_at, card, raw
});
forward_record!(Lookup, this => newer { kind, id, name, active, closed });
forward_record!(Page, this => newer { records, next, total });
forward_record!(CheckReport, this => newer { summary, facts, warnings });
forward_record!(ValidatedConfig, this => newer { config, notices });
forward_record!(PermissionDenied, this => newer { resource, permission, detail });
forward_record!(ConfigProblem, this => newer { field, reason });

impl From<this::ConnectorInfo> for newer::ConnectorInfo {
    fn from(i: this::ConnectorInfo) -> Self {
        use crate::runtime::wit::Forward as _;
        newer::ConnectorInfo {
            id: i.id,
            name: i.name,
            version: i.version,
            description: i.description,
            config: i.config.forward(),
            streams: i.streams.forward(),
            // Extra streams arrived in 0.3.0.
            extra_streams: Vec::new(),
            allowed_hosts: i.allowed_hosts,
            rate_limit: i.rate_limit.forward(),
        }
    }
}

impl From<this::Records> for newer::Records {
    fn from(r: this::Records) -> Self {
        use crate::runtime::wit::Forward as _;
        match r {
            this::Records::Companies(l) => newer::Records::Companies(l.forward()),
            this::Records::Contacts(l) => newer::Records::Contacts(l.forward()),
            this::Records::Assets(l) => newer::Records::Assets(l.forward()),
            this::Records::Sites(l) => newer::Records::Sites(l.forward()),
            this::Records::Agreements(l) => newer::Records::Agreements(l.forward()),
            this::Records::Tickets(l) => newer::Records::Tickets(l.forward()),
            this::Records::Lookups(l) => newer::Records::Lookups(l.forward()),
        }
    }
}

impl crate::runtime::wit::Forward<newer::Records> for this::Records {
    fn forward(self) -> newer::Records {
        self.into()
    }
}

impl From<this::ConnectorError> for newer::ConnectorError {
    fn from(e: this::ConnectorError) -> Self {
        use newer::ConnectorError as N;
        use this::ConnectorError as T;
        match e {
            T::Unauthorized(d) => N::Unauthorized(d),
            T::Forbidden(p) => N::Forbidden(p.into()),
            T::NotFound(d) => N::NotFound(d),
            T::RateLimited(s) => N::RateLimited(s),
            T::Unreachable(d) => N::Unreachable(d),
            T::Timeout(d) => N::Timeout(d),
            T::InvalidConfig(p) => N::InvalidConfig(p.into()),
            T::BadResponse(d) => N::BadResponse(d),
            T::UnsupportedStream(s) => N::UnsupportedStream(newer::StreamRef::Kind(s.into())),
            T::Other(d) => N::Other(d),
        }
    }
}
