//! The CLIP byte-level BPE tokenizer SDXL's two text encoders share, as `transformers`' `CLIPTokenizer`
//! runs it without `ftfy` (Omost's setup): clean and lower-case the text, split it with CLIP's pattern,
//! map bytes to BPE symbols and merge by rank.
//!
//! The vocabulary ships with the app (`assets/bpe_simple_vocab_16e6.txt.gz`, OpenAI's CLIP BPE merges,
//! MIT licence, from the `open_clip_torch` package), so single-file SDXL checkpoints, which carry no
//! tokenizer, need nothing else.

use std::collections::HashMap;
use std::io::Read;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// OpenAI's CLIP BPE merges, gzipped.
const BPE_GZ: &[u8] = include_bytes!("../../assets/bpe_simple_vocab_16e6.txt.gz");

/// `<|startoftext|>`.
pub const BOS: u32 = 49406;
/// `<|endoftext|>`.
pub const EOS: u32 = 49407;
/// Vocabulary size.
pub const VOCAB_SIZE: usize = 49408;

/// Why the tokenizer could not be built.
#[derive(Debug, thiserror::Error)]
#[error("CLIP vocabulary: {0}")]
pub struct TokenizerError(String);

/// A CLIP tokenizer.
pub struct ClipTokenizer {
    encoder: HashMap<String, u32>,
    ranks: HashMap<(String, String), usize>,
    byte_encoder: [char; 256],
    pattern: Regex,
}

/// GPT-2's reversible map from bytes to printable characters, in its own order (printable bytes first):
/// the order the vocabulary lists them in.
fn bytes_to_unicode() -> Vec<(u8, char)> {
    let mut printable: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !printable.contains(&b) {
            printable.push(b);
            chars.push(256 + n);
            n += 1;
        }
    }
    printable
        .into_iter()
        .zip(chars)
        .map(|(b, c)| (b as u8, char::from_u32(c).unwrap_or('\0')))
        .collect()
}

/// BPE merges in rank order.
type Merges = Vec<(String, String)>;

/// The shipped vocabulary (token strings in id order) and BPE merges.
fn vocabulary() -> Result<(Vec<String>, Merges), TokenizerError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(BPE_GZ)
        .read_to_string(&mut text)
        .map_err(|e| TokenizerError(e.to_string()))?;
    // The file's first line is a header; CLIP uses the first 49152 − 256 − 2 merges.
    let merges: Merges = text
        .lines()
        .skip(1)
        .take(49152 - 256 - 2)
        .map(|l| {
            let (a, b) = l
                .split_once(' ')
                .ok_or_else(|| TokenizerError(format!("bad merge line {l:?}")))?;
            Ok((a.to_owned(), b.to_owned()))
        })
        .collect::<Result<_, TokenizerError>>()?;
    let symbols = bytes_to_unicode();
    let mut vocab: Vec<String> = symbols.iter().map(|(_, c)| c.to_string()).collect();
    vocab.extend(symbols.iter().map(|(_, c)| format!("{c}</w>")));
    vocab.extend(merges.iter().map(|(a, b)| format!("{a}{b}")));
    vocab.extend(["<|startoftext|>".to_owned(), "<|endoftext|>".to_owned()]);
    if vocab.len() != VOCAB_SIZE {
        return Err(TokenizerError(format!(
            "{} entries instead of {VOCAB_SIZE}",
            vocab.len()
        )));
    }
    Ok((vocab, merges))
}

/// The shipped vocabulary as `transformers`' `CLIPTokenizer` reads it: `vocab.json` and `merges.txt`.
pub fn hf_files() -> Result<(String, String), TokenizerError> {
    let (vocab, merges) = vocabulary()?;
    let map: serde_json::Map<String, serde_json::Value> = vocab
        .into_iter()
        .enumerate()
        .map(|(i, t)| (t, serde_json::Value::from(i)))
        .collect();
    let mut merges_txt = String::from("#version: 0.2\n");
    for (a, b) in merges {
        merges_txt.push_str(&format!("{a} {b}\n"));
    }
    Ok((serde_json::Value::Object(map).to_string(), merges_txt))
}

