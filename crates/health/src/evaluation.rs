//! How well a score predicts an outcome: ROC AUC and the Brier score.

/// The area under the ROC curve of `scores` for the binary `labels` (true = the event, e.g.
/// churn, which a higher score should predict): the probability that a random positive scores
/// above a random negative, ties counting one half (Mann–Whitney), as scikit-learn's
/// `roc_auc_score`. `None` when either class is absent (the curve is undefined) or the lengths
/// differ.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let positives = labels.iter().filter(|l| **l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Sum of the positives' ranks, ties sharing their mean rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let mean_rank = (i + j) as f64 / 2.0 + 1.0;
        let tied_positives = order[i..=j].iter().filter(|&&k| labels[k]).count();
        rank_sum += mean_rank * tied_positives as f64;
        i = j + 1;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// The Brier score: the mean squared difference between predicted probabilities and outcomes
/// (scikit-learn's `brier_score_loss`). `None` for empty or mismatched input, or a probability
/// outside [0, 1].
pub fn brier(probabilities: &[f64], labels: &[bool]) -> Option<f64> {
    if probabilities.is_empty()
        || probabilities.len() != labels.len()
        || probabilities.iter().any(|p| !(0.0..=1.0).contains(p))
    {
        return None;
    }
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum();
    Some(total / probabilities.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand() {
        // Positives 0.8 and 0.4, negatives 0.6, 0.4, 0.1: pairs (0.8>0.6, 0.8>0.4, 0.8>0.1,
        // 0.4<0.6, 0.4=0.4 half, 0.4>0.1) = 4.5 of 6.
        let auc = roc_auc(
            &[0.8, 0.6, 0.4, 0.4, 0.1],
            &[true, false, true, false, false],
        );
        assert_eq!(auc, Some(0.75));
        assert_eq!(roc_auc(&[1.0, 2.0], &[true, true]), None);
        assert_eq!(roc_auc(&[1.0], &[true, false]), None);
    }

    #[test]
    fn brier_by_hand() {
        // (0.9−1)² + (0.2−0)² + (0.5−1)² = 0.01 + 0.04 + 0.25 = 0.30, mean 0.1.
        let b = brier(&[0.9, 0.2, 0.5], &[true, false, true]).unwrap();
        assert!((b - 0.1).abs() < 1e-15);
        assert_eq!(brier(&[1.5], &[true]), None);
    }
}
