use super::*;

/// `[[1, 2], [3, 4], [5, 6]] · [[1, 0, 2], [0, 1, 3]]` by hand, written, accumulated, through
/// a transpose and into a block of wider rows.
#[test]
fn products_by_hand() {
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let b = [1.0, 0.0, 2.0, 0.0, 1.0, 3.0];
    let expected = [1.0, 2.0, 8.0, 3.0, 4.0, 18.0, 5.0, 6.0, 28.0];
    let mut dst = [7.0; 9];
    product(&mut dst, 3, false, View::new(&a, 3, 2), View::new(&b, 2, 3));
    assert_eq!(dst, expected);
    product(&mut dst, 3, true, View::new(&a, 3, 2), View::new(&b, 2, 3));
    assert_eq!(dst, expected.map(|v| 2.0 * v));
    // bᵀ stored as its own rows, read back through the transpose.
    let b_t = [1.0, 0.0, 0.0, 1.0, 2.0, 3.0];
    product(
        &mut dst,
        3,
        false,
        View::new(&a, 3, 2),
        View::new(&b_t, 3, 2).t(),
    );
    assert_eq!(dst, expected);
    // The last column alone, into the middle column of rows four wide.
    let mut wide = [0.0; 12];
    let last = View::new(&b, 2, 3).columns(2..3);
    product(&mut wide[1..], 4, false, View::new(&a, 3, 2), last);
    assert_eq!(
        wide,
        [0.0, 8.0, 0.0, 0.0, 0.0, 18.0, 0.0, 0.0, 0.0, 28.0, 0.0, 0.0]
    );
}

/// Split between three threads by blocks of rows, and (a sum far longer than the sides) by
/// blocks of the sum, a transposed product into rows wider than it, accumulated, equals the
/// product on one thread (the sum's parts added in another order: within float error).
#[test]
fn a_shared_product_is_the_product() {
    for (m, k, n, stride) in [(37, 50, 5, 7), (6, 200, 5, 7)] {
        let a: Vec<f32> = (0..k * m).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let start: Vec<f32> = (0..m * stride).map(|i| i as f32 * 0.01).collect();
        let (a, b) = (View::new(&a, k, m).t(), View::new(&b, k, n));
        let mut alone = start.clone();
        product(&mut alone, stride, true, a, b);
        let mut shared = start.clone();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build();
        pool.unwrap()
            .install(|| product_shared(&mut shared, stride, true, a, b));
        for (s, a) in shared.iter().zip(&alone) {
            assert!(
                (s - a).abs() <= 1e-5 * a.abs().max(1.0),
                "{s} != {a} (k = {k})"
            );
        }
        assert_ne!(shared, start);
    }
}

/// `[[1, 2, 3], [4, 5, 6]]`'s transpose by hand, and read as a product's operand it gives
/// the transposed view's product.
#[test]
fn a_transpose_is_the_transposed_view() {
    let m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let t = transposed(&m, 2, 3);
    assert_eq!(t, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    let a = [1.0, -1.0, 0.5, 2.0, 0.0, 3.0];
    let (mut through_view, mut through_copy) = ([0.0; 4], [0.0; 4]);
    let a = View::new(&a, 2, 3);
    product(&mut through_view, 2, false, a, View::new(&m, 2, 3).t());
    product(&mut through_copy, 2, false, a, View::new(&t, 3, 2));
    assert_eq!(through_view, through_copy);
    assert_eq!(through_view, [0.5, 2.0, 11.0, 26.0]);
}

/// One piece a part, the last ones shorter or empty, even where the rows have no width;
/// the parts' sums added up.
#[test]
fn pieces_and_sums() {
    let mut values = [1.0, 2.0, 3.0, 4.0, 5.0];
    let lens: Vec<usize> = pieces(&mut values, 2, 4).iter().map(|p| p.len()).collect();
    assert_eq!(lens, [2, 2, 1, 0]);
    assert_eq!(pieces(&mut [], 0, 2).len(), 2);
    assert_eq!(
        summed(&[1.0, 2.0, 10.0, 20.0, 100.0, 200.0], 2),
        [111.0, 222.0]
    );
    assert!(summed(&[], 0).is_empty());
}

#[test]
#[should_panic(expected = "past its")]
fn a_view_past_its_slice_is_refused() {
    View::strided(&[0.0; 5], 2, 3, 3);
}
