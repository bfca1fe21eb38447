//! The request file: an evidence request as people write it, in TOML.
//!
//! Prosecutors' technical staff write a request by hand: `evx request new` writes a commented
//! [`template`], `evx request send FILE` reads it with [`parse`]. The file follows the serde
//! shape of [`EvidenceRequest`] (`request_type = "production"`, `[issuer]`, `[offence]`,
//! `[[selectors]]` with `Account = { service = "…", account = "…" }`, …) except where that shape
//! is unfit for people:
//!
//! - request ids (`request_id`, `preservation_ref`) are 32 hex digits, as evx shows them
//!   everywhere else, not arrays of 16 numbers;
//! - times are a TOML date and time with its UTC offset (`from = 2026-11-01T00:00:00Z`), an
//!   RFC 3339 string (`"2026-11-01T02:00:00+02:00"`), or Unix seconds;
//! - `v`, `requesting_party` and `issued_at` are not written by people: the version is this
//!   build's, the requesting party is the sending node's own (a file naming another party is
//!   refused rather than silently re-addressed), and the issue time is the send time;
//! - an optional `[validation]` table carries a judge's validation ([`ValidationDraft`]), which
//!   the judge's key signs at send time, bound to the signed request.
//!
//! Every key is checked against the fields it may name, at every level: serde would silently
//! ignore an unknown key, and a typo such as `catgories` or `no_user_notice_untill` must not
//! quietly drop part of a request to a foreign authority. Every error names the file, the key
//! as a dotted path (`time_range.from`, `selectors[1].IpAddress.at`; selectors count from 0)
//! and what the key expects.

use std::net::IpAddr;

use evx_protocol::document::{
    AuthorityType, Confidentiality, Document as _, Emergency, EvidenceRequest, Issuer,
    JudicialValidation, Offence, Selector, Signed, Territory, TimeRange,
};
use evx_protocol::ids::{PartyId, RequestId, UnixTime};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use toml::value::{Datetime, Offset};
use toml::{Table, Value};

/// A parsed request file: the request to sign and, if the file has a `[validation]` table, the
/// judicial validation to sign alongside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestFile {
    /// The request, with `v`, `requesting_party` and `issued_at` filled in by [`parse`].
    pub request: EvidenceRequest,
    /// The judicial validation written in the file, if any.
    pub validation: Option<ValidationDraft>,
}

/// Judicial validation details written in the file's optional `[validation]` table; the judge's
/// key signs it at send time.
///
/// It is a draft rather than a [`JudicialValidation`] because a validation is bound to the
/// digest of the signed request, which exists only once the request has been signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationDraft {
    /// The validating authority, e.g. "Amtsgericht Tiergarten".
    pub authority: String,
    /// Its type: a judge, court or investigating judge (a prosecutor where the agreement
    /// allows); the requested party's policy engine decides whether the type suffices.
    pub authority_type: AuthorityType,
    /// The authority's reference for the validation.
    pub reference: String,
    /// Its assessment of necessity and proportionality, in words.
    pub statement: String,
}

impl ValidationDraft {
    /// Builds the [`JudicialValidation`] bound to the signed request (its `request_id`, and
    /// `request_digest = signed.digest()`), validated at `at`.
    ///
    /// Binding to the digest of the exact signed bytes keeps a judge's signature from being
    /// attached to a request the judge never saw; `request` must be the document `signed`
    /// carries.
    pub fn validation(
        &self,
        signed: &Signed<EvidenceRequest>,
        request: &EvidenceRequest,
        at: UnixTime,
    ) -> JudicialValidation {
        JudicialValidation {
            v: JudicialValidation::VERSION,
            request_id: request.request_id,
            request_digest: signed.digest(),
            authority: self.authority.clone(),
            authority_type: self.authority_type,
            reference: self.reference.clone(),
            validated_at: at,
            statement: self.statement.clone(),
        }
    }
}

/// Why a request file was refused. Every message names the file and, except for TOML syntax
/// errors (which carry toml's line and column instead), the key and what it expects, so the
/// person who wrote the file can fix it without reading evx's source.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestFileError {
    /// The text is not TOML.
    #[error("{file}: not valid TOML: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// toml's message, with line and column.
        message: String,
    },
    /// A required key is absent.
    #[error("{file}: `{key}` is missing: expected {expected}")]
    Missing {
        /// The file.
        file: String,
        /// The key, as a dotted path.
        key: String,
        /// What the key expects.
        expected: String,
    },
    /// A value has the wrong type or form.
    #[error("{file}: `{key}`: expected {expected}; {problem}")]
    Invalid {
        /// The file.
        file: String,
        /// The key, as a dotted path.
        key: String,
        /// What the key expects.
        expected: String,
        /// What was found instead.
        problem: String,
    },
    /// A key no request field has: refused, because ignoring it would drop what its writer
    /// meant to ask for.
    #[error("{file}: unknown key `{key}`: {hint}")]
    UnknownKey {
        /// The file.
        file: String,
        /// The key, as a dotted path.
        key: String,
        /// A suggestion, or the keys allowed where it stands.
        hint: String,
    },
    /// A key evx sets itself when sending.
    #[error("{file}: `{key}` is not written in a request file: {reason}")]
    NotInFile {
        /// The file.
        file: String,
        /// The key.
        key: String,
        /// Where the value comes from instead.
        reason: String,
    },
    /// The file names another requesting party than the sending node's.
    #[error(
        "{file}: `requesting_party`: the file names {found}, but this node sends as {configured}; a node sends only its own requests, so remove the line or send from {found}'s node"
    )]
    WrongRequestingParty {
        /// The file.
        file: String,
        /// The party the file names.
        found: PartyId,
        /// The sending node's party.
        configured: PartyId,
    },
}

