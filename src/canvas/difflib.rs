//! A port of the parts of CPython's `difflib` that Omost's `closest_name` uses: `SequenceMatcher`
//! (`isjunk=None`, `autojunk=True`) and `get_close_matches(word, options, n=1, cutoff)`.
//!
//! It works on Unicode scalar values, as Python's `str` does, and reproduces CPython's choices exactly:
//! the longest-match search breaks ties toward the lowest index in `a` and then in `b`, and among
//! equally good candidates the lexicographically greatest name wins (Python compares `(ratio, name)`
//! tuples).

use std::collections::HashMap;

/// The word side (`seq2`) of a `SequenceMatcher`, indexed once and compared with many candidates, as
/// `get_close_matches` does with `set_seq2`.
#[derive(Clone)]
struct Word {
    b: Vec<char>,
    /// For each element of `b` not popular, the ascending indices where it occurs.
    b2j: HashMap<char, Vec<usize>>,
    b_counts: HashMap<char, usize>,
}

impl Word {
    fn new(b: &str) -> Self {
        let b: Vec<char> = b.chars().collect();
        let mut b2j: HashMap<char, Vec<usize>> = HashMap::new();
        for (j, &c) in b.iter().enumerate() {
            b2j.entry(c).or_default().push(j);
        }
        let mut b_counts = HashMap::new();
        for &c in &b {
            *b_counts.entry(c).or_insert(0) += 1;
        }
        // autojunk: in sequences of 200+ elements, elements occurring in more than 1% (+1) are "popular"
        // and dropped from b2j (but are not junk for the extension loops).
        let n = b.len();
        if n >= 200 {
            let ntest = n / 100 + 1;
            b2j.retain(|_, idxs| idxs.len() <= ntest);
        }
        Word { b, b2j, b_counts }
    }
}

/// Ratcliff/Obershelp similarity between a candidate `a` and the word `b`, as
/// `difflib.SequenceMatcher(None, a, b)` computes it.
pub struct SequenceMatcher<'w> {
    a: Vec<char>,
    word: std::borrow::Cow<'w, Word>,
}

impl SequenceMatcher<'static> {
    /// Compares `a` with `b`; `b` is the sequence whose popular elements autojunk discards.
    pub fn new(a: &str, b: &str) -> Self {
        SequenceMatcher {
            a: a.chars().collect(),
            word: std::borrow::Cow::Owned(Word::new(b)),
        }
    }
}

impl SequenceMatcher<'_> {
    /// `find_longest_match(alo, ahi, blo, bhi)`: `(i, j, size)` of the longest matching block.
    fn find_longest_match(
        &self,
        alo: usize,
        ahi: usize,
        blo: usize,
        bhi: usize,
    ) -> (usize, usize, usize) {
        let (a, b) = (&self.a, &self.word.b);
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
        let mut j2len: HashMap<usize, usize> = HashMap::new();
        for (i, ch) in a.iter().enumerate().take(ahi).skip(alo) {
            let mut newj2len = HashMap::new();
            if let Some(js) = self.word.b2j.get(ch) {
                for &j in js {
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    let k = j
                        .checked_sub(1)
                        .and_then(|p| j2len.get(&p))
                        .copied()
                        .unwrap_or(0)
                        + 1;
                    newj2len.insert(j, k);
                    if k > bestsize {
                        besti = i + 1 - k;
                        bestj = j + 1 - k;
                        bestsize = k;
                    }
                }
            }
            j2len = newj2len;
        }
        // With isjunk=None nothing is junk, so only the first two of CPython's four extension loops can
        // run: they grow the block over equal (possibly "popular") neighbours.
        while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
            besti -= 1;
            bestj -= 1;
            bestsize += 1;
        }
        while besti + bestsize < ahi
            && bestj + bestsize < bhi
            && a[besti + bestsize] == b[bestj + bestsize]
        {
            bestsize += 1;
        }
        (besti, bestj, bestsize)
    }

    /// Total size of the matching blocks (`sum(m.size for m in get_matching_blocks())`).
    pub fn matches(&self) -> usize {
        let mut queue = vec![(0, self.a.len(), 0, self.word.b.len())];
        let mut total = 0;
        while let Some((alo, ahi, blo, bhi)) = queue.pop() {
            let (i, j, k) = self.find_longest_match(alo, ahi, blo, bhi);
            if k > 0 {
                total += k;
                if alo < i && blo < j {
                    queue.push((alo, i, blo, j));
                }
                if i + k < ahi && j + k < bhi {
                    queue.push((i + k, ahi, j + k, bhi));
                }
            }
        }
        total
    }

    fn calculate_ratio(&self, matches: usize) -> f64 {
        let length = self.a.len() + self.word.b.len();
        if length == 0 {
            1.0
        } else {
            2.0 * matches as f64 / length as f64
        }
    }

    /// `ratio()`: 2·M / (len(a) + len(b)).
    pub fn ratio(&self) -> f64 {
        self.calculate_ratio(self.matches())
    }

    /// `quick_ratio()`: an upper bound on `ratio()` from element counts alone.
    pub fn quick_ratio(&self) -> f64 {
        let mut avail: HashMap<char, isize> = HashMap::new();
        let mut matches = 0;
        for &c in &self.a {
            let numb = *avail
                .entry(c)
                .or_insert_with(|| self.word.b_counts.get(&c).copied().unwrap_or(0) as isize);
            avail.insert(c, numb - 1);
            if numb > 0 {
                matches += 1;
            }
        }
        self.calculate_ratio(matches)
    }

    /// `real_quick_ratio()`: an upper bound on `ratio()` from lengths alone.
    pub fn real_quick_ratio(&self) -> f64 {
        self.calculate_ratio(self.a.len().min(self.word.b.len()))
    }
}

