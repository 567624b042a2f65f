//! A deterministic "MSP customer world": organisations, their people,
//! devices, sites, agreements and tickets, from which each simulated PSA
//! takes its own view.
//!
//! The two PSA views overlap on purpose: about 60% of organisations are
//! customers in both Syncro and ConnectWise Manage, under slightly different
//! names ("Ortiz Dental Group" / "Ortiz Dental Group, LLC"), and some of
//! their devices are known to both with the same serial number — the cases
//! company matching and device merging exist for. Near-miss names ("Acme
//! Dental" / "Acme Legal") are generated too.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

/// How much data to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scale {
    pub companies: usize,
    pub contacts_per_company: usize,
    pub assets_per_company: usize,
    pub tickets_per_company: usize,
}

impl Scale {
    /// A dozen companies: for tests.
    pub fn small() -> Self {
        Scale { companies: 12, contacts_per_company: 3, assets_per_company: 4, tickets_per_company: 2 }
    }

    /// A few dozen companies: for `ferry demo`.
    pub fn demo() -> Self {
        Scale { companies: 40, contacts_per_company: 5, assets_per_company: 10, tickets_per_company: 3 }
    }

    /// The benchmark size: 2,000 companies, 20,000 contacts, 100,000 assets.
    pub fn bench() -> Self {
        Scale { companies: 2000, contacts_per_company: 10, assets_per_company: 50, tickets_per_company: 5 }
    }
}

/// Which PSAs know an organisation or device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    pub syncro: bool,
    pub cw: bool,
}

#[derive(Debug, Clone)]
pub struct Address {
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub zip: String,
}