type Result<T> = core::result::Result<T, RequestFileError>;

// What each key expects: used both in error messages and in the template's comments, so that
// the two never disagree.
const REQUEST_ID: &str = "32 hex digits, e.g. \"0123456789abcdef0123456789abcdef\"";
const TIME: &str = "a date and time (2026-11-01T00:00:00Z) or Unix seconds";
const PARTY: &str = "a party id from the peer registry, e.g. \"IE-provider-LERT\"";
const PROCEEDINGS: &str = "Criminal | Civil | Administrative | Prevention";
const CASE: &str = "letters, digits and - _ . / :";
const INSTRUMENTS: &str =
    "budapest | budapest_second_protocol | eu_e_evidence | un_cybercrime | cloud_act_agreement";
const REQUEST_TYPES: &str = "preservation | preserved_traffic_disclosure | production | emergency_disclosure | real_time_collection";
const AUTHORITY_TYPES: &str = "judge | court | investigating_judge | prosecutor | law_enforcement | central_authority | point_of_contact";
const CATEGORIES: &str = "subscriber | identification | traffic | content";
const PURPOSES: &str = "investigation | prosecution | sentence_enforcement | asset_recovery";
const ONWARD: &str = "\"DenyWithoutAuthorisation\" | { AuthorisedTo = [\"party-id\", ...] }";
const PROTECTED: &str = "professional_privilege | press | immunity";
const SELECTOR_KINDS: &str =
    "Account | Email | Phone | IpAddress | Device | Domain | IpRange | Keyword | Area";
const TEXT: &str = "a string in double quotes";
const BOOL: &str = "true | false";

const TOP_KEYS: &[&str] = &[
    "v",
    "request_id",
    "requesting_party",
    "requested_party",
    "issued_at",
    "proceeding",
    "case_id",
    "instrument",
    "request_type",
    "issuer",
    "offence",
    "facts",
    "categories",
    "selectors",
    "time_range",
    "purpose",
    "emergency",
    "confidentiality",
    "onward_transfer",
    "preservation_ref",
    "notification_ref",
    "territory",
    "protected_status",
    "validation",
];
const ISSUER_KEYS: &[&str] = &["authority", "authority_type", "file_number", "contact"];
const OFFENCE_KEYS: &[&str] = &["code", "statute", "max_penalty_months", "committed_via_ict"];
const TIME_RANGE_KEYS: &[&str] = &["from", "to"];
const EMERGENCY_KEYS: &[&str] = &["justification"];
const CONFIDENTIALITY_KEYS: &[&str] = &["confidential", "no_user_notice_until"];
const TERRITORY_KEYS: &[&str] = &[
    "offence_in_issuing_state",
    "person_resides_in_issuing_state",
];
const VALIDATION_KEYS: &[&str] = &["authority", "authority_type", "reference", "statement"];
const SELECTOR_NAMES: &[&str] = &[
    "Account",
    "Email",
    "Phone",
    "IpAddress",
    "Device",
    "Domain",
    "IpRange",
    "Keyword",
    "Area",
];

