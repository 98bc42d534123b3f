//! Float planes kept for reuse between the pairs of a video.
//!
//! A DIS run needs some thirty image-sized planes per pyramid level (levels,
//! gradients, densified flow, the refinement's terms and SOR system), all
//! dropped at the end of the pair. Allocated afresh each time they come as
//! new pages from the kernel, and faulting them in (plus the zeroing) cost
//! as much as the whole search at 640×480. A [`PlanePool`] keeps the planes a
//! pair gave back so the next pair takes warm memory instead; its size is
//! the peak of one pair.

use std::sync::Mutex;

/// Free planes, handed out best fit (the smallest that holds the request).
#[derive(Debug, Default)]
pub struct PlanePool {
    free: Mutex<Vec<Vec<f32>>>,
}

impl PlanePool {
    /// A plane of `len` zeros.
    pub fn zeros(&self, len: usize) -> Vec<f32> {
        match self.take(len) {
            Some(mut v) => {
                v.clear();
                v.resize(len, 0.0);
                v
            }
            None => vec![0.0; len],
        }
    }

    /// A plane of `len` values the caller overwrites entirely: a reused
    /// plane keeps whatever it held, so nothing may read before writing.
    pub fn scratch(&self, len: usize) -> Vec<f32> {
        match self.take(len) {
            Some(mut v) => {
                v.truncate(len);
                v.resize(len, 0.0);
                v
            }
            None => vec![0.0; len],
        }
    }

    /// Gives planes back for reuse.
    pub fn give(&self, planes: impl IntoIterator<Item = Vec<f32>>) {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        free.extend(planes.into_iter().filter(|v| v.capacity() > 0));
    }

    fn take(&self, len: usize) -> Option<Vec<f32>> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i)?;
        Some(free.swap_remove(best))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_the_smallest_plane_that_fits_and_zeroes_on_request() {
        let pool = PlanePool::default();
        pool.give([vec![7.0; 100], vec![5.0; 10], vec![3.0; 50]]);
        let z = pool.zeros(40);
        assert_eq!((z.len(), z.capacity()), (40, 50));
        assert!(z.iter().all(|&x| x == 0.0));
        let s = pool.scratch(8);
        assert_eq!((s.len(), s.capacity()), (8, 10));
        let big = pool.scratch(100);
        assert_eq!(big.capacity(), 100);
        // Nothing left that fits: a fresh plane.
        assert_eq!(pool.zeros(20), vec![0.0; 20]);
    }
}
