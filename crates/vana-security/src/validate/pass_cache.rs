//! Recently passed short inputs, per thread. Requests repeat their paths and many of their values; a
//! verdict is a pure function of the input and the validator, so a passed one can be remembered exactly.
//! Only passes are stored, only whole inputs are compared, and the table has a fixed size: hostile input
//! can evict entries (costing a full validation, as without the cache) but never change a verdict.

use std::cell::RefCell;

/// Entries per thread (direct-mapped).
const SLOTS: usize = 64;
/// Longest input remembered, in bytes.
pub(crate) const MAX_INPUT: usize = 46;

#[derive(Clone, Copy)]
struct Slot {
    /// The validator's id; 0 marks an empty slot (ids start at 1).
    validator: u64,
    length: u8,
    bytes: [u8; MAX_INPUT],
}

const EMPTY: Slot = Slot { validator: 0, length: 0, bytes: [0; MAX_INPUT] };

thread_local! {
    static PASSED: RefCell<[Slot; SLOTS]> = const { RefCell::new([EMPTY; SLOTS]) };
}

fn slot_of(validator: u64, input: &[u8]) -> usize {
    // FNV-1a: inputs are at most 46 bytes, and the index only spreads them.
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ validator;
    for &byte in input {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    (hash >> 32) as usize % SLOTS
}

/// Whether `input` passed `validator` recently on this thread.
pub(crate) fn contains(validator: u64, input: &[u8]) -> bool {
    if input.len() > MAX_INPUT {
        return false;
    }
    let index = slot_of(validator, input);
    PASSED.with(|slots| {
        slots.try_borrow().is_ok_and(|slots| {
            let slot = &slots[index];
            slot.validator == validator && usize::from(slot.length) == input.len() && &slot.bytes[..input.len()] == input
        })
    })
}

/// Remembers that `input` passed `validator`.
pub(crate) fn insert(validator: u64, input: &[u8]) {
    if input.len() > MAX_INPUT {
        return;
    }
    let index = slot_of(validator, input);
    PASSED.with(|slots| {
        if let Ok(mut slots) = slots.try_borrow_mut() {
            let slot = &mut slots[index];
            slot.validator = validator;
            slot.length = input.len() as u8;
            slot.bytes[..input.len()].copy_from_slice(input);
        }
    });
}

/// How many entries this thread holds: for the cap test.
#[cfg(test)]
pub(crate) fn occupied() -> usize {
    PASSED.with(|slots| slots.borrow().iter().filter(|slot| slot.validator != 0).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_exact_inputs_per_validator_within_a_fixed_table() {
        insert(7, b"/echo");
        assert!(contains(7, b"/echo"));
        assert!(!contains(8, b"/echo"), "another validator's pass is not this one's");
        assert!(!contains(7, b"/ech"));
        assert!(!contains(7, b"/echo "));
        let long = [b'a'; MAX_INPUT + 1];
        insert(7, &long);
        assert!(!contains(7, &long), "long inputs are never remembered");
        for n in 0..10_000u32 {
            insert(9, n.to_string().as_bytes());
        }
        assert!(occupied() <= SLOTS);
    }
}