/// Parses a request file. `file` names it in error messages; `requesting_party` is the sending
/// node's configured party and `issued_at` the send time, both set in the request.
///
/// A wildcard or otherwise bulk selector (`account = "*"`, `IpRange`, `Keyword`, `Area`) is
/// accepted here: refusing bulk collection is the requested party's policy engine's job, and a
/// request must be encodable for a refusal to name it.
pub fn parse(
    text: &str,
    file: &str,
    requesting_party: &PartyId,
    issued_at: UnixTime,
) -> Result<RequestFile> {
    let table: Table = text
        .parse()
        .map_err(|e: toml::de::Error| RequestFileError::Syntax {
            file: file.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
    let mut f = Fields::new(file, String::new(), table, TOP_KEYS)?;

    if let Some(v) = f.table.remove("v") {
        let expected = "1, or no `v` at all (evx writes the version)";
        let v: u8 = decode(file, "v", v, expected)?;
        if v != EvidenceRequest::VERSION {
            return Err(invalid(
                file,
                "v",
                expected,
                format!("found {v}, a version this build does not write"),
            ));
        }
    }
    if f.table.remove("issued_at").is_some() {
        return Err(RequestFileError::NotInFile {
            file: file.to_owned(),
            key: "issued_at".to_owned(),
            reason: "it is the time the request is sent, set then; remove the line".to_owned(),
        });
    }
    if let Some(found) = f.optional::<PartyId>("requesting_party", PARTY)?
        && &found != requesting_party
    {
        return Err(RequestFileError::WrongRequestingParty {
            file: file.to_owned(),
            found,
            configured: requesting_party.clone(),
        });
    }

    let request = EvidenceRequest {
        v: EvidenceRequest::VERSION,
        request_id: f.request_id("request_id")?,
        requesting_party: requesting_party.clone(),
        requested_party: f.value("requested_party", PARTY)?,
        issued_at,
        proceeding: f.value("proceeding", PROCEEDINGS)?,
        case_id: f.value("case_id", CASE)?,
        instrument: f.value("instrument", INSTRUMENTS)?,
        request_type: f.value("request_type", REQUEST_TYPES)?,
        issuer: {
            let mut t = f.table("issuer", ISSUER_KEYS)?;
            let issuer = Issuer {
                authority: t.value("authority", TEXT)?,
                authority_type: t.value("authority_type", AUTHORITY_TYPES)?,
                file_number: t.value("file_number", TEXT)?,
                contact: t.value("contact", TEXT)?,
            };
            t.done()?;
            issuer
        },
        offence: {
            let mut t = f.table("offence", OFFENCE_KEYS)?;
            let offence = Offence {
                code: t.value(
                    "code",
                    "the offence's code in the agreement, e.g. \"illegal-access\"",
                )?,
                statute: t.value("statute", TEXT)?,
                max_penalty_months: t.value(
                    "max_penalty_months",
                    "the maximum custodial sentence in whole months",
                )?,
                committed_via_ict: t.value("committed_via_ict", BOOL)?,
            };
            t.done()?;
            offence
        },
        facts: f.value("facts", TEXT)?,
        categories: f.value("categories", &format!("a list of {CATEGORIES}"))?,
        selectors: selectors(&mut f)?,
        time_range: {
            let mut t = f.table("time_range", TIME_RANGE_KEYS)?;
            let range = TimeRange {
                from: t.time("from")?,
                to: t.time("to")?,
            };
            t.done()?;
            range
        },
        purpose: f.value("purpose", PURPOSES)?,
        emergency: match f.optional_table("emergency", EMERGENCY_KEYS)? {
            None => None,
            Some(mut t) => {
                let emergency = Emergency {
                    justification: t.value("justification", TEXT)?,
                };
                t.done()?;
                Some(emergency)
            }
        },
        confidentiality: {
            let mut t = f.table("confidentiality", CONFIDENTIALITY_KEYS)?;
            let confidentiality = Confidentiality {
                confidential: t.value("confidential", BOOL)?,
                no_user_notice_until: t.optional_time("no_user_notice_until")?,
            };
            t.done()?;
            confidentiality
        },
        onward_transfer: f.value("onward_transfer", ONWARD)?,
        preservation_ref: f.optional_request_id("preservation_ref")?,
        notification_ref: f.optional("notification_ref", TEXT)?,
        territory: {
            let mut t = f.table("territory", TERRITORY_KEYS)?;
            let territory = Territory {
                offence_in_issuing_state: t.value("offence_in_issuing_state", BOOL)?,
                person_resides_in_issuing_state: t
                    .optional("person_resides_in_issuing_state", BOOL)?,
            };
            t.done()?;
            territory
        },
        protected_status: f.value(
            "protected_status",
            &format!("a list of {PROTECTED}, or [] for none"),
        )?,
    };

    let validation = match f.optional_table("validation", VALIDATION_KEYS)? {
        None => None,
        Some(mut t) => {
            let draft = ValidationDraft {
                authority: t.value("authority", TEXT)?,
                authority_type: t.value("authority_type", AUTHORITY_TYPES)?,
                reference: t.value("reference", TEXT)?,
                statement: t.value("statement", TEXT)?,
            };
            t.done()?;
            Some(draft)
        }
    };
    f.done()?;
    Ok(RequestFile {
        request,
        validation,
    })
}

/// The `selectors` list: each entry a table naming exactly one kind of selector.
fn selectors(f: &mut Fields<'_>) -> Result<Vec<Selector>> {
    let expected = "a list of [[selectors]] entries";
    let key = f.key("selectors");
    let value = f.required("selectors", expected)?;
    let Value::Array(items) = value else {
        return Err(invalid(f.file, &key, expected, found(&value)));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| selector(f.file, format!("{key}[{i}]"), item))
        .collect()
}

/// One selector entry, at `path` (`selectors[i]`).
fn selector(file: &str, path: String, item: Value) -> Result<Selector> {
    let expected = format!("one selector: {SELECTOR_KINDS}");
    let Value::Table(entry) = item else {
        return Err(invalid(file, &path, &expected, found(&item)));
    };
    if entry.len() != 1 {
        let problem = if entry.is_empty() {
            "found an empty entry".to_owned()
        } else {
            let keys: Vec<String> = entry.keys().map(|k| format!("`{}`", shown(k))).collect();
            format!(
                "found {}; write each selector in its own [[selectors]] entry",
                keys.join(", ")
            )
        };
        return Err(invalid(file, &path, &expected, problem));
    }
    let Some((kind, value)) = entry.into_iter().next() else {
        return Err(invalid(
            file,
            &path,
            &expected,
            "found an empty entry".to_owned(),
        ));
    };
    let key = format!("{path}.{kind}");
    let fields = |value: Value, known: &[&str], what: &str| {
        let table = into_table(file, &key, value, what)?;
        Fields::new(file, key.clone(), table, known)
    };
    let selector = match kind.as_str() {
        "Account" => {
            let mut t = fields(
                value,
                &["service", "account"],
                "{ service = \"...\", account = \"...\" }",
            )?;
            let s = Selector::Account {
                service: t.value("service", "the service, e.g. \"mail.provider.example\"")?,
                account: t.value("account", "the account name at that service")?,
            };
            t.done()?;
            s
        }
        "Email" => Selector::Email(decode(file, &key, value, "an e-mail address")?),
        "Phone" => Selector::Phone(decode(
            file,
            &key,
            value,
            "a phone number, e.g. \"+4930123456\"",
        )?),
        "Device" => Selector::Device(decode(file, &key, value, "a device identifier")?),
        "Domain" => Selector::Domain(decode(file, &key, value, "a domain name")?),
        "Keyword" => Selector::Keyword(decode(file, &key, value, TEXT)?),
        "IpAddress" => {
            let mut t = fields(
                value,
                &["address", "port", "at"],
                "{ address = \"203.0.113.77\", port = 51234, at = 2026-11-01T00:00:00Z }",
            )?;
            let s = Selector::IpAddress {
                address: t.value::<IpAddr>("address", "an IPv4 or IPv6 address")?,
                port: t.optional("port", "a source port, 0 to 65535")?,
                at: t.time("at")?,
            };
            t.done()?;
            s
        }
        "IpRange" => {
            let mut t = fields(
                value,
                &["network", "prefix_len"],
                "{ network = \"...\", prefix_len = 32 }",
            )?;
            let s = Selector::IpRange {
                network: t.value::<IpAddr>("network", "an IPv4 or IPv6 address")?,
                prefix_len: t.value("prefix_len", "a prefix length, 0 to 128")?,
            };
            t.done()?;
            s
        }
        "Area" => {
            let mut t = fields(
                value,
                &["latitude_e6", "longitude_e6", "radius_m"],
                "{ latitude_e6 = ..., longitude_e6 = ..., radius_m = ... }",
            )?;
            let s = Selector::Area {
                latitude_e6: t.value("latitude_e6", "millionths of a degree")?,
                longitude_e6: t.value("longitude_e6", "millionths of a degree")?,
                radius_m: t.value("radius_m", "metres")?,
            };
            t.done()?;
            s
        }
        other => return Err(unknown(file, &key_path(&path, other), SELECTOR_NAMES)),
    };
    Ok(selector)
}

/// The keys of one table, taken one by one as the request is built; a key left over would be
/// dropped, so unknown keys are refused up front and [`Fields::done`] checks nothing remains.
struct Fields<'f> {
    file: &'f str,
    /// The table's dotted path, empty at the top level.
    path: String,
    table: Table,
}

impl<'f> Fields<'f> {
    fn new(file: &'f str, path: String, table: Table, known: &[&str]) -> Result<Self> {
        if let Some(key) = table.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(unknown(file, &key_path(&path, key), known));
        }
        Ok(Self { file, path, table })
    }

    fn key(&self, key: &str) -> String {
        key_path(&self.path, key)
    }

    fn required(&mut self, key: &str, expected: &str) -> Result<Value> {
        self.table
            .remove(key)
            .ok_or_else(|| RequestFileError::Missing {
                file: self.file.to_owned(),
                key: self.key(key),
                expected: expected.to_owned(),
            })
    }

    fn value<T: DeserializeOwned>(&mut self, key: &str, expected: &str) -> Result<T> {
        let value = self.required(key, expected)?;
        decode(self.file, &self.key(key), value, expected)
    }

    fn optional<T: DeserializeOwned>(&mut self, key: &str, expected: &str) -> Result<Option<T>> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(value) => decode(self.file, &self.key(key), value, expected).map(Some),
        }
    }

    fn time(&mut self, key: &str) -> Result<UnixTime> {
        let value = self.required(key, TIME)?;
        to_time(self.file, &self.key(key), value)
    }

    fn optional_time(&mut self, key: &str) -> Result<Option<UnixTime>> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(value) => to_time(self.file, &self.key(key), value).map(Some),
        }
    }

    fn request_id(&mut self, key: &str) -> Result<RequestId> {
        let value = self.required(key, REQUEST_ID)?;
        to_request_id(self.file, &self.key(key), value)
    }

    fn optional_request_id(&mut self, key: &str) -> Result<Option<RequestId>> {
        match self.table.remove(key) {
            None => Ok(None),
            Some(value) => to_request_id(self.file, &self.key(key), value).map(Some),
        }
    }

    fn table(&mut self, key: &str, known: &[&str]) -> Result<Self> {
        let expected = format!("a table [{}] with {}", self.key(key), known.join(", "));
        let value = self.required(key, &expected)?;
        let table = into_table(self.file, &self.key(key), value, &expected)?;
        Self::new(self.file, self.key(key), table, known)
    }

    fn optional_table(&mut self, key: &str, known: &[&str]) -> Result<Option<Self>> {
        if !self.table.contains_key(key) {
            return Ok(None);
        }
        self.table(key, known).map(Some)
    }

    /// Refuses a key that was known but not taken (a bug here, never silently dropped data).
    fn done(self) -> Result<()> {
        match self.table.keys().next() {
            None => Ok(()),
            Some(key) => Err(unknown(self.file, &key_path(&self.path, key), &[])),
        }
    }
}

