//! `pg_hba.conf`: which hosts and users may open a replication connection,
//! and how they authenticate. Lines are tried in order; the first whose
//! type, database, user and address match decides. The server reads the
//! file at start and reload ([`HbaFile::load`]); a file with a bad line or
//! no line at all stops the start, and a reload then keeps the old rules.

/// What the file says about one connection attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HbaVerdict {
    Trust,
    /// md5, scram-sha-256 or password: the client must send a password.
    Password,
    Reject,
    /// No line matched.
    NoEntry,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct HbaLine {
    kind: String,
    databases: Vec<String>,
    users: Vec<String>,
    address: Option<String>,
    method: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HbaFile {
    lines: Vec<HbaLine>,
}

/// What `initdb` writes (PostgreSQL 15, `--auth=trust`).
pub const DEFAULT_HBA: &str = "\
# TYPE  DATABASE        USER            ADDRESS                 METHOD

# \"local\" is for Unix domain socket connections only
local   all             all                                     trust
# IPv4 local connections:
host    all             all             127.0.0.1/32            trust
# IPv6 local connections:
host    all             all             ::1/128                 trust
# Allow replication connections from localhost, by a user with the
# replication privilege.
local   replication     all                                     trust
host    replication     all             127.0.0.1/32            trust
host    replication     all             ::1/128                 trust
";

impl HbaFile {
    /// Parses the file; an error names the line as `pg_hba_file_rules` does.
    pub fn parse(text: &str) -> Result<HbaFile, String> {
        HbaFile::parse_lines(text).map_err(|(message, line)| {
            format!("{message} in line {line} of configuration file \"pg_hba.conf\"")
        })
    }

    /// What the server does with the file at `path` at start or reload: the
    /// rules, or the lines PostgreSQL 15 logs for the first bad line, or for
    /// a file without rules (then the server says `could not load
    /// pg_hba.conf`, or `pg_hba.conf was not reloaded`).
    pub fn load(text: &str, path: &str) -> Result<HbaFile, Vec<String>> {
        match HbaFile::parse_lines(text) {
            Ok(file) if file.lines.is_empty() => Err(vec![format!(
                "LOG:  configuration file \"{path}\" contains no entries"
            )]),
            Ok(file) => Ok(file),
            Err((message, line)) => Err(vec![
                format!("LOG:  {message}"),
                format!("CONTEXT:  line {line} of configuration file \"{path}\""),
            ]),
        }
    }

    fn parse_lines(text: &str) -> Result<HbaFile, (String, usize)> {
        let mut lines = Vec::new();
        for (number, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            let kind = fields[0].to_string();
            let local = kind == "local";
            if !matches!(
                kind.as_str(),
                "local" | "host" | "hostssl" | "hostnossl" | "hostgssenc" | "hostnogssenc"
            ) {
                return Err((format!("invalid connection type \"{kind}\""), number + 1));
            }
            let needed = if local { 4 } else { 5 };
            if fields.len() < needed {
                return Err((
                    "end-of-line before authentication method".to_string(),
                    number + 1,
                ));
            }
            let list = |field: &str| field.split(',').map(str::to_string).collect::<Vec<_>>();
            let (address, method) = if local {
                (None, fields[3])
            } else if fields[3].contains('/') || fields.len() == 5 {
                (Some(fields[3].to_string()), fields[4])
            } else {
                // address and netmask as two fields
                (
                    Some(format!("{}/{}", fields[3], fields[4])),
                    fields.get(5).copied().unwrap_or(""),
                )
            };
            let known = [
                "trust",
                "reject",
                "md5",
                "scram-sha-256",
                "password",
                "peer",
                "ident",
                "cert",
            ];
            if !known.contains(&method) {
                return Err((
                    format!("invalid authentication method \"{method}\""),
                    number + 1,
                ));
            }
            lines.push(HbaLine {
                kind,
                databases: list(fields[1]),
                users: list(fields[2]),
                address,
                method: method.to_string(),
            });
        }
        Ok(HbaFile { lines })
    }

    /// The verdict for a TCP replication connection from `address` as `user`.
    pub fn check_replication(&self, address: &str, user: &str) -> HbaVerdict {
        for line in &self.lines {
            if line.kind == "local" || line.kind == "hostssl" || line.kind == "hostgssenc" {
                continue;
            }
            // "all" does not cover replication connections; only "replication" does.
            if !line.databases.iter().any(|d| d == "replication") {
                continue;
            }
            if !line.users.iter().any(|u| u == "all" || u == user) {
                continue;
            }
            if !address_matches(line.address.as_deref().unwrap_or(""), address) {
                continue;
            }
            return match line.method.as_str() {
                "trust" | "peer" | "ident" => HbaVerdict::Trust,
                "reject" => HbaVerdict::Reject,
                _ => HbaVerdict::Password,
            };
        }
        HbaVerdict::NoEntry
    }
}

fn address_matches(pattern: &str, address: &str) -> bool {
    match pattern {
        "all" | "samehost" | "samenet" => true,
        _ => {
            let (base, bits) = match pattern.split_once('/') {
                Some((base, bits)) => (base, bits.parse::<u32>().ok()),
                None => (pattern, None),
            };
            match (parse_v4(base), parse_v4(address)) {
                (Some(net), Some(host)) => {
                    let bits = bits.unwrap_or(32).min(32);
                    let mask = if bits == 0 {
                        0
                    } else {
                        u32::MAX << (32 - bits)
                    };
                    net & mask == host & mask
                }
                // IPv6 patterns and host names match only themselves.
                _ => base == address,
            }
        }
    }
}

fn parse_v4(text: &str) -> Option<u32> {
    let parts: Vec<u32> = text
        .split('.')
        .map(|p| p.parse::<u8>().ok().map(u32::from))
        .collect::<Option<_>>()?;
    (parts.len() == 4).then(|| parts.iter().fold(0, |acc, p| acc << 8 | p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_allows_local_replication_only() {
        let hba = HbaFile::parse(DEFAULT_HBA).unwrap();
        assert_eq!(
            hba.check_replication("127.0.0.1", "postgres"),
            HbaVerdict::Trust
        );
        assert_eq!(
            hba.check_replication("10.0.0.7", "postgres"),
            HbaVerdict::NoEntry
        );
    }

    #[test]
    fn all_does_not_cover_replication() {
        let hba = HbaFile::parse("host all all 0.0.0.0/0 trust\n").unwrap();
        assert_eq!(
            hba.check_replication("127.0.0.1", "postgres"),
            HbaVerdict::NoEntry
        );
    }

    #[test]
    fn first_match_wins_and_methods() {
        let hba = HbaFile::parse(
            "host replication rep 10.0.0.0/8 md5\nhost replication all 10.0.0.0/8 reject\n",
        )
        .unwrap();
        assert_eq!(
            hba.check_replication("10.1.2.3", "rep"),
            HbaVerdict::Password
        );
        assert_eq!(
            hba.check_replication("10.1.2.3", "postgres"),
            HbaVerdict::Reject
        );
        assert_eq!(
            hba.check_replication("11.1.2.3", "rep"),
            HbaVerdict::NoEntry
        );
    }

    #[test]
    fn bad_lines_are_reported() {
        assert!(HbaFile::parse("hots all all trust")
            .unwrap_err()
            .starts_with("invalid connection type \"hots\" in line 1"));
        assert!(HbaFile::parse("host replication all 127.0.0.1/32 magic")
            .unwrap_err()
            .starts_with("invalid authentication method \"magic\""));
    }

    /// The lines PostgreSQL 15 logged for the same files.
    #[test]
    fn loading_reports_bad_and_empty_files_as_postgres_logs() {
        assert_eq!(
            HbaFile::load("# only a comment\n\n", "/d/pg_hba.conf").unwrap_err(),
            vec!["LOG:  configuration file \"/d/pg_hba.conf\" contains no entries"]
        );
        assert_eq!(
            HbaFile::load(
                "local all all trust\nhost all all 127.0.0.1/32\n",
                "/d/pg_hba.conf"
            )
            .unwrap_err(),
            vec![
                "LOG:  end-of-line before authentication method",
                "CONTEXT:  line 2 of configuration file \"/d/pg_hba.conf\"",
            ]
        );
        assert!(HbaFile::load(DEFAULT_HBA, "/d/pg_hba.conf").is_ok());
    }
}
