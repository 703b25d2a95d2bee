//! `c`: copying a value to the operator's clipboard with OSC 52, the
//! terminal escape that works through SSH (the terminal on the operator's
//! machine does the copying) and through tmux (sent both as is, for
//! `set-clipboard on`, and wrapped for tmux's passthrough).

/// The bytes that copy `text`: OSC 52 (and, inside tmux, the same wrapped
/// in tmux's passthrough).
pub fn osc52(text: &str, in_tmux: bool) -> String {
    let plain = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
    if in_tmux {
        // Escapes inside a tmux passthrough are doubled.
        format!(
            "{plain}\x1bPtmux;{}\x1b\\",
            plain.replace('\x1b', "\x1b\x1b")
        )
    } else {
        plain
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_rfc_4648_says() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn the_escape_and_its_tmux_wrapping() {
        assert_eq!(osc52("JKMN", false), "\x1b]52;c;SktNTg==\x07");
        let wrapped = osc52("JKMN", true);
        assert!(wrapped.starts_with("\x1b]52;c;SktNTg==\x07\x1bPtmux;\x1b\x1b]52;"));
        assert!(wrapped.ends_with("\x1b\\"));
    }
}