fn key_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn decode<T: DeserializeOwned>(file: &str, key: &str, value: Value, expected: &str) -> Result<T> {
    T::deserialize(value).map_err(|e| invalid(file, key, expected, e.message().to_owned()))
}

fn into_table(file: &str, key: &str, value: Value, expected: &str) -> Result<Table> {
    match value {
        Value::Table(table) => Ok(table),
        other => Err(invalid(file, key, expected, found(&other))),
    }
}

fn to_request_id(file: &str, key: &str, value: Value) -> Result<RequestId> {
    match value {
        Value::String(s) => s.parse().map_err(|_| {
            invalid(
                file,
                key,
                REQUEST_ID,
                format!("found \"{}\" ({} characters)", shown(&s), s.chars().count()),
            )
        }),
        other => Err(invalid(file, key, REQUEST_ID, found(&other))),
    }
}

fn to_time(file: &str, key: &str, value: Value) -> Result<UnixTime> {
    let secs = match value {
        Value::Integer(secs) => secs,
        Value::String(s) => match OffsetDateTime::parse(&s, &Rfc3339) {
            Ok(t) => t.unix_timestamp(),
            Err(e) => {
                let problem = format!("\"{}\" is not an RFC 3339 date and time: {e}", shown(&s));
                return Err(invalid(file, key, TIME, problem));
            }
        },
        Value::Datetime(dt) => {
            datetime_secs(&dt).map_err(|problem| invalid(file, key, TIME, problem))?
        }
        other => return Err(invalid(file, key, TIME, found(&other))),
    };
    u64::try_from(secs).map(UnixTime).map_err(|_| {
        invalid(
            file,
            key,
            TIME,
            "found a time before 1970-01-01T00:00:00Z".to_owned(),
        )
    })
}

