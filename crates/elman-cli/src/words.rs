//! Counts in the messages: `1 epoch`, `300 epochs`.

/// `n` and `noun`, the noun plural unless `n` is one (`noun` takes an `s`).
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_and_the_rest_plural() {
        assert_eq!(count(1, "epoch"), "1 epoch");
        assert_eq!(count(0, "epoch"), "0 epochs");
        assert_eq!(count(300, "training sequence"), "300 training sequences");
    }
}
