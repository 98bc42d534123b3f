//! Rounding of the numbers written into records and files.

/// `v` rounded to `decimals` places; never `-0` (files show `0`, not `-0.0`).
pub fn round_to(v: f64, decimals: i32) -> f64 {
    let q = 10f64.powi(decimals);
    let r = (v * q).round() / q;
    if r == 0.0 { 0.0 } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_half_away_and_never_writes_negative_zero() {
        assert_eq!(round_to(-0.001, 2).to_string(), "0");
        assert_eq!(round_to(-1.236, 2), -1.24);
        assert_eq!(round_to(0.125, 2), 0.13);
        assert_eq!(round_to(1234.5678, 1), 1234.6);
    }
}