/// Seconds since the epoch of a TOML date and time, which must carry a date, a time and an
/// offset: a local time would mean a different instant in each of the two countries.
fn datetime_secs(dt: &Datetime) -> core::result::Result<i64, String> {
    let (Some(d), Some(t), Some(offset)) = (dt.date, dt.time, dt.offset) else {
        return Err(format!(
            "found {dt}, which lacks a date, a time or a UTC offset (Z or +02:00)"
        ));
    };
    let bad = |e: time::error::ComponentRange| format!("found {dt}: {e}");
    let month = time::Month::try_from(d.month).map_err(bad)?;
    let date = time::Date::from_calendar_date(i32::from(d.year), month, d.day).map_err(bad)?;
    let time = time::Time::from_hms_nano(
        t.hour,
        t.minute,
        t.second.unwrap_or(0),
        t.nanosecond.unwrap_or(0),
    )
    .map_err(bad)?;
    let minutes = match offset {
        Offset::Z => 0,
        Offset::Custom { minutes } => i32::from(minutes),
    };
    let offset = time::UtcOffset::from_whole_seconds(minutes * 60).map_err(bad)?;
    Ok(OffsetDateTime::new_in_offset(date, time, offset).unix_timestamp())
}

fn invalid(file: &str, key: &str, expected: &str, problem: String) -> RequestFileError {
    RequestFileError::Invalid {
        file: file.to_owned(),
        key: key.to_owned(),
        expected: expected.to_owned(),
        problem,
    }
}

fn unknown(file: &str, key: &str, known: &[&str]) -> RequestFileError {
    let last = key.rsplit('.').next().unwrap_or(key);
    let hint = match known.iter().find(|k| close(last, k)) {
        Some(near) => format!("did you mean `{near}`?"),
        None if known.is_empty() => "not a field of a request".to_owned(),
        None => format!("the keys here are {}", known.join(", ")),
    };
    RequestFileError::UnknownKey {
        file: file.to_owned(),
        key: shown(key),
        hint: format!("{hint} (unknown keys are refused: ignoring one would drop what it asks)"),
    }
}

/// Whether `a` is within two edits of `b`: a likely typo.
fn close(a: &str, b: &str) -> bool {
    if a.len() > 64 || a.len().abs_diff(b.len()) > 2 {
        return false;
    }
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != *cb);
            row[j + 1] = substitute.min(prev[j + 1] + 1).min(row[j] + 1);
        }
        prev = row;
    }
    prev.last().is_some_and(|&d| d <= 2)
}

/// A user-supplied text for an error message: cut to a readable length, control characters
/// escaped so that a message cannot rewrite the terminal.
fn shown(s: &str) -> String {
    const MAX: usize = 80;
    let mut out: String = s.chars().take(MAX).flat_map(char::escape_debug).collect();
    if s.chars().count() > MAX {
        out.push('…');
    }
    out
}

