//! Precision and recall of automatic matching on a labelled set of name
//! pairs (`tests/data/company_pairs.csv`), the way `match auto` works: the
//! documentation side is indexed, every PSA-side name asks for its best
//! candidate, and a match above the threshold is taken.

use super::{CompanyFeatures, Index};

#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub threshold: f64,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
    /// (documentation name, PSA name, matched to) for every mistake.
    pub mistakes: Vec<(String, String, Option<String>)>,
}

impl Evaluation {
    pub fn precision(&self) -> f64 {
        let p = self.true_positives + self.false_positives;
        if p == 0 { 1.0 } else { self.true_positives as f64 / p as f64 }
    }

    pub fn recall(&self) -> f64 {
        let t = self.true_positives + self.false_negatives;
        if t == 0 { 1.0 } else { self.true_positives as f64 / t as f64 }
    }
}

/// Parse the CSV (`documentation_name,psa_name,same_company`).
pub fn parse_pairs(csv_text: &str) -> Result<Vec<(String, String, bool)>, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv_text.as_bytes());
    reader
        .records()
        .enumerate()
        .map(|(i, r)| {
            let r = r.map_err(|e| format!("row {}: {e}", i + 2))?;
            let get =
                |n: usize| r.get(n).map(str::to_string).ok_or_else(|| format!("row {}: missing column {n}", i + 2));
            Ok((get(0)?, get(1)?, get(2)? == "1"))
        })
        .collect()
}

pub fn evaluate(pairs: &[(String, String, bool)], threshold: f64) -> Evaluation {
    // One documentation company per distinct documentation-side name.
    let mut names: Vec<String> = pairs.iter().map(|(a, _, _)| a.clone()).collect();
    names.sort();
    names.dedup();
    let index = Index::from_companies(
        names.iter().enumerate().map(|(i, n)| (i as i64, CompanyFeatures::new(n, None, None))).collect(),
    );
    let mut e = Evaluation {
        threshold,
        true_positives: 0,
        false_positives: 0,
        false_negatives: 0,
        true_negatives: 0,
        mistakes: Vec::new(),
    };
    for (doc, psa, same) in pairs {
        let best = index.best(&CompanyFeatures::new(psa, None, None)).filter(|s| s.score >= threshold);
        let hit = best.as_ref().map(|s| s.company.clone());
        match (same, &hit) {
            (true, Some(m)) if m == doc => e.true_positives += 1,
            (true, Some(_)) => {
                e.false_positives += 1;
                e.false_negatives += 1;
                e.mistakes.push((doc.clone(), psa.clone(), hit.clone()));
            }
            (true, None) => {
                e.false_negatives += 1;
                e.mistakes.push((doc.clone(), psa.clone(), None));
            }
            (false, Some(_)) => {
                e.false_positives += 1;
                e.mistakes.push((doc.clone(), psa.clone(), hit.clone()));
            }
            (false, None) => e.true_negatives += 1,
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DEFAULT_MATCH_THRESHOLD;

    #[test]
    fn labelled_pairs_precision_and_recall() {
        let pairs = parse_pairs(include_str!("../../../tests/data/company_pairs.csv")).expect("pairs parse");
        assert!(pairs.len() >= 200, "at least 200 labelled pairs");
        assert!(pairs.iter().any(|p| p.2) && pairs.iter().any(|p| !p.2));
        let e = evaluate(&pairs, DEFAULT_MATCH_THRESHOLD);
        println!(
            "threshold {:.2}: precision {:.3}, recall {:.3} (tp {}, fp {}, fn {}, tn {})",
            e.threshold,
            e.precision(),
            e.recall(),
            e.true_positives,
            e.false_positives,
            e.false_negatives,
            e.true_negatives
        );
        for m in &e.mistakes {
            println!("  mistake: {} / {} -> {:?}", m.0, m.1, m.2);
        }
        assert!(e.precision() >= 0.97, "precision {:.3}", e.precision());
        assert!(e.recall() >= 0.90, "recall {:.3}", e.recall());
    }
}
