//! Backslash escapes in delimiters, separators, markers and formats: `\n \t \r \0 \\ \xNN`
//! (decoded by [`klog::input::unescape`]; this names the argument in the usage error).

use super::UsageError;

/// Decodes the escapes of `s` into bytes. `what` names the argument in errors.
pub fn unescape(s: &str, what: &str) -> Result<Vec<u8>, UsageError> {
    klog::input::unescape(s).map_err(|e| UsageError(format!("invalid escape in {what} '{s}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_argument_and_the_escape() {
        assert_eq!(unescape(r"a\tb\n", "x").unwrap(), b"a\tb\n");
        let UsageError(msg) = unescape(r"a\q", "--delimiter").unwrap_err();
        assert_eq!(
            msg,
            r"invalid escape in --delimiter 'a\q': unknown escape \q (use \n \t \r \0 \\ or \xNN)"
        );
    }
}
