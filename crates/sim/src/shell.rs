//! The server commands a learner types in a shell, run on the simulated
//! cluster. The same small language drives `.slt` `system ok` records here
//! and on a real PostgreSQL cluster (`tests/postgres/cluster.sh`), where the
//! data directories are named after the nodes:
//!
//! ```text
//! pg_ctl -D <node> [-m smart|fast|immediate] [-w] [-t SECS] [-l FILE] stop|start|restart|promote|reload
//! [PGPASSWORD=secret] pg_basebackup -h <host> -p <port> [-U user] -D <node> [-R] [-X stream] [-P] [-v]
//! touch <node>/standby.signal
//! rm [-f] <node>/standby.signal
//! echo "<setting> = '<value>'" >> <node>/postgresql.auto.conf   (or postgresql.conf)
//! echo "host replication <user> <address> <method>" >> <node>/pg_hba.conf
//! cat <node>/<file>      (postgresql.conf, postgresql.auto.conf, pg_hba.conf, pg_wal/N.history)
//! ls <node>/pg_wal
//! ```
//!
//! Output and errors are pg_ctl's and pg_basebackup's own words.

use pgplay_node::StopMode;

use crate::Sim;

/// Splits a command line into words, honouring single and double quotes.
fn words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => current.push(c),
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            None => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unexpected EOF while looking for matching quote".into());
    }
    if in_word {
        words.push(current);
    }
    Ok(words)
}

/// `<node>/<file>` → (node, file).
fn node_file(path: &str) -> Result<(&str, &str), String> {
    path.trim_end_matches('/')
        .split_once('/')
        .ok_or_else(|| format!("{path}: not a file in a data directory (NODE/FILE)"))
}

impl Sim {
    /// Runs one command line; Ok is what it prints, Err its error output.
    pub fn run_command(&mut self, line: &str) -> Result<String, String> {
        let mut words = words(line.trim())?;
        // `PGPASSWORD=secret pg_basebackup ...`: the password libpq sends.
        let mut password = None;
        while let Some(value) = words.first().and_then(|w| w.strip_prefix("PGPASSWORD=")) {
            password = Some(value.to_string());
            words.remove(0);
        }
        let Some(program) = words.first() else {
            return Ok(String::new());
        };
        let args = &words[1..];
        match program.as_str() {
            "pg_ctl" => self.pg_ctl(args),
            "pg_basebackup" => self.pg_basebackup(args, password.as_deref()),
            "touch" => self.signal_file(args, true),
            "rm" => self.signal_file(args, false),
            "echo" => self.echo_append(args),
            "cat" => self.cat(args),
            "ls" => self.ls(args),
            other => Err(format!(
                "{other}: command not available here (pgplay runs pg_ctl, pg_basebackup, touch/rm NODE/standby.signal, echo \"...\" >> NODE/FILE, cat NODE/FILE and ls NODE/pg_wal)"
            )),
        }
    }