/// `difflib.get_close_matches(word, options, n=1, cutoff)[0]`, with its score.
pub fn get_close_match<'a>(
    word: &str,
    options: impl IntoIterator<Item = &'a str>,
    cutoff: f64,
) -> Option<(&'a str, f64)> {
    let options: Vec<&'a str> = options.into_iter().collect();
    // Only an identical string has ratio 1.0, the highest there is: nothing can beat or tie it.
    if let Some(exact) = options.iter().find(|c| **c == word) {
        return Some((exact, 1.0));
    }
    let word_index = Word::new(word);
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in options {
        let sm = SequenceMatcher {
            a: candidate.chars().collect(),
            word: std::borrow::Cow::Borrowed(&word_index),
        };
        if sm.real_quick_ratio() >= cutoff && sm.quick_ratio() >= cutoff {
            let ratio = sm.ratio();
            if ratio >= cutoff {
                // Python's heapq.nlargest compares (ratio, candidate) tuples: ties go to the greater name.
                let better = match best {
                    None => true,
                    Some((r, name)) => ratio > r || (ratio == r && candidate > name),
                };
                if better {
                    best = Some((ratio, candidate));
                }
            }
        }
    }
    best.map(|(r, name)| (name, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_matches_python_examples() {
        // difflib docs: SequenceMatcher(None, "abcd", "bcde").ratio() == 0.75
        assert_eq!(SequenceMatcher::new("abcd", "bcde").ratio(), 0.75);
        assert_eq!(SequenceMatcher::new("", "").ratio(), 1.0);
        // Docs example: get_close_matches('appel', ['ape', 'apple', 'peach', 'puppy'])[0] == 'apple'
        let m = get_close_match("appel", ["ape", "apple", "peach", "puppy"], 0.6);
        assert_eq!(m.map(|m| m.0), Some("apple"));
    }

    #[test]
    fn longest_match_prefers_lowest_indices() {
        // CPython: SequenceMatcher(None, " abcd", "abcd abcd").find_longest_match(0, 5, 0, 9) == (0, 4, 5)
        let sm = SequenceMatcher::new(" abcd", "abcd abcd");
        assert_eq!(sm.find_longest_match(0, 5, 0, 9), (0, 4, 5));
    }

    #[test]
    fn autojunk_drops_popular_characters_from_long_words() {
        let long: String = "a".repeat(150) + &"b".repeat(60);
        // Every character is popular, so the index finds nothing; CPython then still extends the empty
        // match at (0, 0) over the equal 'a', giving one block of size 1.
        assert_eq!(SequenceMatcher::new("ab", &long).matches(), 1);
        // Below 200 elements autojunk does not apply.
        assert_eq!(SequenceMatcher::new("ab", &"ab".repeat(50)).matches(), 2);
    }
}
