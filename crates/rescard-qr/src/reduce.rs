//! Reducing a grey image to the working size as it is read: each block of source pixels that
//! becomes one reduced pixel is averaged, a row at a time, so the full image need not be held (or,
//! when it already is, the reduced one is written over it).

use image::GrayImage;

use crate::load::WORKING_PIXELS;

/// The size an image of `width` × `height` is searched at: itself, or reduced (keeping its shape)
/// to at most [`WORKING_PIXELS`].
pub(crate) fn working_size(width: u32, height: u32) -> (u32, u32) {
    let pixels = u64::from(width) * u64::from(height);
    if pixels <= WORKING_PIXELS {
        return (width, height);
    }
    let scale = (WORKING_PIXELS as f64 / pixels as f64).sqrt();
    let reduce = |side: u32| ((f64::from(side) * scale).floor() as u32).clamp(1, side);
    let working = u32::try_from(WORKING_PIXELS).unwrap_or(u32::MAX);
    match (reduce(width), reduce(height)) {
        // A sliver one pixel across: all of the reduction is along its length.
        (w, 1) => (w.min(working), 1),
        (1, h) => (1, h.min(working)),
        size => size,
    }
}

/// A full-size grey image reduced to [`working_size`] in its own buffer: reduced row `r` is written
/// over source rows that have all been read (a reduced row is no wider than a source row, and it
/// is written only after the last source row folded into it).
pub(crate) fn reduce_in_place(mut pixels: Vec<u8>, width: u32, height: u32) -> Option<GrayImage> {
    let (tw, th) = working_size(width, height);
    if (tw, th) != (width, height) {
        let w = width as usize;
        let mut reducer = Reducer::new(width, height, tw, th);
        let mut row = vec![0u8; w];
        let mut written = 0;
        for y in 0..height as usize {
            row.copy_from_slice(&pixels[y * w..(y + 1) * w]);
            reducer.push(&row, |reduced| {
                pixels[written..written + reduced.len()].copy_from_slice(reduced);
                written += reduced.len();
            });
        }
        pixels.truncate(written);
        pixels.shrink_to_fit();
    }
    GrayImage::from_raw(tw, th, pixels)
}

/// Reduces a grey image fed row by row from `width` × `height` to `tw` × `th` (no larger), each
/// reduced pixel the rounded mean of the block of source pixels that falls into it.
pub(crate) struct Reducer {
    height: u32,
    th: u32,
    /// For each source column, the reduced column it falls into.
    column: Vec<u32>,
    /// For each reduced column, how many source columns fall into it.
    columns_in: Vec<u32>,
    sums: Vec<u32>,
    out: Vec<u8>,
    /// The next source row.
    y: u32,
    /// The reduced row being summed, and how many source rows it has.
    row: u32,
    rows_in: u32,
}

impl Reducer {
    pub(crate) fn new(width: u32, height: u32, tw: u32, th: u32) -> Self {
        let column: Vec<u32> = (0..u64::from(width))
            .map(|x| (x * u64::from(tw) / u64::from(width)) as u32)
            .collect();
        let mut columns_in = vec![0u32; tw as usize];
        for &c in &column {
            columns_in[c as usize] += 1;
        }
        Self {
            height,
            th,
            column,
            columns_in,
            sums: vec![0; tw as usize],
            out: vec![0; tw as usize],
            y: 0,
            row: 0,
            rows_in: 0,
        }
    }

    /// Folds in the next source row; calls `emit` with each reduced row as it completes.
    pub(crate) fn push(&mut self, source: &[u8], mut emit: impl FnMut(&[u8])) {
        if self.y >= self.height {
            return;
        }
        let target = (u64::from(self.y) * u64::from(self.th) / u64::from(self.height)) as u32;
        if target != self.row {
            self.flush(&mut emit);
            self.row = target;
        }
        for (&c, &v) in self.column.iter().zip(source) {
            self.sums[c as usize] += u32::from(v);
        }
        self.rows_in += 1;
        self.y += 1;
        if self.y == self.height {
            self.flush(&mut emit);
        }
    }

    fn flush(&mut self, emit: &mut impl FnMut(&[u8])) {
        if self.rows_in == 0 {
            return;
        }
        for ((out, sum), &n) in self
            .out
            .iter_mut()
            .zip(&mut self.sums)
            .zip(&self.columns_in)
        {
            let n = n * self.rows_in;
            *out = ((*sum + n / 2) / n.max(1)) as u8;
            *sum = 0;
        }
        self.rows_in = 0;
        emit(&self.out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reducer_averages_blocks() {
        // 4 x 2 to 2 x 1: each reduced pixel is the mean of a 2 x 2 block.
        let mut reducer = Reducer::new(4, 2, 2, 1);
        let mut out = Vec::new();
        reducer.push(&[0, 10, 100, 200], |r| out.extend_from_slice(r));
        reducer.push(&[20, 30, 101, 201], |r| out.extend_from_slice(r));
        assert_eq!(out, vec![15, 151]);
    }

    #[test]
    fn the_working_size_keeps_the_shape_and_the_bound() {
        assert_eq!(working_size(4032, 3024), (4032, 3024));
        let (w, h) = working_size(8000, 6000);
        assert!(u64::from(w) * u64::from(h) <= WORKING_PIXELS);
        assert!(
            (4600..=4620).contains(&w) && (3450..=3465).contains(&h),
            "{w}x{h}"
        );
        assert_eq!(working_size(48_000_000, 1), (16_000_000, 1));
    }

    #[test]
    fn reducing_in_place_matches_reducing_a_stream() {
        let (w, h) = (6001u32, 4001u32);
        let pixels: Vec<u8> = (0..w as usize * h as usize)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let (tw, th) = working_size(w, h);
        assert!(tw < w && th < h);
        let mut streamed = Vec::new();
        let mut reducer = Reducer::new(w, h, tw, th);
        for row in pixels.chunks_exact(w as usize) {
            reducer.push(row, |r| streamed.extend_from_slice(r));
        }
        let in_place = reduce_in_place(pixels, w, h).expect("size");
        assert_eq!(in_place.dimensions(), (tw, th));
        assert_eq!(in_place.into_raw(), streamed);
    }
}
