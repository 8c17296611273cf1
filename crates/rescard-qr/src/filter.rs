//! The copies the QR search makes of a grey image: contrast-stretched, smoothed, halved, doubled.
//!
//! Smoothing and halving are written here, a few rows at a time, rather than taken from `image`:
//! its Gaussian blur holds two 32-bit float copies of the whole image (eight bytes a pixel), and its
//! resize a four-channel float copy of the half-resized picture (sixteen bytes a pixel of it), which
//! for a large photo is several times the memory of the image itself. The results are the same
//! filters (the same Gaussian kernel, the same triangle weights), to within rounding.

use image::GrayImage;

/// Stretches the 1st to 99th percentile of brightness to the full range; `None` when the image is
/// already high in contrast (nothing to gain).
pub(crate) fn stretch_contrast(image: &GrayImage) -> Option<GrayImage> {
    let mut histogram = [0u64; 256];
    for p in image.pixels() {
        histogram[usize::from(p.0[0])] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let percentile = |q: u64| {
        let mut seen = 0;
        for (level, count) in histogram.iter().enumerate() {
            seen += count;
            if seen * 100 >= total * q {
                return level as u8;
            }
        }
        255
    };
    let (lo, hi) = (percentile(1), percentile(99));
    if hi <= lo || (lo <= 30 && hi >= 225) {
        return None;
    }
    let span = f32::from(hi - lo);
    let mut out = image.clone();
    for p in out.pixels_mut() {
        p.0[0] = ((f32::from(p.0[0].clamp(lo, hi) - lo) / span) * 255.0).round() as u8;
    }
    Some(out)
}

/// The Gaussian kernel `image::imageops::blur` uses for `sigma`: its size rule, its weights.
fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let size = ((((sigma - 0.8) / 0.3 + 1.0) * 2.0 + 1.0).max(3.0) as usize) | 1;
    let mean = (size / 2) as f32;
    let mut kernel: Vec<f32> = (0..size)
        .map(|x| (-0.5 * ((x as f32 - mean) / sigma).powi(2)).exp())
        .collect();
    let sum: f32 = kernel.iter().sum();
    for k in &mut kernel {
        *k /= sum;
    }
    kernel
}

/// A Gaussian blur with edges clamped, as `image::imageops::blur`, holding only the output and
/// as many filtered rows as the kernel is tall.
pub(crate) fn blur(image: &GrayImage, sigma: f32) -> GrayImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w == 0 || h == 0 {
        return image.clone();
    }
    let kernel = gaussian_kernel(sigma);
    let (k, r) = (kernel.len(), kernel.len() / 2);
    let src = image.as_raw();
    let horizontal = |y: usize, dst: &mut [f32]| {
        let row = &src[y * w..(y + 1) * w];
        let clamped = |x: usize| -> f32 {
            kernel
                .iter()
                .enumerate()
                .map(|(t, weight)| weight * f32::from(row[(x + t).saturating_sub(r).min(w - 1)]))
                .sum()
        };
        if w <= 2 * r {
            for (x, d) in dst.iter_mut().enumerate() {
                *d = clamped(x);
            }
            return;
        }
        for (d, window) in dst[r..w - r].iter_mut().zip(row.windows(k)) {
            *d = window
                .iter()
                .zip(&kernel)
                .map(|(p, weight)| weight * f32::from(*p))
                .sum();
        }
        for x in (0..r).chain(w - r..w) {
            dst[x] = clamped(x);
        }
    };
    // Row y of the horizontal pass lives in slot y % k while rows y - r ..= y + r are needed.
    let mut ring = vec![vec![0f32; w]; k];
    let mut filtered = 0;
    let mut sum = vec![0f32; w];
    let mut out = vec![0u8; w * h];
    for (y, out_row) in out.chunks_exact_mut(w).enumerate() {
        while filtered <= (y + r).min(h - 1) {
            horizontal(filtered, &mut ring[filtered % k]);
            filtered += 1;
        }
        sum.fill(0.0);
        for (t, weight) in kernel.iter().enumerate() {
            let source = &ring[(y + t).saturating_sub(r).min(h - 1) % k];
            for (s, v) in sum.iter_mut().zip(source) {
                *s += weight * v;
            }
        }
        for (o, s) in out_row.iter_mut().zip(&sum) {
            *o = s.round().clamp(0.0, 255.0) as u8;
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).unwrap_or_else(|| image.clone())
}