fn found(value: &Value) -> String {
    let what = match value {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a number with a fraction",
        Value::Boolean(_) => "true or false",
        Value::Datetime(_) => "a date or time",
        Value::Array(_) => "a list",
        Value::Table(_) => "a table",
    };
    format!("found {what}")
}

/// A commented template: a production request for traffic data of one account over the 7 days
/// before `now`, to `to`, with the given (fresh) `request_id`.
///
/// Every key has a comment listing the values it allows, and optional parts (`[emergency]`,
/// `[validation]`, an `IpAddress` selector, …) are shown commented out, so that people can
/// write a request without reading the protocol's types.
pub fn template(request_id: RequestId, to: &PartyId, now: UnixTime) -> String {
    let request = EvidenceRequest {
        v: EvidenceRequest::VERSION,
        request_id,
        // Not written: the sending node's own party is filled in by `parse`.
        requesting_party: to.clone(),
        requested_party: to.clone(),
        issued_at: now,
        proceeding: evx_protocol::document::Proceeding::Criminal,
        case_id: evx_protocol::ids::CaseId::new("CASE-REFERENCE")
            .unwrap_or_else(|_| unreachable!("valid literal")),
        instrument: evx_protocol::document::Instrument::EuEEvidence,
        request_type: evx_protocol::document::RequestType::Production,
        issuer: Issuer {
            authority: "Name of the issuing authority".into(),
            authority_type: AuthorityType::Prosecutor,
            file_number: "Your file number".into(),
            contact: "contact address for this request".into(),
        },
        offence: Offence {
            code: "illegal-access".into(),
            statute: "The provision of your criminal code".into(),
            max_penalty_months: 36,
            committed_via_ict: true,
        },
        facts: "The facts, and why the data are necessary and proportionate.".into(),
        categories: vec![evx_protocol::document::DataCategory::Traffic],
        selectors: vec![Selector::Account {
            service: "service.example".into(),
            account: "account-name".into(),
        }],
        time_range: TimeRange {
            from: UnixTime(now.0.saturating_sub(7 * 86_400)),
            to: now,
        },
        purpose: evx_protocol::purpose::Purpose::Investigation,
        emergency: None,
        confidentiality: Confidentiality {
            confidential: true,
            no_user_notice_until: None,
        },
        onward_transfer: evx_protocol::purpose::OnwardTransfer::DenyWithoutAuthorisation,
        preservation_ref: None,
        notification_ref: None,
        territory: Territory {
            offence_in_issuing_state: true,
            person_resides_in_issuing_state: None,
        },
        protected_status: Vec::new(),
    };
    render(&request, None)
}

