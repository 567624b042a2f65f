//! Versioned schema migrations. `PRAGMA user_version` holds the number of
//! migrations applied; each runs once, in order, in its own transaction. A
//! database with a higher version than this Ferry knows is refused, never
//! touched.

pub const MIGRATIONS: &[&str] = &[
    // 1: foundation.
    r#"
CREATE TABLE connectors (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    contract     TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    origin       TEXT NOT NULL CHECK (origin IN ('bundled', 'installed')),
    info_json    TEXT NOT NULL,
    component    BLOB NOT NULL,
    installed_at TEXT NOT NULL
);

CREATE TABLE integrations (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    connector_id TEXT NOT NULL REFERENCES connectors(id),
    config_json  TEXT NOT NULL,
    secrets_json TEXT NOT NULL,
    options_json TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

-- Every record a PSA has shown us, as Ferry's canonical JSON.
CREATE TABLE mirror (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    stream         TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    company_ext_id TEXT,
    hash           TEXT NOT NULL,
    data           TEXT NOT NULL,
    psa_updated_at TEXT,
    first_seen_run INTEGER NOT NULL,
    last_seen_run  INTEGER NOT NULL,
    changed_run    INTEGER NOT NULL,
    listing        INTEGER,
    deleted_at     TEXT,
    UNIQUE (integration_id, stream, external_id)
);
CREATE INDEX mirror_company ON mirror (integration_id, stream, company_ext_id);

CREATE TABLE runs (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    mode           TEXT NOT NULL,
    streams_json   TEXT NOT NULL,
    trigger        TEXT NOT NULL,
    status         TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    pid            INTEGER,
    error          TEXT,
    http_json      TEXT
);
CREATE INDEX runs_by_integration ON runs (integration_id, id);

CREATE TABLE run_streams (
    run_id    INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stream    TEXT NOT NULL,
    status    TEXT NOT NULL,
    pages     INTEGER NOT NULL DEFAULT 0,
    fetched   INTEGER NOT NULL DEFAULT 0,
    created   INTEGER NOT NULL DEFAULT 0,
    updated   INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    deleted   INTEGER NOT NULL DEFAULT 0,
    archived  INTEGER NOT NULL DEFAULT 0,
    skipped   INTEGER NOT NULL DEFAULT 0,
    error     TEXT,
    PRIMARY KEY (run_id, stream)
);

-- Per stream: the listing in progress (for resume) and the last complete one.
CREATE TABLE stream_state (
    integration_id     INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    stream             TEXT NOT NULL,
    listing            INTEGER,
    listing_mode       TEXT,
    listing_since      TEXT,
    listing_started_at TEXT,
    cursor             TEXT,
    watermark          TEXT,
    last_complete_at   TEXT,
    PRIMARY KEY (integration_id, stream)
);

-- The documentation side.
CREATE TABLE companies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    domain      TEXT,
    phone       TEXT,
    archived_at TEXT,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX companies_name ON companies (name COLLATE NOCASE);

CREATE TABLE layouts (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    active     INTEGER NOT NULL DEFAULT 1,
    identity   TEXT NOT NULL DEFAULT 'serial',
    created_at TEXT NOT NULL
);

CREATE TABLE assets (
    id          INTEGER PRIMARY KEY,
    company_id  INTEGER NOT NULL REFERENCES companies(id),
    layout_id   INTEGER NOT NULL REFERENCES layouts(id),
    name        TEXT NOT NULL,
    archived_at TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX assets_company ON assets (company_id, layout_id);

-- Operator-owned fields: no sync or apply ever writes here.
CREATE TABLE asset_fields (
    asset_id   INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    field      TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (asset_id, field)
);

-- PSA-owned cards: one per PSA record projected into the documentation,
-- overwritten by every apply. Also the link from a PSA record to the
-- company or asset it became.
CREATE TABLE cards (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    stream         TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    doc_kind       TEXT NOT NULL CHECK (doc_kind IN ('company', 'asset')),
    doc_id         INTEGER NOT NULL,
    title          TEXT NOT NULL,
    fields_json    TEXT NOT NULL,
    hash           TEXT NOT NULL,
    -- Identity of the device behind an asset card ("serial:5CG1…",
    -- "name:odg-pc-01"), so two integrations' cards of one device share
    -- one asset.
    identity       TEXT,
    archived_at    TEXT,
    updated_at     TEXT NOT NULL,
    UNIQUE (integration_id, stream, external_id)
);
CREATE INDEX cards_doc ON cards (doc_kind, doc_id);
CREATE INDEX cards_identity ON cards (identity, doc_kind);

-- How each PSA company relates to a documentation company.
CREATE TABLE company_links (
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    external_id    TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('suggested', 'matched', 'created', 'ignored', 'unmatched')),
    company_id     INTEGER REFERENCES companies(id),
    score          REAL,
    reason         TEXT,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (integration_id, external_id)
);
"#,
    // 2: schedules, sync locks, tickets.
    r#"
CREATE TABLE schedules (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    cron           TEXT NOT NULL,
    tz             TEXT NOT NULL,
    mode           TEXT NOT NULL CHECK (mode IN ('full', 'incremental')),
    last_fired_at  TEXT,
    created_at     TEXT NOT NULL
);

-- One running sync per integration, across processes.
CREATE TABLE locks (
    integration_id INTEGER PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    run_id         INTEGER,
    pid            INTEGER NOT NULL,
    scope          TEXT NOT NULL,
    acquired_at    TEXT NOT NULL
);

CREATE TABLE tickets (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    external_id    TEXT NOT NULL,
    company_id     INTEGER NOT NULL REFERENCES companies(id),
    number         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    status         TEXT NOT NULL,
    stage          TEXT NOT NULL,
    closed         INTEGER NOT NULL,
    priority       TEXT,
    type_name      TEXT,
    board          TEXT,
    created_at     TEXT,
    updated_at     TEXT,
    resolved_at    TEXT,
    fields_json    TEXT NOT NULL,
    hash           TEXT NOT NULL,
    synced_at      TEXT NOT NULL,
    UNIQUE (integration_id, external_id)
);
CREATE INDEX tickets_company ON tickets (company_id, stage);
"#,
    // 3: apply projects only what changed since the last apply, when nothing
    // else (options, links, layouts, companies) did.
    r#"
ALTER TABLE integrations ADD COLUMN applied_run INTEGER;
ALTER TABLE integrations ADD COLUMN applied_inputs TEXT;
CREATE INDEX mirror_changed ON mirror (integration_id, stream, changed_run);
-- The connector build (sha256) that wrote a checkpoint: another build's
-- cursor may mean something else, so its listing starts over.
ALTER TABLE stream_state ADD COLUMN cursor_connector TEXT;
"#,
    // 4: trust in sync: a mirror change sequence (apply reads changes by
    // commit order, not by run), dedup fingerprints on runs, and a note on
    // stream results (e.g. deletions deferred after a stitched listing).
    r#"
-- One counter for every mirror change; bumped inside each writing
-- transaction, so its order is commit order.
CREATE TABLE mirror_sequence (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO mirror_sequence (id, value) VALUES (1, 0);
ALTER TABLE mirror ADD COLUMN change_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX mirror_change_seq ON mirror (integration_id, stream, change_seq);
-- Rows carry seq 0 until they change; an apply that recorded no sequence
-- yet projects everything once.
ALTER TABLE integrations ADD COLUMN applied_seq INTEGER;
DROP INDEX IF EXISTS mirror_changed;
-- What made a run "the same sync" (hash of config, secret sources, options,
-- connector build and scope; never a secret in clear).
ALTER TABLE runs ADD COLUMN fingerprint TEXT;
ALTER TABLE run_streams ADD COLUMN note TEXT;
"#,
    // 5: ownership of company details, their history, operator archiving,
    // integrations removed (kept, archived) rather than deleted.
    r#"
-- The integration whose PSA record drives the company's name, domain and
-- phone; NULL: the operator owns them (added, imported, or taken over).
ALTER TABLE companies ADD COLUMN source_integration_id INTEGER;
-- ... and which of its PSA companies (one integration may hold two on one
-- company after an explicit merge; only one drives the details).
ALTER TABLE companies ADD COLUMN source_external_id TEXT;
UPDATE companies SET source_integration_id =
    (SELECT i.id FROM integrations i WHERE 'integration:' || i.name = companies.created_by)
 WHERE created_by LIKE 'integration:%';
UPDATE companies SET source_external_id =
    (SELECT MIN(l.external_id) FROM company_links l WHERE l.integration_id = companies.source_integration_id
        AND l.company_id = companies.id AND l.state IN ('created', 'matched'))
 WHERE source_integration_id IS NOT NULL;
-- Archived by the operator: apply never restores it, and everything that
-- lands on it arrives archived.
ALTER TABLE companies ADD COLUMN operator_archived INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assets ADD COLUMN operator_archived INTEGER NOT NULL DEFAULT 0;
-- Every change to a company's details: by which PSA (or the operator),
-- old -> new, when.
CREATE TABLE company_history (
    id             INTEGER PRIMARY KEY,
    company_id     INTEGER NOT NULL REFERENCES companies(id),
    field          TEXT NOT NULL,
    old_value      TEXT,
    new_value      TEXT,
    actor          TEXT NOT NULL,
    integration_id INTEGER,
    at             TEXT NOT NULL
);
CREATE INDEX company_history_by_company ON company_history (company_id, id);
-- A removed integration keeps its mirror, cards, links and runs (its
-- documentation archived) so re-adding the same PSA account re-attaches.
ALTER TABLE integrations ADD COLUMN removed_at TEXT;
"#,
    // 6: the operator's explicit consent (`--merge`) that a second PSA
    // company of one integration brings its data into a documentation
    // company that already holds one.
    r#"
ALTER TABLE company_links ADD COLUMN merged INTEGER NOT NULL DEFAULT 0;
"#,
    // 7: values a connector sent longer than Ferry keeps (names 1,000
    // characters, other values 10,000), cut at the boundary, per stream.
    r#"
ALTER TABLE run_streams ADD COLUMN truncated INTEGER NOT NULL DEFAULT 0;
"#,
    // 8: records a sync skipped as invalid, kept aside with the reason.
    r#"
CREATE TABLE skipped_records (
    id             INTEGER PRIMARY KEY,
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    integration_id INTEGER NOT NULL,
    stream         TEXT NOT NULL,
    external_id    TEXT NOT NULL,
    field          TEXT,
    reason         TEXT NOT NULL,
    snippet        TEXT NOT NULL,
    at             TEXT NOT NULL
);
CREATE INDEX skipped_records_by_run ON skipped_records (run_id, id);
"#,
    // 9: the connector `state` store (contract 0.3), one sealed JSON
    // document per integration.
    r#"
CREATE TABLE connector_state (
    integration_id INTEGER PRIMARY KEY REFERENCES integrations(id),
    sealed         TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
"#,
    // 10: a stream's mirror rows in row order, so apply reads them in
    // bounded chunks (memory independent of the mirror's size).
    r#"
CREATE INDEX mirror_stream_rows ON mirror (integration_id, stream, id);
"#,
    // 11: the outbound requests of a run (method, URL with secrets removed,
    // status, time, bytes), the first 2,000, for `ferry runs show ID --requests`.
    r#"
CREATE TABLE run_requests (
    id      INTEGER PRIMARY KEY,
    run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    method  TEXT NOT NULL,
    url     TEXT NOT NULL,
    status  INTEGER,
    error   TEXT,
    millis  INTEGER NOT NULL,
    bytes   INTEGER NOT NULL
);
CREATE INDEX run_requests_by_run ON run_requests (run_id, id);
"#,
    // 12: the operator console (`ferry serve`): its admin token (an argon2
    // hash, never the token), install-wide settings (the webhook URL) and
    // notifications of failed or partial scheduled runs, shown until
    // acknowledged.
    r#"
CREATE TABLE console_tokens (
    id         INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE console_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE console_notifications (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL UNIQUE,
    integration     TEXT NOT NULL,
    status          TEXT NOT NULL,
    error           TEXT,
    finished_at     TEXT,
    created_at      TEXT NOT NULL,
    acknowledged_at TEXT,
    delivered_at    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
"#,
    // 13: a short check of the console's admin token (8 bytes of its
    // SHA-256, hex): a wrong token is refused without running argon2, so
    // guessing costs the console nothing and never crowds out the operator.
    r#"
ALTER TABLE console_tokens ADD COLUMN quick_check TEXT;
"#,
    // 14: each integration's rate window as its last run left it (the
    // send times still inside the PSA's window, a 429's pause, a lowered
    // allowance; JSON in wall-clock milliseconds), so a run started right
    // after another does not send into a window the PSA counts as full.
    // Kept when the integration is removed: the PSA's count does not care.
    r#"
CREATE TABLE rate_windows (
    integration_id INTEGER PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    kept           TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
"#,
];

/// The schema version this Ferry writes.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}
