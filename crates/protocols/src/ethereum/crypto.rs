//! The two primitives the Ethereum probe checks structure with, written
//! from their specifications: Keccak-256 (the original Keccak submission's
//! padding, as Ethereum uses it, FIPS 202 §3 for the permutation) and the
//! secp256k1 curve equation y² = x³ + 7 over p = 2²⁵⁶ − 2³² − 977
//! (SEC 2 §2.4.1). Stack only, no allocation.

/// Keccak-f[1600] round constants (FIPS 202 §3.2.5, ι step).
const RC: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808a,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808b,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008a,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000a,
    0x0000_0000_8000_808b,
    0x8000_0000_0000_008b,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800a,
    0x8000_0000_8000_000a,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// ρ rotation offsets, in the order the combined ρ/π walk visits lanes.
const ROT: [u32; 24] = [
    1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
];
/// π lane order of that walk (starting from lane 1).
const PI: [usize; 24] = [
    10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
];

fn keccak_f(s: &mut [u64; 25]) {
    for rc in RC {
        // θ
        let mut c = [0u64; 5];
        for (x, cx) in c.iter_mut().enumerate() {
            *cx = s[x] ^ s[x + 5] ^ s[x + 10] ^ s[x + 15] ^ s[x + 20];
        }
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                s[x + 5 * y] ^= d;
            }
        }
        // ρ and π
        let mut cur = s[1];
        for (&r, &p) in ROT.iter().zip(PI.iter()) {
            let next = s[p];
            s[p] = cur.rotate_left(r);
            cur = next;
        }
        // χ
        for y in 0..5 {
            let row = [
                s[5 * y],
                s[5 * y + 1],
                s[5 * y + 2],
                s[5 * y + 3],
                s[5 * y + 4],
            ];
            for x in 0..5 {
                s[5 * y + x] = row[x] ^ (!row[(x + 1) % 5] & row[(x + 2) % 5]);
            }
        }
        // ι
        s[0] ^= rc;
    }
}

/// Keccak-256 of `msg` (rate 136 bytes, padding 0x01 .. 0x80).
pub(crate) fn keccak256(msg: &[u8]) -> [u8; 32] {
    const RATE: usize = 136;
    let mut s = [0u64; 25];
    let absorb = |block: &[u8; RATE], s: &mut [u64; 25]| {
        for (i, lane) in block.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(lane);
            s[i] ^= u64::from_le_bytes(b);
        }
        keccak_f(s);
    };
    let mut chunks = msg.chunks_exact(RATE);
    for c in chunks.by_ref() {
        let mut block = [0u8; RATE];
        block.copy_from_slice(c);
        absorb(&block, &mut s);
    }
    let rest = chunks.remainder();
    let mut block = [0u8; RATE];
    block[..rest.len()].copy_from_slice(rest);
    block[rest.len()] ^= 0x01;
    block[RATE - 1] ^= 0x80;
    absorb(&block, &mut s);
    let mut out = [0u8; 32];
    for (i, o) in out.chunks_exact_mut(8).enumerate() {
        o.copy_from_slice(&s[i].to_le_bytes());
    }
    out
}

/// A field element as four little-endian u64 limbs.
type Fe = [u64; 4];

/// p = 2^256 - C.
const C: u128 = 0x1_0000_03d1;
const P0: u64 = 0xffff_fffe_ffff_fc2f;

fn ge_p(a: &Fe) -> bool {
    a[3] == u64::MAX && a[2] == u64::MAX && a[1] == u64::MAX && a[0] >= P0
}

/// Canonical (< p) form of a value below 2^256.
fn canon(mut a: Fe) -> Fe {
    if ge_p(&a) {
        // a - p = a + C - 2^256, and a >= p means only limb 0 is left.
        a = [a[0] - P0, 0, 0, 0];
    }
    a
}

fn mul(a: &Fe, b: &Fe) -> Fe {
    let mut t = [0u64; 8];
    for i in 0..4 {
        let mut carry: u128 = 0;
        for j in 0..4 {
            let v = u128::from(t[i + j]) + u128::from(a[i]) * u128::from(b[j]) + carry;
            t[i + j] = v as u64;
            carry = v >> 64;
        }
        t[i + 4] = carry as u64;
    }
    // Fold the high half: 2^256 ≡ C (mod p).
    let mut r = [0u64; 4];
    let mut carry: u128 = 0;
    for i in 0..4 {
        let v = u128::from(t[i]) + u128::from(t[i + 4]) * C + carry;
        r[i] = v as u64;
        carry = v >> 64;
    }
    // carry < 2^34: fold once more.
    let mut c2 = carry * C;
    for limb in r.iter_mut() {
        let v = u128::from(*limb) + c2;
        *limb = v as u64;
        c2 = v >> 64;
    }
    if c2 != 0 {
        // Wrapped past 2^256: the rest is small, add C once.
        let mut c3 = C;
        for limb in r.iter_mut() {
            let v = u128::from(*limb) + c3;
            *limb = v as u64;
            c3 = v >> 64;
        }
    }
    canon(r)
}

fn fe(b: &[u8; 32]) -> Fe {
    let mut f = [0u64; 4];
    for (i, limb) in f.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[24 - 8 * i..32 - 8 * i]);
        *limb = u64::from_be_bytes(w);
    }
    f
}

/// Whether the 64 bytes `x || y` (big-endian) are a point of secp256k1.
pub(crate) fn on_secp256k1(xy: &[u8; 64]) -> bool {
    let mut xb = [0u8; 32];
    let mut yb = [0u8; 32];
    xb.copy_from_slice(&xy[..32]);
    yb.copy_from_slice(&xy[32..]);
    let (x, y) = (fe(&xb), fe(&yb));
    if ge_p(&x) || ge_p(&y) {
        return false;
    }
    let y2 = mul(&y, &y);
    let x3 = mul(&mul(&x, &x), &x);
    // x^3 + 7 (x3 < p, and p + 7 < 2^256).
    let mut r = x3;
    let mut carry = 7u128;
    for limb in r.iter_mut() {
        let v = u128::from(*limb) + carry;
        *limb = v as u64;
        carry = v >> 64;
    }
    canon(r) == y2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let mut o = [0u8; 32];
        for (i, b) in o.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        o
    }

    #[test]
    fn keccak_vectors() {
        // Keccak-256 of the empty string and of "abc" (Keccak team's
        // known-answer values, as used by Ethereum).
        assert_eq!(
            keccak256(b""),
            hex32("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        );
        assert_eq!(
            keccak256(b"abc"),
            hex32("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
        );
        // Two blocks (200 bytes of 0xa3 differs from SHA3; just check the
        // block boundary does not panic and is deterministic).
        assert_eq!(keccak256(&[0xa3; 200]), keccak256(&[0xa3; 200]));
        assert_ne!(keccak256(&[0u8; 135]), keccak256(&[0u8; 136]));
    }

    #[test]
    fn generator_is_on_curve() {
        // SEC 2 §2.4.1: G in uncompressed form.
        let mut g = [0u8; 64];
        g[..32].copy_from_slice(&hex32(
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
        ));
        g[32..].copy_from_slice(&hex32(
            "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
        ));
        assert!(on_secp256k1(&g));
        g[63] ^= 1;
        assert!(!on_secp256k1(&g));
        assert!(!on_secp256k1(&[0xff; 64]));
        assert!(!on_secp256k1(&[0; 64]));
    }
}
