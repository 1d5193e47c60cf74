//! Heap bytes of what parsers keep between calls, for `Parser::buffered`:
//! one way to count a vector's room, an optional string and a list of
//! strings, shared by every parser.

/// Heap bytes of a vector's storage (not of what its items point to).
pub(crate) fn vec_heap<T>(v: &Vec<T>) -> usize {
    v.capacity() * std::mem::size_of::<T>()
}

/// Heap bytes of an optional string.
pub(crate) fn str_heap(s: &Option<String>) -> usize {
    s.as_ref().map_or(0, String::capacity)
}

/// Heap bytes of a list of strings: the list's room and each string's.
pub(crate) fn strs_heap(v: &Vec<String>) -> usize {
    vec_heap(v) + v.iter().map(String::capacity).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_room_not_length() {
        let mut v: Vec<u32> = Vec::with_capacity(10);
        v.push(1);
        assert_eq!(vec_heap(&v), 40);
        assert_eq!(str_heap(&None), 0);
        assert_eq!(str_heap(&Some(String::with_capacity(7))), 7);
        let l = vec![String::with_capacity(3), String::with_capacity(5)];
        assert_eq!(
            strs_heap(&l),
            l.capacity() * std::mem::size_of::<String>() + 8
        );
    }
}
