//! A scenario written as a transcript, which any host of the cluster (the
//! simulator, the browser page) runs and must print exactly: the proof that
//! the two drivers behave alike. Steps are lines starting with `> `; the
//! lines after a step, up to the next one, are what it must print:
//!
//! ```text
//! > run LINE              a server command: its output, or `error: ` and its error
//! > psql NODE LINE        one line typed at psql on NODE (one session per node)
//! > eventually NODE LINE  the psql line, asked again until it prints what follows
//! > log NODE TEXT         NODE's server log comes to hold a line containing TEXT
//! ```
//!
//! Lines starting with `#` before the first step are comments.

/// What one step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Run(String),
    Psql { node: String, line: String },
    Eventually { node: String, line: String },
    Log { node: String, text: String },
}

/// A step and what it must print (for `log`, nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub step: Step,
    pub output: String,
}

fn node_and_rest(rest: &str) -> Result<(String, String), String> {
    let (node, line) = rest
        .split_once(' ')
        .ok_or_else(|| format!("a node and a line expected: {rest}"))?;
    Ok((node.to_string(), line.to_string()))
}

fn step(text: &str) -> Result<Step, String> {
    let (kind, rest) = text.split_once(' ').unwrap_or((text, ""));
    Ok(match kind {
        "run" => Step::Run(rest.to_string()),
        "psql" => {
            let (node, line) = node_and_rest(rest)?;
            Step::Psql { node, line }
        }
        "eventually" => {
            let (node, line) = node_and_rest(rest)?;
            Step::Eventually { node, line }
        }
        "log" => {
            let (node, text) = node_and_rest(rest)?;
            Step::Log { node, text }
        }
        other => return Err(format!("unknown step \"{other}\"")),
    })
}

/// Reads a transcript.
pub fn parse(text: &str) -> Result<Vec<Expected>, String> {
    let mut steps: Vec<Expected> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("> ") {
            steps.push(Expected {
                step: step(rest)?,
                output: String::new(),
            });
        } else if let Some(last) = steps.last_mut() {
            last.output.push_str(line);
            last.output.push('\n');
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            return Err(format!("text before the first step: {line}"));
        }
    }
    Ok(steps)
}

/// What a command's result prints in a transcript.
pub fn command_output(result: &Result<String, String>) -> String {
    match result {
        Ok(text) => text.clone(),
        Err(error) => format!("error: {error}"),
    }
}

/// Are two printed texts the same, but for blank lines at the end?
pub fn same_output(printed: &str, expected: &str) -> bool {
    printed.trim_end_matches('\n') == expected.trim_end_matches('\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_steps_and_their_output() {
        let text = "# about\n> run pg_ctl -D primary status\npg_ctl: server is running\n\n> log standby1 started streaming\n> eventually standby1 SELECT 1;\n ?column? \n";
        let steps = parse(text).unwrap();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].step, Step::Run("pg_ctl -D primary status".into()));
        assert!(same_output(&steps[0].output, "pg_ctl: server is running"));
        assert_eq!(steps[1].output, "");
        assert_eq!(
            steps[2].step,
            Step::Eventually {
                node: "standby1".into(),
                line: "SELECT 1;".into()
            }
        );
        assert!(parse("stray\n> run x").is_err());
        assert!(parse("> frob x").is_err());
        assert!(!same_output("a\nb", "a\n"));
    }
}
