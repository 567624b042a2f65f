//! Normalising company names, domains and phone numbers for comparison.

/// Legal-form words dropped from the end of a name (checked repeatedly, so
/// "Acme Holdings Pty Ltd" loses "pty" and "ltd").
const LEGAL_SUFFIXES: &[&str] = &[
    "inc",
    "incorporated",
    "llc",
    "lc",
    "ltd",
    "limited",
    "gmbh",
    "mbh",
    "ag",
    "kg",
    "ug",
    "pty",
    "plc",
    "llp",
    "pllc",
    "lp",
    "pc",
    "corp",
    "corporation",
    "co",
    "company",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "ab",
    "oy",
    "as",
    "aps",
    "kk",
    "pte",
    "sdn",
    "bhd",
];

/// Abbreviations written out, so "Grp" and "Group" are one word.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("grp", "group"),
    // Trade abbreviations operators and PSAs write in company names (with
    // or without the dot: punctuation is gone by the time this is read).
    ("acctg", "accounting"),
    ("acct", "accounting"),
    ("accts", "accounting"),
    ("acctng", "accounting"),
    ("constr", "construction"),
    ("cnstr", "construction"),
    ("eng", "engineering"),
    ("engg", "engineering"),
    ("engr", "engineering"),
    ("engrg", "engineering"),
    ("dist", "distribution"),
    ("distrib", "distribution"),
    ("distr", "distribution"),
    ("distributor", "distribution"),
    ("distributors", "distribution"),
    ("mgt", "management"),
    ("mktg", "marketing"),
    ("hldgs", "holdings"),
    ("hldg", "holdings"),
    ("bldg", "building"),
    ("bldrs", "builders"),
    ("plbg", "plumbing"),
    ("elec", "electric"),
    ("equip", "equipment"),
    ("ins", "insurance"),
    ("finl", "financial"),
    ("prof", "professional"),
    ("profl", "professional"),
    ("assn", "association"),
    ("dev", "development"),
    ("devel", "development"),
    ("div", "division"),
    ("inds", "industries"),
    ("indus", "industries"),
    ("inst", "institute"),
    ("labs", "laboratories"),
    ("lab", "laboratories"),
    ("laboratory", "laboratories"),
    ("maint", "maintenance"),
    ("prods", "products"),
    ("prop", "properties"),
    ("props", "properties"),
    ("rlty", "realty"),
    ("sply", "supply"),
    ("transp", "transportation"),
    ("whse", "warehouse"),
    ("cntr", "center"),
    ("techs", "technologies"),
    ("technol", "technologies"),
    ("intl", "international"),
    ("int'l", "international"),
    ("assoc", "associates"),
    ("assocs", "associates"),
    ("svc", "services"),
    ("svcs", "services"),
    ("srvcs", "services"),
    ("mfg", "manufacturing"),
    ("bros", "brothers"),
    ("dept", "department"),
    ("ctr", "center"),
    ("centre", "center"),
    ("mgmt", "management"),
    ("tech", "technologies"),
    ("technology", "technologies"),
    ("sys", "systems"),
    ("univ", "university"),
    ("med", "medical"),
    ("hosp", "hospital"),
    ("dr", "doctor"),
    ("vet", "veterinary"),
    ("vets", "veterinary"),
    ("mtn", "mountain"),
    ("ft", "fort"),
    ("natl", "national"),
    ("1", "one"),
    ("2", "two"),
    ("3", "three"),
    ("4", "four"),
    ("5", "five"),
    ("7", "seven"),
    ("st", "saint"),
    ("mt", "mount"),
];

/// Web-mail domains shared by unrelated customers: never evidence.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "protonmail.com",
    "proton.me",
    "gmx.com",
    "gmx.de",
    "web.de",
    "mail.com",
    "yandex.com",
    "zoho.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "bigpond.com",
];

/// Fold common Latin diacritics so "Müller" equals "Muller" (and "Mueller"
/// is left to the fuzzy comparison).
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'č' | 'ć' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        'š' | 'ś' => 's',
        'ž' | 'ź' | 'ż' => 'z',
        'ł' => 'l',
        other => other,
    }
}