/// Renders a request back into the file format, with the same comments as the [`template`]:
/// used by `evx request new --from-sample` and to check that files round-trip through
/// [`parse`].
///
/// `v`, `requesting_party` and `issued_at` are not written (they are set at send time). Times
/// are written as RFC 3339 dates and times in UTC; a time past the year 9999 as Unix seconds.
pub fn render(request: &EvidenceRequest, validation: Option<&ValidationDraft>) -> String {
    // Destructured so that a field added to the protocol cannot be forgotten here.
    let EvidenceRequest {
        v: _,
        request_id,
        requesting_party: _,
        requested_party,
        issued_at: _,
        proceeding,
        case_id,
        instrument,
        request_type,
        issuer,
        offence,
        facts,
        categories,
        selectors,
        time_range,
        purpose,
        emergency,
        confidentiality,
        onward_transfer,
        preservation_ref,
        notification_ref,
        territory,
        protected_status,
    } = request;
    let mut d = Doc::default();
    d.comment("An evidence request for evx. Check every value, then: evx request send FILE");
    d.comment(&format!(
        "Times: {TIME}; an RFC 3339 string (\"2026-11-01T02:00:00+02:00\") also works."
    ));
    d.comment(
        "Not written here, set when sending: the requesting party (this node's own, from its",
    );
    d.comment("configuration), the issue time and the document version.");
    d.blank();
    d.comment(&format!(
        "This request's id, fresh for every request: {REQUEST_ID}"
    ));
    d.set("request_id", quote(&request_id.to_hex()));
    d.comment(&format!("The party asked: {PARTY}"));
    d.set("requested_party", quote(requested_party.as_str()));
    d.comment(&format!(
        "Kind of proceeding (evx serves criminal proceedings only; the others are refused): {PROCEEDINGS}"
    ));
    d.set("proceeding", inline_of(proceeding));
    d.comment(&format!(
        "Your reference for the case (evidence may be used for it only): {CASE}"
    ));
    d.set("case_id", quote(case_id.as_str()));
    d.comment(&format!("Legal instrument: {INSTRUMENTS}"));
    d.set("instrument", inline_of(instrument));
    d.comment(&format!("What is asked: {REQUEST_TYPES}"));
    d.set("request_type", inline_of(request_type));
    d.comment("The facts, and why the data are necessary and proportionate: text.");
    d.set("facts", quote(facts));
    d.comment(&format!(
        "Data categories asked for, a list of: {CATEGORIES}"
    ));
    d.set("categories", inline_of(categories));
    d.comment(&format!("What the evidence will be used for: {PURPOSES}"));
    d.set("purpose", inline_of(purpose));
    d.comment(&format!("Onward transfer to third parties: {ONWARD}"));
    d.set("onward_transfer", inline_of(onward_transfer));
    d.comment(&format!(
        "The preservation request this one follows up, if any: {REQUEST_ID}"
    ));
    match preservation_ref {
        Some(id) => d.set("preservation_ref", quote(&id.to_hex())),
        None => d.example(
            "preservation_ref",
            quote("0123456789abcdef0123456789abcdef"),
        ),
    }
    d.comment(
        "Reference of the notification to the enforcing authority (EU Art. 8), if made: text.",
    );
    match notification_ref {
        Some(r) => d.set("notification_ref", quote(r)),
        None => d.example("notification_ref", quote("notification reference")),
    }
    d.comment(&format!(
        "Protected status of the person concerned (sends the request to human review), a list of: {PROTECTED}"
    ));
    d.set("protected_status", inline_of(protected_status));

    d.blank();
    d.comment("The issuing authority.");
    d.header("[issuer]");
    d.comment("Its name: text.");
    d.set("authority", quote(&issuer.authority));
    d.comment(&format!("Its type: {AUTHORITY_TYPES}"));
    d.set("authority_type", inline_of(&issuer.authority_type));
    d.comment("Its file number for this request: text.");
    d.set("file_number", quote(&issuer.file_number));
    d.comment("How to reach it about this request: text.");
    d.set("contact", quote(&issuer.contact));

    d.blank();
    d.comment("The offence investigated.");
    d.header("[offence]");
    d.comment("Its code in the agreement's dual-criminality table, e.g. illegal-access: text.");
    d.set("code", quote(&offence.code));
    d.comment("The criminal provision in your state, e.g. \"§ 202a StGB\": text.");
    d.set("statute", quote(&offence.statute));
    d.comment("The maximum custodial sentence, in months: a whole number.");
    d.set("max_penalty_months", offence.max_penalty_months.to_string());
    d.comment(&format!(
        "Committed by means of an information system: {BOOL}"
    ));
    d.set("committed_via_ict", offence.committed_via_ict.to_string());

    d.blank();
    d.comment(
        "The period the data must fall in (for real_time_collection, the collection window).",
    );
    d.header("[time_range]");
    d.comment(&format!("The first instant: {TIME}"));
    d.set("from", time_text(time_range.from));
    d.comment(&format!("The last instant: {TIME}"));
    d.set("to", time_text(time_range.to));

    d.blank();
    d.comment("Confidentiality asked of the requested party.");
    d.header("[confidentiality]");
    d.comment(&format!(
        "Keep the request and its execution confidential: {BOOL}"
    ));
    d.set("confidential", confidentiality.confidential.to_string());
    d.comment(&format!(
        "Optional: the provider must not tell the user before: {TIME}"
    ));
    match confidentiality.no_user_notice_until {
        Some(t) => d.set("no_user_notice_until", time_text(t)),
        None => d.example(
            "no_user_notice_until",
            time_text(time_range.to.plus_secs(90 * 86_400)),
        ),
    }

    d.blank();
    d.comment(
        "Where the offence was committed and the person lives (decides EU Art. 8 notification).",
    );
    d.header("[territory]");
    d.comment(&format!("The offence was committed in your state: {BOOL}"));
    d.set(
        "offence_in_issuing_state",
        territory.offence_in_issuing_state.to_string(),
    );
    d.comment(&format!(
        "The person concerned lives in your state (leave out if unknown): {BOOL}"
    ));
    match territory.person_resides_in_issuing_state {
        Some(b) => d.set("person_resides_in_issuing_state", b.to_string()),
        None => d.example("person_resides_in_issuing_state", "true".to_owned()),
    }

    d.blank();
    d.comment(
        "Only for emergencies: the significant and imminent risk to a person's life or safety.",
    );
    match emergency {
        Some(e) => {
            d.header("[emergency]");
            d.comment("The risk: text.");
            d.set("justification", quote(&e.justification));
        }
        None => {
            d.comment("[emergency]");
            d.example(
                "justification",
                quote("the imminent risk to life or safety"),
            );
        }
    }

    d.blank();
    d.comment("The targets, one [[selectors]] entry each: a concrete identifier, never a pattern.");
    d.comment(&format!(
        "Kinds: {SELECTOR_KINDS} (IpRange, Keyword and Area are bulk and refused)."
    ));
    d.comment("Forms: Account = { service = \"mail.example\", account = \"name\" }, Email = \"name@mail.example\",");
    d.comment("Phone = \"+4930123456\" (E.164), IpAddress = { address = \"203.0.113.77\", port = 51234, at = <time> }");
    d.comment("(port optional), Device = \"IMEI or other id\", Domain = \"example.org\".");
    for s in selectors {
        d.header("[[selectors]]");
        let (kind, value) = selector_text(s);
        d.set(kind, value);
    }
    d.comment("[[selectors]]");
    d.example(
        "IpAddress",
        format!(
            "{{ address = \"203.0.113.77\", port = 51234, at = {} }}",
            time_text(time_range.to)
        ),
    );

    d.blank();
    d.comment(
        "Optional: a judicial validation (EU Art. 4), signed with the validating judge's key.",
    );
    match validation {
        Some(v) => {
            d.header("[validation]");
            write_validation(&mut d, v, false);
        }
        None => {
            d.comment("[validation]");
            let example = ValidationDraft {
                authority: "Name of the court".into(),
                authority_type: AuthorityType::InvestigatingJudge,
                reference: "The court's reference".into(),
                statement: "Why the data are necessary and proportionate.".into(),
            };
            write_validation(&mut d, &example, true);
        }
    }
    d.0
}

