//! Human sizes for `--split`: `650MiB`, `100M`, `4G`, `1.5GB`, `1000000`.

use crate::error::StoreError;

/// Parse a byte size. A bare number is bytes; `K`/`M`/`G`/`T` and `KiB`/`MiB`/`GiB`/`TiB`
/// are powers of 1024, `KB`/`MB`/`GB`/`TB` powers of 1000 (GNU `split -b` rules); an optional
/// `B` and the case of the letters do not matter. A fraction is allowed (`1.5G`) and rounds
/// down to whole bytes.
pub fn parse_size(text: &str) -> Result<u64, StoreError> {
    let bad = |reason: &str| StoreError::InvalidSize {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let multiplier: u128 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(bad("unknown unit")),
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(bad("no number"));
    }
    if frac.contains('.') || int.len() + frac.len() > 30 {
        return Err(bad("not a number"));
    }
    let digits = |s: &str| -> u128 { s.bytes().fold(0u128, |a, b| a * 10 + u128::from(b - b'0')) };
    let scale = 10u128.pow(frac.len() as u32);
    let bytes = (digits(int) * scale + digits(frac)) * multiplier / scale;
    let bytes = u64::try_from(bytes).map_err(|_| bad("too large"))?;
    if bytes == 0 {
        return Err(bad("must be more than zero"));
    }
    Ok(bytes)
}

#[cfg(test)]
#[path = "../tests/archive_size.rs"]
mod tests;