/// Lowercase, fold accents, `&` → "and", punctuation → space, expand
/// abbreviations, drop a leading "the" and trailing legal forms.
pub fn normalize_name(name: &str) -> String {
    let lowered: String = name.to_lowercase().chars().map(fold).collect();
    let spaced = lowered.replace(['&', '+'], " and ");
    let mut words: Vec<String> = Vec::new();
    // Whether the last word was glued from dotted initials ("l.l.c." → "llc").
    let mut initials = false;
    for raw in spaced.split(|c: char| !c.is_alphanumeric() && c != '\'') {
        let w = raw.trim_matches('\'');
        if w.is_empty() {
            continue;
        }
        if w.chars().count() == 1 && raw_was_dotted(&spaced, w) {
            match words.last_mut() {
                Some(last) if initials => last.push_str(w),
                _ => words.push(w.to_string()),
            }
            initials = true;
            continue;
        }
        initials = false;
        let w = w.replace('\'', "");
        let expanded = ABBREVIATIONS.iter().find(|(a, _)| *a == w).map(|(_, full)| full.to_string()).unwrap_or(w);
        words.push(expanded);
    }
    if words.first().is_some_and(|w| w == "the") && words.len() > 1 {
        words.remove(0);
    }
    while words.len() > 1 && words.last().is_some_and(|w| LEGAL_SUFFIXES.contains(&w.as_str())) {
        words.pop();
    }
    // "pty ltd" → after popping "ltd" "pty" goes too; "and co" leaves "and".
    while words.len() > 1 && words.last().is_some_and(|w| w == "and") {
        words.pop();
    }
    words.join(" ")
}

fn raw_was_dotted(text: &str, letter: &str) -> bool {
    text.contains(&format!("{letter}.")) || text.contains(&format!(".{letter}"))
}

/// Words that say what kind of organisation something is, not which one:
/// they count for less when comparing names.
pub const GENERIC_WORDS: &[&str] = &[
    "group",
    "services",
    "service",
    "associates",
    "agency",
    "center",
    "company",
    "partners",
    "solutions",
    "holdings",
    "enterprises",
    "international",
    "systems",
    "consulting",
    "management",
    "office",
    "offices",
];

/// Words that say what trade or place a company is in. They weigh fully
/// in the score (unlike [`GENERIC_WORDS`]), but sharing one is no sign of
/// being the same customer: "Acme Dental" and "Bright Dental" are two
/// firms, so these never make a company a possible twin on their own.
pub const DESCRIPTIVE_WORDS: &[&str] = &[
    "accounting",
    "bookkeeping",
    "tax",
    "cpa",
    "cpas",
    "legal",
    "law",
    "attorneys",
    "lawyers",
    "dental",
    "dentistry",
    "orthodontics",
    "medical",
    "medicine",
    "clinic",
    "health",
    "healthcare",
    "hospital",
    "pharmacy",
    "veterinary",
    "animal",
    "pet",
    "pets",
    "surgical",
    "surgery",
    "orthopedic",
    "pediatric",
    "pediatrics",
    "family",
    "care",
    "therapy",
    "physical",
    "chiropractic",
    "optometry",
    "vision",
    "eye",
    "wellness",
    "fitness",
    "spa",
    "salon",
    "construction",
    "contractors",
    "builders",
    "building",
    "plumbing",
    "electric",
    "electrical",
    "roofing",
    "landscaping",
    "hvac",
    "heating",
    "cooling",
    "air",
    "cleaning",
    "auto",
    "automotive",
    "motors",
    "repair",
    "restaurant",
    "cafe",
    "bakery",
    "bar",
    "grill",
    "kitchen",
    "coffee",
    "foods",
    "food",
    "brewing",
    "winery",
    "insurance",
    "realty",
    "real",
    "estate",
    "properties",
    "property",
    "financial",
    "finance",
    "wealth",
    "capital",
    "investments",
    "bank",
    "credit",
    "union",
    "logistics",
    "transport",
    "transportation",
    "trucking",
    "freight",
    "engineering",
    "architecture",
    "architects",
    "design",
    "marketing",
    "media",
    "printing",
    "manufacturing",
    "supply",
    "supplies",
    "distribution",
    "industries",
    "technologies",
    "software",
    "computers",
    "computer",
    "it",
    "network",
    "networks",
    "security",
    "communications",
    "school",
    "academy",
    "university",
    "college",
    "church",
    "ministries",
    "foundation",
    "studio",
    "photography",
    "travel",
    "hotel",
    "inn",
    "farm",
    "farms",
    "ranch",
    "nursery",
    "garden",
    "home",
    "homes",
    "housing",
    "storage",
    "staffing",
    "consultants",
    "advisors",
    "imports",
    "import",
    "export",
    "trading",
    "traders",
    "sales",
    "market",
    "store",
    "shop",
    "ventures",
    "laboratories",
    "research",
    "energy",
    "solar",
    "environmental",
    "products",
    "equipment",
    "warehouse",
    "development",
    "professional",
    "association",
    "institute",
    "maintenance",
    "division",
    "builders",
    "doctor",
    "medical",
    "manufacturing",
    "brothers",
    "sons",
    "department",
    "technologies",
    "systems",
    "north",
    "south",
    "east",
    "west",
    "central",
    "american",
    "national",
    "united",
    "first",
    "global",
    "pacific",
    "atlantic",
    "city",
    "county",
    "valley",
    "of",
    "for",
    "at",
    "de",
    "la",
    "le",
    "el",
    "y",
    "und",
];

