//! libpq connection strings (`host=primary port=5432 user=rep application_name=standby1`),
//! as `primary_conninfo` holds them.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfo {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub application_name: Option<String>,
    /// Every keyword given, for display.
    pub options: BTreeMap<String, String>,
}

const KNOWN: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "user",
    "password",
    "passfile",
    "dbname",
    "application_name",
    "connect_timeout",
    "sslmode",
    "sslcompression",
    "sslsni",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "sslcert",
    "sslkey",
    "sslrootcert",
    "requirepeer",
    "service",
    "gssencmode",
    "krbsrvname",
    "target_session_attrs",
    "channel_binding",
    "keepalives",
    "keepalives_idle",
    "options",
    "fallback_application_name",
];

impl ConnInfo {
    /// Parses `keyword=value` pairs; values may be single-quoted with `\'` escapes.
    /// Errors are libpq's texts.
    pub fn parse(text: &str) -> Result<ConnInfo, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Err(
                "pgplay reads primary_conninfo only as keyword=value pairs, not as a URI".into(),
            );
        }
        let mut options = BTreeMap::new();
        let mut chars = text.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_none() {
                break;
            }
            let mut keyword = String::new();
            while let Some(&c) = chars.peek() {
                if c == '=' || c.is_whitespace() {
                    break;
                }
                keyword.push(c);
                chars.next();
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.next() != Some('=') {
                return Err(format!(
                    "missing \"=\" after \"{keyword}\" in connection info string"
                ));
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            let mut value = String::new();
            if chars.peek() == Some(&'\'') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '\'' => {
                            closed = true;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err("unterminated quoted string in connection info string".into());
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    if c == '\\' {
                        chars.next();
                        value.extend(chars.next());
                        continue;
                    }
                    value.push(c);
                    chars.next();
                }
            }
            if !KNOWN.contains(&keyword.as_str()) {
                return Err(format!("invalid connection option \"{keyword}\""));
            }
            options.insert(keyword, value);
        }
        let port = match options.get("port") {
            None => 5432,
            Some(text) => text.parse::<u16>().map_err(|_| {
                format!("invalid integer value \"{text}\" for connection option \"port\"")
            })?,
        };
        let host = options
            .get("host")
            .or_else(|| options.get("hostaddr"))
            .cloned()
            .unwrap_or_else(|| "/var/run/postgresql".to_string());
        Ok(ConnInfo {
            host,
            port,
            user: options
                .get("user")
                .cloned()
                .unwrap_or_else(|| "postgres".into()),
            password: options.get("password").cloned(),
            application_name: options.get("application_name").cloned(),
            options,
        })
    }

    /// The conninfo as `pg_stat_wal_receiver.conninfo` shows it: every
    /// option, password masked, plus the defaults the walreceiver adds.
    pub fn display_masked(&self) -> String {
        let mut parts = vec![format!("user={}", self.user)];
        if self.password.is_some() {
            parts.push("password=********".into());
        }
        parts.push("channel_binding=prefer".into());
        parts.push("dbname=replication".into());
        parts.push(format!("host={}", self.host));
        parts.push(format!("port={}", self.port));
        if let Some(name) = &self.application_name {
            parts.push(format!("application_name={name}"));
        }
        parts.push("fallback_application_name=walreceiver".into());
        parts.push("sslmode=prefer".into());
        parts.push("sslcompression=0".into());
        parts.push("sslsni=1".into());
        parts.push("ssl_min_protocol_version=TLSv1.2".into());
        parts.push("gssencmode=prefer".into());
        parts.push("krbsrvname=postgres".into());
        parts.push("target_session_attrs=any".into());
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keywords_and_quotes() {
        let info = ConnInfo::parse(
            "host=primary port=5433 user=rep password='a b\\'c' application_name=standby1",
        )
        .unwrap();
        assert_eq!(info.host, "primary");
        assert_eq!(info.port, 5433);
        assert_eq!(info.user, "rep");
        assert_eq!(info.password.as_deref(), Some("a b'c"));
        assert_eq!(info.application_name.as_deref(), Some("standby1"));
    }

    #[test]
    fn libpq_errors() {
        assert_eq!(
            ConnInfo::parse("host=a bogus=1").unwrap_err(),
            "invalid connection option \"bogus\""
        );
        assert_eq!(
            ConnInfo::parse("host").unwrap_err(),
            "missing \"=\" after \"host\" in connection info string"
        );
        assert_eq!(
            ConnInfo::parse("port=x").unwrap_err(),
            "invalid integer value \"x\" for connection option \"port\""
        );
        assert_eq!(ConnInfo::parse("").unwrap().port, 5432);
    }
}
