//! The command line, as clap parses it. Names here are the product's CLI
//! contract (scripts and cron call them; README documents them): keep them
//! stable.

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use strum::IntoEnumIterator;

use crate::model::{StreamId, StreamKind};
use crate::options::{NewCompanies, Stage};
use crate::rules::IdentityField;
use crate::schedule::Preset;
use crate::store::LinkState;

/// Parse an argument into one of Ferry's state enums: clap checks the value
/// against the enum's spellings (listing them when it is wrong), then it
/// becomes the enum. The spellings are the enum's own (strum), so the CLI,
/// the database and the output never disagree.
fn one_of<E>() -> impl TypedValueParser<Value = E>
where
    E: IntoEnumIterator + Into<&'static str> + Copy + Send + Sync + 'static,
{
    PossibleValuesParser::new(E::iter().map(|e| PossibleValue::new(e.into()))).try_map(|given: String| {
        E::iter().find(|e| (*e).into().eq_ignore_ascii_case(&given)).ok_or("not one of the possible values")
    })
}

/// A stream as an operator names it: one of the kinds (any case), or an
/// extra stream by its name (`contracts`, also `extra:contracts`). Whether
/// the connector offers it is the sync's to say.
fn stream_id(given: &str) -> Result<StreamId, String> {
    StreamId::from_operator(&given.to_ascii_lowercase()).ok_or_else(|| {
        let kinds: Vec<&str> = StreamKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("`{given}` is neither a stream kind ({}) nor an extra stream's name", kinds.join(", "))
    })
}

/// `--apply`, shared by every command that changes what apply reads.
#[derive(Debug, Clone, Copy, Args)]
pub struct ApplyNow {
    /// Re-apply the synced data at once (otherwise `ferry apply NAME` does it later).
    #[arg(long = "apply")]
    pub now: bool,
}

