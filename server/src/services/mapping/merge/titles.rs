//! Title normalisation and fuzzy matching, shared by the merge and by search.

/// Normalises a title for comparison: transliterated to ASCII, lower-case, runs of anything
/// but letters and digits collapsed to one space. "Pokémon: The Movie!" → "pokemon the movie".
pub fn normalize(title: &str) -> String {
    let ascii = deunicode::deunicode(title);
    let mut out = String::with_capacity(ascii.len());
    let mut space = false;
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c.to_ascii_lowercase());
        } else {
            space = true;
        }
    }
    out
}

/// Similarity of two normalised titles, 0 to 1 (Jaro-Winkler, which favours a shared start and
/// tolerates typos and small insertions).
pub fn similarity(a: &str, b: &str) -> f64 {
    strsim::jaro_winkler(a, b)
}

/// The blocking key of a normalised title: its first word. Fuzzy candidates must share it,
/// which keeps matching linear instead of comparing every title with every other.
pub fn block(normalized: &str) -> &str {
    normalized.split(' ').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_accents_case_and_punctuation() {
        assert_eq!(normalize("Pokémon: The Movie!"), "pokemon the movie");
        assert_eq!(normalize("  \"0\" "), "0");
        assert_eq!(normalize("Re:ZERO -Starting Life-"), "re zero starting life");
        assert_eq!(block("re zero starting life"), "re");
    }

    #[test]
    fn similar_titles_score_high_and_different_ones_low() {
        assert!(similarity("cowboy bebop", "cowboy bebpo") > 0.95);
        assert!(similarity("cowboy bebop", "trigun") < 0.6);
    }
}
