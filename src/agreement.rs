//! `evx agreement`: check an agreement file, print a shipped example, list the rules.

use std::path::PathBuf;

use evx_protocol::policy::{self, Agreement};

/// Options of `evx agreement`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Load agreement files and report what they say, or exactly what is wrong with them.
    Check {
        /// The agreement files (TOML).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a shipped example agreement, to start a new one from.
    Example {
        /// Which example.
        #[arg(value_enum)]
        name: Example,
    },
    /// Print the policy engine's rules as a Markdown table: id, check, legal source, outcome.
    Rules,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Example {
    /// EU member states under Reg. (EU) 2023/1543 (EPOC / EPOC-PR).
    Eu,
    /// Parties to the Budapest Convention (Arts 29, 31).
    Budapest,
}

type Error = Box<dyn std::error::Error>;

pub(crate) fn run(args: &Args) -> Result<(), Error> {
    match &args.command {
        Command::Check { files } => {
            let mut failed = 0;
            for path in files {
                let origin = path.display().to_string();
                let loaded = std::fs::read_to_string(path)
                    .map_err(|e| format!("{origin}: cannot read: {e}"))
                    .and_then(|text| {
                        Agreement::from_toml(&text, &origin).map_err(|e| e.to_string())
                    });
                match loaded {
                    Ok(a) => println!("{origin}: ok\n{}", describe(&a)),
                    Err(e) => {
                        // The message may quote the file: no escape sequence reaches the terminal.
                        let e: String = e
                            .chars()
                            .map(|c| if c.is_control() && c != '\n' { '?' } else { c })
                            .collect();
                        eprintln!("{e}");
                        failed += 1;
                    }
                }
            }
            if failed > 0 {
                return Err(
                    format!("{failed} of {} agreement file(s) refused", files.len()).into(),
                );
            }
        }
        Command::Example { name } => print!(
            "{}",
            match name {
                Example::Eu => policy::examples::EU_2023_1543,
                Example::Budapest => policy::examples::BUDAPEST,
            }
        ),
        Command::Rules => print!("{}", policy::rules_table()),
    }
    Ok(())
}

fn list<T: std::fmt::Debug>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(|i| snake(&format!("{i:?}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `InvestigatingJudge` → `investigating_judge`, as the configuration spells it.
fn snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Text from the file as it may be shown on a terminal: control characters (escape sequences
/// included) become `?`.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// A summary an operator can check against the treaty text. Settings that relax a safeguard
/// are called out with `!`.
pub(crate) fn describe(a: &Agreement) -> String {
    let digest: String = a.digest()[..8].iter().map(|b| format!("{b:02x}")).collect();
    let mut s = format!(
        "  agreement {} — {} (digest {digest}…)\n",
        shown(&a.id),
        shown(&a.title)
    );
    for p in &a.parties {
        let dp = &p.data_protection;
        s += &format!(
            "  party {} ({}), {}: retention {}, onward transfer {}\n",
            p.id,
            p.state,
            shown(&p.name),
            dp.retention_days
                .map_or_else(|| "not fixed".to_owned(), |d| format!("{d} days")),
            snake(&format!("{:?}", dp.onward_transfer)),
        );
    }
    s += &format!(
        "  instruments: {}; purposes: {}\n",
        list(&a.instruments),
        list(&a.purposes)
    );
    for (name, rule) in [
        ("subscriber", &a.categories.subscriber),
        ("identification", &a.categories.identification),
        ("traffic", &a.categories.traffic),
        ("content", &a.categories.content),
    ] {
        s += &format!(
            "  {name}: issuers {}; validators {}; maximum penalty {} {} months{}\n",
            list(&rule.issuers),
            list(&rule.validators),
            rule.penalty_comparison.words(),
            rule.min_max_penalty_months,
            if rule.notify_enforcing_authority {
                "; enforcing authority notified"
            } else {
                ""
            }
        );
    }
    let dc = &a.dual_criminality;
    s += &format!(
        "  dual criminality: {} offence code(s), required for {}; listed offences exempt from {} months\n",
        dc.offences.len(),
        list(&dc.required_for),
        dc.listed_min_penalty_months
    );
    if dc.required_for_preservation {
        s += "  dual criminality also required for preservation (Art. 29(4) reservation)\n";
    }
    for (name, rule) in [
        ("subscriber", &a.categories.subscriber),
        ("identification", &a.categories.identification),
        ("traffic", &a.categories.traffic),
        ("content", &a.categories.content),
    ] {
        if rule.ict_listed_exempt {
            s += &format!(
                "  ! {name}: offences marked ict_listed meet the penalty threshold whatever their penalty\n"
            );
        }
    }
    if a.deadlines.notification_wait_days > 0 {
        s += &format!(
            "  notified orders wait {} days before release\n",
            a.deadlines.notification_wait_days
        );
    }
    s += &format!(
        "  selectors: at most {}, over at most {} days (real time {} days)\n",
        a.selectors.max_count, a.selectors.max_time_range_days, a.selectors.max_real_time_days
    );
    let p = &a.preservation;
    s += &format!(
        "  preservation: {} days, up to {} extension(s) of {} days\n",
        p.initial_days, p.max_extensions, p.extension_days
    );
    let e = &a.emergency;
    s += &if e.allowed {
        format!(
            "  emergency: allowed; before validation only {}{}; validation due in {} h\n",
            list(&e.unvalidated_categories),
            if e.unvalidated_preservation {
                " and preservation of any category"
            } else {
                ""
            },
            e.validation_due_hours
        )
    } else {
        "  emergency: not provided for\n".to_owned()
    };
    if let Some(u) = &a.transfers.umbrella_agreement {
        s += &format!(
            "  ! umbrella agreement {}: replaces the item-by-item check of the recipient's profile\n",
            shown(u)
        );
    }
    if !a.transfers.preauthorised_onward.is_empty() {
        s += &format!(
            "  ! onward transfer pre-authorised to: {}\n",
            a.transfers
                .preauthorised_onward
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    s += &format!(
        "  review: political offences {}, other sensitive {}; automatic refusals: {}\n",
        a.sensitive_offences.political.len(),
        a.sensitive_offences.other.len(),
        if a.automatic_refusals.is_empty() {
            "none".to_owned()
        } else {
            a.automatic_refusals.join(", ")
        }
    );
    s += &if a.transfers.suspended {
        format!(
            "  TRANSFERS SUSPENDED: {}\n",
            shown(&a.transfers.suspension_reason)
        )
    } else {
        "  transfers: not suspended\n".to_owned()
    };
    s
}
