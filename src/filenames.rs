//! File names of downloaded media: `<title>__<task id>[_<index>].<ext>`, safe on every common
//! filesystem. Pure functions; the download worker applies them.

/// Longest title part, in bytes; leaves room for `__<uuid>_<index>.<ext>.part` under 255.
pub const TITLE_MAX_BYTES: usize = 150;

/// The replacement yt-dlp itself uses for each reserved character, so that names it already
/// made safe are left as they are.
fn replacement(c: char) -> Option<char> {
    Some(match c {
        '/' => '⧸',
        '\\' => '⧹',
        ':' => '：',
        '*' => '＊',
        '?' => '？',
        '"' => '＂',
        '<' => '＜',
        '>' => '＞',
        '|' => '｜',
        _ => return None,
    })
}

/// Makes a title safe as the first part of a file name: reserved characters swapped for
/// look-alikes, control characters dropped, no leading dot or dash, at most
/// `TITLE_MAX_BYTES` bytes cut on a character boundary. Letters and emoji are kept.
pub fn safe_title(title: &str) -> String {
    let mapped: String = title
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| replacement(c).unwrap_or(c))
        .collect();
    let trimmed = mapped.trim().trim_start_matches(['.', '-']).trim_start();
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > TITLE_MAX_BYTES {
            break;
        }
        out.push(c);
    }
    let out = out.trim_end().to_string();
    if out.is_empty() {
        "video".to_string()
    } else {
        out
    }
}

/// The name a file reported by yt-dlp should have, given the task id it was made for; `None`
/// when the name does not carry `__<id>` (not ours) and so must not be renamed.
pub fn normalised_name(actual: &str, task_id: &str) -> Option<String> {
    let marker = format!("__{task_id}");
    let at = actual.rfind(&marker)?;
    Some(format!("{}{}", safe_title(&actual[..at]), &actual[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_become_look_alikes() {
        assert_eq!(
            safe_title(r#"a/b\c:d*e?f"g<h>i|j"#),
            "a⧸b⧹c：d＊e？f＂g＜h＞i｜j"
        );
        assert_eq!(
            safe_title("Episode #15 100%25 done 🎬"),
            "Episode #15 100%25 done 🎬"
        );
    }

    #[test]
    fn no_leading_dot_dash_or_control_characters() {
        assert_eq!(safe_title("..-.hidden"), "hidden");
        assert_eq!(safe_title("-rf *"), "rf ＊");
        assert_eq!(safe_title("a\u{0}b\nc\u{7f}"), "abc");
        assert_eq!(safe_title(" . "), "video");
        assert_eq!(safe_title(""), "video");
    }

    #[test]
    fn trimmed_by_bytes_on_a_character_boundary() {
        let cjk = "漢字🎬".repeat(100); // 10 bytes a round, 1000 bytes
        let t = safe_title(&cjk);
        assert!(t.len() <= TITLE_MAX_BYTES, "{} bytes", t.len());
        assert!(t.len() > TITLE_MAX_BYTES - 4);
        assert!(cjk.starts_with(&t));
        for n in 1..400 {
            let s: String = "é😀a".chars().cycle().take(n).collect();
            let t = safe_title(&s);
            assert!(t.len() <= TITLE_MAX_BYTES && s.starts_with(&t));
        }
    }

    #[test]
    fn normalising_keeps_the_id_suffix() {
        let id = "0f8a2c64-1d2b-4c7e-9a55-3b1e2f4d5c6a";
        assert_eq!(
            normalised_name(&format!("-x: y__{id}_2.mp4"), id).unwrap(),
            format!("x： y__{id}_2.mp4")
        );
        assert_eq!(normalised_name("other.mp4", id), None);
    }
}
