//! Omost's greedy sub-prompt bagging, as a pure function of token counts: suffixes are packed, in
//! order and first-fit, into bags whose total length stays within the budget left after the prefix.

/// Groups item indices into bags, as Omost's `greedy_partition(items, max_sum)`: an item that would
/// overflow the current bag starts a new one (so an item longer than `max_sum`, or any item when
/// `max_sum <= 0`, gets a bag of its own).
pub fn greedy_partition(lengths: &[usize], max_sum: i64) -> Vec<Vec<usize>> {
    let mut bags = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut sum: i64 = 0;
    for (i, &len) in lengths.iter().enumerate() {
        let len = len as i64;
        if sum + len > max_sum {
            if !current.is_empty() {
                bags.push(std::mem::take(&mut current));
            }
            current.push(i);
            sum = len;
        } else {
            current.push(i);
            sum += len;
        }
    }
    if !current.is_empty() {
        bags.push(current);
    }
    bags
}
