//! Contract `ferry:connector@0.3.0` (frozen in `wit/v0.3.0/`): added the
//! `state` import, `connector-error.token-expired` and extra streams. Its
//! answers convert forward into 0.4.0's types (the next newer version): 0.4.0
//! added only `http.send-batch`, which a 0.3.0 connector does not import, so
//! every type keeps its shape. `http`, `log` and `state` reuse the newest
//! bindings and host code, linked here under their 0.3.0 names (the linked
//! `http` also holds `send-batch`; a 0.3.0 component never asks for it).

use wasmtime::component::{HasSelf, Linker};

use super::{forward_enum, forward_record, since_v0_4_0 as next};
use crate::runtime::host::HostState;

wasmtime::component::bindgen!({
    world: "connector",
    path: "../wit/v0.3.0",
    imports: { default: async | trappable },
    exports: { default: async },
    with: {
        "ferry:connector/http": crate::runtime::wit::latest::ferry::connector::http,
        "ferry:connector/log": crate::runtime::wit::latest::ferry::connector::log,
        "ferry:connector/state": crate::runtime::wit::latest::ferry::connector::state,
    },
});

use self::ferry::connector::types as this;
pub(crate) use self::ferry::connector::types::{CheckReport, ConnectorError, ConnectorInfo, Page, ValidatedConfig};
use next::ferry::connector::types as newer;

/// The contract version, as components name it.
pub(crate) const VERSION: &str = "0.3.0";

/// Add this version's imports to the linker: its own (empty) `types`, and
/// the newest `http`, `log` and `state` under this version's names.
pub(crate) fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use crate::runtime::wit::latest::ferry::connector::{http, log, state};
    ferry::connector::types::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    http::add_to_linker_instance::<HostState, HasSelf<HostState>>(
        &mut linker.instance(&format!("ferry:connector/http@{VERSION}"))?,
        |s| s,
    )?;
    log::add_to_linker_instance::<HostState, HasSelf<HostState>>(
        &mut linker.instance(&format!("ferry:connector/log@{VERSION}"))?,
        |s| s,
    )?;
    state::add_to_linker_instance::<HostState, HasSelf<HostState>>(
        &mut linker.instance(&format!("ferry:connector/state@{VERSION}"))?,
        |s| s,
    )?;
    Ok(())
}

impl this::Host for HostState {}

// Arguments the host passes down.
forward_enum!(StreamKind, newer => this { Companies, Contacts, Assets, Sites, Agreements, Tickets, Lookups });

impl From<newer::StreamRef> for this::StreamRef {
    fn from(s: newer::StreamRef) -> Self {
        match s {
            newer::StreamRef::Kind(k) => this::StreamRef::Kind(k.into()),
            newer::StreamRef::Extra(name) => this::StreamRef::Extra(name),
        }
    }
}

// Answers, forward into 0.4.0.
forward_enum!(StreamKind, this => newer { Companies, Contacts, Assets, Sites, Agreements, Tickets, Lookups });
forward_enum!(LookupKind, this => newer { CompanyType, CompanyStatus, AssetType, AssetStatus, AgreementType, TicketStatus });
forward_record!(ConfigField, this => newer { key, label, help, required, secret, default_value });
forward_record!(StreamInfo, this => newer { kind, incremental, description });
forward_record!(ExtraStreamInfo, this => newer { name, description, incremental });
forward_record!(RateLimit, this => newer { requests, per_seconds });
forward_record!(ConnectorInfo, this => newer {
    id, name, version, description, config, streams, extra_streams, allowed_hosts, rate_limit
});
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
forward_record!(Item, this => newer { id, company_id, name, type_name, active, updated_at, card, raw });
forward_record!(Page, this => newer { records, next, total });
forward_record!(CheckReport, this => newer { summary, facts, warnings });
forward_record!(ValidatedConfig, this => newer { config, notices });
forward_record!(PermissionDenied, this => newer { resource, permission, detail });
forward_record!(ConfigProblem, this => newer { field, reason });

impl From<this::StreamRef> for newer::StreamRef {
    fn from(s: this::StreamRef) -> Self {
        match s {
            this::StreamRef::Kind(k) => newer::StreamRef::Kind(k.into()),
            this::StreamRef::Extra(name) => newer::StreamRef::Extra(name),
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
            this::Records::Items(l) => newer::Records::Items(l.forward()),
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
            T::TokenExpired(d) => N::TokenExpired(d),
            T::Forbidden(p) => N::Forbidden(p.into()),
            T::NotFound(d) => N::NotFound(d),
            T::RateLimited(s) => N::RateLimited(s),
            T::Unreachable(d) => N::Unreachable(d),
            T::Timeout(d) => N::Timeout(d),
            T::InvalidConfig(p) => N::InvalidConfig(p.into()),
            T::BadResponse(d) => N::BadResponse(d),
            T::UnsupportedStream(s) => N::UnsupportedStream(s.into()),
            T::Other(d) => N::Other(d),
        }
    }
}
