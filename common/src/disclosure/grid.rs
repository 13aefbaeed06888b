//! A grid's published cells: every coordinate, with `None` for the total along an
//! additive dimension, and the flat indices of the inner cells each one sums.

/// Every published coordinate: each additive dimension also takes `None` (total).
pub(super) fn published_coordinates(sizes: &[usize], additive: &[bool]) -> Vec<Vec<Option<usize>>> {
    let mut out = vec![Vec::new()];
    for (size, add) in sizes.iter().zip(additive) {
        let values: Vec<Option<usize>> = (0..*size).map(Some).chain(add.then_some(None)).collect();
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut c = prefix.clone();
                    c.push(*v);
                    c
                })
            })
            .collect();
    }
    out
}

/// Flat indices of the inner cells a published coordinate sums.
pub(super) fn inner_members(sizes: &[usize], coordinate: &[Option<usize>]) -> Vec<usize> {
    let mut out = vec![0usize];
    for (size, c) in sizes.iter().zip(coordinate) {
        let values: Vec<usize> = match c {
            Some(v) => vec![*v],
            None => (0..*size).collect(),
        };
        out = out
            .into_iter()
            .flat_map(|prefix| values.iter().map(move |v| prefix * size + v))
            .collect();
    }
    out
}
