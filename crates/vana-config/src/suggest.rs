//! "Did you mean" suggestions for misspelt keys and words.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (candidate, strsim::jaro_winkler(&input, &candidate.to_ascii_lowercase())))
        .filter(|(_, score)| *score >= 0.8)
        .max_by(|(_, a), (_, b)| a.total_cmp(b))
        .map(|(candidate, _)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_ignores_strangers() {
        let keys = ["warning", "critical", "metric", "comparison"];
        assert_eq!(did_you_mean("warnig", keys), Some("warning"));
        assert_eq!(did_you_mean("critcal", keys), Some("critical"));
        assert_eq!(did_you_mean("comparision", keys), Some("comparison"));
        assert_eq!(did_you_mean("zzz", keys), None);
        assert_eq!(did_you_mean("", keys), None);
    }
}