/// For each output position of a `src` → `dst` resize, the first source position and the
/// normalised triangle-filter weights from there, as `image::imageops::resize` computes them.
fn triangle_taps(src: u32, dst: u32) -> Vec<(usize, Vec<f32>)> {
    let ratio = src as f32 / dst as f32;
    let scale = ratio.max(1.0);
    let support = scale;
    (0..dst)
        .map(|out| {
            let centre = (out as f32 + 0.5) * ratio;
            let left = ((centre - support).floor().max(0.0) as usize).min(src as usize - 1);
            let right = ((centre + support).ceil() as usize).clamp(left + 1, src as usize);
            let centre = centre - 0.5;
            let mut weights: Vec<f32> = (left..right)
                .map(|i| (1.0 - ((i as f32 - centre) / scale).abs()).max(0.0))
                .collect();
            let sum: f32 = weights.iter().sum();
            if sum > 0.0 {
                for w in &mut weights {
                    *w /= sum;
                }
            }
            (left, weights)
        })
        .collect()
}

/// The image at half size, by the triangle filter (as `resize` with `FilterType::Triangle`), one
/// output row at a time.
pub(crate) fn half(image: &GrayImage) -> GrayImage {
    let (w, h) = image.dimensions();
    let (ow, oh) = ((w / 2).max(1), (h / 2).max(1));
    if w == 0 || h == 0 {
        return image.clone();
    }
    let columns = triangle_taps(w, ow);
    let rows = triangle_taps(h, oh);
    let src = image.as_raw();
    let w = w as usize;
    let mut across = vec![0f32; ow as usize];
    let mut sum = vec![0f32; ow as usize];
    let mut out = Vec::with_capacity(ow as usize * oh as usize);
    for (top, row_weights) in &rows {
        sum.fill(0.0);
        for (dy, wy) in row_weights.iter().enumerate() {
            let row = &src[(top + dy) * w..(top + dy + 1) * w];
            for (a, (left, weights)) in across.iter_mut().zip(&columns) {
                *a = weights
                    .iter()
                    .enumerate()
                    .map(|(dx, wx)| wx * f32::from(row[left + dx]))
                    .sum();
            }
            for (s, a) in sum.iter_mut().zip(&across) {
                *s += wy * a;
            }
        }
        out.extend(sum.iter().map(|v| v.round().clamp(0.0, 255.0) as u8));
    }
    GrayImage::from_raw(ow, oh, out).unwrap_or_else(|| image.clone())
}

/// The image at double size (only ever used on small images, so `image`'s resize is fine).
pub(crate) fn double(image: &GrayImage) -> GrayImage {
    image::imageops::resize(
        image,
        image.width() * 2,
        image.height() * 2,
        image::imageops::FilterType::CatmullRom,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(w: u32, h: u32) -> GrayImage {
        GrayImage::from_fn(w, h, |x, y| {
            image::Luma([((x * 37 + y * 91 + (x * y) % 13 * 17) % 256) as u8])
        })
    }

    fn max_difference(a: &GrayImage, b: &GrayImage) -> u8 {
        assert_eq!(a.dimensions(), b.dimensions());
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn the_row_by_row_blur_is_image_s_blur() {
        for (w, h) in [(97, 61), (5, 3), (1, 1), (2, 40)] {
            let img = sample(w, h);
            assert!(
                max_difference(&blur(&img, 1.2), &image::imageops::blur(&img, 1.2)) <= 1,
                "{w}x{h}"
            );
        }
    }

    #[test]
    fn the_row_by_row_half_is_image_s_triangle_resize() {
        for (w, h) in [(97, 61), (100, 80), (3, 2), (1, 1)] {
            let img = sample(w, h);
            let theirs = image::imageops::resize(
                &img,
                (w / 2).max(1),
                (h / 2).max(1),
                image::imageops::FilterType::Triangle,
            );
            assert!(max_difference(&half(&img), &theirs) <= 1, "{w}x{h}");
        }
    }
}
