//! A sorted table of short lowercase words with an index by first letter: the grammars look up a word at
//! nearly every token or command position, so the lookup is a handful of byte comparisons, not a search
//! through the whole table.

/// A sorted table of words (lowercase ASCII first letters) and what each means, with its first-letter index.
pub(super) struct WordTable<T: 'static> {
    entries: &'static [(&'static [u8], T)],
    /// `starts[i]..starts[i + 1]` are the entries whose first letter is `b'a' + i`.
    starts: [u16; 27],
}

impl<T: Copy> WordTable<T> {
    /// The table over `entries`, which must be sorted (a test of each table checks it).
    pub(super) const fn new(entries: &'static [(&'static [u8], T)]) -> Self {
        let mut starts = [0u16; 27];
        let mut letter = 0;
        let mut at = 0;
        while letter < 26 {
            while at < entries.len() && !first_letter_at_least(entries[at].0, b'a' + letter as u8) {
                at += 1;
            }
            starts[letter] = at as u16;
            letter += 1;
        }
        while at < entries.len() && !first_letter_at_least(entries[at].0, b'z' + 1) {
            at += 1;
        }
        starts[26] = at as u16;
        Self { entries, starts }
    }

    /// What `word` means, if it is in the table.
    pub(super) fn get(&self, word: &[u8]) -> Option<T> {
        let slot = usize::from(word.first()?.wrapping_sub(b'a'));
        let candidates = match (self.starts.get(slot), self.starts.get(slot + 1)) {
            (Some(&start), Some(&end)) => &self.entries[usize::from(start)..usize::from(end)],
            // Words that do not start with a letter: the few such entries are searched in full.
            _ => self.entries,
        };
        candidates.iter().find(|(entry, _)| *entry == word).map(|(_, meaning)| *meaning)
    }
}

/// Whether `word` starts with `letter` or a later byte (an empty word never does).
const fn first_letter_at_least(word: &[u8], letter: u8) -> bool {
    !word.is_empty() && word[0] >= letter
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: WordTable<u8> =
        WordTable::new(&[(b"7z", 0), (b"and", 1), (b"or", 2), (b"ora", 3), (b"zip", 4)]);

    #[test]
    fn words_are_found_by_their_first_letter() {
        assert_eq!(TABLE.get(b"or"), Some(2));
        assert_eq!(TABLE.get(b"ora"), Some(3));
        assert_eq!(TABLE.get(b"zip"), Some(4));
        assert_eq!(TABLE.get(b"and"), Some(1));
        assert_eq!(TABLE.get(b"orb"), None);
        assert_eq!(TABLE.get(b""), None);
        assert_eq!(TABLE.get(b"7z"), Some(0), "a word that starts with a digit is searched in full");
        assert_eq!(TABLE.get(b"\xff"), None);
    }
}
