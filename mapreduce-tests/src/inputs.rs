//! The input files of the Lab 1 suite: eight seeded synthetic texts with the names and about
//! the sizes of 6.5840's Project Gutenberg books (`pg-*.txt`, 3.3 MB in all).
//!
//! The books themselves are not in the repository; what the tests need from them is text of
//! that size with an English-like spread of words: a few very common words, a long tail of rare
//! ones, capitals, punctuation and line breaks. Each text is made by a fixed generator from its
//! file name, so every run, seed and backend reads the same inputs, and the generator takes no
//! randomness from the world (a test's seed drives the run, not its inputs).

/// The names and sizes in bytes of the eight inputs (the sizes of 6.5840's books, rounded).
pub const BOOKS: [(&str, usize); 8] = [
    ("pg-being_ernest.txt", 139_000),
    ("pg-dorian_gray.txt", 432_000),
    ("pg-frankenstein.txt", 441_000),
    ("pg-grimm.txt", 540_000),
    ("pg-huckleberry_finn.txt", 594_000),
    ("pg-metamorphosis.txt", 139_000),
    ("pg-sherlock_holmes.txt", 594_000),
    ("pg-tom_sawyer.txt", 421_000),
];

/// The eight inputs: (file name, contents).
///
/// They are made once per process and kept (a seed sweep runs a test hundreds of times in one
/// process): a constant, the same in every run, so keeping it changes no run. Making them is a
/// long computation, done inside [`labs::world::compute`] so that the simulation's spin
/// detector does not take it for a thread stuck in a loop.
pub fn books() -> Vec<(String, String)> {
    static BOOKS_TEXT: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    // Another test's thread may be making them: waiting for it is part of the computation.
    labs::world::compute(|| {
        BOOKS_TEXT
            .get_or_init(|| {
                let vocabulary = Vocabulary::new();
                BOOKS.iter().map(|&(name, size)| (name.to_string(), vocabulary.text(name, size))).collect()
            })
            .clone()
    })
}

/// SplitMix64: a small, fixed generator, so the inputs never depend on the world's seed.
struct Gen(u64);

impl Gen {
    fn from_name(name: &str) -> Gen {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Gen(h)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 24 000 made-up words, drawn with a Zipf-like law (the weight of the word of rank r is
/// 1/r), as words are in English prose.
struct Vocabulary {
    words: Vec<String>,
    /// Cumulative weights, scaled to u64.
    cumulative: Vec<u64>,
}

const SYLLABLES: [&str; 48] = [
    "a", "an", "the", "and", "er", "ing", "ed", "in", "on", "at", "es", "ou", "ly", "to", "it", "is", "or",
    "re", "th", "wh", "st", "ar", "al", "en", "nd", "ha", "he", "ve", "so", "me", "be", "we", "ro", "ma",
    "li", "de", "no", "ter", "con", "ment", "ous", "pre", "tion", "ver", "ble", "ight", "ch", "sh",
];

impl Vocabulary {
    fn new() -> Vocabulary {
        const N: usize = 24_000;
        let mut g = Gen(0x6a09_e667_f3bc_c908);
        let mut seen = std::collections::BTreeSet::new();
        let mut words = Vec::with_capacity(N);
        while words.len() < N {
            // Common words are short: 1 syllable for the first ranks, up to 4 for the tail.
            let rank = words.len();
            let max = 1 + u64::from(rank >= 40) + u64::from(rank >= 1_500) + u64::from(rank >= 8_000);
            let n = 1 + g.below(max);
            let w: String = (0..n).map(|_| SYLLABLES[g.below(SYLLABLES.len() as u64) as usize]).collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0f64;
        let weights: Vec<f64> = (1..=N)
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect();
        let cumulative = weights.iter().map(|c| (c / total * u64::MAX as f64) as u64).collect();
        Vocabulary { words, cumulative }
    }

    fn word(&self, g: &mut Gen) -> &str {
        let u = g.next();
        let i = self.cumulative.partition_point(|&c| c < u).min(self.words.len() - 1);
        &self.words[i]
    }

    /// About `size` bytes of prose: sentences of 4-24 words, a capital at the start of each,
    /// commas, full stops, question marks, lines of at most 72 characters, paragraphs.
    fn text(&self, name: &str, size: usize) -> String {
        let mut g = Gen::from_name(name);
        let mut out = String::with_capacity(size + 100);
        let mut line = 0;
        while out.len() < size {
            let n = 4 + g.below(21);
            for k in 0..n {
                let w = self.word(&mut g);
                let mut word = if k == 0 {
                    let mut c = w.chars();
                    c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
                } else {
                    w.to_string()
                };
                if k + 1 == n {
                    word.push(if g.below(8) == 0 { '?' } else { '.' });
                } else if g.below(10) == 0 {
                    word.push(',');
                }
                if line > 0 && line + 1 + word.len() > 72 {
                    out.push('\n');
                    line = 0;
                } else if line > 0 {
                    out.push(' ');
                    line += 1;
                }
                line += word.len();
                out.push_str(&word);
            }
            if g.below(12) == 0 {
                out.push_str("\n\n");
                line = 0;
            }
        }
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inputs_are_fixed_and_about_the_books_size() {
        let a = books();
        let b = books();
        assert_eq!(a, b);
        for ((name, text), (want_name, size)) in a.iter().zip(BOOKS) {
            assert_eq!(name, want_name);
            assert!(text.len() >= size && text.len() < size + 200, "{name}: {} bytes", text.len());
            assert!(text.lines().all(|l| l.len() <= 72 + 12), "{name}: a line is too long");
        }
        let words: std::collections::BTreeSet<&str> = a
            .iter()
            .flat_map(|(_, t)| t.split(|c: char| !c.is_alphabetic()))
            .filter(|w| !w.is_empty())
            .collect();
        assert!(words.len() > 10_000, "{} distinct words", words.len());
    }
}