fn write_validation(d: &mut Doc, v: &ValidationDraft, commented: bool) {
    let type_comment = format!("Its type: {AUTHORITY_TYPES}");
    let fields = [
        (
            "authority",
            "The validating authority: text.",
            quote(&v.authority),
        ),
        (
            "authority_type",
            type_comment.as_str(),
            inline_of(&v.authority_type),
        ),
        (
            "reference",
            "Its reference for the validation: text.",
            quote(&v.reference),
        ),
        (
            "statement",
            "Its assessment of necessity and proportionality: text.",
            quote(&v.statement),
        ),
    ];
    for (key, comment, value) in fields {
        d.comment(comment);
        if commented {
            d.example(key, value);
        } else {
            d.set(key, value);
        }
    }
}

/// The key and inline value of one selector entry.
fn selector_text(s: &Selector) -> (&'static str, String) {
    match s {
        Selector::Account { service, account } => (
            "Account",
            format!(
                "{{ service = {}, account = {} }}",
                quote(service),
                quote(account)
            ),
        ),
        Selector::Email(x) => ("Email", quote(x)),
        Selector::Phone(x) => ("Phone", quote(x)),
        Selector::IpAddress { address, port, at } => {
            let port = port.map(|p| format!(", port = {p}")).unwrap_or_default();
            (
                "IpAddress",
                format!(
                    "{{ address = {}{port}, at = {} }}",
                    quote(&address.to_string()),
                    time_text(*at)
                ),
            )
        }
        Selector::Device(x) => ("Device", quote(x)),
        Selector::Domain(x) => ("Domain", quote(x)),
        Selector::IpRange {
            network,
            prefix_len,
        } => (
            "IpRange",
            format!(
                "{{ network = {}, prefix_len = {prefix_len} }}",
                quote(&network.to_string())
            ),
        ),
        Selector::Keyword(x) => ("Keyword", quote(x)),
        Selector::Area {
            latitude_e6,
            longitude_e6,
            radius_m,
        } => (
            "Area",
            format!(
                "{{ latitude_e6 = {latitude_e6}, longitude_e6 = {longitude_e6}, radius_m = {radius_m} }}"
            ),
        ),
    }
}

/// The text of a file being written.
#[derive(Default)]
struct Doc(String);

impl Doc {
    fn comment(&mut self, text: &str) {
        self.0.push_str("# ");
        self.0.push_str(text);
        self.0.push('\n');
    }

    fn set(&mut self, key: &str, value: String) {
        self.0.push_str(key);
        self.0.push_str(" = ");
        self.0.push_str(&value);
        self.0.push('\n');
    }

    /// A commented-out example line.
    fn example(&mut self, key: &str, value: String) {
        self.0.push_str("# ");
        self.set(key, value);
    }

    fn header(&mut self, header: &str) {
        self.0.push_str(header);
        self.0.push('\n');
    }

    fn blank(&mut self) {
        self.0.push('\n');
    }
}

/// A time as written in files: RFC 3339 in UTC, or Unix seconds past the year 9999.
fn time_text(t: UnixTime) -> String {
    i64::try_from(t.0)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.0.to_string())
}

/// A TOML basic string: quotes, backslashes and control characters escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A value as an inline TOML value, through its serde form: enum names are written exactly as
/// serde reads them back.
fn inline_of<T: Serialize>(value: &T) -> String {
    let mut out = String::new();
    // Serializing the protocol's enums and lists of them cannot fail; an empty string would
    // make the file fail to parse rather than silently change the request.
    if let Ok(v) = Value::try_from(value) {
        inline(&v, &mut out);
    }
    out
}

fn inline(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => out.push_str(&quote(s)),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_nan() => out.push_str("nan"),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "inf" } else { "-inf" });
        }
        Value::Float(f) => out.push_str(&format!("{f:?}")),
        Value::Boolean(b) => out.push_str(&b.to_string()),
        Value::Datetime(dt) => out.push_str(&dt.to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                inline(item, out);
            }
            out.push(']');
        }
        Value::Table(table) => {
            out.push_str("{ ");
            for (i, (key, item)) in table.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let bare = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if bare {
                    out.push_str(key);
                } else {
                    out.push_str(&quote(key));
                }
                out.push_str(" = ");
                inline(item, out);
            }
            out.push_str(" }");
        }
    }
}
