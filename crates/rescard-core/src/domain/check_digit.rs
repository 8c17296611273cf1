//! The Damm check digit, used by card serials and ITNs.
//!
//! Damm's algorithm detects every single-digit error and every transposition of two adjacent digits,
//! which is what a person copying a number from a card gets wrong. See `docs/NUMBERS.md`.

/// The totally anti-symmetric quasigroup of order 10 from Damm's 2004 thesis.
const TABLE: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

/// The check digit to append to `digits` (each 0–9).
pub(crate) fn damm(digits: impl IntoIterator<Item = u8>) -> u8 {
    digits.into_iter().fold(0, |interim, d| {
        TABLE[usize::from(interim)][usize::from(d % 10)]
    })
}

/// The decimal digits of `n`, most significant first, left-padded with zeros to `width`.
pub(crate) fn digits_of(n: u64, width: usize) -> Vec<u8> {
    let text = format!("{n:0width$}");
    text.bytes().map(|b| b - b'0').collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_value_from_the_literature() {
        // Wikipedia's worked example: 572 has check digit 4.
        assert_eq!(damm([5, 7, 2]), 4);
        assert_eq!(damm([5, 7, 2, 4]), 0);
    }

    #[test]
    fn every_single_digit_error_and_adjacent_swap_is_caught() {
        let base = digits_of(3_170_419_910_012, 13);
        let check = damm(base.iter().copied());
        for i in 0..base.len() {
            for d in 0..10u8 {
                if d == base[i] {
                    continue;
                }
                let mut changed = base.clone();
                changed[i] = d;
                assert_ne!(damm(changed.iter().copied()), check, "digit {i} -> {d}");
            }
            if i + 1 < base.len() && base[i] != base[i + 1] {
                let mut swapped = base.clone();
                swapped.swap(i, i + 1);
                assert_ne!(damm(swapped.iter().copied()), check, "swap at {i}");
            }
        }
    }
}
