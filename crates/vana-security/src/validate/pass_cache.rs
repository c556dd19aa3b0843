//! Recently passed short inputs, per thread. Requests repeat their paths and many of their values; a
//! verdict is a pure function of the input and the validator, so a passed one can be remembered exactly.
//! Only passes are stored, only whole inputs are compared, and the table has a fixed size: hostile input
//! can evict entries (costing a full validation, as without the cache) but never change a verdict.

use std::cell::RefCell;

/// Entries per thread: 32 sets of two, so two recurring inputs that hash alike do not evict each other.
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

/// The first slot of `input`'s set (the other is the next one).
fn set_of(validator: u64, input: &[u8]) -> usize {
    // FNV-1a: inputs are at most 46 bytes, and the index only spreads them.
    let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ validator;
    for &byte in input {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    ((hash >> 32) as usize % (SLOTS / 2)) * 2
}

fn holds(slot: &Slot, validator: u64, input: &[u8]) -> bool {
    slot.validator == validator
        && usize::from(slot.length) == input.len()
        && &slot.bytes[..input.len()] == input
}

/// Whether `input` passed `validator` recently on this thread.
pub(crate) fn contains(validator: u64, input: &[u8]) -> bool {
    if input.len() > MAX_INPUT {
        return false;
    }
    let set = set_of(validator, input);
    PASSED.with(|slots| {
        slots.try_borrow().is_ok_and(|slots| {
            holds(&slots[set], validator, input) || holds(&slots[set + 1], validator, input)
        })
    })
}

/// Remembers that `input` passed `validator`.
pub(crate) fn insert(validator: u64, input: &[u8]) {
    if input.len() > MAX_INPUT {
        return;
    }
    let set = set_of(validator, input);
    PASSED.with(|slots| {
        if let Ok(mut slots) = slots.try_borrow_mut() {
            // The newest entry goes first, the older one second, the oldest out.
            slots[set + 1] = slots[set];
            let slot = &mut slots[set];
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
        // Two inputs of one set both stay.
        let (first, second) = (0..1000u32)
            .map(|n| n.to_string())
            .find_map(|a| {
                let b = (0..1000u32)
                    .map(|n| format!("x{n}"))
                    .find(|b| set_of(7, b.as_bytes()) == set_of(7, a.as_bytes()))?;
                Some((a, b))
            })
            .unwrap();
        insert(7, first.as_bytes());
        insert(7, second.as_bytes());
        assert!(contains(7, first.as_bytes()) && contains(7, second.as_bytes()));
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