impl ClipTokenizer {
    /// The tokenizer with the shipped vocabulary.
    pub fn new() -> Result<Self, TokenizerError> {
        let (vocab, merges) = vocabulary()?;
        let mut byte_encoder = ['\0'; 256];
        for (b, c) in bytes_to_unicode() {
            byte_encoder[b as usize] = c;
        }
        let encoder = vocab
            .into_iter()
            .enumerate()
            .map(|(i, t)| (t, i as u32))
            .collect();
        let ranks = merges
            .into_iter()
            .enumerate()
            .map(|(i, m)| (m, i))
            .collect();
        let pattern = Regex::new(
            r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+",
        )
        .map_err(|e| TokenizerError(e.to_string()))?;
        Ok(ClipTokenizer {
            encoder,
            ranks,
            byte_encoder,
            pattern,
        })
    }

    /// Token ids of `text` without BOS/EOS (`tokenizer(text, add_special_tokens=False).input_ids`).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        // Special tokens written in the text are split out first, case-sensitively.
        let mut rest = text;
        while !rest.is_empty() {
            let next = ["<|startoftext|>", "<|endoftext|>"]
                .iter()
                .filter_map(|s| rest.find(s).map(|at| (at, *s)))
                .min();
            let (plain, special) = match next {
                Some((at, s)) => (&rest[..at], Some(s)),
                None => (rest, None),
            };
            self.encode_plain(plain, &mut ids);
            match special {
                Some(s) => {
                    ids.push(if s == "<|startoftext|>" { BOS } else { EOS });
                    rest = &rest[plain.len() + s.len()..];
                }
                None => break,
            }
        }
        ids
    }

    fn encode_plain(&self, text: &str, ids: &mut Vec<u32>) {
        let cleaned = basic_tokenize(text);
        for m in self.pattern.find_iter(&cleaned) {
            let symbols: String = m
                .as_str()
                .bytes()
                .map(|b| self.byte_encoder[b as usize])
                .collect();
            for piece in self.bpe(&symbols) {
                ids.push(self.encoder.get(&piece).copied().unwrap_or(EOS));
            }
        }
    }

    /// Merges the symbols of one word by rank; the last symbol carries the end-of-word mark.
    fn bpe(&self, token: &str) -> Vec<String> {
        let chars: Vec<char> = token.chars().collect();
        let Some((last, init)) = chars.split_last() else {
            return Vec::new();
        };
        let mut word: Vec<String> = init.iter().map(|c| c.to_string()).collect();
        word.push(format!("{last}</w>"));
        while word.len() > 1 {
            let best = word
                .windows(2)
                .filter_map(|w| {
                    self.ranks
                        .get(&(w[0].clone(), w[1].clone()))
                        .map(|r| (*r, w[0].clone(), w[1].clone()))
                })
                .min();
            let Some((_, first, second)) = best else {
                break;
            };
            let mut merged = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                if i + 1 < word.len() && word[i] == first && word[i + 1] == second {
                    merged.push(format!("{first}{second}"));
                    i += 2;
                } else {
                    merged.push(word[i].clone());
                    i += 1;
                }
            }
            word = merged;
        }
        word
    }
}

/// `transformers`' `BasicTokenizer(do_lower_case=True, strip_accents=False, do_split_on_punc=False)`, as
/// `CLIPTokenizer` uses it when `ftfy` is absent, followed by CLIP's whitespace clean-up: drop control
/// characters, make whitespace plain spaces, space out CJK ideographs, NFC-normalise, lower-case.
fn basic_tokenize(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    let normalized: String = cleaned.nfc().collect();
    normalized
        .split_whitespace()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r') || (c.is_whitespace() && !c.is_control())
}

/// Unicode "C*" categories as far as they matter for prompt text: controls other than tab and line ends,
/// and the invisible format characters.
fn is_control(c: char) -> bool {
    if matches!(c, '\t' | '\n' | '\r') {
        return false;
    }
    c.is_control()
        || matches!(c, '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e000}'..='\u{f8ff}')
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}