#[derive(Debug, Parser)]
#[command(
    name = "ferry",
    version,
    about = "Ferry: sync PSA data (Syncro, ConnectWise Manage, ...) into your IT documentation",
    long_about = None,
    after_help = "Exit codes: 0 success, 1 error (nothing changed), 2 usage, 3 sync or test failed (also: the database failed under a sync), 4 sync partial, 5 another sync of the integration is running.\nLimits: see `ferry limits`."
)]
pub struct Cli {
    /// Database file (created if missing).
    #[arg(long, global = true, env = "FERRY_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything end to end against built-in PSA simulators on loopback.
    Demo(DemoArgs),
    /// Manage connector plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Manage integrations (a connector plus your credentials).
    #[command(subcommand)]
    Integration(IntegrationCommand),
    /// Fetch from the PSA and apply to the documentation.
    Sync(SyncArgs),
    /// Re-apply the PSA mirror to the documentation (no network).
    Apply(ApplyArgs),
    /// Match PSA companies to documentation companies.
    Match(MatchArgs),
    /// Documentation asset layouts.
    #[command(subcommand)]
    Layout(LayoutCommand),
    /// Sort rules, skip options and additional options of an integration.
    Rules(RulesArgs),
    /// Documentation companies.
    #[command(subcommand)]
    Company(CompanyCommand),
    /// Documentation assets.
    #[command(subcommand)]
    Asset(AssetCommand),
    /// Sync run history.
    Runs(RunsArgs),
    /// An integration's automatic syncs.
    Schedule(ScheduleArgs),
    /// Run every integration's schedules (foreground; stop with Ctrl-C or SIGTERM).
    Daemon(DaemonArgs),
    /// Ticket settings of an integration: statuses, exclusions, stages.
    Tickets(TicketsArgs),
    /// Tickets in the documentation.
    #[command(subcommand)]
    Ticket(TicketCommand),
    /// Show the sandbox limits in force and how to change them.
    Limits,
    /// The operator console and HTTP API (loopback only unless TLS).
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Companies per simulated PSA.
    #[arg(long, default_value_t = 40)]
    pub companies: usize,
    /// Keep the simulators running after the demo (Ctrl-C to stop).
    #[arg(long)]
    pub keep_running: bool,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Installed connectors.
    List,
    /// Install (or upgrade) a connector component.
    Install { file: PathBuf },
    /// Show a connector's id, version, contract, config, streams, hosts.
    Inspect {
        /// Installed connector id, or a .wasm file.
        target: String,
    },
    /// Remove an installed connector.
    Remove { id: String },
    /// Write an installed or bundled connector's component to a file.
    Export { id: String, file: PathBuf },
    /// Conformance check of a connector against a live (test) API.
    Check {
        /// A .wasm file, or an installed or bundled connector id.
        target: String,
        /// Config values for the run, KEY=VALUE (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Secret config values (scrubbed from output), KEY=VALUE or KEY=env:VAR.
        #[arg(long = "secret", value_name = "KEY=VALUE")]
        secret: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum IntegrationCommand {
    /// Add an integration.
    Add {
        name: String,
        /// Connector id (see `ferry plugin list`).
        #[arg(long = "plugin", value_name = "ID")]
        plugin: String,
        /// A config value, KEY=VALUE (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// A secret, KEY=VALUE or KEY=env:VAR to read it from the environment at use.
        #[arg(long = "secret", value_name = "KEY=VALUE|KEY=env:VAR")]
        secret: Vec<String>,
        /// Accept the connector's normalised values even where they move the hosts it may reach.
        #[arg(long)]
        accept_normalised: bool,
    },
    /// All integrations.
    List,
    /// One integration's config (secrets masked) and state.
    Show { name: String },
    /// Test the connection.
    Test { name: String },
    /// Change config values.
    Set {
        name: String,
        /// KEY=VALUE assignments; secrets may be KEY=env:VAR via --secret.
        #[arg(value_name = "KEY=VALUE")]
        assignments: Vec<String>,
        #[arg(long = "secret", value_name = "KEY=VALUE|KEY=env:VAR")]
        secret: Vec<String>,
        /// Accept the connector's normalised values even where they move the hosts it may reach.
        #[arg(long)]
        accept_normalised: bool,
    },
    /// Remove an integration: says what is archived, kept and deleted; acts only with --yes.
    /// Its documentation is archived (never deleted); re-adding the same PSA account re-attaches it.
    Remove {
        name: String,
        /// Do it (without: only show what would happen).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    pub name: String,
    /// Read every stream whole (the default).
    #[arg(long, conflicts_with = "incremental")]
    pub full: bool,
    /// Read only what changed since the last run, where the PSA allows.
    #[arg(long)]
    pub incremental: bool,
    /// Only these streams (repeatable): a kind, or an extra stream's name.
    #[arg(long = "stream", value_name = "STREAM", value_parser = stream_id)]
    pub streams: Vec<StreamId>,
    /// Run even if the same sync finished less than 2 minutes ago.
    #[arg(long)]
    pub force: bool,
    /// Wait up to this many seconds for a running sync of the integration.
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,
    /// With --stream tickets: delete this integration's tickets and refetch them.
    #[arg(long)]
    pub reset: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct MatchArgs {
    /// Integration name.
    pub name: String,
    #[command(subcommand)]
    pub action: Option<MatchAction>,
}

#[derive(Debug, Subcommand)]
pub enum MatchAction {
    /// PSA companies with their match state, scores and reasons.
    List {
        #[arg(long, value_parser = one_of::<LinkState>())]
        state: Option<LinkState>,
    },
    /// Accept the suggested match of a PSA company.
    Accept {
        ext: String,
        /// Allow it into a company that already holds another PSA company
        /// of this integration (they are one customer).
        #[arg(long)]
        merge: bool,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Match a PSA company to a documentation company (id or name).
    Set {
        ext: String,
        company: String,
        /// Allow it into a company that already holds another PSA company
        /// of this integration (they are one customer).
        #[arg(long)]
        merge: bool,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Create a new documentation company for a PSA company.
    Create {
        ext: String,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Never bring this PSA company in.
    Ignore {
        ext: String,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Undo a decision: the company's data stops coming in.
    Unmatch {
        ext: String,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Bulk: match every undecided company scoring at least the threshold.
    Auto {
        #[arg(long)]
        threshold: Option<f64>,
        /// Also create companies for the rest.
        #[arg(long)]
        create_rest: bool,
        /// Show the plan without changing anything.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// How new PSA companies are handled.
    Policy {
        #[arg(value_parser = one_of::<NewCompanies>())]
        policy: NewCompanies,
    },
}

#[derive(Debug, Subcommand)]
pub enum LayoutCommand {
    /// Asset layouts with their asset counts.
    List,
    /// Add a layout.
    Add {
        name: String,
        /// Field identifying one device across integrations.
        #[arg(long, value_parser = one_of::<IdentityField>(), default_value = "serial")]
        identity: IdentityField,
    },
    /// Change a layout's identity field or active flag.
    Set {
        name: String,
        #[arg(long, value_parser = one_of::<IdentityField>())]
        identity: Option<IdentityField>,
        #[arg(long)]
        active: Option<bool>,
    },
    /// Remove a layout that holds no assets and no sort rule names.
    Remove { name: String },
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Integration name.
    pub name: String,
    #[command(subcommand)]
    pub action: Option<RulesAction>,
}

#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// All rules and options.
    Show,
    /// Primary sync location for assets.
    Primary {
        layout: String,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Layout for contacts.
    Contacts {
        layout: String,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Add "when type is T, use layout L" (takes precedence over primary).
    Add {
        #[arg(long = "when-type")]
        when_type: String,
        #[arg(long)]
        layout: String,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Remove by-type rule number N (as numbered by `show`).
    Remove {
        n: usize,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// PSA types seen in the mirror, with counts.
    Types,
    /// Turn a skip option on or off.
    Skip {
        /// inactive-companies, contacts, agreements, assets, inactive-assets, sites,
        /// company-type=T, asset-type=T, stream=NAME (an extra stream: not read, kept out)
        what: String,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Turn an additional option on or off: auto-update-names, auto-archive, keep-company-details;
    /// or set requests-per-minute=N, concurrency=N (streams read at once).
    Option {
        what: String,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        apply: ApplyNow,
    },
}

#[derive(Debug, Subcommand)]
pub enum CompanyCommand {
    /// Documentation companies.
    List {
        #[arg(long)]
        archived: bool,
    },
    /// Add a company by hand.
    Add {
        name: String,
        #[arg(long)]
        domain: Option<String>,
        #[arg(long)]
        phone: Option<String>,
        /// Add it even though a company of that name exists.
        #[arg(long)]
        allow_duplicate: bool,
    },
    /// Import companies from a CSV file with a header: name[,domain][,phone].
    /// All rows or none; names that exist already are skipped.
    Import { file: PathBuf },
    /// One company: details, who drives them, linked PSA companies, history of changes.
    Show { company: String },
    /// Every recorded change to a company's details (which PSA or the operator, old -> new, when).
    History { company: String },
    /// Rename a company; you own its details from then on (it stops following its PSA).
    Rename {
        company: String,
        name: String,
        /// Allow a name another company already has.
        #[arg(long)]
        allow_duplicate: bool,
    },
    /// Which PSA keeps the company's name, domain and phone current: an integration, or --none.
    Follow {
        company: String,
        #[arg(required_unless_present = "none")]
        integration: Option<String>,
        /// Nobody: keep the details as they are.
        #[arg(long, conflicts_with = "integration")]
        none: bool,
    },
    /// Archive a company (and what lands on it); apply never restores it.
    Archive {
        company: String,
        /// Restore it instead.
        #[arg(long)]
        undo: bool,
    },
    /// Move everything of FROM (assets, PSA cards, links, tickets, history) onto INTO and archive FROM.
    Merge { from: String, into: String },
}

#[derive(Debug, Subcommand)]
pub enum AssetCommand {
    /// Documentation assets.
    List {
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        layout: Option<String>,
        /// Only archived assets.
        #[arg(long)]
        archived: bool,
        /// Only assets carrying a card from this integration.
        #[arg(long)]
        integration: Option<String>,
    },
    /// One asset with its PSA cards and operator fields.
    Show { id: i64 },
    /// Set an operator-owned field (never touched by a sync).
    Set { id: i64, field: String, value: String },
    /// Delete an operator-owned field.
    Unset { id: i64, field: String },
    /// Archive an asset; apply never restores it.
    Archive {
        id: i64,
        /// Restore it instead.
        #[arg(long)]
        undo: bool,
    },
}

/// `ferry runs [NAME]` lists runs; `ferry runs show ID` shows one;
/// `ferry runs list [NAME]` lists too, for an integration whose name is a
/// subcommand's (`ferry runs list show`).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: Option<RunsCommand>,
    #[command(flatten)]
    pub list: RunsList,
}

#[derive(Debug, Clone, Args)]
pub struct RunsList {
    /// Only the runs of this integration.
    pub name: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Recent runs, newest first (what `ferry runs [NAME]` prints).
    List(RunsList),
    /// One run: its streams, HTTP figures and the records it skipped as invalid.
    Show {
        id: i64,
        /// List the run's outbound requests (method, URL, status, time, bytes).
        #[arg(long)]
        requests: bool,
    },
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Integration name.
    pub name: String,
    #[command(subcommand)]
    pub action: Option<ScheduleAction>,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Entries with their next 5 fire times.
    Show,
    /// Add an entry: a cron expression (5 fields: minute hour day month weekday).
    Add {
        cron: String,
        /// IANA time zone, e.g. Europe/Berlin.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// Incremental instead of full.
        #[arg(long)]
        incremental: bool,
    },
    /// Remove entry N (as numbered by `show`).
    Remove { n: usize },
    /// Replace the entries with a preset: `nightly` = full at 02:00 + incremental every 4 hours,
    /// `default` = full every 3 hours.
    Preset {
        #[arg(value_parser = one_of::<Preset>())]
        preset: Preset,
        #[arg(long, default_value = "UTC")]
        tz: String,
    },
}

#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Run what is due (or was missed) once, then exit.
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct TicketsArgs {
    /// Integration name.
    pub name: String,
    #[command(subcommand)]
    pub action: Option<TicketsAction>,
}

#[derive(Debug, Subcommand)]
pub enum TicketsAction {
    /// PSA statuses seen, with counts and the stage each maps to.
    Statuses,
    /// Ticket options as set.
    Show,
    /// Tickets in these statuses are not synced (--off to take them back).
    Exclude {
        statuses: Vec<String>,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// These statuses count as closed (--off to take them back).
    Closed {
        statuses: Vec<String>,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// The status a ticket takes when the client comments (--off to clear).
    ClientComment {
        status: Option<String>,
        #[arg(long)]
        off: bool,
        #[command(flatten)]
        apply: ApplyNow,
    },
    /// Map PSA statuses to a stage.
    Stage {
        #[arg(value_parser = one_of::<Stage>(), ignore_case = true)]
        stage: Stage,
        statuses: Vec<String>,
        #[command(flatten)]
        apply: ApplyNow,
    },
}

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// Tickets, newest first per company.
    List {
        #[arg(long)]
        company: Option<String>,
        #[arg(long, value_parser = one_of::<Stage>(), ignore_case = true)]
        stage: Option<Stage>,
        /// Only tickets that are not closed.
        #[arg(long)]
        open: bool,
        #[arg(long)]
        integration: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on; a non-loopback address needs TLS or --insecure-listen.
    #[arg(long, default_value = "127.0.0.1:8780", value_name = "ADDR:PORT", value_parser = listen_addr)]
    pub listen: std::net::SocketAddr,
    /// Also run every integration's schedules (as `ferry daemon` does).
    #[arg(long)]
    pub schedules: bool,
    /// TLS certificate chain (PEM), with --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM), with --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Listen on a non-loopback address without TLS (only behind a TLS-terminating proxy).
    #[arg(long)]
    pub insecure_listen: bool,
    /// Replace the admin token with a new one (shown once); a console already running on the
    /// same database refuses the old token and signs everyone out at once.
    #[arg(long)]
    pub new_token: bool,
    /// With --new-token: only replace the token and print it, do not serve (rotate the token
    /// of a console that is running).
    #[arg(long, requires = "new_token")]
    pub no_serve: bool,
}

/// `--listen`: an IP address and port; `localhost:PORT` is the IPv4
/// loopback (no other host name is resolved: what the console binds must
/// be plain to see).
fn listen_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    if let Some(port) = s.strip_prefix("localhost:") {
        let port: u16 = port.parse().map_err(|_| format!("`{port}` is not a port number (0-65535)"))?;
        return Ok(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    }
    Err("give an IP address and port, e.g. 127.0.0.1:8780 or [::1]:8780 (host names are not resolved)".to_string())
}

#[cfg(test)]
mod listen_tests {
    use super::listen_addr;

    #[test]
    fn listen_takes_ip_and_port_or_localhost() {
        assert_eq!(listen_addr("127.0.0.1:8780").expect("ip"), "127.0.0.1:8780".parse().expect("addr"));
        assert_eq!(listen_addr("localhost:8781").expect("localhost"), "127.0.0.1:8781".parse().expect("addr"));
        assert!(listen_addr("localhost:x").expect_err("bad port").contains("port"));
        assert!(listen_addr("example.com:80").expect_err("host name").contains("127.0.0.1:8780"));
    }
}