    fn pg_ctl(&mut self, args: &[String]) -> Result<String, String> {
        let mut data_dir = None;
        let mut mode = StopMode::Fast;
        let mut action = None;
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "-D" | "--pgdata" => data_dir = iter.next().cloned(),
                "-m" | "--mode" => {
                    mode = match iter.next().map(String::as_str) {
                        Some("s" | "smart") => StopMode::Smart,
                        Some("f" | "fast") => StopMode::Fast,
                        Some("i" | "immediate") => StopMode::Immediate,
                        other => {
                            return Err(format!(
                                "pg_ctl: unrecognized shutdown mode \"{}\"",
                                other.unwrap_or("")
                            ))
                        }
                    }
                }
                "-w" | "-W" | "--wait" | "--no-wait" | "-s" => {}
                "-t" | "-l" | "-o" | "--timeout" | "--log" => {
                    iter.next();
                }
                "start" | "stop" | "restart" | "promote" | "reload" | "status" => {
                    action = Some(arg.clone())
                }
                other => {
                    return Err(format!(
                        "pg_ctl: unrecognized operation mode \"{other}\"\nTry \"pg_ctl --help\" for more information."
                    ))
                }
            }
        }
        let Some(action) = action else {
            return Err(
                "pg_ctl: no operation specified\nTry \"pg_ctl --help\" for more information."
                    .into(),
            );
        };
        let Some(node) = data_dir else {
            return Err("pg_ctl: no database directory specified and environment variable PGDATA unset\nTry \"pg_ctl --help\" for more information.".into());
        };
        let node = node.trim_end_matches('/').to_string();
        if self.node(&node).is_none() {
            return Err(format!("pg_ctl: directory \"{node}\" does not exist"));
        }
        match action.as_str() {
            "start" => self.start(&node),
            "stop" => self.stop(&node, mode),
            "restart" => self.restart(&node),
            "promote" => self.promote(&node),
            "reload" => {
                if self.node(&node).is_some_and(|n| n.is_running()) {
                    self.reload(&node)
                } else {
                    Err("pg_ctl: PID file does not exist\nIs server running?".into())
                }
            }
            _ => Ok(if self.node(&node).is_some_and(|n| n.is_running()) {
                "pg_ctl: server is running".into()
            } else {
                "pg_ctl: no server running".into()
            }),
        }
    }

    fn pg_basebackup(&mut self, args: &[String], password: Option<&str>) -> Result<String, String> {
        let (mut host, mut port, mut dir, mut recovery_conf) = (None, 5432u16, None, false);
        let mut user = "postgres".to_string();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "-h" | "--host" => host = iter.next().cloned(),
                "-p" | "--port" => {
                    port = iter
                        .next()
                        .and_then(|p| p.parse().ok())
                        .ok_or("pg_basebackup: error: invalid port number")?
                }
                "-D" | "--pgdata" => dir = iter.next().cloned(),
                "-R" | "--write-recovery-conf" => recovery_conf = true,
                "-U" | "--username" => {
                    user = iter
                        .next()
                        .cloned()
                        .ok_or("pg_basebackup: error: option requires an argument -- 'U'")?
                }
                "-X" | "--wal-method" | "-c" | "--checkpoint" => {
                    iter.next();
                }
                "-P" | "--progress" | "-v" | "--verbose" | "-w" | "--no-password" => {}
                other => {
                    return Err(format!(
                        "pg_basebackup: error: unrecognized option \"{other}\"\npg_basebackup: hint: Try \"pg_basebackup --help\" for more information."
                    ))
                }
            }
        }
        let dir = dir.ok_or("pg_basebackup: error: no target directory specified\npg_basebackup: hint: Try \"pg_basebackup --help\" for more information.")?;
        let host = host.unwrap_or_else(|| "127.0.0.1".into());
        let upstream = self.resolve_host(&host, port).ok_or_else(|| {
            format!(
                "pg_basebackup: error: connection to server at \"{host}\", port {port} failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
            )
        })?;
        let new_port = self.nodes().map(|n| n.port).max().unwrap_or(5431) + 1;
        self.base_backup(&dir, new_port, &upstream, &user, password, recovery_conf)?;
        Ok(String::new())
    }

    fn signal_file(&mut self, args: &[String], create: bool) -> Result<String, String> {
        let path = args
            .iter()
            .find(|a| !a.starts_with('-'))
            .ok_or("missing file operand")?;
        let (node, file) = node_file(path)?;
        if file != "standby.signal" && file != "recovery.signal" {
            return Err(format!("{path}: pgplay models only standby.signal here"));
        }
        let target = self
            .node_mut(node)
            .ok_or_else(|| format!("cannot touch '{path}': No such file or directory"))?;
        target.files.standby_signal = create;
        Ok(String::new())
    }

    fn cat(&mut self, args: &[String]) -> Result<String, String> {
        let mut out = String::new();
        for path in args {
            let (node, file) = node_file(path)?;
            let text = self
                .node(node)
                .and_then(|n| n.read_file(file))
                .ok_or_else(|| format!("cat: {path}: No such file or directory"))?;
            out.push_str(&text);
        }
        Ok(out.trim_end_matches('\n').to_string())
    }

    fn ls(&mut self, args: &[String]) -> Result<String, String> {
        let path = args
            .iter()
            .find(|a| !a.starts_with('-'))
            .ok_or("ls: pgplay lists only NODE/pg_wal")?;
        let (node, dir) = node_file(path)?;
        if dir.trim_end_matches('/') != "pg_wal" {
            return Err(format!("ls: pgplay lists only NODE/pg_wal, not {path}"));
        }
        let node = self
            .node(node)
            .ok_or_else(|| format!("ls: cannot access '{path}': No such file or directory"))?;
        Ok(node.pg_wal_listing().join("\n"))
    }

    fn echo_append(&mut self, args: &[String]) -> Result<String, String> {
        let [line, redirect, path] = args else {
            return Err("use: echo \"setting = 'value'\" >> NODE/postgresql.auto.conf".into());
        };
        if redirect != ">>" {
            return Err("use: echo \"setting = 'value'\" >> NODE/postgresql.auto.conf".into());
        }
        let (node, file) = node_file(path)?;
        let target = self
            .node_mut(node)
            .ok_or_else(|| format!("{path}: No such file or directory"))?;
        target.append_config(file, line)?;
        Ok(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_words() {
        assert_eq!(
            words(r#"echo "primary_conninfo = 'host=a port=1'" >> standby1/postgresql.auto.conf"#)
                .unwrap(),
            vec![
                "echo",
                "primary_conninfo = 'host=a port=1'",
                ">>",
                "standby1/postgresql.auto.conf"
            ]
        );
        assert!(words("echo 'open").is_err());
    }
}
