//! Omost's greedy sub-prompt bagging (`encode_bag_of_subprompts_greedy`): a condition's prefixes are
//! tokenized and kept in front of every chunk; its suffixes are tokenized one by one (each cut to 75
//! tokens) and packed first-fit, in order, into bags that fit the 75 − prefix tokens left; each bag becomes
//! one 77-token chunk `[BOS] + (prefix + bag)[..75] + [EOS] + padding`. The text encoders then encode each
//! chunk and the chunks are concatenated along the token axis.

use super::tokenizer::{ClipTokenizer, BOS, EOS};
use crate::canvas::greedy_partition;

/// Tokens per CLIP chunk, BOS and EOS included.
pub const CHUNK: usize = 77;
/// Content tokens per chunk.
const CONTENT: usize = CHUNK - 2;

/// A condition's chunks as token ids, before padding: `[BOS] + content + [EOS]` (at most 77).
pub fn chunks(
    tokenizer: &ClipTokenizer,
    prefixes: &[String],
    suffixes: &[String],
) -> Vec<Vec<u32>> {
    let prefix: Vec<u32> = prefixes.iter().flat_map(|p| tokenizer.encode(p)).collect();
    let items: Vec<Vec<u32>> = suffixes
        .iter()
        .map(|s| {
            let mut ids = tokenizer.encode(s);
            ids.truncate(CONTENT);
            ids
        })
        .collect();
    let lengths: Vec<usize> = items.iter().map(Vec::len).collect();
    let mut bags = greedy_partition(&lengths, CONTENT as i64 - prefix.len() as i64);
    if bags.is_empty() {
        // No suffixes: Omost would fail on an empty concatenation; one chunk of the prefix alone.
        bags.push(Vec::new());
    }
    bags.into_iter()
        .map(|bag| {
            let content = prefix
                .iter()
                .chain(bag.iter().flat_map(|&i| &items[i]))
                .take(CONTENT);
            std::iter::once(BOS)
                .chain(content.copied())
                .chain([EOS])
                .collect()
        })
        .collect()
}

/// A chunk padded to 77 tokens with `pad` (CLIP-L pads with EOS, SDXL's CLIP-G tokenizer with 0, `!`).
pub fn padded(chunk: &[u32], pad: u32) -> [u32; CHUNK] {
    let mut out = [pad; CHUNK];
    out[..chunk.len().min(CHUNK)].copy_from_slice(&chunk[..chunk.len().min(CHUNK)]);
    out
}
