//! sh's word splitting, as the server's own `archive_command` and
//! `restore_command` need it (`archive`), and as the cluster's command
//! language (`pgplay-cluster`'s `shell`) reads a learner's line.

/// Splits a command line into words, honouring single and double quotes.
pub fn words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            // As sh: inside double quotes a backslash escapes ", \, $ and `.
            Some('"') if c == '\\' && matches!(chars.peek(), Some('"' | '\\' | '$' | '`')) => {
                current.extend(chars.next());
            }
            Some(_) => current.push(c),
            None if c == '\\' => {
                current.extend(chars.next());
                in_word = true;
            }
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
        assert_eq!(
            words(r#"echo "a = 'cp x \"%p\"'" b\ c"#).unwrap(),
            vec!["echo", "a = 'cp x \"%p\"'", "b c"]
        );
    }
}