#[derive(Debug, Clone)]
pub struct Organisation {
    pub index: usize,
    /// The name as Syncro knows it.
    pub name: String,
    /// The name as CW Manage knows it (a variant of `name`).
    pub cw_name: String,
    /// CW `identifier` (short code).
    pub identifier: String,
    /// Syncro individual customer (no business name).
    pub individual: Option<(String, String)>,
    pub domain: String,
    pub phone: String,
    pub address: Address,
    pub industry: &'static str,
    pub presence: Presence,
    /// Disabled in Syncro / inactive status in CW.
    pub inactive: bool,
    /// Marked deleted in CW (still listed).
    pub cw_deleted: bool,
    /// CW company type.
    pub cw_type: &'static str,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub index: usize,
    pub org: usize,
    pub first: String,
    pub last: String,
    pub email: String,
    pub phone: String,
    pub mobile: Option<String>,
    pub title: &'static str,
    pub inactive: bool,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Device {
    pub index: usize,
    pub org: usize,
    pub name: String,
    /// Syncro asset type name.
    pub syncro_type: &'static str,
    /// CW configuration type name.
    pub cw_type: &'static str,
    pub serial: String,
    pub mac: String,
    pub ip: String,
    pub manufacturer: &'static str,
    pub model: &'static str,
    pub os: Option<&'static str>,
    pub form_factor: &'static str,
    pub last_user: Option<String>,
    pub presence: Presence,
    pub inactive: bool,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Site {
    pub index: usize,
    pub org: usize,
    pub name: String,
    pub address: Address,
    pub primary: bool,
    pub inactive: bool,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AgreementSpec {
    pub index: usize,
    pub org: usize,
    pub name: String,
    pub kind: &'static str,
    pub status: &'static str,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct TicketSpec {
    pub index: usize,
    pub org: usize,
    pub contact: Option<usize>,
    pub device: Option<usize>,
    pub subject: String,
    pub problem_type: &'static str,
    /// Index into the PSA's status list (same position = same meaning).
    pub status: usize,
    pub priority: usize,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct World {
    pub seed: u64,
    pub organisations: Vec<Organisation>,
    pub people: Vec<Person>,
    pub devices: Vec<Device>,
    pub sites: Vec<Site>,
    pub agreements: Vec<AgreementSpec>,
    pub tickets: Vec<TicketSpec>,
}

const PREFIXES: &[&str] = &[
    "Ortiz",
    "Acme",
    "Northwind",
    "Blue Harbor",
    "Summit",
    "Riverside",
    "Lakeside",
    "Granite",
    "Cedar Ridge",
    "Pioneer",
    "Silver Oak",
    "Redwood",
    "Harbor View",
    "Evergreen",
    "Bright Path",
    "Keystone",
    "Maple Leaf",
    "Iron Gate",
    "Sunrise",
    "Golden Valley",
    "Clearwater",
    "Stonebridge",
    "Westfield",
    "Eastgate",
    "Highland",
    "Brookside",
    "Oakmont",
    "Pinecrest",
    "Willow Creek",
    "Falcon",
    "Beacon",
    "Liberty",
    "Heritage",
    "Crescent",
    "Meridian",
    "Sterling",
    "Horizon",
    "Cornerstone",
    "Trident",
    "Juniper",
    "Aspen",
    "Copper Canyon",
    "Bayview",
    "Foxglove",
    "Kingsley",
    "Whitmore",
    "Hargrove",
    "Delgado",
    "Nakamura",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Fitzgerald",
    "Castellano",
    "Brennan",
    "Petrov",
    "Haddad",
    "Johansson",
    "Abernathy",
    "Vasquez",
];

/// (industry, name suffixes typical of it)
const INDUSTRIES: &[(&str, &[&str])] = &[
    ("dental", &["Dental Group", "Dental", "Family Dentistry", "Orthodontics"]),
    ("legal", &["Legal", "Law Group", "& Partners", "Law Offices"]),
    ("construction", &["Construction", "Builders", "Contracting", "Roofing"]),
    ("manufacturing", &["Manufacturing", "Fabrication", "Industries", "Machine Works"]),
    ("nonprofit", &["Foundation", "Community Services", "Food Bank", "Youth Center"]),
    ("medical", &["Medical Center", "Clinic", "Pediatrics", "Physical Therapy"]),
    ("accounting", &["Accounting", "CPAs", "Tax Advisors", "Financial Group"]),
    ("retail", &["Outfitters", "Hardware", "Market", "Boutique"]),
    ("veterinary", &["Veterinary Hospital", "Animal Clinic", "Pet Care"]),
    ("logistics", &["Logistics", "Freight", "Transport", "Distribution"]),
];

const LEGAL_FORMS: &[&str] = &[", LLC", " Inc.", " LLC", ", Inc", " Ltd", " Co.", " Pty Ltd", " GmbH"];

const FIRST_NAMES: &[&str] = &[
    "Maria", "Dana", "James", "Priya", "Chen", "Fatima", "Lukas", "Sofia", "Omar", "Grace", "Mateo", "Aisha", "Noah",
    "Elena", "Kwame", "Hannah", "Ravi", "Ingrid", "Diego", "Yuki", "Samuel", "Chloe", "Tariq", "Amara", "Jonas",
];
const LAST_NAMES: &[&str] = &[
    "Chen", "Ortiz", "Smith", "Patel", "Garcia", "Nguyen", "Müller", "Johnson", "Kowalski", "Okafor", "Rossi",
    "Andersen", "Silva", "Kim", "O'Brien", "Haddad", "Novak", "Dubois", "Tanaka", "Reyes", "Fischer", "Walsh",
];
const TITLES: &[&str] = &[
    "Office Manager",
    "Owner",
    "Practice Manager",
    "Controller",
    "IT Contact",
    "Operations Director",
    "Receptionist",
    "Bookkeeper",
    "Partner",
    "Site Supervisor",
];
const CITIES: &[(&str, &str, &str)] = &[
    ("Austin", "TX", "787"),
    ("Denver", "CO", "802"),
    ("Portland", "OR", "972"),
    ("Columbus", "OH", "432"),
    ("Raleigh", "NC", "276"),
    ("Madison", "WI", "537"),
    ("Boise", "ID", "837"),
    ("Tampa", "FL", "336"),
];
const STREETS: &[&str] =
    &["Lamar Blvd", "Main St", "Oak Ave", "Industrial Pkwy", "Market St", "Cedar Ln", "Elm St", "Harbor Dr"];

/// (syncro type, cw type, manufacturer, model, os, form factor, name stem)
type DeviceKind =
    (&'static str, &'static str, &'static str, &'static str, Option<&'static str>, &'static str, &'static str);

const DEVICE_KINDS: &[DeviceKind] = &[
    (
        "Syncro Device",
        "Managed Workstation",
        "HP",
        "EliteDesk 800 G6",
        Some("Microsoft Windows 11 Pro"),
        "Desktop",
        "PC",
    ),
    (
        "Syncro Device",
        "Managed Workstation",
        "Dell",
        "OptiPlex 7090",
        Some("Microsoft Windows 11 Pro"),
        "Desktop",
        "PC",
    ),
    ("Syncro Device", "Laptop", "Lenovo", "ThinkPad T14 Gen 3", Some("Microsoft Windows 11 Pro"), "Laptop", "LT"),
    ("Syncro Device", "Laptop", "Apple", "MacBook Air M2", Some("macOS 14 Sonoma"), "Laptop", "MAC"),
    (
        "Syncro Device",
        "Managed Server",
        "Dell",
        "PowerEdge R650",
        Some("Microsoft Windows Server 2022 Standard"),
        "Server",
        "SRV",
    ),
    ("Firewall", "Firewall", "Fortinet", "FortiGate 60F", None, "Appliance", "FW"),
    ("Network Switch", "Switch", "Ubiquiti", "UniFi USW-24-PoE", None, "Appliance", "SW"),
    ("Printer", "Printer", "Brother", "MFC-L8900CDW", None, "Printer", "PRN"),
    ("Wireless AP", "Access Point", "Ubiquiti", "U6-Pro", None, "Appliance", "AP"),
    ("NAS", "Backup Appliance", "Synology", "DS920+", None, "Appliance", "NAS"),
];

const PROBLEMS: &[(&str, &str)] = &[
    ("Hardware", "PC will not power on"),
    ("Software", "Outlook keeps asking for password"),
    ("Network", "Wi-Fi drops in the back office"),
    ("Printing", "Front desk printer shows offline"),
    ("Security", "Suspicious login alert"),
    ("Onboarding", "New hire account setup"),
    ("Backup", "Nightly backup failed"),
    ("Other", "Request for quote on new laptops"),
];

/// Base time of generated records; `touch` moves records to "now".
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).single().unwrap_or_else(Utc::now)
}

impl World {
    /// The same seed and scale always give the same world.
    pub fn generate(seed: u64, scale: &Scale) -> World {
        let mut rng = StdRng::seed_from_u64(seed);
        let base = epoch();
        let mut w = World {
            seed,
            organisations: Vec::new(),
            people: Vec::new(),
            devices: Vec::new(),
            sites: Vec::new(),
            agreements: Vec::new(),
            tickets: Vec::new(),
        };
        let mut used_names = std::collections::HashSet::new();
        for index in 0..scale.companies {
            let org = organisation(&mut rng, index, base, &mut used_names);
            w.organisations.push(org);
        }
        for org in 0..w.organisations.len() {
            let o = w.organisations[org].clone();
            for _ in 0..scale.contacts_per_company {
                let index = w.people.len();
                let first = pick(&mut rng, FIRST_NAMES).to_string();
                let last = pick(&mut rng, LAST_NAMES).to_string();
                let local = format!("{}.{}", first.to_lowercase(), ascii(&last.to_lowercase()));
                w.people.push(Person {
                    index,
                    org,
                    email: format!(
                        "{local}{}@{}",
                        if index.is_multiple_of(7) { index.to_string() } else { String::new() },
                        o.domain
                    ),
                    phone: phone(&mut rng),
                    mobile: rng.random_bool(0.5).then(|| phone(&mut rng)),
                    title: TITLES[rng.random_range(0..TITLES.len())],
                    inactive: rng.random_bool(0.05),
                    updated: base + Duration::minutes(rng.random_range(0..500_000)),
                    first,
                    last,
                });
            }
            let stem: String = o.identifier.chars().take(4).collect::<String>().to_uppercase();
            for n in 0..scale.assets_per_company {
                let index = w.devices.len();
                let kind = DEVICE_KINDS[(index * 7 + org) % DEVICE_KINDS.len()];
                let (syncro_type, cw_type, manufacturer, model, os, form_factor, name_stem) = kind;
                // Devices of organisations known to both PSAs: half are in
                // both (same serial), the rest in one of them.
                let presence = match (o.presence.syncro, o.presence.cw) {
                    (true, true) => match n % 4 {
                        0 | 1 => Presence { syncro: true, cw: true },
                        2 => Presence { syncro: true, cw: false },
                        _ => Presence { syncro: false, cw: true },
                    },
                    (s, c) => Presence { syncro: s, cw: c },
                };
                w.devices.push(Device {
                    index,
                    org,
                    name: format!("{stem}-{name_stem}-{:02}", n + 1),
                    syncro_type,
                    cw_type,
                    serial: serial(&mut rng, manufacturer),
                    mac: mac(&mut rng),
                    ip: format!("10.{}.{}.{}", org % 250, n / 250 + 10, n % 250 + 2),
                    manufacturer,
                    model,
                    os,
                    form_factor,
                    last_user: os.map(|_| format!("{}\\{}", stem, pick(&mut rng, FIRST_NAMES).to_lowercase())),
                    presence,
                    inactive: rng.random_bool(0.04),
                    updated: base + Duration::minutes(rng.random_range(0..500_000)),
                });
            }
            let site_count = 1 + usize::from(org % 3 == 0);
            for s in 0..site_count {
                let index = w.sites.len();
                w.sites.push(Site {
                    index,
                    org,
                    name: if s == 0 { "Main".into() } else { format!("{} Branch", pick(&mut rng, CITIES).0) },
                    address: if s == 0 { o.address.clone() } else { address(&mut rng) },
                    primary: s == 0,
                    inactive: false,
                    updated: base + Duration::minutes(rng.random_range(0..500_000)),
                });
            }
            let index = w.agreements.len();
            let start = base - Duration::days(rng.random_range(30..900));
            w.agreements.push(AgreementSpec {
                index,
                org,
                name: format!("{} - Managed Services", o.cw_name),
                kind: if org % 4 == 0 { "Block Time" } else { "Managed Services" },
                status: if o.inactive { "Expired" } else { "Active" },
                start,
                end: (org % 3 != 0).then(|| start + Duration::days(730)),
                updated: base + Duration::minutes(rng.random_range(0..500_000)),
            });
            for _ in 0..scale.tickets_per_company {
                let index = w.tickets.len();
                let (problem, subject) = *pick(&mut rng, PROBLEMS);
                let created = base + Duration::minutes(rng.random_range(0..500_000));
                let people: Vec<usize> = w.people.iter().filter(|p| p.org == org).map(|p| p.index).collect();
                let devices: Vec<usize> = w.devices.iter().filter(|d| d.org == org).map(|d| d.index).collect();
                w.tickets.push(TicketSpec {
                    index,
                    org,
                    contact: people.choose(&mut rng).copied(),
                    device: devices.choose(&mut rng).copied(),
                    subject: subject.to_string(),
                    problem_type: problem,
                    status: rng.random_range(0..8),
                    priority: rng.random_range(0..4),
                    created,
                    updated: created + Duration::minutes(rng.random_range(0..10_000)),
                });
            }
        }
        w
    }
}

fn pick<'a, T>(rng: &mut StdRng, list: &'a [T]) -> &'a T {
    &list[rng.random_range(0..list.len())]
}

fn ascii(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ü' => 'u',
            'ö' => 'o',
            'ä' => 'a',
            other => other,
        })
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