pub fn tokens(normalized: &str) -> Vec<String> {
    normalized.split(' ').filter(|t| !t.is_empty() && *t != "and").map(str::to_string).collect()
}

/// `https://www.Acme.example/path` → `acme.example`; free-mail → none.
pub fn normalize_domain(input: &str) -> Option<String> {
    let mut s = input.trim().to_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(scheme) {
            s = rest.to_string();
        }
    }
    if let Some((_, after)) = s.rsplit_once('@') {
        s = after.to_string();
    }
    let host = s.split(['/', '?', '#', ':']).next().unwrap_or("").trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    let valid = host.contains('.')
        && host.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    (valid && !FREE_MAIL.contains(&host)).then(|| host.to_string())
}

/// The last 10 digits of a phone number (7 at least), so "+1 (512)
/// 555-0142" equals "512-555-0142".
pub fn normalize_phone(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 7 || digits.chars().all(|c| c == '0') {
        return None;
    }
    Some(digits[digits.len().saturating_sub(10)..].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(normalize_name("Ortiz Dental Group, LLC"), "ortiz dental group");
        assert_eq!(normalize_name("Ortiz Dental Grp. Inc."), "ortiz dental group");
        assert_eq!(normalize_name("The Smith & Sons Co."), "smith and sons");
        assert_eq!(normalize_name("ACME Holdings Pty Ltd"), "acme holdings");
        assert_eq!(normalize_name("Müller Bau GmbH"), "muller bau");
        assert_eq!(normalize_name("Baker, Lee & Co, L.L.C."), "baker lee");
        assert_eq!(normalize_name("O'Brien Plumbing"), "obrien plumbing");
        assert_eq!(normalize_name("The"), "the");
        assert_eq!(normalize_name("  "), "");
    }

    #[test]
    fn domains() {
        assert_eq!(normalize_domain("https://www.OrtizDental.example/contact").as_deref(), Some("ortizdental.example"));
        assert_eq!(normalize_domain("office@ortizdental.example").as_deref(), Some("ortizdental.example"));
        assert_eq!(normalize_domain("gmail.com"), None);
        assert_eq!(normalize_domain("localhost"), None);
        assert_eq!(normalize_domain(""), None);
    }

    #[test]
    fn phones() {
        assert_eq!(normalize_phone("+1 (512) 555-0142").as_deref(), Some("5125550142"));
        assert_eq!(normalize_phone("512.555.0142").as_deref(), Some("5125550142"));
        assert_eq!(normalize_phone("123"), None);
        assert_eq!(normalize_phone("000-0000"), None);
    }
}