fn phone(rng: &mut StdRng) -> String {
    format!("{}555{:04}", rng.random_range(200..990), rng.random_range(100..9999))
}

fn serial(rng: &mut StdRng, manufacturer: &str) -> String {
    const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    let body: String = (0..7).map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char).collect();
    let prefix = match manufacturer {
        "HP" => "5CG",
        "Dell" => "DL",
        "Lenovo" => "PF",
        "Apple" => "C02",
        "Fortinet" => "FGT60F",
        _ => "SN",
    };
    format!("{prefix}{body}")
}

fn mac(rng: &mut StdRng) -> String {
    (0..6).map(|_| format!("{:02X}", rng.random_range(0..=255u8))).collect::<Vec<_>>().join(":")
}

fn address(rng: &mut StdRng) -> Address {
    let (city, state, zip) = *pick(rng, CITIES);
    Address {
        line1: format!("{} {}", rng.random_range(100..9999), *pick(rng, STREETS)),
        line2: rng.random_bool(0.3).then(|| format!("Suite {}", rng.random_range(100..500))),
        city: city.to_string(),
        state: state.to_string(),
        zip: format!("{zip}{:02}", rng.random_range(1..99)),
    }
}

fn organisation(
    rng: &mut StdRng,
    index: usize,
    base: DateTime<Utc>,
    used: &mut std::collections::HashSet<String>,
) -> Organisation {
    let (industry, suffixes) = INDUSTRIES[index % INDUSTRIES.len()];
    // Find a name not used yet; the same prefix recurs across industries,
    // which gives near misses such as "Acme Dental" / "Acme Legal".
    let mut attempt = 0usize;
    let name = loop {
        let prefix = PREFIXES[(index / INDUSTRIES.len() + attempt * 7) % PREFIXES.len()];
        let suffix = suffixes[(index + attempt) % suffixes.len()];
        let candidate = if attempt < PREFIXES.len() {
            format!("{prefix} {suffix}")
        } else {
            format!("{prefix} {suffix} {}", attempt / PREFIXES.len() + 1)
        };
        if used.insert(candidate.clone()) {
            break candidate;
        }
        attempt += 1;
    };
    let cw_name = match index % 5 {
        0 => format!("{name}{}", LEGAL_FORMS[index % LEGAL_FORMS.len()]),
        1 => name.replace(" & ", " and "),
        2 => name.to_uppercase(),
        3 => format!("The {name}"),
        _ => name.clone(),
    };
    let slug: String = name.to_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let identifier: String = name.split_whitespace().map(ascii).collect::<String>();
    let individual =
        (index % 11 == 10).then(|| (pick(rng, FIRST_NAMES).to_string(), pick(rng, LAST_NAMES).to_string()));
    // ~60% in both PSAs, ~20% only Syncro, ~20% only CW.
    let presence = match index % 5 {
        0..=2 => Presence { syncro: true, cw: true },
        3 => Presence { syncro: true, cw: false },
        _ => Presence { syncro: false, cw: true },
    };
    Organisation {
        index,
        cw_name,
        identifier: identifier.chars().take(24).collect(),
        individual,
        domain: format!("{}.example", slug.chars().take(30).collect::<String>()),
        phone: phone(rng),
        address: address(rng),
        industry,
        presence,
        inactive: index % 7 == 5,
        cw_deleted: index % 11 == 9,
        cw_type: if index % 9 == 8 { "Prospect" } else { "Client" },
        updated: base + Duration::minutes(rng.random_range(0..500_000)),
        name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic() {
        let a = World::generate(42, &Scale::small());
        let b = World::generate(42, &Scale::small());
        assert_eq!(
            a.organisations.iter().map(|o| &o.name).collect::<Vec<_>>(),
            b.organisations.iter().map(|o| &o.name).collect::<Vec<_>>()
        );
        assert_eq!(
            a.devices.iter().map(|d| &d.serial).collect::<Vec<_>>(),
            b.devices.iter().map(|d| &d.serial).collect::<Vec<_>>()
        );
        let c = World::generate(43, &Scale::small());
        assert_ne!(a.devices[0].serial, c.devices[0].serial);
    }

    #[test]
    fn scale_and_overlap() {
        let w = World::generate(1, &Scale::small());
        assert_eq!(w.organisations.len(), 12);
        assert_eq!(w.people.len(), 36);
        assert_eq!(w.devices.len(), 48);
        let both = w.organisations.iter().filter(|o| o.presence.syncro && o.presence.cw).count();
        assert!(both >= 6, "{both}");
        assert!(w.devices.iter().any(|d| d.presence.syncro && d.presence.cw));
        assert!(w.organisations.iter().any(|o| o.name != o.cw_name));
        let names: std::collections::HashSet<_> = w.organisations.iter().map(|o| &o.name).collect();
        assert_eq!(names.len(), 12, "names are unique");
    }

    #[test]
    fn near_misses_exist_at_scale() {
        let w = World::generate(
            1,
            &Scale { companies: 60, contacts_per_company: 0, assets_per_company: 0, tickets_per_company: 0 },
        );
        let acme: Vec<_> = w.organisations.iter().filter(|o| o.name.starts_with("Acme ")).collect();
        assert!(acme.len() >= 2, "{:?}", acme.iter().map(|o| &o.name).collect::<Vec<_>>());
    }
}
